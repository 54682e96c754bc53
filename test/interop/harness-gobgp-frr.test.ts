import { describe, it } from "vitest";
import { delay, type Route, useHarness } from "./harness/mod.ts";

const h = useHarness("hgf");

const byPrefix = (routes: Route[]) => [...routes].sort((a, b) => a.prefix.localeCompare(b.prefix));

// Each test builds its own namespaces, so they run concurrently.
describe.concurrent("GoBGP ↔ FRR", () => {
  it("peer over IPv4 and IPv6 and exchange routes with their attributes", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const gobgp = await h.gobgp({
      netns: a,
      routerId: link.a.ipv4,
      asn: 65002,
      neighbors: [
        { address: link.b.ipv4, asn: 65003, holdTime: 6, passive: true },
        { address: link.b.ipv6, asn: 65003, holdTime: 6, passive: true },
      ],
      routes: [
        { prefix: "198.51.100.0/24", med: 4, communities: ["65002:4"], largeCommunities: ["65002:0:4"] },
        { prefix: "2001:db8:2::/48", asPath: [64555], communities: ["65002:6"] },
      ],
    });
    const frr = await h.frr({
      netns: b,
      routerId: link.b.ipv4,
      asn: 65003,
      neighbors: [
        { address: link.a.ipv4, asn: 65002, holdTime: 6 },
        { address: link.a.ipv6, asn: 65002, holdTime: 6 },
      ],
      routes: [
        { prefix: "203.0.113.0/24", origin: "incomplete", communities: ["65003:3"] },
        { prefix: "2001:db8:3::/48", largeCommunities: ["65003:0:6"] },
      ],
    });
    await frr.waitForPeer(link.a.ipv4);
    await frr.waitForPeer(link.a.ipv6);
    const g = await gobgp.waitForPeer(link.b.ipv4);
    expect(g).toMatchObject({ remoteAs: 65003, remoteRouterId: link.b.ipv4, holdTime: 6 });
    expect(g.capabilities).toMatchObject({ multiprotocol: ["ipv4-unicast"], fourOctetAs: true, enhancedRouteRefresh: true });

    await frr.waitForRouteCount(2);
    expect(byPrefix(await frr.routes())).toEqual([
      {
        prefix: "198.51.100.0/24",
        family: "ipv4-unicast",
        peer: link.a.ipv4,
        nextHop: link.a.ipv4,
        asPath: [65002],
        origin: "igp",
        med: 4,
        communities: ["65002:4"],
        largeCommunities: ["65002:0:4"],
      },
      {
        prefix: "2001:db8:2::/48",
        family: "ipv6-unicast",
        peer: link.a.ipv6,
        nextHop: link.a.ipv6,
        asPath: [65002, 64555],
        origin: "igp",
        communities: ["65002:6"],
        largeCommunities: [],
      },
    ]);
    await gobgp.waitForRouteCount(2);
    expect(byPrefix(await gobgp.routes())).toMatchObject([
      { prefix: "2001:db8:3::/48", family: "ipv6-unicast", peer: link.b.ipv6, nextHop: link.b.ipv6, asPath: [65003], largeCommunities: ["65003:0:6"] },
      { prefix: "203.0.113.0/24", family: "ipv4-unicast", peer: link.b.ipv4, nextHop: link.b.ipv4, asPath: [65003], origin: "incomplete", communities: ["65003:3"] },
    ]);
  });

  it("TCP-MD5: a session comes up only when both sides use the same password", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    // One neighbour with the right password, one (on IPv6) with a wrong one.
    await h.gobgp({
      netns: a,
      routerId: link.a.ipv4,
      asn: 65002,
      neighbors: [
        { address: link.b.ipv4, asn: 65003, passive: true, md5Password: "s3cret" },
        { address: link.b.ipv6, asn: 65003, passive: true, md5Password: "s3cret" },
      ],
    });
    const frr = await h.frr({
      netns: b,
      routerId: link.b.ipv4,
      asn: 65003,
      neighbors: [
        { address: link.a.ipv4, asn: 65002, md5Password: "s3cret" },
        { address: link.a.ipv6, asn: 65002, md5Password: "wrong" },
      ],
    });
    await frr.waitForPeer(link.a.ipv4);
    await delay(3000);
    expect((await frr.peer(link.a.ipv6)).state).not.toBe("established");
  });

  it("ebgp-multihop 2 brings up a session across a router; GTSM for one hop keeps it down", async ({ expect }) => {
    const t = await h.twoHop();
    const [frrAddr, gobgpAddr] = [t.left.a.ipv4, t.right.b.ipv4];
    const frr = await h.frr({
      netns: t.a,
      routerId: frrAddr,
      asn: 65003,
      neighbors: [
        { address: gobgpAddr, asn: 65002, multihop: 2, holdTime: 6 },
        // GTSM for a directly connected peer: packets arrive with TTL 254, refused.
        { address: t.right.b.ipv6, asn: 65002, ttlSecurity: 1, holdTime: 6 },
      ],
    });
    const gobgp = await h.gobgp({
      netns: t.b,
      routerId: gobgpAddr,
      asn: 65002,
      neighbors: [
        { address: frrAddr, asn: 65003, multihop: 2, passive: true, holdTime: 6 },
        { address: t.left.a.ipv6, asn: 65003, ttlSecurity: 1, passive: true, holdTime: 6 },
      ],
      routes: [{ prefix: "203.0.113.0/24" }],
    });
    await frr.waitForPeer(gobgpAddr);
    await frr.waitForRouteCount(1, { peer: gobgpAddr });
    expect(await frr.routes()).toMatchObject([{ prefix: "203.0.113.0/24", nextHop: gobgpAddr, asPath: [65002] }]);
    await delay(3000);
    expect((await gobgp.peer(t.left.a.ipv6)).state).not.toBe("established");
  });

  it("GTSM for two hops brings the session up across the router", async ({ expect }) => {
    const t = await h.twoHop();
    const frr = await h.frr({
      netns: t.a,
      routerId: t.left.a.ipv4,
      asn: 65003,
      neighbors: [{ address: t.right.b.ipv6, asn: 65002, ttlSecurity: 2, holdTime: 6 }],
    });
    await h.gobgp({
      netns: t.b,
      routerId: t.right.b.ipv4,
      asn: 65002,
      neighbors: [{ address: t.left.a.ipv6, asn: 65003, ttlSecurity: 2, passive: true, holdTime: 6 }],
    });
    const p = await frr.waitForPeer(t.right.b.ipv6);
    expect(p.remoteRouterId).toBe(t.right.b.ipv4);
  });

  it("freeze() on gobgpd: FRR reports the hold timer expiry", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const gobgp = await h.gobgp({ netns: a, routerId: link.a.ipv4, asn: 65002, neighbors: [{ address: link.b.ipv4, asn: 65003, holdTime: 3, passive: true }] });
    const frr = await h.frr({ netns: b, routerId: link.b.ipv4, asn: 65003, neighbors: [{ address: link.a.ipv4, asn: 65002, holdTime: 3 }] });
    await frr.waitForPeer(link.a.ipv4);
    gobgp.freeze();
    const down = await frr.waitForPeer(link.a.ipv4, (p) => p.state !== "established", 8000);
    expect(down.lastError).toMatch(/Hold Timer Expired/i);
    gobgp.thaw();
  });
});
