import { describe, expect, it } from "vitest";
import { availableRoutes } from "../../src/control/desired.ts";
import { explain } from "../../src/control/explain.ts";
import { routePolicies } from "../../src/control/policies.ts";
import type { Resources } from "../../src/control/types.ts";
import { host, issuesOf, node, prefixesTo, routes, stateOf, withResources, yaml } from "./_helpers.ts";

const CLUSTER = `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: main
      localASN: 65001
      peers:
        - {name: tor-1, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tor}}
        - {name: rr, peerAddress: 10.0.0.9, peerASN: 65001, peerConfigRef: {name: tor}}
        - {name: plain, peerAddress: 10.0.0.20, peerASN: 65100}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: tor}
spec:
  families:
    - {afi: ipv4, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}
    - {afi: ipv6, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}
`;

const PODCIDRS = ["10.244.1.0/24", "fd00:244:1::/64"];

function setup(adverts: string, extra: Array<Parameters<typeof withResources>[1]> = [], cluster = CLUSTER): Resources {
  return withResources(
    yaml(cluster + "---\n" + adverts).resources,
    node("n1", { rack: "r1" }, { ipv4: "192.0.2.10", podCIDRs: PODCIDRS }),
    ...extra,
  );
}

const advert = (name: string, entries: string, labels = "{advertise: bgp}") => `apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: ${name}, labels: ${labels}}
spec:
  advertisements:
${entries}
---
`;

