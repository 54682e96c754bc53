import { describe, expect, it } from "vitest";
import { parseRouterAnnotation } from "../../src/control/legacy.ts";
import type { Resources } from "../../src/control/types.ts";
import { issuesOf, node, prefixesTo, routes, stateOf, svc, withResources, yaml } from "./_helpers.ts";

const policy = (name: string, body: string, selector = "  nodeSelector: {matchLabels: {rack: r1}}") => `apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: ${name}}
spec:
${selector}
  virtualRouters:
${body}
---
`;

const ROUTER = `    - localASN: 65001
      exportPodCIDR: true
      serviceSelector: {matchLabels: {announce: "yes"}}
      neighbors:
        - peerAddress: 10.0.0.1/32
          peerASN: 65100
        - peerAddress: 10.0.0.9/32
          peerASN: 65001
          families: [{afi: ipv4, safi: unicast}]`;

function setup(text: string, annotations?: Record<string, string>, ...extra: Array<Parameters<typeof withResources>[1]>): Resources {
  return withResources(yaml(text).resources,
    node("n1", { rack: "r1" }, { ipv4: "192.0.2.10", podCIDRs: ["10.244.1.0/24", "fd00:244:1::/64"], annotations }), ...extra);
}

const V2 = `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: v2}
spec:
  bgpInstances: [{name: v2-main, localASN: 65002, peers: [{name: x, peerAddress: 10.0.0.50, peerASN: 1}]}]
---
`;

