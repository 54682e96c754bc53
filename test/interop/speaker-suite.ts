/**
 * One interop scenario set for herald's speaker, run against each real
 * daemon (BIRD 2, GoBGP, FRR bgpd) by speaker-<daemon>.test.ts. herald runs
 * in this process (root namespace) and connects out; the daemon runs in a
 * namespace the harness makes, joined by veth links, and waits passively.
 * Timers are shortened through configuration (hold 3–6 s, idle hold 1 s).
 */
import { describe, it } from "vitest";
import { Speaker } from "../../src/bgp/speaker.ts";
import type { PeerStatus as HeraldPeer } from "../../src/bgp/status.ts";
import { renderAttributes } from "../../src/bgp/render.ts";
import { parseCommunity } from "../../src/bgp/wire/mod.ts";
import { createLogger } from "../../src/log.ts";
import { createSockoptTransport } from "../../src/runtime/sockopt-transport.ts";
import { type BgpDaemon, type DaemonKind, type Harness, ROOT, type Route, waitFor } from "./harness/mod.ts";

const byPrefix = (routes: Route[]) => [...routes].sort((a, b) => a.prefix.localeCompare(b.prefix));
const c = (t: string) => parseCommunity(t)!;

function heraldSpeaker(h: Harness, o: { sockopt?: boolean } = {}) {
  const lines: string[] = [];
  const transport = o.sockopt ? createSockoptTransport() : undefined;
  const speaker = new Speaker({ idleHoldSeconds: 1, transport, logger: createLogger({ level: "debug", write: (l) => lines.push(l) }) });
  h.defer(() => speaker.close());
  return { speaker, lines };
}

async function heraldState(s: Speaker, inst: string, peer: string, pred: (p: HeraldPeer) => boolean, what: string, timeoutMs = 20_000): Promise<HeraldPeer> {
  return await waitFor(() => s.peer(inst, peer)!, pred, { what: `herald ${inst}/${peer}: ${what}`, timeoutMs, intervalMs: 50 });
}

