/**
 * herald ↔ herald over real TCP on loopback: two Speakers, one passive.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SpeakerEvent } from "../../src/bgp/events.ts";
import { renderAttributes } from "../../src/bgp/render.ts";
import { Speaker } from "../../src/bgp/speaker.ts";
import { decodeOpen, keyToText, parseCommunity } from "../../src/bgp/wire/mod.ts";

const open: Speaker[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function speaker(): Speaker {
  const s = new Speaker({ idleHoldSeconds: 0.1 });
  open.push(s);
  return s;
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const TIMERS = { holdTimeSeconds: 3, keepaliveSeconds: 1, connectRetrySeconds: 1 };

/** A (AS 65001, 127.0.0.1, active) peers with B (AS 65002, 127.0.0.2, listening, passive). */
async function pair(o: { aAsn?: number; bAsn?: number; families?: string[] } = {}) {
  const a = speaker();
  const b = speaker();
  const aAsn = o.aAsn ?? 65001;
  const bAsn = o.bAsn ?? 65002;
  await b.setInstance({ name: "b", asn: bAsn, routerId: "10.0.0.2", listen: { address: "127.0.0.2", port: 0 } });
  const port = b.listenPort("b")!;
  await a.setInstance({ name: "a", asn: aAsn, routerId: "10.0.0.1" });
  b.setPeer("b", { name: "a", address: "127.0.0.1", asn: aAsn, passive: true, timers: TIMERS, families: o.families });
  a.setPeer("a", { name: "b", address: "127.0.0.2", asn: bAsn, port, localAddress: "127.0.0.1", timers: TIMERS, families: o.families });
  const received: SpeakerEvent[] = [];
  b.subscribe((e) => received.push(e), { received: true });
  const up = () => a.peer("a", "b")?.state === "established" && b.peer("b", "a")?.state === "established";
  return { a, b, port, received, up };
}

const receivedCount = (s: Speaker, inst: string, peer: string, family: string) => s.peer(inst, peer)!.families.find((f) => f.family === family)!.received;

