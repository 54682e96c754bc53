/**
 * herald's BGP speaker (src/bgp) on the libc transport against BIRD and FRR:
 * TCP-MD5 passwords (spec D9), ebgpMultihop TTL (spec D8) and GTSM, with
 * sessions driven by the real FSM and routes flowing over them. The socket
 * level proofs are in md5-ttl.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Speaker } from "../../src/bgp/mod.ts";
import type { PeerOptions } from "../../src/bgp/mod.ts";
import { createSockoptTransport } from "../../src/runtime/sockopt-transport.ts";
import { delay, freePort, perTest, ROOT, useHarness, waitFor } from "./harness/mod.ts";
import type { Harness } from "./harness/mod.ts";

const h = useHarness("hms");
const HERALD_AS = 65000;
const PEER_AS = 65001;
const FAST = { connectRetrySeconds: 1, holdTimeSeconds: 9, keepaliveSeconds: 3 };

async function speaker(t: Harness, listen?: { address: string; port: number }): Promise<Speaker> {
  const s = new Speaker({ transport: createSockoptTransport(), idleHoldSeconds: 1 });
  t.defer(() => s.close({ notify: false }));
  await s.setInstance({ name: "default", asn: HERALD_AS, routerId: "192.0.2.1", listen: listen ?? null });
  return s;
}

function peer(address: string, extra: Partial<PeerOptions> = {}): PeerOptions {
  return { name: "upstream", address, asn: PEER_AS, timers: FAST, families: [address.includes(":") ? "ipv6/unicast" : "ipv4/unicast"], ...extra };
}

const stateOf = (s: Speaker) => s.peers().find((p) => p.name === "upstream")?.state;

function established(s: Speaker, timeoutMs = 15_000) {
  return waitFor(() => stateOf(s), (st) => st === "established", { what: "herald's session to be established", timeoutMs });
}

/** Neither side may reach Established for `ms`. */
async function staysDown(s: Speaker, daemon: { peer(a: string): Promise<{ state: string }> }, address: string, ms = 3000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect(stateOf(s)).not.toBe("established");
    expect((await daemon.peer(address)).state).not.toBe("established");
    await delay(250);
  }
}

describe("Speaker on the libc transport", () => {
  for (const kind of ["bird", "frr"] as const) {
    it(`${kind}: TCP-MD5 session comes up only with the right password, and routes flow (D9)`, async () => {
      const t = perTest(h);
      const ns = await t.namespace();
      const link = await t.link(ROOT, ns);
      const daemon = await t.daemon(kind, {
        netns: ns,
        routerId: "192.0.2.2",
        asn: PEER_AS,
        neighbors: [{ address: link.a.ipv4, asn: HERALD_AS, md5Password: "s3cret", passive: true }],
      });
      const s = await speaker(t);
      s.setPeer("default", peer(link.b.ipv4, { localAddress: link.a.ipv4, md5Password: "wrong" }));
      await staysDown(s, daemon, link.a.ipv4);

      s.setPeer("default", peer(link.b.ipv4, { localAddress: link.a.ipv4, md5Password: "s3cret" }));
      await established(s);
      await daemon.waitForPeer(link.a.ipv4);
      s.announce("default", "upstream", "ipv4/unicast", ["198.51.100.0/24"]);
      await daemon.waitForRouteCount(1, { peer: link.a.ipv4 });
    });
  }

  it("bird: a peer connecting to herald's listener needs the password herald has for it (IPv6)", async () => {
    const t = perTest(h);
    const ns = await t.namespace();
    const link = await t.link(ROOT, ns);
    const port = await freePort();
    const s = await speaker(t, { address: link.a.ipv6, port });
    s.setPeer("default", peer(link.b.ipv6, { passive: true, md5Password: "wrong" }));
    const bird = await t.bird({
      netns: ns,
      routerId: "192.0.2.2",
      asn: PEER_AS,
      neighbors: [{ address: link.a.ipv6, port, asn: HERALD_AS, md5Password: "v6secret", connectRetry: 1 }],
    });
    await staysDown(s, bird, link.a.ipv6, 2500);
    // The new password reaches the listening socket (Listener.setMd5Passwords).
    s.setPeer("default", peer(link.b.ipv6, { passive: true, md5Password: "v6secret" }));
    await established(s);
    await bird.waitForPeer(link.a.ipv6);
  });

  it("bird two hops away: ebgpMultihop 1 never comes up, ebgpMultihop 2 does (D8)", async () => {
    const t = perTest(h);
    const path = await t.twoHop({ a: ROOT });
    const bird = await t.bird({
      netns: path.b,
      routerId: "192.0.2.2",
      asn: PEER_AS,
      neighbors: [{ address: path.left.a.ipv4, asn: HERALD_AS, multihop: 2, passive: true }],
    });
    const s = await speaker(t);
    s.setPeer("default", peer(path.right.b.ipv4, { localAddress: path.left.a.ipv4 }));
    await staysDown(s, bird, path.left.a.ipv4);

    expect(s.setPeer("default", peer(path.right.b.ipv4, { localAddress: path.left.a.ipv4, ebgpMultihop: 2 })).action).toBe("reset");
    await established(s);
    await bird.waitForPeer(path.left.a.ipv4);
    s.announce("default", "upstream", "ipv4/unicast", ["198.51.100.0/24"]);
    await bird.waitForRouteCount(1, { peer: path.left.a.ipv4 });
  });

  it("bird with ttl security: GTSM session (TTL 255, minimum 255) comes up", async () => {
    const t = perTest(h);
    const ns = await t.namespace();
    const link = await t.link(ROOT, ns);
    const bird = await t.bird({
      netns: ns,
      routerId: "192.0.2.2",
      asn: PEER_AS,
      neighbors: [{ address: link.a.ipv4, asn: HERALD_AS, ttlSecurity: 1, passive: true }],
    });
    const s = await speaker(t);
    s.setPeer("default", peer(link.b.ipv4, { localAddress: link.a.ipv4, ebgpMultihop: 255, minTtl: 255 }));
    await established(s);
    await bird.waitForPeer(link.a.ipv4);
  });
});
