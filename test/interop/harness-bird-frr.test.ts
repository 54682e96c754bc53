import { describe, it } from "vitest";
import { type Route, useHarness } from "./harness/mod.ts";

const h = useHarness("hbf");

const byPrefix = (routes: Route[]) => [...routes].sort((a, b) => a.prefix.localeCompare(b.prefix));

// Each test builds its own namespaces, so they run concurrently.
describe.concurrent("BIRD ↔ FRR", () => {
  it("peer over IPv4 and IPv6 (eBGP) and exchange routes with their attributes", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({
      netns: a,
      routerId: link.a.ipv4,
      asn: 65001,
      neighbors: [
        { address: link.b.ipv4, asn: 65003, holdTime: 6 },
        // FRR without zebra withdraws routes with a link-local next hop.
        { address: link.b.ipv6, asn: 65003, holdTime: 6, linkLocalNextHop: false },
      ],
      routes: [
        { prefix: "198.51.100.0/24", asPath: [64999], med: 50, communities: ["65001:1"], largeCommunities: ["65001:1:1"] },
        { prefix: "2001:db8:1::/48", origin: "incomplete", communities: ["65001:6", "65001:7"] },
      ],
    });
    const frr = await h.frr({
      netns: b,
      routerId: link.b.ipv4,
      asn: 65003,
      neighbors: [
        { address: link.a.ipv4, asn: 65001, holdTime: 6 },
        { address: link.a.ipv6, asn: 65001, holdTime: 6 },
      ],
      routes: [
        { prefix: "203.0.113.0/24", origin: "egp", med: 9, communities: ["65003:1"], largeCommunities: ["65003:2:3"] },
        { prefix: "2001:db8:3::/48", asPath: [64777, 64778] },
      ],
    });
    const p = await frr.waitForPeer(link.a.ipv4);
    expect(p).toMatchObject({ state: "established", remoteAs: 65001, remoteRouterId: link.a.ipv4, holdTime: 6 });
    expect(p.capabilities).toMatchObject({ multiprotocol: ["ipv4-unicast"], fourOctetAs: true, routeRefresh: true, enhancedRouteRefresh: true });
    await frr.waitForPeer(link.a.ipv6);

    await frr.waitForRouteCount(2);
    expect(byPrefix(await frr.routes())).toEqual([
      {
        prefix: "198.51.100.0/24",
        family: "ipv4-unicast",
        peer: link.a.ipv4,
        nextHop: link.a.ipv4,
        asPath: [65001, 64999],
        origin: "igp",
        med: 50,
        communities: ["65001:1"],
        largeCommunities: ["65001:1:1"],
      },
      {
        prefix: "2001:db8:1::/48",
        family: "ipv6-unicast",
        peer: link.a.ipv6,
        nextHop: link.a.ipv6,
        asPath: [65001],
        origin: "incomplete",
        communities: ["65001:6", "65001:7"],
        largeCommunities: [],
      },
    ]);

    await bird.waitForRouteCount(2);
    const got = byPrefix(await bird.routes());
    expect(got).toMatchObject([
      { prefix: "2001:db8:3::/48", family: "ipv6-unicast", peer: link.b.ipv6, nextHop: link.b.ipv6, asPath: [65003, 64777, 64778], origin: "igp" },
      {
        prefix: "203.0.113.0/24",
        family: "ipv4-unicast",
        peer: link.b.ipv4,
        nextHop: link.b.ipv4,
        asPath: [65003],
        origin: "egp",
        med: 9,
        communities: ["65003:1"],
        largeCommunities: ["65003:2:3"],
      },
    ]);
    expect(got[1].localPref).toBeUndefined();
  });

  it("iBGP carries LOCAL_PREF and MED both ways, without prepending the AS", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({
      netns: a,
      routerId: link.a.ipv4,
      asn: 65010,
      neighbors: [{ address: link.b.ipv4, asn: 65010, holdTime: 6 }],
      routes: [{ prefix: "198.51.100.0/24", localPref: 250, med: 7, communities: ["65010:250"] }],
    });
    const frr = await h.frr({
      netns: b,
      routerId: link.b.ipv4,
      asn: 65010,
      neighbors: [{ address: link.a.ipv4, asn: 65010, holdTime: 6 }],
      routes: [{ prefix: "203.0.113.0/24", localPref: 120, largeCommunities: ["65010:0:120"] }],
    });
    await frr.waitForRouteCount(1);
    expect(await frr.routes()).toEqual([{
      prefix: "198.51.100.0/24",
      family: "ipv4-unicast",
      peer: link.a.ipv4,
      nextHop: link.a.ipv4,
      asPath: [],
      origin: "igp",
      med: 7,
      localPref: 250,
      communities: ["65010:250"],
      largeCommunities: [],
    }]);
    await bird.waitForRouteCount(1);
    expect(await bird.routes()).toMatchObject([{ prefix: "203.0.113.0/24", asPath: [], localPref: 120, largeCommunities: ["65010:0:120"] }]);
  });

  it("freeze() on FRR: BIRD reports the hold timer expiry, then the session comes back", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({ netns: a, routerId: link.a.ipv4, asn: 65001, neighbors: [{ address: link.b.ipv4, asn: 65003, holdTime: 3 }] });
    const frr = await h.frr({ netns: b, routerId: link.b.ipv4, asn: 65003, neighbors: [{ address: link.a.ipv4, asn: 65001, holdTime: 3 }] });
    await bird.waitForPeer(link.b.ipv4);
    frr.freeze();
    const down = await bird.waitForPeer(link.b.ipv4, (p) => p.state !== "established", 8000);
    expect(down.lastError).toBe("Hold timer expired");
    frr.thaw();
    await bird.waitForPeer(link.b.ipv4, "established", 15_000);
  });

  it("lastError on both sides names the NOTIFICATION when BIRD rejects FRR's AS", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({ netns: a, routerId: link.a.ipv4, asn: 65001, neighbors: [{ address: link.b.ipv4, asn: 65009 }] });
    const frr = await h.frr({ netns: b, routerId: link.b.ipv4, asn: 65003, neighbors: [{ address: link.a.ipv4, asn: 65001 }] });
    const f = await frr.waitForPeer(link.a.ipv4, (p) => p.lastError !== undefined);
    expect(f.state).not.toBe("established");
    expect(f.lastError).toBe("BGP Notification received: OPEN Message Error/Bad Peer AS");
    const bp = await bird.waitForPeer(link.b.ipv4, (p) => p.lastError !== undefined);
    expect(bp.lastError).toBe("Bad peer AS: 65003");
  });

  it("stop({ hard: true }) sends no NOTIFICATION: BIRD keeps the routes under graceful restart until FRR is back", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({
      netns: a,
      routerId: link.a.ipv4,
      asn: 65001,
      neighbors: [{ address: link.b.ipv4, asn: 65003, holdTime: 6, gracefulRestart: { restartTime: 60 } }],
    });
    const frr = await h.frr({
      netns: b,
      routerId: link.b.ipv4,
      asn: 65003,
      neighbors: [{ address: link.a.ipv4, asn: 65001, holdTime: 6, gracefulRestart: { restartTime: 60 } }],
      routes: [{ prefix: "203.0.113.0/24" }],
    });
    const up = await bird.waitForPeer(link.b.ipv4, (p) => p.receivedRoutes === 1);
    expect(up.capabilities?.gracefulRestart).toMatchObject({ restartTime: 60, families: ["ipv4-unicast"] });
    await frr.stop({ hard: true });
    expect(frr.running).toBe(false);
    await bird.waitForPeer(link.b.ipv4, (p) => p.state !== "established", 10_000);
    expect(await bird.routeCount()).toBe(1);
    await frr.start();
    const back = await bird.waitForPeer(link.b.ipv4, (p) => p.state === "established" && p.receivedRoutes === 1, 15_000);
    expect(back.capabilities?.gracefulRestart?.restarting).toBe(true);
  });

  it("announce() and withdraw() change what each daemon originates while it runs", async ({ expect }) => {
    const { a, b, link } = await h.pair();
    const bird = await h.bird({ netns: a, routerId: link.a.ipv4, asn: 65001, neighbors: [{ address: link.b.ipv4, asn: 65003 }] });
    const frr = await h.frr({ netns: b, routerId: link.b.ipv4, asn: 65003, neighbors: [{ address: link.a.ipv4, asn: 65001 }] });
    await bird.waitForPeer(link.b.ipv4);
    await bird.announce([{ prefix: "198.51.100.0/25", communities: ["65001:1"] }, { prefix: "198.51.100.128/25" }]);
    await frr.announce([{ prefix: "203.0.113.0/24", med: 3 }]);
    await frr.waitForRouteCount(2);
    await bird.waitForRouteCount(1);
    await bird.withdraw(["198.51.100.0/25"]);
    await frr.withdraw(["203.0.113.0/24"]);
    await frr.waitForRouteCount(1);
    await bird.waitForRouteCount(0);
    expect((await frr.routes()).map((r) => r.prefix)).toEqual(["198.51.100.128/25"]);
  });
});