export function speakerSuite(kind: DaemonKind, h: Harness): void {
  const poke = (d: BgpDaemon) => () => d.poke();

  describe.concurrent(`herald speaker ↔ ${kind}`, () => {
    it("exchanges IPv4 and IPv6 routes with exactly the attributes sent (eBGP, iBGP LOCAL_PREF), withdraws, and re-sends after the daemon restarts", async ({ expect }) => {
      const ns = await h.namespace();
      const l1 = await h.link(ROOT, ns); // eBGP over IPv4 and over IPv6
      const l2 = await h.link(ROOT, ns); // iBGP over IPv4
      const daemon = await h.daemon(kind, {
        netns: ns,
        routerId: l1.b.ipv4,
        asn: 65010,
        neighbors: [
          { address: l1.a.ipv4, asn: 65001, passive: true, holdTime: 6, families: ["ipv4-unicast"] },
          { address: l1.a.ipv6, asn: 65001, passive: true, holdTime: 6, families: ["ipv6-unicast"] },
          { address: l2.a.ipv4, asn: 65010, passive: true, holdTime: 6, families: ["ipv4-unicast"] },
        ],
        routes: [{ prefix: "203.0.113.0/24", origin: "egp", med: 9, communities: ["65010:1"], largeCommunities: ["65010:2:3"] }],
      });
      const { speaker } = heraldSpeaker(h);
      const timers = { holdTimeSeconds: 6, keepaliveSeconds: 2, connectRetrySeconds: 1 };
      await speaker.setInstance({ name: "e", asn: 65001, routerId: l1.a.ipv4 });
      await speaker.setInstance({ name: "i", asn: 65010, routerId: l2.a.ipv4 });
      speaker.setPeer("e", { name: "v4", address: l1.b.ipv4, asn: 65010, localAddress: l1.a.ipv4, families: ["ipv4/unicast"], timers, gracefulRestart: { enabled: true, restartTimeSeconds: 77 } });
      speaker.setPeer("e", { name: "v6", address: l1.b.ipv6, asn: 65010, localAddress: l1.a.ipv6, families: ["ipv6/unicast"], timers });
      speaker.setPeer("i", { name: "ibgp", address: l2.b.ipv4, asn: 65010, localAddress: l2.a.ipv4, families: ["ipv4/unicast"], timers });
      speaker.announce("e", "v4", "ipv4/unicast", ["192.0.2.10/32"], { med: 20, communities: [c("65001:99"), c("65001:100")], largeCommunities: [[65001, 7, 8]] });
      speaker.announce("e", "v4", "ipv4/unicast", ["198.51.100.0/24"], { origin: "incomplete" });
      speaker.announce("e", "v6", "ipv6/unicast", ["2001:db8:10::/48"], { communities: [c("65001:6")], largeCommunities: [[65001, 6, 6]] });
      speaker.announce("i", "ibgp", "ipv4/unicast", ["192.0.2.20/32"], { localPref: 300, communities: [c("65010:5")] });

      const st = await daemon.waitForPeer(l1.a.ipv4, "established", 20_000);
      expect(st).toMatchObject({ remoteAs: 65001, remoteRouterId: l1.a.ipv4 });
      expect(st.capabilities).toMatchObject({ multiprotocol: ["ipv4-unicast"], fourOctetAs: true, routeRefresh: true, gracefulRestart: { restartTime: 77, restarting: false, families: ["ipv4-unicast"] } });
      await daemon.waitForPeer(l1.a.ipv6, "established", 20_000);
      await daemon.waitForPeer(l2.a.ipv4, "established", 20_000);
      await daemon.waitForRouteCount(4, undefined, 20_000);
      expect(byPrefix(await daemon.routes())).toEqual([
        {
          prefix: "192.0.2.10/32",
          family: "ipv4-unicast",
          peer: l1.a.ipv4,
          nextHop: l1.a.ipv4,
          asPath: [65001],
          origin: "igp",
          med: 20,
          communities: ["65001:99", "65001:100"],
          largeCommunities: ["65001:7:8"],
        },
        { prefix: "192.0.2.20/32", family: "ipv4-unicast", peer: l2.a.ipv4, nextHop: l2.a.ipv4, asPath: [], origin: "igp", localPref: 300, communities: ["65010:5"], largeCommunities: [] },
        { prefix: "198.51.100.0/24", family: "ipv4-unicast", peer: l1.a.ipv4, nextHop: l1.a.ipv4, asPath: [65001], origin: "incomplete", communities: [], largeCommunities: [] },
        {
          prefix: "2001:db8:10::/48",
          family: "ipv6-unicast",
          peer: l1.a.ipv6,
          nextHop: l1.a.ipv6,
          asPath: [65001],
          origin: "igp",
          communities: ["65001:6"],
          largeCommunities: ["65001:6:6"],
        },
      ]);

      // herald's side: status, what it received from the daemon (kept, counted, not installed)
      const v4 = await heraldState(speaker, "e", "v4", (p) => p.families[0].received === 1, "daemon's route received");
      expect(v4).toMatchObject({ state: "established", peerAsn: 65010, appliedHoldTimeSeconds: 6, families: [{ family: "ipv4/unicast", received: 1, accepted: 0, advertised: 2 }] });
      const [got] = [...speaker.received("e", "v4", "ipv4/unicast")];
      expect(got.prefix).toBe("203.0.113.0/24");
      expect(renderAttributes(got.attributes)).toBe(`[{Origin: e} {AsPath: 65010} {Nexthop: ${l1.b.ipv4}} {Med: 9} {Communities: 65010:1} {LargeCommunity: [ 65010:2:3]}]`);

      // withdraw
      speaker.withdraw("e", "v4", "ipv4/unicast", ["198.51.100.0/24"]);
      const left = await waitFor(() => daemon.routes({ peer: l1.a.ipv4 }), (rs) => rs.length === 1, { what: `${kind} to drop the withdrawn prefix`, poke: poke(daemon) });
      expect(left.map((r) => r.prefix)).toEqual(["192.0.2.10/32"]);

      // the daemon restarts: herald reconnects and sends everything again
      await daemon.restart();
      await daemon.waitForPeer(l1.a.ipv4, "established", 30_000);
      await daemon.waitForPeer(l1.a.ipv6, "established", 30_000);
      await daemon.waitForPeer(l2.a.ipv4, "established", 30_000);
      await daemon.waitForRouteCount(3, undefined, 20_000);
      expect(byPrefix(await daemon.routes()).map((r) => r.prefix)).toEqual(["192.0.2.10/32", "192.0.2.20/32", "2001:db8:10::/48"]);
    });

    it("sends Hold Timer Expired when the daemon is frozen, logs it, and re-establishes after thaw", async ({ expect }) => {
      const ns = await h.namespace();
      const l = await h.link(ROOT, ns);
      const daemon = await h.daemon(kind, { netns: ns, routerId: l.b.ipv4, asn: 65020, neighbors: [{ address: l.a.ipv4, asn: 65001, passive: true, holdTime: 3, families: ["ipv4-unicast"] }] });
      const { speaker, lines } = heraldSpeaker(h);
      await speaker.setInstance({ name: "e", asn: 65001, routerId: l.a.ipv4 });
      speaker.setPeer("e", { name: "d", address: l.b.ipv4, asn: 65020, localAddress: l.a.ipv4, families: ["ipv4/unicast"], timers: { holdTimeSeconds: 3, keepaliveSeconds: 1, connectRetrySeconds: 1 } });
      await heraldState(speaker, "e", "d", (p) => p.state === "established", "established");
      daemon.freeze();
      try {
        const down = await heraldState(speaker, "e", "d", (p) => p.lastError?.reason === "hold-timer-expired", "hold timer expired", 10_000);
        expect(down.lastError?.message).toBe("hold timer expired");
        expect(lines.some((l) => l.includes('msg="hold timer expired"'))).toBe(true);
      } finally {
        daemon.thaw();
      }
      await heraldState(speaker, "e", "d", (p) => p.state === "established", "established again", 30_000);
    });

    it("graceful restart: a shutdown without NOTIFICATION leaves the routes with the daemon; the restarted speaker sets the R bit and re-sends (C7, RFC 4724)", async ({ expect }) => {
      const ns = await h.namespace();
      const l = await h.link(ROOT, ns);
      const daemon = await h.daemon(kind, {
        netns: ns,
        routerId: l.b.ipv4,
        asn: 65040,
        neighbors: [{ address: l.a.ipv4, asn: 65001, passive: true, holdTime: 6, families: ["ipv4-unicast"], gracefulRestart: { restartTime: 60 } }],
      });
      const peer = { name: "d", address: l.b.ipv4, asn: 65040, localAddress: l.a.ipv4, families: ["ipv4/unicast"], timers: { holdTimeSeconds: 6, keepaliveSeconds: 2, connectRetrySeconds: 1 }, gracefulRestart: { enabled: true, restartTimeSeconds: 60 } };
      const first = heraldSpeaker(h).speaker;
      await first.setInstance({ name: "e", asn: 65001, routerId: l.a.ipv4 });
      first.setPeer("e", peer);
      first.announce("e", "d", "ipv4/unicast", ["192.0.2.40/32", "192.0.2.41/32"]);
      const up = await daemon.waitForPeer(l.a.ipv4, "established", 20_000);
      expect(up.capabilities?.gracefulRestart).toMatchObject({ restartTime: 60, restarting: false, families: ["ipv4-unicast"] });
      await daemon.waitForRouteCount(2, undefined, 20_000);

      await first.close({ notify: false });
      await daemon.waitForPeer(l.a.ipv4, (p) => p.state !== "established", 20_000);
      // the daemon keeps the routes (stale) during the restart time
      await new Promise((r) => setTimeout(r, 1500));
      expect(await daemon.routeCount()).toBe(2);

      const second = heraldSpeaker(h).speaker;
      await second.setInstance({ name: "e", asn: 65001, routerId: l.a.ipv4, restarting: true });
      second.setPeer("e", peer);
      second.announce("e", "d", "ipv4/unicast", ["192.0.2.40/32"]); // one route less after the restart
      const again = await daemon.waitForPeer(l.a.ipv4, "established", 30_000);
      expect(again.capabilities?.gracefulRestart).toMatchObject({ restartTime: 60, restarting: true, preserved: ["ipv4-unicast"] });
      // End-of-RIB ends the restart: the stale route not sent again is gone
      const routes = await waitFor(() => daemon.routes(), (rs) => rs.length === 1, { what: `${kind} to flush the stale route after End-of-RIB`, timeoutMs: 20_000, poke: poke(daemon) });
      expect(routes.map((r) => r.prefix)).toEqual(["192.0.2.40/32"]);
    });

    it("sends IPv4 routes with an IPv6 next hop over an IPv6 session where extended next hop is negotiated (RFC 8950)", async ({ expect }) => {
      const ns = await h.namespace();
      const l = await h.link(ROOT, ns);
      const daemon = await h.daemon(kind, {
        netns: ns,
        routerId: l.b.ipv4,
        asn: 65050,
        neighbors: [{ address: l.a.ipv6, asn: 65001, passive: true, holdTime: 6, families: ["ipv4-unicast", "ipv6-unicast"], extendedNextHop: true }],
      });
      const { speaker } = heraldSpeaker(h);
      await speaker.setInstance({ name: "e", asn: 65001, routerId: l.a.ipv4 });
      speaker.setPeer("e", { name: "d", address: l.b.ipv6, asn: 65050, localAddress: l.a.ipv6, families: ["ipv4/unicast", "ipv6/unicast"], timers: { holdTimeSeconds: 6, keepaliveSeconds: 2, connectRetrySeconds: 1 } });
      speaker.announce("e", "d", "ipv4/unicast", ["192.0.2.50/32"], { communities: [c("65001:50")] });
      speaker.announce("e", "d", "ipv6/unicast", ["2001:db8:50::/48"]);
      const st = await daemon.waitForPeer(l.a.ipv6, "established", 20_000);
      expect(st.capabilities).toMatchObject({ multiprotocol: ["ipv4-unicast", "ipv6-unicast"], extendedNextHop: true });
      const routes = byPrefix(await waitFor(() => daemon.routes(), (rs) => rs.length === 2, { what: `${kind} to hold both routes`, timeoutMs: 20_000, poke: poke(daemon) }));
      expect(routes).toMatchObject([
        { prefix: "192.0.2.50/32", family: "ipv4-unicast", peer: l.a.ipv6, nextHop: l.a.ipv6, asPath: [65001], communities: ["65001:50"] },
        { prefix: "2001:db8:50::/48", family: "ipv6-unicast", peer: l.a.ipv6, nextHop: l.a.ipv6, asPath: [65001] },
      ]);
      expect(speaker.peer("e", "d")!.negotiatedFamilies).toEqual(["ipv4/unicast", "ipv6/unicast"]);
    });

    it("passes the TCP-MD5 password and TTL to the libc transport: Established only with the right password (RFC 2385)", async ({ expect }) => {
      const ns = await h.namespace();
      const l1 = await h.link(ROOT, ns); // right password
      const l2 = await h.link(ROOT, ns); // wrong password
      const daemon = await h.daemon(kind, {
        netns: ns,
        routerId: l1.b.ipv4,
        asn: 65060,
        neighbors: [
          { address: l1.a.ipv4, asn: 65001, passive: true, holdTime: 6, families: ["ipv4-unicast"], md5Password: "s3cret" },
          { address: l2.a.ipv4, asn: 65001, passive: true, holdTime: 6, families: ["ipv4-unicast"], md5Password: "s3cret" },
        ],
      });
      const { speaker } = heraldSpeaker(h, { sockopt: true });
      const timers = { holdTimeSeconds: 6, keepaliveSeconds: 2, connectRetrySeconds: 1 };
      await speaker.setInstance({ name: "e", asn: 65001, routerId: l1.a.ipv4 });
      speaker.setPeer("e", { name: "good", address: l1.b.ipv4, asn: 65060, localAddress: l1.a.ipv4, families: ["ipv4/unicast"], timers, md5Password: "s3cret" });
      speaker.setPeer("e", { name: "bad", address: l2.b.ipv4, asn: 65060, localAddress: l2.a.ipv4, families: ["ipv4/unicast"], timers, md5Password: "wrong" });
      speaker.announce("e", "good", "ipv4/unicast", ["192.0.2.60/32"]);
      await daemon.waitForPeer(l1.a.ipv4, "established", 20_000);
      expect(speaker.peer("e", "good")).toMatchObject({ state: "established", tcpPasswordEnabled: true });
      await daemon.waitForRouteCount(1, undefined, 20_000);
      await new Promise((r) => setTimeout(r, 2000));
      expect(speaker.peer("e", "bad")!.state).not.toBe("established");
      expect((await daemon.peer(l2.a.ipv4)).state).not.toBe("established");
    });

    it("refuses a wrong AS with OPEN Message Error / Bad Peer AS, both ways", async ({ expect }) => {
      const ns = await h.namespace();
      const l1 = await h.link(ROOT, ns); // herald expects the wrong AS
      const l2 = await h.link(ROOT, ns); // the daemon expects the wrong AS
      // FRR reports a NOTIFICATION only on a connection it opened itself (the ones it
      // accepts belong to a temporary peer), so towards FRR herald listens and waits.
      const heraldListens = kind === "frr";
      const daemon = await h.daemon(kind, {
        netns: ns,
        routerId: l1.b.ipv4,
        asn: 65030,
        neighbors: [
          { address: l1.a.ipv4, asn: 65001, passive: !heraldListens, holdTime: 6, families: ["ipv4-unicast"] },
          { address: l2.a.ipv4, asn: 65002, passive: true, holdTime: 6, families: ["ipv4-unicast"] },
        ],
      });
      const { speaker, lines } = heraldSpeaker(h);
      const timers = { holdTimeSeconds: 6, keepaliveSeconds: 2, connectRetrySeconds: 1 };
      await speaker.setInstance({ name: "e", asn: 65001, routerId: l1.a.ipv4, listen: heraldListens ? { address: l1.a.ipv4, port: 179 } : null });
      speaker.setPeer("e", { name: "wrong", address: l1.b.ipv4, asn: 65099, localAddress: l1.a.ipv4, families: ["ipv4/unicast"], timers, passive: heraldListens });
      speaker.setPeer("e", { name: "right", address: l2.b.ipv4, asn: 65030, localAddress: l2.a.ipv4, families: ["ipv4/unicast"], timers });

      const ours = await heraldState(speaker, "e", "wrong", (p) => p.lastError?.reason === "open-error", "OPEN error sent");
      expect(ours.lastError?.message).toBe("OPEN Message Error / Bad Peer AS: as number mismatch expected 65099, received 65030");
      expect(lines.some((l) => l.includes("as number mismatch expected 65099, received 65030"))).toBe(true);
      // gobgpd does not log a NOTIFICATION received in OpenConfirm; its counters show it arrived.
      const theirs = kind === "gobgp"
        ? await waitFor(() => daemon.peer(l1.a.ipv4), (p) => (JSON.parse(p.raw).state?.messages?.received?.notification ?? 0) > 0, { what: "gobgp to count herald's NOTIFICATION", timeoutMs: 20_000 })
        : await waitFor(() => daemon.peer(l1.a.ipv4), (p) => /bad peer as/i.test(p.lastError ?? ""), { what: `${kind} to report Bad Peer AS from herald`, timeoutMs: 20_000 });
      expect(theirs.state).not.toBe("established");

      const refused = await heraldState(speaker, "e", "right", (p) => p.lastError?.reason === "notification-received", "NOTIFICATION received");
      expect(refused.lastError?.message).toBe("received OPEN Message Error / Bad Peer AS");
      expect(refused.state).not.toBe("established");
    });
  });
}