describe("advertisement pipeline (E1–E3, E5)", () => {
  it("follows peer → PeerConfig families → advertisement labels → entries (E1)", () => {
    const s = stateOf(setup(advert("pods", "    - advertisementType: PodCIDR") + advert("unlabelled", "    - advertisementType: PodCIDR", "{other: x}")), "n1");
    expect(prefixesTo(s, "tor-1")).toEqual(["10.244.1.0/24"]);
    expect(prefixesTo(s, "tor-1", "ipv6/unicast")).toEqual(["fd00:244:1::/64"]);
    const r = routes(s, "tor-1")[0];
    expect(r).toMatchObject({ origin: "igp", communities: [], large: [], localPreference: null });
  });

  it("advertises nothing without peerConfigRef, with no families, or with a family without selector (E2)", () => {
    const cluster = CLUSTER + `---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: nofam}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: nosel}
spec:
  families: [{afi: ipv4, safi: unicast}]
---
apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: d, creationTimestamp: "2030-01-01T00:00:00Z"}
spec:
  nodeSelector: {matchLabels: {never: x}}
  bgpInstances: [{name: x, localASN: 1}]
`;
    const text = cluster.replace(
      "        - {name: plain, peerAddress: 10.0.0.20, peerASN: 65100}",
      `        - {name: plain, peerAddress: 10.0.0.20, peerASN: 65100}
        - {name: nofam, peerAddress: 10.0.0.21, peerASN: 65100, peerConfigRef: {name: nofam}}
        - {name: nosel, peerAddress: 10.0.0.22, peerASN: 65100, peerConfigRef: {name: nosel}}`,
    );
    const s = stateOf(setup(advert("pods", "    - advertisementType: PodCIDR"), [], text), "n1");
    for (const peer of ["plain", "nofam", "nosel"]) expect(routes(s, peer), peer).toEqual([]);
    const nofam = s.instances[0].peers.find((p) => p.name === "nofam")!;
    expect(nofam.families).toEqual(["ipv6/unicast", "ipv4/unicast"]); // negotiated, but empty
    expect(prefixesTo(s, "tor-1")).toEqual(["10.244.1.0/24"]);
  });

  it("selects every advertisement with an empty selector {} (E2)", () => {
    const cluster = CLUSTER.replaceAll("advertisements: {matchLabels: {advertise: bgp}}", "advertisements: {}");
    const s = stateOf(setup(advert("any", "    - advertisementType: PodCIDR", "{whatever: x}"), [], cluster), "n1");
    expect(prefixesTo(s, "tor-1")).toEqual(["10.244.1.0/24"]);
  });

  it("puts each route once in the instance RIB for any peer that wants it (E3)", () => {
    const s = stateOf(setup(advert("pods", "    - advertisementType: PodCIDR")), "n1");
    const rib = availableRoutes(s.instances[0]);
    expect([...rib.get("ipv4/unicast")!]).toEqual(["10.244.1.0/24"]);
    // Peers of one PeerConfig share one table.
    const [a, b] = s.instances[0].peers;
    expect(a.routes.get("ipv4/unicast")).toBe(b.routes.get("ipv4/unicast"));
  });

  it("announces IPv4 prefixes only under ipv4/unicast and IPv6 only under ipv6/unicast (E5)", () => {
    const cluster = CLUSTER.replace("    - {afi: ipv6, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}\n", "");
    const s = stateOf(setup(advert("pods", "    - advertisementType: PodCIDR"), [], cluster), "n1");
    expect(routes(s, "tor-1").map((r) => `${r.family} ${r.prefix}`)).toEqual(["ipv4/unicast 10.244.1.0/24"]);
  });

  it("sends routes of the other IP family to a peer only when both unicast families are negotiated (D12)", () => {
    const pc = (name: string, fams: string) => `---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: ${name}}
spec:
  families:
${fams}
`;
    const v4 = "    - {afi: ipv4, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}";
    const v6 = "    - {afi: ipv6, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}";
    const cluster = CLUSTER.replace(
      "        - {name: plain, peerAddress: 10.0.0.20, peerASN: 65100}",
      `        - {name: six-v4only, peerAddress: "fd00::1", peerASN: 65100, peerConfigRef: {name: v4only}}
        - {name: six-both, peerAddress: "fd00::2", peerASN: 65100, peerConfigRef: {name: tor}}
        - {name: four-v6only, peerAddress: 10.0.0.30, peerASN: 65100, peerConfigRef: {name: v6only}}`,
    ) + pc("v4only", v4) + pc("v6only", v6);
    const s = stateOf(setup(advert("pods", "    - advertisementType: PodCIDR"), [], cluster), "n1");
    // An IPv6 session that negotiates only ipv4/unicast carries no IPv4 routes, and vice versa.
    expect(routes(s, "six-v4only")).toEqual([]);
    expect(routes(s, "four-v6only")).toEqual([]);
    expect(s.instances[0].peers.find((p) => p.name === "six-v4only")!.families).toEqual(["ipv4/unicast"]);
    // With both families, each goes to either kind of peer (next hop of the session's family).
    expect(routes(s, "six-both").map((r) => `${r.family} ${r.prefix}`)).toEqual(["ipv4/unicast 10.244.1.0/24", "ipv6/unicast fd00:244:1::/64"]);
    expect(routes(s, "tor-1").map((r) => `${r.family} ${r.prefix}`)).toEqual(["ipv4/unicast 10.244.1.0/24", "ipv6/unicast fd00:244:1::/64"]);
    expect(issuesOf(s, "D12")).toEqual([
      "peer six-v4only (IPv6 address fd00::1) negotiates ipv4/unicast but not ipv6/unicast: no ipv4/unicast routes are sent to it",
      "peer four-v6only (IPv4 address 10.0.0.30) negotiates ipv6/unicast but not ipv4/unicast: no ipv6/unicast routes are sent to it",
    ]);
    const why = explain({ resources: setup(advert("pods", "    - advertisementType: PodCIDR"), [], cluster), node: { name: "n1" } }, { prefix: "10.244.1.0/24", peer: "six-v4only" });
    expect(why.verdicts.map((v) => `${v.advertised} ${v.reasons[0].rule}`)).toEqual(["false D12"]);
  });
});

