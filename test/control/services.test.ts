import { describe, expect, it } from "vitest";
import type { Resources } from "../../src/control/types.ts";
import { node, prefixesTo, slice, stateOf, svc, type SvcOptions, withResources, yaml } from "./_helpers.ts";

function setup(entry: string, ...extra: Array<Parameters<typeof withResources>[1]>): Resources {
  return withResources(yaml(`apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: main
      localASN: 65001
      peers:
        - {name: tor-1, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tor}}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: tor}
spec:
  families:
    - {afi: ipv4, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}
    - {afi: ipv6, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: svc, labels: {advertise: bgp}}
spec:
  advertisements:
${entry}
`).resources, node("n1", {}, { ipv4: "192.0.2.10" }), ...extra);
}

const ALL = `    - advertisementType: Service
      service: {addresses: [LoadBalancerIP, ExternalIP, ClusterIP]}
      selector: {}`;

const v4 = (r: Resources, opts = {}) => prefixesTo(stateOf(r, "n1", opts), "tor-1");
const v6 = (r: Resources) => prefixesTo(stateOf(r, "n1"), "tor-1", "ipv6/unicast");

describe("Service advertisements (E12–E18)", () => {
  it("matches the selector against labels plus io.kubernetes.service.name/namespace (E12)", () => {
    const entry = (sel: string) => `    - advertisementType: Service
      service: {addresses: [LoadBalancerIP]}
      selector: ${sel}`;
    const web = svc("prod/web", { labels: { app: "web" }, lb: ["198.51.100.1"] });
    const db = svc("prod/db", { labels: { app: "db" }, lb: ["198.51.100.2"] });
    const other = svc("dev/web", { lb: ["198.51.100.3"] });
    expect(v4(setup(entry("{matchLabels: {app: web}}"), web, db, other))).toEqual(["198.51.100.1/32"]);
    expect(v4(setup(entry("{matchLabels: {io.kubernetes.service.namespace: prod}}"), web, db, other))).toEqual(["198.51.100.1/32", "198.51.100.2/32"]);
    expect(v4(setup(entry("{matchExpressions: [{key: io.kubernetes.service.name, operator: In, values: [web]}]}"), web, db, other)))
      .toEqual(["198.51.100.1/32", "198.51.100.3/32"]);
    expect(v4(setup(entry("{matchExpressions: [{key: app, operator: NotIn, values: [db]}]}"), web, db, other))).toEqual(["198.51.100.1/32", "198.51.100.3/32"]);
  });

  it("selects no Service without a selector (E12; the guide's \"all Services\" is wrong)", () => {
    expect(v4(setup("    - advertisementType: Service\n      service: {addresses: [LoadBalancerIP]}", svc("prod/web", { lb: ["198.51.100.1"] })))).toEqual([]);
  });

  it("reads LoadBalancer IPs from status.loadBalancer.ingress, whoever wrote them (E13)", () => {
    const r = setup(ALL, svc("prod/web", { lb: ["198.51.100.1", "2001:db8::1"] }), svc("prod/pending", {}));
    expect(v4(r)).toEqual(["198.51.100.1/32"]);
    expect(v6(r)).toEqual(["2001:db8::1/128"]);
  });

  it.each([
    [undefined, ["198.51.100.1/32"]],
    ["io.cilium/bgp-control-plane", ["198.51.100.1/32"]],
    ["io.cilium/l2-announcer", []],
    ["example.com/other", []],
  ])("loadBalancerClass %s ⇒ LB IP advertised %j (E13)", (cls, want) => {
    const entry = "    - advertisementType: Service\n      service: {addresses: [LoadBalancerIP]}\n      selector: {}";
    expect(v4(setup(entry, svc("prod/web", { lb: ["198.51.100.1"], lbClass: cls })))).toEqual(want);
  });

  it("does not check the class for ExternalIP and ClusterIP (E14)", () => {
    const s = svc("prod/web", { lb: ["198.51.100.1"], lbClass: "io.cilium/l2-announcer", externalIPs: ["203.0.113.1"], clusterIPs: ["10.96.0.1", "fd00:96::1"] });
    const r = setup(ALL, s);
    expect(v4(r)).toEqual(["10.96.0.1/32", "203.0.113.1/32"]);
    expect(v6(r)).toEqual(["fd00:96::1/128"]);
  });

  it("never announces a headless ClusterIP or ExternalName Service (E14)", () => {
    const headless = svc("prod/h", { type: "ClusterIP", clusterIPs: ["None"] });
    const ext: ReturnType<typeof svc> = { ...svc("prod/x", { type: "ExternalName", externalIPs: ["203.0.113.9"] }) };
    expect(v4(setup(ALL, headless, ext))).toEqual([]);
  });

  it("announces no address of a headless Service, which has no Cilium frontends: clusterIP None (any case) or label service.kubernetes.io/headless (E12, E14)", () => {
    const none = svc("prod/h1", { type: "ClusterIP", clusterIPs: ["None"], externalIPs: ["203.0.113.1"] });
    const lower = svc("prod/h2", { type: "ClusterIP", clusterIPs: ["none"], externalIPs: ["203.0.113.2"] });
    const labelled = svc("prod/h3", { labels: { "service.kubernetes.io/headless": "" }, lb: ["198.51.100.3"], clusterIPs: ["10.96.0.3"], externalIPs: ["203.0.113.3"] });
    const plain = svc("prod/web", { type: "ClusterIP", clusterIPs: ["10.96.0.4"], externalIPs: ["203.0.113.4"] });
    expect(v4(setup(ALL, none, lower, labelled, plain))).toEqual(["10.96.0.4/32", "203.0.113.4/32"]);
  });

  it("skips LoadBalancer ingress entries whose ipMode is not VIP, as Cilium's frontends do (E13, KEP-1860)", () => {
    const s = svc("prod/web", { lb: ["198.51.100.1"] });
    s.status!.loadBalancer!.ingress = [{ ip: "198.51.100.1", ipMode: "Proxy" }, { ip: "198.51.100.2", ipMode: "VIP" }, { ip: "198.51.100.3" }];
    expect(v4(setup(ALL, s))).toEqual(["198.51.100.2/32", "198.51.100.3/32"]);
  });

  it("announces a LoadBalancer IP only for type LoadBalancer Services (E13: Cilium makes LB frontends for that type only)", () => {
    expect(v4(setup(ALL, svc("prod/web", { type: "NodePort", lb: ["198.51.100.1"] })))).toEqual([]);
  });

  describe("traffic policy and backends (E15, E16)", () => {
    const cases: Array<[string, SvcOptions, Array<{ node?: string; ready?: boolean; terminating?: boolean }>, boolean]> = [
      ["eTP Cluster, no endpoints", { eTP: "Cluster" }, [], true],
      ["eTP Local, ready endpoint here", { eTP: "Local" }, [{ node: "n1" }], true],
      ["eTP Local, endpoint elsewhere", { eTP: "Local" }, [{ node: "n2" }], false],
      ["eTP Local, endpoint here not ready", { eTP: "Local" }, [{ node: "n1", ready: false }], false],
      ["eTP Local, endpoint here terminating", { eTP: "Local" }, [{ node: "n1", terminating: true }], false],
      ["eTP Local, no endpoints", { eTP: "Local" }, [], false],
    ];
    it.each(cases)("%s (E15)", (_name, o, eps, announced) => {
      const r = setup("    - advertisementType: Service\n      service: {addresses: [LoadBalancerIP, ExternalIP]}\n      selector: {}",
        svc("prod/web", { ...o, lb: ["198.51.100.1"], externalIPs: ["203.0.113.1"] }), slice("prod/web", eps));
      expect(v4(r)).toEqual(announced ? ["198.51.100.1/32", "203.0.113.1/32"] : []);
    });

    it("makes ClusterIP follow internalTrafficPolicy, LB and external IPs externalTrafficPolicy (E15)", () => {
      const r = setup(ALL, svc("prod/web", { iTP: "Local", eTP: "Cluster", lb: ["198.51.100.1"], clusterIPs: ["10.96.0.1"] }), slice("prod/web", [{ node: "n2" }]));
      expect(v4(r)).toEqual(["198.51.100.1/32"]);
    });

    it("withdraws Cluster-policy addresses of Services with no active backend when the option is off (E16)", () => {
      const none = setup(ALL, svc("prod/web", { lb: ["198.51.100.1"] }), slice("prod/web", [{ node: "n2", ready: false }]));
      expect(v4(none)).toEqual(["198.51.100.1/32"]);
      expect(v4(none, { noServiceEndpointsRoutable: false })).toEqual([]);
      const some = setup(ALL, svc("prod/web", { lb: ["198.51.100.1"] }), slice("prod/web", [{ node: "n2" }]));
      expect(v4(some, { noServiceEndpointsRoutable: false })).toEqual(["198.51.100.1/32"]);
    });

    it("counts endpoints across several slices of one Service (E15)", () => {
      const r = setup(ALL, svc("prod/web", { eTP: "Local", lb: ["198.51.100.1"] }),
        slice("prod/web", [{ node: "n2" }], "web-a"), slice("prod/web", [{ node: "n1" }], "web-b"));
      expect(v4(r)).toEqual(["198.51.100.1/32"]);
    });
  });

  describe("aggregation (E18)", () => {
    const agg = `    - advertisementType: Service
      service: {addresses: [LoadBalancerIP], aggregationLengthIPv4: 24, aggregationLengthIPv6: 64}
      selector: {}`;
    it("announces the address masked to the aggregation length, one path for several Services", () => {
      const r = setup(agg, svc("prod/a", { lb: ["198.51.100.7", "2001:db8:1::7"] }), svc("prod/b", { lb: ["198.51.100.200"] }));
      expect(v4(r)).toEqual(["198.51.100.0/24"]);
      expect(v6(r)).toEqual(["2001:db8:1::/64"]);
      const route = stateOf(r, "n1").instances[0].peers[0].routes.get("ipv4/unicast")!.get("198.51.100.0/24")!;
      expect(route.sources.map((x) => `${x.namespace}/${x.name}`)).toEqual(["prod/a", "prod/b"]);
    });
    it("ignores aggregation under a Local traffic policy", () => {
      const r = setup(agg, svc("prod/a", { eTP: "Local", lb: ["198.51.100.7"] }), slice("prod/a", [{ node: "n1" }]));
      expect(v4(r)).toEqual(["198.51.100.7/32"]);
    });
    it("keeps an aggregate while any contributor remains", () => {
      const r = setup(agg, svc("prod/a", { lb: ["198.51.100.7"] }), svc("prod/b", { lb: ["198.51.100.8"] }));
      r.services = r.services.filter((s) => s.metadata.name !== "a");
      expect(v4(r)).toEqual(["198.51.100.0/24"]);
    });
  });

  it("skips an address that does not parse, with a warning", () => {
    const s = stateOf(setup(ALL, svc("prod/web", { lb: ["198.51.100.300", "198.51.100.1"] })), "n1");
    expect(prefixesTo(s, "tor-1")).toEqual(["198.51.100.1/32"]);
    expect(s.issues.map((i) => i.message)).toContain(`Service prod/web: LoadBalancerIP "198.51.100.300" is not an IP address: skipped`);
  });
});