describe("CiliumBGPPeeringPolicy (G1–G5)", () => {
  it("applies the one policy whose nodeSelector matches; null selects every node (G1)", () => {
    const s = stateOf(setup(policy("p", ROUTER)), "n1");
    expect(s.api).toBe("v1");
    expect(s.peeringPolicy).toBe("p");
    expect(stateOf(setup(policy("p", ROUTER, "")), "n1").peeringPolicy).toBe("p");
    expect(stateOf(setup(policy("p", ROUTER, "  nodeSelector: {matchLabels: {rack: r9}}")), "n1").api).toBe("none");
  });

  it("tears everything down when two policies select the node (G1)", () => {
    const s = stateOf(setup(policy("a", ROUTER) + policy("b", ROUTER, "")), "n1");
    expect(s.api).toBe("v1");
    expect(s.instances).toEqual([]);
    expect(issuesOf(s, "G1")[0]).toBe(`2 CiliumBGPPeeringPolicies select node n1 ("a", "b"): every BGP session on the node is torn down until exactly one does`);
  });

  it("makes one instance per router, peers named by address, with v1 defaults (G2, G3)", () => {
    const s = stateOf(setup(policy("p", ROUTER)), "n1");
    expect(s.instances).toHaveLength(1);
    const inst = s.instances[0];
    expect(inst).toMatchObject({ name: "v1-65001", localASN: 65001, routerID: "192.0.2.10", routerIDSource: "node-address", localPort: null });
    expect(inst.peers.map((p) => p.name)).toEqual(["10.0.0.1", "10.0.0.9"]);
    expect(inst.peers[0]).toMatchObject({
      address: "10.0.0.1",
      peerPort: 179,
      ebgpMultihop: 1,
      timers: { connectRetryTimeSeconds: 120, holdTimeSeconds: 90, keepAliveTimeSeconds: 30 },
      gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
      families: ["ipv4/unicast", "ipv6/unicast"],
      sessionType: "ebgp",
    });
    expect(inst.peers[1].sessionType).toBe("ibgp");
  });

  it("takes router ID and listen port from the node annotation, and rejects a malformed one (G2)", () => {
    const s = stateOf(setup(policy("p", ROUTER), { "cilium.io/bgp-virtual-router.65001": "router-id=10.1.1.1,local-port=1790" }), "n1");
    expect(s.instances[0]).toMatchObject({ routerID: "10.1.1.1", routerIDSource: "annotation", localPort: 1790 });
    const bad = stateOf(setup(policy("p", ROUTER), { "cilium.io/bgp-virtual-router.65001": "router-id=banana" }), "n1");
    expect(bad.instances).toEqual([]);
    expect(issuesOf(bad, "G2")[0]).toContain("router-id must be an IPv4 address");
    expect(parseRouterAnnotation("local-port=179")).toEqual({ localPort: 179 });
    expect(parseRouterAnnotation("router-id")).toEqual({ error: `malformed entry "router-id": expected key=value` });
  });

  it("rejects the policy when a neighbour's keepalive exceeds its hold time (G3)", () => {
    const body = `    - localASN: 65001
      neighbors:
        - {peerAddress: 10.0.0.1/32, peerASN: 65100, holdTimeSeconds: 9}`;
    const s = stateOf(setup(policy("p", body)), "n1");
    expect(s.instances).toEqual([]);
    expect(issuesOf(s, "G3")[0]).toContain("keepAliveTimeSeconds (30) can not be larger than holdTimeSeconds (9)");
  });

  it("advertises PodCIDRs and selected Services to every neighbour of the router (G4)", () => {
    const r = setup(policy("p", ROUTER), undefined,
      svc("prod/web", { labels: { announce: "yes" }, lb: ["198.51.100.1"], clusterIPs: ["10.96.0.1"] }),
      svc("prod/hidden", { lb: ["198.51.100.2"] }));
    const s = stateOf(r, "n1");
    for (const peer of ["10.0.0.1", "10.0.0.9"]) {
      expect(prefixesTo(s, peer), peer).toEqual(["10.244.1.0/24", "198.51.100.1/32"]);
    }
    expect(prefixesTo(s, "10.0.0.1", "ipv6/unicast")).toEqual(["fd00:244:1::/64"]);
    expect(s.instances[0].peers[1].routes.has("ipv6/unicast")).toBe(false);
    // Same IPAM restriction as E9.
    expect(prefixesTo(stateOf(r, "n1", { ipamMode: "multi-pool" }), "10.0.0.1")).toEqual(["198.51.100.1/32"]);
  });

  it("uses serviceAdvertisements and no aggregation (G4)", () => {
    const body = ROUTER.replace("exportPodCIDR: true", "exportPodCIDR: false\n      serviceAdvertisements: [ClusterIP, ExternalIP]");
    const r = setup(policy("p", body), undefined, svc("prod/web", { labels: { announce: "yes" }, lb: ["198.51.100.1"], clusterIPs: ["10.96.0.1"], externalIPs: ["203.0.113.1"] }));
    expect(prefixesTo(stateOf(r, "n1"), "10.0.0.1")).toEqual(["10.96.0.1/32", "203.0.113.1/32"]);
  });

  it("advertises node-allocated CIDRs of pools matching podIPPoolSelector (G4)", () => {
    const body = ROUTER.replace("exportPodCIDR: true", "exportPodCIDR: false\n      podIPPoolSelector: {matchLabels: {color: blue}}");
    const r = setup(policy("p", body) + `apiVersion: cilium.io/v2alpha1
kind: CiliumPodIPPool
metadata: {name: blue, labels: {color: blue}}
spec: {ipv4: {cidrs: [10.10.0.0/16], maskSize: 24}}
---
apiVersion: cilium.io/v2
kind: CiliumNode
metadata: {name: n1}
spec: {ipam: {pools: {allocated: [{pool: blue, cidrs: [10.10.3.0/24]}]}}}
`);
    expect(prefixesTo(stateOf(r, "n1"), "10.0.0.1")).toEqual(["10.10.3.0/24"]);
  });

  it("stacks advertisedPathAttributes per neighbour: PodCIDR by node labels, LB pools by cidr blocks (G5)", () => {
    const body = ROUTER.replace(`        - peerAddress: 10.0.0.1/32
          peerASN: 65100`, `        - peerAddress: 10.0.0.1/32
          peerASN: 65100
          advertisedPathAttributes:
            - selectorType: PodCIDR
              communities: {standard: ["65001:100"], wellKnown: [no-export]}
            - selectorType: PodCIDR
              selector: {matchLabels: {rack: r9}}
              communities: {standard: ["9:9"]}
            - selectorType: CiliumLoadBalancerIPPool
              selector: {matchLabels: {pool: premium}}
              communities: {standard: ["65001:200"]}
              localPreference: 200
            - selectorType: CiliumLoadBalancerIPPool
              communities: {large: ["1:2:3"]}
              localPreference: 150`);
    const pools = `apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: premium, labels: {pool: premium}}
spec: {blocks: [{cidr: 198.51.100.0/28}]}
---
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: zz-basic}
spec: {blocks: [{cidr: 198.51.100.128/25}]}
---
`;
    const r = setup(policy("p", body) + pools, undefined,
      svc("prod/gold", { labels: { announce: "yes" }, lb: ["198.51.100.1"] }),
      svc("prod/plain", { labels: { announce: "yes" }, lb: ["198.51.100.200"] }));
    const got = routes(stateOf(r, "n1"), "10.0.0.1").filter((x) => x.family === "ipv4/unicast");
    expect(got.map((x) => ({ p: x.prefix, c: x.communities, l: x.large, lp: x.localPreference }))).toEqual([
      { p: "10.244.1.0/24", c: ["65001:100", "65535:65281"], l: [], lp: null },
      { p: "198.51.100.1/32", c: ["65001:200"], l: ["1:2:3"], lp: 150 },
      { p: "198.51.100.200/32", c: [], l: ["1:2:3"], lp: 150 },
    ]);
    // The other neighbour has no path attributes.
    expect(routes(stateOf(r, "n1"), "10.0.0.9").every((x) => x.communities.length === 0)).toBe(true);
  });

  it("applies LB-pool path attributes only for enabled pools, and reports start/stop blocks however cidr is left unset (G5)", () => {
    const body = ROUTER.replace(`        - peerAddress: 10.0.0.1/32
          peerASN: 65100`, `        - peerAddress: 10.0.0.1/32
          peerASN: 65100
          advertisedPathAttributes:
            - selectorType: CiliumLoadBalancerIPPool
              communities: {standard: ["65001:200"]}`);
    const pools = `apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: off}
spec: {disabled: true, blocks: [{cidr: 198.51.100.0/28}]}
---
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: range}
spec: {blocks: [{cidr: "", start: 198.51.100.64, stop: 198.51.100.70}]}
---
`;
    const s = stateOf(setup(policy("p", body) + pools, undefined,
      svc("prod/a", { labels: { announce: "yes" }, lb: ["198.51.100.1"] }),
      svc("prod/b", { labels: { announce: "yes" }, lb: ["198.51.100.65"] })), "n1");
    expect(routes(s, "10.0.0.1").filter((x) => x.prefix.startsWith("198.")).map((x) => `${x.prefix} ${x.communities}`))
      .toEqual(["198.51.100.1/32 ", "198.51.100.65/32 "]);
    expect(issuesOf(s, "G5")).toEqual([
      `CiliumLoadBalancerIPPool "range" has a start/stop block, which Cilium's v1 path-attribute reconciler cannot use (it fails); herald skips that block`,
    ]);
  });
});

describe("v1 and v2 precedence (H1, H2)", () => {
  it("lets a selecting v1 policy win over v2 by default, with a warning (H1)", () => {
    const s = stateOf(setup(V2 + policy("p", ROUTER)), "n1");
    expect(s.api).toBe("v1");
    expect(s.instances.map((i) => i.name)).toEqual(["v1-65001"]);
    expect(issuesOf(s, "H1")[0]).toContain("v1 wins and v2 instances are not run");
  });

  it("ignores v1 entirely with v2-only, as Cilium ≥ 1.19 does (H2)", () => {
    const s = stateOf(setup(V2 + policy("p", ROUTER)), "n1", { v2Only: true });
    expect(s.api).toBe("v2");
    expect(s.instances.map((i) => i.name)).toEqual(["v2-main"]);
    expect(stateOf(setup(policy("p", ROUTER)), "n1", { v2Only: true }).api).toBe("none");
  });
});