describe("path attributes (E4, E6, E8, E19)", () => {
  it("de-duplicates communities by value across standard and well-known, keeps them sorted (E8)", () => {
    const s = stateOf(setup(advert("pods", `    - advertisementType: PodCIDR
      attributes:
        communities:
          standard: ["65535:65281", "65001:100", "4259905636", "0:5"]
          wellKnown: [no-export, blackhole]
          large: ["65001:200:300", "65001:200:300", "1:2:3"]
        localPreference: 150`)), "n1");
    expect(routes(s, "tor-1")[0]).toMatchObject({
      communities: ["0:5", "65001:100", "65535:666", "65535:65281"],
      large: ["1:2:3", "65001:200:300"],
      localPreference: 150,
    });
  });

  it("sets LOCAL_PREF in policy for every peer but sends it only on iBGP (E8, J7)", () => {
    const s = stateOf(setup(advert("pods", "    - advertisementType: PodCIDR\n      attributes: {localPreference: 150}")), "n1");
    expect(routes(s, "tor-1")[0]).toMatchObject({ localPreference: 150, wireLocalPreference: null });
    expect(routes(s, "rr")[0]).toMatchObject({ localPreference: 150, wireLocalPreference: 150 });
    const plain = stateOf(setup(advert("pods", "    - advertisementType: PodCIDR")), "n1");
    expect(routes(plain, "rr")[0].wireLocalPreference).toBe(100); // the speaker's default on iBGP
  });

  it("sets ORIGIN IGP, and INCOMPLETE for LoadBalancerIP routes only with the legacy option (E4)", () => {
    const svcAdvert = advert("svc", `    - advertisementType: Service
      service: {addresses: [LoadBalancerIP, ClusterIP]}
      selector: {}`);
    const r = setup(svcAdvert, [{
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "prod" },
      spec: { type: "LoadBalancer", clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10"] },
      status: { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } },
    }]);
    expect(routes(stateOf(r, "n1"), "tor-1").map((x) => x.origin)).toEqual(["igp", "igp"]);
    const legacy = routes(stateOf(r, "n1", { legacyOriginAttribute: true }), "tor-1");
    expect(legacy.map((x) => `${x.prefix} ${x.origin}`)).toEqual(["10.96.0.10/32 igp", "198.51.100.7/32 incomplete"]);
  });

  it("names export policies as Cilium does (E6)", () => {
    const r = setup(
      advert("all", `    - advertisementType: PodCIDR
    - advertisementType: Service
      service: {addresses: [LoadBalancerIP]}
      selector: {}
      attributes: {communities: {standard: ["65001:1"]}}
    - advertisementType: CiliumPodIPPool
      selector: {}`) + `apiVersion: cilium.io/v2alpha1
kind: CiliumPodIPPool
metadata: {name: blue}
spec:
  ipv4: {cidrs: [10.10.0.0/16], maskSize: 24}
---
apiVersion: cilium.io/v2
kind: CiliumNode
metadata: {name: n1}
spec:
  ipam:
    podCIDRs: [10.244.1.0/24]
    pools: {allocated: [{pool: blue, cidrs: [10.10.3.0/24]}]}
`,
      [{
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "prod" },
        spec: { type: "LoadBalancer" },
        status: { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } },
      }],
    );
    const names = routePolicies(stateOf(r, "n1")).map((p) => p.name);
    expect(names).toEqual([
      "rr-ipv4-CiliumPodIPPool-blue",
      "rr-ipv4-PodCIDR",
      "rr-ipv4-Service-web-prod-LoadBalancerIP",
      "tor-1-ipv4-CiliumPodIPPool-blue",
      "tor-1-ipv4-PodCIDR",
      "tor-1-ipv4-Service-web-prod-LoadBalancerIP",
    ]);
    const svcPolicy = routePolicies(stateOf(r, "n1")).find((p) => p.name === "tor-1-ipv4-Service-web-prod-LoadBalancerIP")!;
    expect(svcPolicy.statements).toEqual([{
      peerAddress: "10.0.0.1",
      family: "ipv4/unicast",
      prefixes: [{ prefix: "198.51.100.7/32", min: 32, max: 32 }],
      attributes: expect.objectContaining({ communities: [65001 * 65536 + 1] }),
    }]);
  });

  it("merges overlapping Service advertisements: union of communities, highest LOCAL_PREF (E19)", () => {
    const r = setup(
      advert("base", `    - advertisementType: Service
      service: {addresses: [LoadBalancerIP]}
      selector: {}
      attributes: {communities: {standard: ["65001:100"], large: ["1:1:1"]}, localPreference: 100}`) +
        advert("premium", `    - advertisementType: Service
      service: {addresses: [LoadBalancerIP]}
      selector: {matchLabels: {tier: premium}}
      attributes: {communities: {standard: ["65001:200"], wellKnown: [no-export]}, localPreference: 200}`),
      [{
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "prod", labels: { tier: "premium" } },
        spec: { type: "LoadBalancer" },
        status: { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } },
      }],
    );
    const s = stateOf(r, "n1");
    expect(routes(s, "rr")[0]).toMatchObject({
      prefix: "198.51.100.7/32",
      communities: ["65001:100", "65001:200", "65535:65281"],
      large: ["1:1:1"],
      localPreference: 200,
      wireLocalPreference: 200,
    });
    const src = s.instances[0].peers[0].routes.get("ipv4/unicast")!.get("198.51.100.7/32")!.sources;
    expect(src).toHaveLength(1);
    expect(src[0].advertisements).toEqual(["base", "premium"]);
  });

  it("orders longer prefixes first when one Service yields a host route and an aggregate (E19)", () => {
    const r = setup(
      advert("exact", `    - advertisementType: Service
      service: {addresses: [LoadBalancerIP]}
      selector: {}
      attributes: {communities: {standard: ["1:1"]}}`) +
        advert("agg", `    - advertisementType: Service
      service: {addresses: [LoadBalancerIP], aggregationLengthIPv4: 24}
      selector: {}
      attributes: {communities: {standard: ["2:2"]}}`),
      [{
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: "prod" },
        spec: { type: "LoadBalancer" },
        status: { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } },
      }],
    );
    const s = stateOf(r, "n1");
    expect(routes(s, "tor-1").map((x) => `${x.prefix} ${x.communities}`)).toEqual(["198.51.100.0/24 2:2", "198.51.100.7/32 1:1"]);
    const p = routePolicies(s).find((x) => x.name === "tor-1-ipv4-Service-web-prod-LoadBalancerIP")!;
    expect(p.statements.map((st) => st.prefixes[0].prefix)).toEqual(["198.51.100.7/32", "198.51.100.0/24"]);
  });
});

