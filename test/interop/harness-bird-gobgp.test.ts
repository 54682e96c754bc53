import { describe, it } from "vitest";
import { freePort, type Route, useHarness, waitFor } from "./harness/mod.ts";

const h = useHarness("hbg");

const byPrefix = (routes: Route[]) => [...routes].sort((a, b) => a.prefix.localeCompare(b.prefix));

// Each test builds its own namespaces, so they run concurrently.
describe.concurrent("BIRD ↔ GoBGP", () => {
  it("peer over IPv4 and IPv6 in namespaces and exchange routes with their attributes", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({
      netns: a,
      routerId: link.a.ipv4,
      asn: 65001,
      neighbors: [
        { address: link.b.ipv4, asn: 65002, holdTime: 6, gracefulRestart: { restartTime: 30 } },
        { address: link.b.ipv6, asn: 65002, holdTime: 6 },
      ],
      routes: [
        { prefix: "198.51.100.0/24", origin: "egp", asPath: [64999, 64998], med: 5, communities: ["65001:100", "65001:101"], largeCommunities: ["65001:1:2"] },
        { prefix: "2001:db8:1::/48", communities: ["65001:6"] },
      ],
    });
    // gobgpd waits 5–10 s before its first connect: let BIRD connect.
    const gobgp = await h.gobgp({
      netns: b,
      routerId: link.b.ipv4,
      asn: 65002,
      neighbors: [
        { address: link.a.ipv4, asn: 65001, holdTime: 6, passive: true, gracefulRestart: { restartTime: 40 } },
        { address: link.a.ipv6, asn: 65001, holdTime: 6, passive: true },
      ],
      routes: [
        { prefix: "203.0.113.0/24", origin: "incomplete", asPath: [64990], med: 6, communities: ["65002:1"], largeCommunities: ["65002:2:3", "65002:4:5"] },
        { prefix: "2001:db8:2::/48", largeCommunities: ["65002:6:6"] },
      ],
    });

    const v4 = await gobgp.waitForPeer(link.a.ipv4);
    expect(v4).toMatchObject({ state: "established", remoteAs: 65001, remoteRouterId: link.a.ipv4, holdTime: 6 });
    expect(v4.capabilities).toMatchObject({
      multiprotocol: ["ipv4-unicast"],
      fourOctetAs: true,
      routeRefresh: true,
      gracefulRestart: { restartTime: 30, restarting: false, families: ["ipv4-unicast"] },
    });
    const fromGobgp = await bird.waitForPeer(link.b.ipv4);
    expect(fromGobgp.capabilities).toMatchObject({
      multiprotocol: ["ipv4-unicast"],
      extendedNextHop: true,
      gracefulRestart: { restartTime: 40, families: ["ipv4-unicast"] },
    });
    await bird.waitForPeer(link.b.ipv6);
    await gobgp.waitForPeer(link.a.ipv6);

    await gobgp.waitForRouteCount(2);
    expect(byPrefix(await gobgp.routes())).toEqual([
      {
        prefix: "198.51.100.0/24",
        family: "ipv4-unicast",
        peer: link.a.ipv4,
        nextHop: link.a.ipv4,
        asPath: [65001, 64999, 64998],
        origin: "egp",
        med: 5,
        communities: ["65001:100", "65001:101"],
        largeCommunities: ["65001:1:2"],
      },
      {
        prefix: "2001:db8:1::/48",
        family: "ipv6-unicast",
        peer: link.a.ipv6,
        nextHop: link.a.ipv6,
        asPath: [65001],
        origin: "igp",
        communities: ["65001:6"],
        largeCommunities: [],
      },
    ]);

    await bird.waitForRouteCount(2);
    expect(await bird.routeCount({ peer: link.b.ipv4 })).toBe(1);
    expect(await bird.routeCount({ family: "ipv6-unicast" })).toBe(1);
    expect(byPrefix(await bird.routes())).toEqual([
      {
        prefix: "2001:db8:2::/48",
        family: "ipv6-unicast",
        peer: link.b.ipv6,
        nextHop: link.b.ipv6,
        asPath: [65002],
        origin: "igp",
        communities: [],
        largeCommunities: ["65002:6:6"],
      },
      {
        prefix: "203.0.113.0/24",
        family: "ipv4-unicast",
        peer: link.b.ipv4,
        nextHop: link.b.ipv4,
        asPath: [65002, 64990],
        origin: "incomplete",
        med: 6,
        communities: ["65002:1"],
        largeCommunities: ["65002:2:3", "65002:4:5"],
      },
    ]);

    // announce / withdraw while running
    await gobgp.announce([{ prefix: "192.0.2.0/25", communities: ["65002:9"] }]);
    await bird.waitForRouteCount(3);
    await gobgp.withdraw(["203.0.113.0/24"]);
    await bird.waitForRouteCount(2);
    expect((await bird.routes({ family: "ipv4-unicast" })).map((r) => r.prefix)).toEqual(["192.0.2.0/25"]);
  });

  it("freeze() lets the neighbour's hold timer expire, thaw() brings the session back", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({ netns: a, routerId: link.a.ipv4, asn: 65001, neighbors: [{ address: link.b.ipv4, asn: 65002, holdTime: 3 }] });
    const gobgp = await h.gobgp({
      netns: b,
      routerId: link.b.ipv4,
      asn: 65002,
      neighbors: [{ address: link.a.ipv4, asn: 65001, holdTime: 3, passive: true }],
    });
    await gobgp.waitForPeer(link.a.ipv4);
    const frozenAt = Date.now();
    bird.freeze();
    const down = await gobgp.waitForPeer(link.a.ipv4, (p) => p.state !== "established", 8000);
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(1500);
    expect(down.lastError).toBe("sent notification: hold timer expired (4/0)");
    bird.thaw();
    // gobgpd stays Idle 5 s after a drop (fixed HOLDTIME_IDLE).
    await gobgp.waitForPeer(link.a.ipv4, "established", 15_000);
    await bird.waitForPeer(link.b.ipv4);
  });

  it("lastError carries the NOTIFICATION when GoBGP rejects BIRD's AS", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({ netns: a, routerId: link.a.ipv4, asn: 65001, neighbors: [{ address: link.b.ipv4, asn: 65002 }] });
    const gobgp = await h.gobgp({ netns: b, routerId: link.b.ipv4, asn: 65002, neighbors: [{ address: link.a.ipv4, asn: 65009, passive: true }] });
    const seen = await bird.waitForPeer(link.b.ipv4, (p) => p.lastError !== undefined);
    expect(seen.state).not.toBe("established");
    expect(seen.lastError).toBe("Received: Bad peer AS");
    const g = await gobgp.waitForPeer(link.a.ipv4, (p) => p.lastError !== undefined);
    expect(g.lastError).toBe("sent notification: as number mismatch expected 65009, received 65001");
  });

  it("restart() brings gobgpd back with its originated routes", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({ netns: a, routerId: link.a.ipv4, asn: 65001, neighbors: [{ address: link.b.ipv4, asn: 65002 }] });
    const gobgp = await h.gobgp({
      netns: b,
      routerId: link.b.ipv4,
      asn: 65002,
      neighbors: [{ address: link.a.ipv4, asn: 65001, passive: true }],
      routes: [{ prefix: "203.0.113.0/24" }],
    });
    await bird.waitForRouteCount(1);
    const firstPid = gobgp.pid;
    await gobgp.restart();
    expect(gobgp.pid).not.toBe(firstPid);
    await bird.waitForPeer(link.b.ipv4, (p) => p.state === "established" && p.receivedRoutes === 1, 15_000);
    expect(gobgp.log()).toContain("gobgpd started");
  });

  it("peer on loopback in the root namespace (BIRD gets multihop for 127.0.0.0/8 by itself)", async ({ expect }) => {
    const [birdPort, gobgpPort] = [await freePort(), await freePort()];
    const bird = await h.bird({
      routerId: "192.0.2.1",
      asn: 65001,
      listen: { addresses: ["127.0.0.2"], port: birdPort },
      neighbors: [{ address: "127.0.0.3", port: gobgpPort, asn: 65002, holdTime: 6 }],
      // gobgpd drops a 127.0.0.0/8 NEXT_HOP as invalid: send another one.
      routes: [{ prefix: "198.51.100.0/24", communities: ["65001:7"], nextHop: "192.0.2.1" }],
    });
    expect(bird.netns).toBeUndefined();
    expect(bird.port).toBe(birdPort);
    expect(bird.configText()).toContain("multihop;");
    const gobgp = await h.gobgp({
      routerId: "192.0.2.2",
      asn: 65002,
      listen: { addresses: ["127.0.0.3"], port: gobgpPort },
      neighbors: [{ address: "127.0.0.2", port: birdPort, asn: 65001, holdTime: 6, passive: true }],
      routes: [{ prefix: "203.0.113.0/24" }],
    });
    await gobgp.waitForRouteCount(1);
    expect(await gobgp.routes()).toMatchObject([{ prefix: "198.51.100.0/24", peer: "127.0.0.2", nextHop: "192.0.2.1", communities: ["65001:7"] }]);
    // BIRD keeps the route; its 127.0.0.3 next hop just does not resolve (no `lo` route in BIRD's table).
    await bird.waitForRouteCount(1);
    expect(await bird.routes()).toMatchObject([{ prefix: "203.0.113.0/24", peer: "127.0.0.3", nextHop: "127.0.0.3", asPath: [65002] }]);
  });

  it("long community lists survive both ways (BIRD wraps them over several lines)", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const communities = Array.from({ length: 40 }, (_, i) => `65001:${1000 + i}`);
    const largeCommunities = Array.from({ length: 12 }, (_, i) => `65001:${i}:${100000 + i}`);
    const bird = await h.bird({
      netns: a,
      routerId: link.a.ipv4,
      asn: 65001,
      neighbors: [{ address: link.b.ipv4, asn: 65002 }],
      routes: [{ prefix: "198.51.100.0/24", communities, largeCommunities }],
    });
    const gobgp = await h.gobgp({
      netns: b,
      routerId: link.b.ipv4,
      asn: 65002,
      neighbors: [{ address: link.a.ipv4, asn: 65001, passive: true }],
      routes: [{ prefix: "203.0.113.0/24", communities, largeCommunities, asPath: Array.from({ length: 30 }, (_, i) => 64512 + i) }],
    });
    await gobgp.waitForRouteCount(1);
    expect(await gobgp.routes()).toMatchObject([{ communities, largeCommunities }]);
    await bird.waitForRouteCount(1);
    const [got] = await bird.routes();
    expect(got.communities).toEqual(communities);
    expect(got.largeCommunities).toEqual(largeCommunities);
    expect(got.asPath).toEqual([65002, ...Array.from({ length: 30 }, (_, i) => 64512 + i)]);
  });

  it("waitFor() fails with what it saw last", async ({ expect }) => {
    const err = await waitFor(() => ({ state: "active" }), (p) => p.state === "established", { what: "a session", timeoutMs: 200 })
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^Cannot wait for a session: not met after \d+ ms/);
    expect((err as Error).message).toContain(`last seen: {"state":"active"}`);
  });
});