describe("Speaker over loopback TCP", () => {
  it("establishes and delivers IPv4 and IPv6 routes with exactly the attributes sent, then withdraws", async () => {
    const { a, b, up } = await pair();
    const attrs = a.attributes({ med: 20, communities: [parseCommunity("65001:99")!, parseCommunity("no-export")!], largeCommunities: [[65001, 7, 8]] });
    a.announce("a", "b", "ipv4/unicast", ["192.0.2.10/32", "198.51.100.0/24"], attrs);
    a.announce("a", "b", "ipv6/unicast", ["2001:db8:1::/48"], { origin: "incomplete" });
    await until(up, "established");
    await until(() => receivedCount(b, "b", "a", "ipv4/unicast") === 2 && receivedCount(b, "b", "a", "ipv6/unicast") === 1, "routes");
    const v4 = [...b.received("b", "a", "ipv4/unicast")].map((r) => `${r.prefix} ${r.nextHop} ${renderAttributes(r.attributes)}`);
    expect(v4).toEqual([
      "192.0.2.10/32 127.0.0.1 [{Origin: i} {AsPath: 65001} {Nexthop: 127.0.0.1} {Med: 20} {Communities: 65001:99, no-export} {LargeCommunity: [ 65001:7:8]}]",
      "198.51.100.0/24 127.0.0.1 [{Origin: i} {AsPath: 65001} {Nexthop: 127.0.0.1} {Med: 20} {Communities: 65001:99, no-export} {LargeCommunity: [ 65001:7:8]}]",
    ]);
    const v6 = [...b.received("b", "a", "ipv6/unicast")].map((r) => renderAttributes(r.attributes));
    expect(v6).toEqual(["[{Origin: ?} {AsPath: 65001} {MpReach(ipv6-unicast): {Nexthop: ::ffff:127.0.0.1, NLRIs: [2001:db8:1::/48]}}]"]);
    // what A says it advertised is what B received
    expect([...a.advertised("a", "b", "ipv4/unicast")].map((r) => renderAttributes(r.attributes))).toEqual(v4.map((l) => l.slice(l.indexOf("["))));
    expect(a.peer("a", "b")!.families).toEqual([
      { family: "ipv6/unicast", afi: "ipv6", safi: "unicast", received: 0, accepted: 0, advertised: 1 },
      { family: "ipv4/unicast", afi: "ipv4", safi: "unicast", received: 0, accepted: 0, advertised: 2 },
    ]);
    expect(a.withdraw("a", "b", "ipv4/unicast", ["192.0.2.10/32"])).toBe(1);
    await until(() => receivedCount(b, "b", "a", "ipv4/unicast") === 1, "withdraw");
    expect([...a.locRib("a", "ipv4/unicast")].map((r) => `${r.prefix} ${r.nextHop} ${renderAttributes(r.attributes)}`)).toEqual([
      "198.51.100.0/24 0.0.0.0 [{Origin: i} {Nexthop: 0.0.0.0} {Med: 20}]",
    ]);
  });

  it("reports status: states, ASNs, addresses, timers, uptime and both sides' capabilities", async () => {
    const { a, b, port, up } = await pair();
    await until(up, "established");
    const st = a.peer("a", "b")!;
    expect(st).toMatchObject({
      instance: "a",
      name: "b",
      localAsn: 65001,
      peerAsn: 65002,
      peerAddress: "127.0.0.2",
      peerPort: port,
      localAddress: "127.0.0.1",
      state: "established",
      routerId: "10.0.0.1",
      remoteRouterId: "10.0.0.2",
      appliedHoldTimeSeconds: 3,
      appliedKeepaliveSeconds: 1,
      timers: { connectRetrySeconds: 1, holdTimeSeconds: 3, keepaliveSeconds: 1 },
      ebgpMultihopTtl: 1,
      tcpPasswordEnabled: false,
    });
    expect(st.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(st.localCapabilities).toEqual(b.peer("b", "a")!.remoteCapabilities);
    expect(st.remoteCapabilities).toEqual(b.peer("b", "a")!.localCapabilities);
  });

  it("sends 50000 prefixes over real TCP with backpressure and End-of-RIB after them", async () => {
    const { a, b, received, up } = await pair({ families: ["ipv4/unicast"] });
    const prefixes = Array.from({ length: 50_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`);
    a.announce("a", "b", "ipv4/unicast", prefixes);
    await until(up, "established");
    await until(() => received.some((e) => e.type === "end-of-rib" && e.direction === "received"), "End-of-RIB", 20000);
    expect(receivedCount(b, "b", "a", "ipv4/unicast")).toBe(50_000);
    const got = received.flatMap((e) => (e.type === "received" ? e.announced : []));
    expect(new Set(got.map((k) => keyToText(k, 4)))).toEqual(new Set(prefixes));
  });

  it("a reset (hold time change) re-establishes and sends the routes again", async () => {
    const { a, b, port, up } = await pair();
    a.announce("a", "b", "ipv4/unicast", ["192.0.2.1/32"]);
    await until(up, "established");
    await until(() => receivedCount(b, "b", "a", "ipv4/unicast") === 1, "route");
    const r = a.setPeer("a", { name: "b", address: "127.0.0.2", asn: 65002, port, localAddress: "127.0.0.1", timers: { ...TIMERS, holdTimeSeconds: 6, keepaliveSeconds: 2 } });
    expect(r).toEqual({ action: "reset", changed: ["timers.holdTimeSeconds", "timers.keepaliveSeconds"] });
    await until(() => b.peer("b", "a")!.state !== "established", "down");
    await until(up, "up again");
    await until(() => receivedCount(b, "b", "a", "ipv4/unicast") === 1, "route again");
    expect(a.peer("a", "b")!.appliedHoldTimeSeconds).toBe(3); // B still offers 3
  });

  it("re-creates an instance whose router ID changed (C6) and keeps its routes", async () => {
    const { a, b, up } = await pair();
    a.announce("a", "b", "ipv4/unicast", ["192.0.2.1/32"]);
    await until(up, "established");
    expect(await a.setInstance({ name: "a", asn: 65001, routerId: "10.0.0.1" })).toBe("unchanged");
    expect(await a.setInstance({ name: "a", asn: 65001, routerId: "10.0.0.11" })).toBe("recreated");
    await until(() => b.peer("b", "a")!.remoteRouterId === "10.0.0.11" && up(), "re-established with the new ID");
    await until(() => receivedCount(b, "b", "a", "ipv4/unicast") === 1, "route again");
  });

  it("learns the AS of a peer configured with AS 0 and of dynamic peers (acceptAnyPeer)", async () => {
    const c = speaker();
    await c.setInstance({ name: "c", asn: 65000, routerId: "10.0.0.3", listen: { address: "127.0.0.3", port: 0 }, acceptAnyPeer: { timers: TIMERS } });
    const a = speaker();
    await a.setInstance({ name: "a", asn: 4200000001, routerId: "10.0.0.1" });
    a.setPeer("a", { name: "c", address: "127.0.0.3", asn: 0, port: c.listenPort("c")!, localAddress: "127.0.0.1", timers: TIMERS });
    await until(() => c.peers("c").length === 1 && c.peers("c")[0].state === "established", "dynamic peer up");
    expect(c.peers("c")[0]).toMatchObject({ name: "127.0.0.1", peerAsn: 4200000001, configuredPeerAsn: 0, passive: true });
    expect(a.peer("a", "c")).toMatchObject({ peerAsn: 65000, configuredPeerAsn: 0 });
    a.removePeer("a", "c");
    await until(() => c.peers("c").length === 0, "dynamic peer removed when it went down");
  });

  it("close({ notify: false }) drops the session without NOTIFICATION; removing an instance sends Cease", async () => {
    const p1 = await pair();
    await until(p1.up, "established");
    await p1.a.close({ notify: false });
    await until(() => p1.b.peer("b", "a")!.state !== "established", "down");
    expect(p1.b.peer("b", "a")!.lastError?.reason).toBe("connection-closed");

    const p2 = await pair();
    await until(p2.up, "established");
    await p2.a.removeInstance("a");
    await until(() => p2.b.peer("b", "a")!.state !== "established", "down");
    expect(p2.b.peer("b", "a")!.lastError).toMatchObject({ reason: "notification-received", message: "received Cease / Administrative Shutdown" });
  });

  it("a restarting instance sets the R bit until its sessions are up", async () => {
    const b = speaker();
    let opened: Uint8Array | null = null;
    await b.setInstance({ name: "b", asn: 65002, routerId: "10.0.0.2", listen: { address: "127.0.0.2", port: 0 } });
    b.setPeer("b", { name: "a", address: "127.0.0.1", asn: 65001, passive: true, timers: TIMERS, gracefulRestart: { enabled: true } });
    const a = speaker();
    await a.setInstance({ name: "a", asn: 65001, routerId: "10.0.0.1", restarting: true });
    a.setPeer("a", { name: "b", address: "127.0.0.2", asn: 65002, port: b.listenPort("b")!, localAddress: "127.0.0.1", timers: TIMERS, gracefulRestart: { enabled: true, restartTimeSeconds: 60 } });
    await until(() => b.peer("b", "a")!.state === "established", "established");
    opened = b.peer("b", "a")!.remoteCapabilities.find((c) => c[0] === 64)!;
    expect(opened).toEqual(Uint8Array.of(64, 10, 0x80 | 0x40, 60, 0, 2, 1, 0x80, 0, 1, 1, 0x80));
    expect(b.peer("b", "a")!.gracefulRestart.remote).toMatchObject({ restarting: true, notification: true, restartTimeSeconds: 60 });
    expect(decodeOpen).toBeTypeOf("function");
  });

  it("refuses a peer whose password the node:net transport cannot set", async () => {
    const a = speaker();
    await a.setInstance({ name: "a", asn: 65001, routerId: "10.0.0.1" });
    a.setPeer("a", { name: "x", address: "127.0.0.9", asn: 65009, md5Password: "secret" });
    expect(a.peer("a", "x")).toMatchObject({ state: "idle", lastError: { reason: "transport-unsupported" } });
  });

  it("validates instances, peers and prefixes with errors that name the value", async () => {
    const a = speaker();
    await expect(a.setInstance({ name: "a", asn: 65001, routerId: "0.0.0.0" })).rejects.toThrow('routerId must be a non-zero dotted quad: current value is "0.0.0.0"');
    await a.setInstance({ name: "a", asn: 65001, routerId: "10.0.0.1" });
    expect(() => a.setPeer("a", { name: "x", address: "10.0.0.300", asn: 1 })).toThrow('Cannot configure peer "x": address must be an IP address: current value is "10.0.0.300"');
    expect(() => a.setPeer("a", { name: "x", address: "10.0.0.3", asn: 1, timers: { holdTimeSeconds: 9, keepaliveSeconds: 30 } })).toThrow(/keepaliveSeconds must not exceed/);
    expect(() => a.setPeer("a", { name: "x", address: "10.0.0.3", asn: 1, families: ["ipv4/unicats"] })).toThrow(/families: "ipv4\/unicats" is not "afi\/safi"/);
    a.setPeer("a", { name: "x", address: "10.0.0.3", asn: 1, passive: true });
    expect(() => a.setPeer("a", { name: "y", address: "10.0.0.3", asn: 1 })).toThrow('address "10.0.0.3" is already used by peer "x"');
    expect(() => a.announce("a", "x", "ipv4/unicast", ["fd00::/64"])).toThrow('Cannot use prefix "fd00::/64" in family "ipv4/unicast": wrong address family');
    expect(() => a.announce("a", "x", "ipv4/unicast", ["10.0.0.0/33"])).toThrow('Cannot use prefix "10.0.0.0/33": not an address/length prefix');
    expect(() => a.announce("a", "x", "l2vpn/evpn", [])).toThrow(/carries routes for ipv4\/unicast and ipv6\/unicast only/);
    expect(() => a.announce("a", "nobody", "ipv4/unicast", [])).toThrow('Cannot find peer "nobody" in instance "a"');
    expect([...a.advertised("a", "x", "l2vpn/evpn")]).toEqual([]);
    expect([...a.locRib("a", "l2vpn/evpn")]).toEqual([]);
    expect(() => a.locRib("a", "ipv4/unicats")).toThrow(TypeError);
  });
});