describe("PodCIDR, CiliumPodIPPool and Interface (E9–E11)", () => {
  it("advertises PodCIDRs only in kubernetes and cluster-pool IPAM modes (E9)", () => {
    const r = setup(advert("pods", "    - advertisementType: PodCIDR"));
    expect(prefixesTo(stateOf(r, "n1", { ipamMode: "kubernetes" }), "tor-1")).toEqual(["10.244.1.0/24"]);
    const mp = stateOf(r, "n1", { ipamMode: "multi-pool" });
    expect(prefixesTo(mp, "tor-1")).toEqual([]);
    expect(issuesOf(mp, "E9")[0]).toContain(`ipam mode "multi-pool" has no PodCIDR reconciler`);
  });

  it("prefers the CiliumNode's podCIDRs over the Node's (E9)", () => {
    const r = setup(advert("pods", "    - advertisementType: PodCIDR") + `apiVersion: cilium.io/v2
kind: CiliumNode
metadata: {name: n1}
spec:
  ipam: {podCIDRs: [10.0.128.0/25]}
`);
    expect(prefixesTo(stateOf(r, "n1"), "tor-1")).toEqual(["10.0.128.0/25"]);
  });

  it("keeps only the last PodCIDR advertisement's attributes, as Cilium's policy-name collision does (E9 quirk)", () => {
    const r = setup(
      advert("a-first", "    - advertisementType: PodCIDR\n      attributes: {communities: {standard: [\"1:1\"]}}") +
        advert("b-second", "    - advertisementType: PodCIDR\n      attributes: {communities: {standard: [\"2:2\"]}}"),
    );
    expect(routes(stateOf(r, "n1"), "tor-1").find((x) => x.family === "ipv4/unicast")!.communities).toEqual(["2:2"]);
  });

  it("advertises the node's allocated CIDRs of selected CiliumPodIPPools, matching maskSize (E10)", () => {
    const pools = `apiVersion: cilium.io/v2alpha1
kind: CiliumPodIPPool
metadata: {name: blue, labels: {color: blue}}
spec:
  ipv4: {cidrs: [10.10.0.0/16], maskSize: 24}
  ipv6: {cidrs: ["fd10::/48"], maskSize: 64}
---
apiVersion: cilium.io/v2alpha1
kind: CiliumPodIPPool
metadata: {name: red}
spec:
  ipv4: {cidrs: [10.20.0.0/16], maskSize: 24}
---
apiVersion: cilium.io/v2
kind: CiliumNode
metadata: {name: n1}
spec:
  ipam:
    pools:
      allocated:
        - {pool: blue, cidrs: [10.10.3.0/24, "fd10:0:0:3::/64", 10.10.8.0/25]}
        - {pool: red, cidrs: [10.20.1.0/24]}
        - {pool: gone, cidrs: [10.30.1.0/24]}
`;
    const byLabel = stateOf(setup(advert("pools", "    - advertisementType: CiliumPodIPPool\n      selector: {matchLabels: {color: blue}}") + pools), "n1");
    expect(prefixesTo(byLabel, "tor-1")).toEqual(["10.10.3.0/24"]);
    expect(prefixesTo(byLabel, "tor-1", "ipv6/unicast")).toEqual(["fd10:0:0:3::/64"]);
    expect(issuesOf(byLabel, "E10")[0]).toContain("10.10.8.0/25 does not have the pool's maskSize 24");
    const byName = stateOf(setup(advert("pools", "    - advertisementType: CiliumPodIPPool\n      selector: {matchLabels: {io.cilium.podippool.name: red}}") + pools), "n1");
    expect(prefixesTo(byName, "tor-1")).toEqual(["10.20.1.0/24"]);
    const none = stateOf(setup(advert("pools", "    - advertisementType: CiliumPodIPPool") + pools), "n1");
    expect(prefixesTo(none, "tor-1")).toEqual([]);
  });

  it("advertises usable addresses of an up interface as host routes (E11)", () => {
    const facts = host({
      interfaces: [
        { name: "dummy0", adminUp: true, operState: "unknown", addresses: ["203.0.113.9/32", "203.0.113.9/24", "169.254.9.9/16", "fe80::9/64", "2001:db8::9/64", "127.0.0.2/8"] },
        { name: "down0", adminUp: false, operState: "down", addresses: ["203.0.113.10/32"] },
      ],
    });
    const r = setup(advert("ifaces", `    - advertisementType: Interface
      interface: {name: dummy0}
    - advertisementType: Interface
      interface: {name: down0}`));
    const s = stateOf(r, "n1", {}, facts);
    expect(prefixesTo(s, "tor-1")).toEqual(["169.254.9.9/32", "203.0.113.9/32"]);
    expect(prefixesTo(s, "tor-1", "ipv6/unicast")).toEqual(["2001:db8::9/128"]);
    expect(issuesOf(s, "E11")[0]).toContain(`interface "down0" is not up`);
  });

  it("advertises only the last Interface advertisement with addresses of the family, prefixes and attributes, as Cilium's policy-name collision does (E11 quirk)", () => {
    const facts = host({ interfaces: [
      { name: "a0", adminUp: true, operState: "up", addresses: ["203.0.113.1/32", "2001:db8::1/128"] },
      { name: "b0", adminUp: true, operState: "up", addresses: ["203.0.113.2/32"] },
      { name: "down0", adminUp: false, operState: "down", addresses: ["203.0.113.3/32"] },
    ] });
    const r = setup(
      advert("first", "    - advertisementType: Interface\n      interface: {name: a0}\n      attributes: {communities: {standard: [\"1:1\"]}}") +
        advert("second", "    - advertisementType: Interface\n      interface: {name: b0}\n      attributes: {communities: {standard: [\"2:2\"]}}\n    - advertisementType: Interface\n      interface: {name: down0}"),
    );
    const s = stateOf(r, "n1", {}, facts);
    // <peer>-ipv4-Interface is rebuilt per entry: b0's replaces a0's (down0 has no address, so it replaces nothing).
    // a0 is still the only entry with an IPv6 address, so it keeps ipv6/unicast.
    expect(routes(s, "tor-1").map((x) => `${x.family} ${x.prefix} ${x.communities}`)).toEqual([
      "ipv4/unicast 203.0.113.2/32 2:2",
      "ipv6/unicast 2001:db8::1/128 1:1",
    ]);
    expect(issuesOf(s, "E11")).toContain(
      "Interface advertisement first (interface a0): its ipv4/unicast export policy is replaced by second (interface b0), because Cilium names one Interface policy per peer and family: 203.0.113.1/32 is not advertised",
    );
  });
});
