/**
 * `herald migrate metallb`: MetalLB → Cilium. The proof is twofold: herald's
 * control plane run on the output announces, node by node and peer by peer,
 * the same prefixes with the same communities, LOCAL_PREF and ORIGIN as
 * MetalLB would (metallb/reference.ts), and herald's LB-IPAM keeps every
 * Service's address (I12). The output parses back through herald's schemas.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { desiredState } from "../../src/control/desired.ts";
import { loadManifests } from "../../src/control/load.ts";
import { emptyResources, type Resources } from "../../src/control/types.ts";
import { migrateMetalLB, renderMetalLB, type MetalLBResult } from "../../src/migrate/metallb.ts";
import { metallbView } from "../../src/migrate/metallb/reference.ts";
import { formatFinding } from "../../src/migrate/report.ts";
import { compareViews, viewOf } from "../../src/migrate/verify.ts";

const DIR = fileURLToPath(new URL("./fixtures/metallb/", import.meta.url));
const GUIDE = fileURLToPath(new URL("../control/fixtures/guide/", import.meta.url));
const read = (dir: string, name: string) => ({ file: name, text: readFileSync(`${dir}${name}`, "utf8") });
const CRDS = [read(DIR, "crds.yaml"), read(DIR, "cluster.yaml"), read(DIR, "team-a.yaml")];

const levels = (r: MetalLBResult, level: string) => r.findings.filter((f) => f.level === level).map(formatFinding);
/** A generated manifest, read field by field in the assertions. */
// deno-lint-ignore no-explicit-any
type Manifest = Record<string, any>;
const doc = (r: MetalLBResult, kind: string, name: string) => r.documents.find((d) => d.value.kind === kind && (d.value.metadata as { name: string }).name === name)?.value as Manifest;

/** MetalLB's announcements vs herald's control plane on the output, per node. */
function equivalence(r: MetalLBResult, mode: "frr" | "native" = "frr") {
  const services = r.model.services.map((s) => r.patches.find((p) => p.input === s)?.patched ?? s.svc);
  const resources: Resources = { ...emptyResources(), ...r.output, nodes: r.model.nodes, services, endpointSlices: r.model.endpointSlices };
  const peers = r.model.peers.filter((p) => !p.vrf && !p.iface);
  return r.model.nodes.map((node) => {
    const metallb = metallbView(r.model, peers, node, { mode, ignoreExcludeLB: false });
    const cilium = viewOf(desiredState({ resources, node: { name: node.metadata.name }, options: { legacyOriginAttribute: mode === "native" } }), "routes-only");
    return { node: node.metadata.name, metallb, cilium, diffs: compareViews(metallb, cilium, { before: "MetalLB", after: "Cilium" }) };
  });
}

describe("migrateMetalLB() on MetalLB CRDs", () => {
  const r = migrateMetalLB(CRDS);

  it("reads every document and writes output that validates with herald's schemas", () => {
    expect(levels(r, "error")).toEqual([]);
    const back = loadManifests([{ file: "out.yaml", text: renderMetalLB(r) }]);
    expect(back.issues.filter((i) => i.level === "error").map((i) => i.message)).toEqual([]);
    expect(back.issues.filter((i) => i.level === "warning").map((i) => i.message)).toEqual([]);
    expect(back.resources.lbIPPools.map((p) => p.metadata.name)).toEqual(["production", "team-a", "reserved", "lan"]);
    expect(back.resources.clusterConfigs).toHaveLength(3);
    expect(back.resources.l2AnnouncementPolicies).toHaveLength(1);
    expect(back.resources.services).toHaveLength(6);
  });

  it("announces the same prefixes with the same attributes as MetalLB, per node and peer, except where it says so", () => {
    const results = equivalence(r);
    const w1 = results.find((x) => x.node === "w1")!;
    const w2 = results.find((x) => x.node === "w2")!;
    // Not vacuous: host routes with communities (alias, large, standard) and LOCAL_PREF to the iBGP reflector, aggregates to the ToRs.
    expect(w1.metallb.get("AS64512 peer 10.0.0.250")!.routes.get("ipv4/unicast 10.100.0.7/32")).toBe("origin igp, communities 64512:900 65535:65282, large 64512:1:2, local-pref 200");
    expect(w1.metallb.get("AS64512 peer 10.0.1.1")!.routes.get("ipv4/unicast 10.100.0.0/24")).toBe("origin igp, communities 65535:65281");
    expect(w1.metallb.get("AS64512 peer 10.0.0.250")!.routes.has("ipv4/unicast 10.100.0.0/24")).toBe(false); // prod-aggregate names the ToRs only
    expect(w1.metallb.get("AS64512 peer 10.0.1.1")!.routes.get("ipv6/unicast fd00:101::/128")).toBe("origin igp, communities 64512:10"); // dedicated: rack r1 only
    expect(w2.metallb.get("AS64512 peer 10.0.2.1")!.routes.has("ipv6/unicast fd00:101::/128")).toBe(false);
    expect(w1.metallb.get("AS64512 peer 10.0.1.1")!.routes.has("ipv4/unicast 192.168.50.201/32")).toBe(false); // L2 pool
    expect(results.find((x) => x.node === "cp1")!.metallb.size).toBe(0); // exclude-from-external-load-balancers
    // Identical everywhere but the one documented gap (E18: Local ⇒ host route, so the aggregate's community lands on the /32).
    for (const x of results.filter((x) => x.node !== "w1")) expect(x.diffs, x.node).toEqual([]);
    // (prod-aggregate names the ToRs only, so the route reflector sees no difference.)
    expect(w1.diffs).toEqual([
      "AS64512 peer 10.0.1.1: ipv4/unicast 10.100.0.9/32 has origin igp, communities 64512:900 65535:65282, large 64512:1:2 with MetalLB but origin igp, communities 64512:900 65535:65281 65535:65282, large 64512:1:2 with Cilium",
    ]);
    // …and the tool reports both the rule and the concrete difference itself.
    expect(levels(r, "gap")).toContain("gap: BGPAdvertisement metallb-system/prod-aggregate: aggregation: Cilium announces Services with externalTrafficPolicy Local as /32 or /128 (E18); MetalLB announced the aggregate, from the nodes with endpoints");
    expect(levels(r, "gap").filter((g) => g.startsWith("gap: Node w1:"))).toHaveLength(1);
    expect(r.verifiedNodes).toEqual(["w1", "w2", "w3", "cp1"]);
  });

  it("keeps every Service's address under herald's LB-IPAM (I12)", () => {
    expect(levels(r, "note")).toContain("note: LB-IPAM checked offline: 7 Services keep the address MetalLB gave them (Cilium adopts addresses already in status, I12)");
    expect(levels(r, "gap").filter((g) => g.includes("LB-IPAM would not keep"))).toEqual([]);
  });

  it("converts pools: blocks, avoidBuggyIPs segments, namespaces, autoAssign and pinning selectors", () => {
    expect(doc(r, "CiliumLoadBalancerIPPool", "production").spec).toEqual({
      blocks: [{ cidr: "10.100.0.0/24" }, { cidr: "10.100.1.0/24" }],
      serviceSelector: { matchExpressions: [
        { key: "io.kubernetes.service.namespace", operator: "NotIn", values: ["team-a"] },
        { key: "migrate.herald.io/pool", operator: "NotIn", values: ["lan", "reserved", "team-a"] },
      ] },
    });
    expect(doc(r, "CiliumLoadBalancerIPPool", "team-a").spec.blocks).toEqual([{ start: "10.101.0.1", stop: "10.101.0.63" }, { cidr: "fd00:101::/120" }]);
    expect(doc(r, "CiliumLoadBalancerIPPool", "team-a").spec.serviceSelector.matchLabels).toEqual({ "io.kubernetes.service.namespace": "team-a" });
    expect(doc(r, "CiliumLoadBalancerIPPool", "reserved").spec).toEqual({
      blocks: [{ cidr: "10.102.0.0/28" }, { start: "10.102.1.10", stop: "10.102.1.20" }],
      serviceSelector: { matchLabels: { "migrate.herald.io/pool": "reserved" } },
    });
  });

  it("splits nodes into disjoint classes for per-peer and per-advertisement node selectors", () => {
    const selectors = r.output.clusterConfigs.map((c) => [c.metadata.name, c.spec.nodeSelector, c.spec.bgpInstances[0].peers!.map((p) => p.name)]);
    const ex = { key: "node.kubernetes.io/exclude-from-external-load-balancers", operator: "DoesNotExist" };
    expect(selectors).toEqual([
      ["metallb-1", { matchLabels: { rack: "r1" }, matchExpressions: [ex] }, ["tor-r1", "rr"]],
      ["metallb-2", { matchLabels: { rack: "r2" }, matchExpressions: [ex] }, ["tor-r2", "rr"]],
      ["metallb-3", { matchExpressions: [ex, { key: "rack", operator: "NotIn", values: ["r1", "r2"] }] }, ["rr"]],
    ]);
  });

  it("keeps session settings: timers, port, graceful restart, TCP-MD5 via a Secret, families", () => {
    const pc = (name: string) => r.output.peerConfigs.find((p) => p.metadata.name === name)!.spec;
    expect(pc("tor-r1")).toMatchObject({ timers: { holdTimeSeconds: 90, keepAliveTimeSeconds: 30 } });
    expect(pc("tor-r2")).toMatchObject({ timers: { holdTimeSeconds: 30, keepAliveTimeSeconds: 10 }, authSecretRef: "metallb-tor-r2-md5", gracefulRestart: { enabled: true, restartTimeSeconds: 120 } });
    expect(pc("rr").transport).toEqual({ peerPort: 1179 });
    expect(pc("rr").families!.map((f) => f.afi)).toEqual(["ipv4", "ipv6"]);
    expect(doc(r, "Secret", "metallb-tor-r2-md5")).toMatchObject({ metadata: { namespace: "kube-system" }, stringData: { password: "t0ps3cret" } });
  });

  it("writes communities as MetalLB resolved them: aliases, large, well-known", () => {
    const hostRoutes = doc(r, "CiliumBGPAdvertisement", "prod-host-routes").spec.advertisements;
    expect(hostRoutes[0].attributes).toEqual({ communities: { standard: ["64512:900"], wellKnown: ["no-advertise"], large: ["64512:1:2"] }, localPreference: 200 });
    const agg = doc(r, "CiliumBGPAdvertisement", "prod-aggregate").spec.advertisements;
    expect(agg[0].service).toEqual({ addresses: ["LoadBalancerIP"], aggregationLengthIPv4: 24 });
    expect(agg[0].attributes).toEqual({ communities: { wellKnown: ["no-export"] } });
  });

  it("converts the L2Advertisement into a CiliumL2AnnouncementPolicy and says herald does not run it", () => {
    expect(doc(r, "CiliumL2AnnouncementPolicy", "lan-lan").spec).toMatchObject({ interfaces: ["^eth1$"], loadBalancerIPs: true });
    expect(levels(r, "action").some((a) => a.includes("CiliumL2AnnouncementPolicy needs Cilium with l2announcements.enabled=true"))).toBe(true);
  });

  it("rewrites Service annotations (both spellings) into Cilium's and pins pools with a label", () => {
    const svc = (name: string) => r.documents.find((d) => d.group === "services" && (d.value.metadata as { name: string }).name === name)!.value.metadata as Manifest;
    expect(svc("web").annotations).toEqual({ "lbipam.cilium.io/sharing-key": "web" });
    expect(svc("legacy-app")).toMatchObject({ annotations: { "lbipam.cilium.io/ips": "10.102.0.5" }, labels: { "migrate.herald.io/pool": "reserved" } });
    expect(svc("pinned").annotations).toBeUndefined();
    expect(svc("pinned").labels).toEqual({ "migrate.herald.io/pool": "production" });
    expect(r.documents.some((d) => d.group === "services" && (d.value.metadata as { name: string }).name === "dns")).toBe(false); // nothing to change
  });
});

describe("migrateMetalLB() on the legacy ConfigMap", () => {
  const r = migrateMetalLB([read(DIR, "configmap.yaml"), read(DIR, "cluster.yaml")]);

  it("reads the embedded config as MetalLB did and converts it", () => {
    expect(levels(r, "error")).toEqual([]);
    expect(r.model.pools.map((p) => p.name)).toEqual(["production", "reserved", "lan"]);
    expect(r.model.bgpAdverts.map((a) => [a.name, a.pools])).toEqual([["production-1", ["production"]], ["production-2", ["production"]], ["reserved", ["reserved"]]]);
    expect(r.output.peerConfigs.find((p) => p.spec.authSecretRef)!.spec.timers).toEqual({ connectRetryTimeSeconds: 120, holdTimeSeconds: 30, keepAliveTimeSeconds: 10 });
  });

  it("announces the same as MetalLB on every node except the documented Local + aggregate case", () => {
    const results = equivalence(r);
    for (const x of results.filter((x) => x.node !== "w1")) expect(x.diffs, x.node).toEqual([]);
    expect(results.find((x) => x.node === "w1")!.diffs.every((d) => d.includes("10.100.0.9/32"))).toBe(true);
    expect(results.find((x) => x.node === "w2")!.cilium.get("AS64512 peer 10.0.2.1")!.routes.get("ipv4/unicast 10.102.0.5/32")).toBe("origin igp");
  });

  it("locates errors inside the embedded config on the ConfigMap's own lines", () => {
    const text = readFileSync(`${DIR}configmap.yaml`, "utf8").replace("peer-asn: 65100\n      my-asn: 64512\n      hold-time: 90s", "peer-asn: sixty\n      my-asn: 64512\n      hold-time: 90s");
    const bad = migrateMetalLB([{ file: "cm.yaml", text }]);
    const line = text.split("\n").findIndex((l) => l.includes("peer-asn: sixty")) + 1;
    expect(levels(bad, "error")).toEqual([
      `error: Cannot read ConfigMap metallb-system/config data.config (cm.yaml:${line}): peers[0].peer-asn must be an integer from 0 to 4294967295: current value is "sixty"; skipped, the other documents are converted`,
    ]);
  });
});

describe("migrateMetalLB() --split", () => {
  it("splits the guide's /24 pool into two /25s and emits both sides", () => {
    const r = migrateMetalLB([read(GUIDE, "12-metallb-pool.yaml")], { split: true });
    expect(doc(r, "CiliumLoadBalancerIPPool", "production-pool").spec.blocks).toEqual([{ cidr: "10.100.0.128/25" }, { cidr: "10.100.1.128/25" }]);
    const metallb = r.documents.find((d) => d.group === "metallb")!.value as Manifest;
    expect(metallb).toMatchObject({ apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: { name: "production-pool", namespace: "metallb-system" }, spec: { addresses: ["10.100.0.0/25", "10.100.1.0/25"] } });
    expect(levels(r, "note")).toContain(`note: 12-metallb-pool.yaml:9: IPAddressPool metallb-system/production-pool: --split: "10.100.0.0/24" → MetalLB keeps 10.100.0.0/25, the Cilium pool gets 10.100.0.128/25`);
  });

  it("reports a single-address pool as not splittable, and which Services stay with MetalLB", () => {
    const text = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: one, namespace: metallb-system}
spec: {addresses: [10.9.9.9/32]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: range, namespace: metallb-system}
spec: {addresses: ["10.8.0.10-10.8.0.20"]}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: x}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 10.8.0.11}]}}
`;
    const r = migrateMetalLB([{ file: "p.yaml", text }], { split: true });
    expect(levels(r, "gap")).toContain(`gap: p.yaml:4: IPAddressPool metallb-system/one: address "10.9.9.9/32" is a single address and cannot be split: it stays with MetalLB`);
    expect(levels(r, "gap")).toContain("gap: IPAddressPool metallb-system/one: no address is left for the Cilium pool: not written");
    expect(doc(r, "CiliumLoadBalancerIPPool", "range").spec.blocks).toEqual([{ start: "10.8.0.16", stop: "10.8.0.20" }]);
    expect(r.documents.filter((d) => d.group === "metallb").map((d) => (d.value.spec as { addresses: string[] }).addresses)).toEqual([["10.9.9.9/32"], ["10.8.0.10-10.8.0.15"]]);
    expect(levels(r, "action").some((a) => a.startsWith("action: Service x/a holds 10.8.0.11, in the part MetalLB keeps"))).toBe(true);
  });

  it("shrinks the legacy ConfigMap's pools in place", () => {
    const r = migrateMetalLB([read(DIR, "configmap.yaml")], { split: true });
    const cm = r.documents.find((d) => d.group === "metallb")!.value as { data: { config: string } };
    expect(cm.data.config).toContain("- 10.100.0.0/25");
    expect(cm.data.config).toContain("- 10.102.1.10-10.102.1.15");
    expect(cm.data.config).not.toContain("10.100.0.0/24");
  });
});

describe("migrateMetalLB() native mode", () => {
  it("keeps ORIGIN INCOMPLETE and LOCAL_PREF 0 of MetalLB's native speaker (with legacyOriginAttribute)", () => {
    const r = migrateMetalLB(CRDS, { mode: "native" });
    expect(levels(r, "action").some((a) => a.includes("legacyOriginAttribute"))).toBe(true);
    const results = equivalence(r, "native");
    for (const x of results.filter((x) => x.node !== "w1")) expect(x.diffs, x.node).toEqual([]);
    const w3 = results.find((x) => x.node === "w3")!;
    expect(w3.cilium.get("AS64512 peer 10.0.0.250")!.routes.get("ipv4/unicast 10.102.0.5/32")).toBe("origin incomplete, communities 64512:900 65535:65282, large 64512:1:2, local-pref 200");
    expect(doc(r, "CiliumBGPAdvertisement", "dedicated").spec.advertisements[0].attributes).toEqual({ communities: { standard: ["64512:10"] }, localPreference: 0 });
  });
});

describe("migrateMetalLB() gaps and bad input", () => {
  const peer = (extra: string) => `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: p, namespace: metallb-system}
spec:
  myASN: 64512
  peerASN: 65000
  peerAddress: 10.0.0.1
${extra}`;

  it("reports settings with no Cilium equivalent, each with its location", () => {
    const text = [
      peer("  bfdProfile: fast\n  ebgpMultiHop: true\n"),
      `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: v, namespace: metallb-system}
spec: {myASN: 64512, peerASN: 65000, peerAddress: 10.0.0.2, vrf: red}`,
      `apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: d, namespace: metallb-system}
spec: {myASN: 64512, dynamicASN: external, peerAddress: 10.0.0.3}`,
      `apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: fast, namespace: metallb-system}
spec: {receiveInterval: 300}`,
      `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p1, namespace: metallb-system}
spec:
  addresses: [10.1.0.0/24]
  serviceAllocation:
    namespaceSelectors: [{matchLabels: {team: a}}]
    serviceSelectors: [{matchLabels: {app: x}}, {matchLabels: {tier: y}}]`,
    ].join("\n---\n");
    const r = migrateMetalLB([{ file: "g.yaml", text }]);
    const gaps = levels(r, "gap");
    expect(gaps).toContain(`gap: g.yaml:8: BGPPeer metallb-system/p: bfdProfile "fast": Cilium has no BFD; failure detection falls back to the hold timer`);
    expect(gaps).toContain(`gap: g.yaml:15: BGPPeer metallb-system/v: vrf "red": Cilium has no VRF support; the peer is not converted (a session through the default table could reach the wrong router)`);
    expect(gaps).toContain("gap: g.yaml:20: BGPPeer metallb-system/d: dynamicASN: external → peerASN 0, which accepts any AS the peer sends, including the local one (MetalLB refused a same-AS peer)");
    expect(gaps.some((g) => g.includes("serviceAllocation.namespaceSelectors: Cilium selects Services, not Namespaces"))).toBe(true);
    expect(gaps.some((g) => g.includes("serviceAllocation.serviceSelectors lists 2 selectors"))).toBe(true);
    expect(r.output.peerConfigs.find((p) => p.metadata.name === "p")!.spec.ebgpMultihop).toBe(255);
    expect(r.output.clusterConfigs[0].spec.bgpInstances[0].peers!.map((p) => [p.name, p.peerASN])).toEqual([["p", 65000], ["d", 0]]);
  });

  it("reports a document that is not valid MetalLB with file:line, field and expected form, and converts the others", () => {
    const text = [
      peer("  holdTime: ninety\n"),
      `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: ok, namespace: metallb-system}
spec: {addresses: [10.1.0.0/24]}`,
      `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bad, namespace: metallb-system}
spec: {addresses: [10.2.0.0/24, 10.3.0.300-10.3.0.310]}`,
      `apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: adv, namespace: metallb-system}
spec: {aggregationLength: 40, communities: [nonsense]}`,
      `apiVersion: metallb.io/v1beta3
kind: BGPPeer
metadata: {name: future, namespace: metallb-system}
spec: {}`,
    ].join("\n---\n");
    const r = migrateMetalLB([{ file: "bad.yaml", text }]);
    expect(levels(r, "error")).toEqual([
      `error: Cannot read BGPPeer metallb-system/p (bad.yaml:8): spec.holdTime must be a duration such as "90s" or "1m30s": current value is "ninety"; the peer is skipped`,
      `error: Cannot read IPAddressPool metallb-system/bad (bad.yaml:19): spec.addresses[1] must be a range "start-end": "10.3.0.300" is not an IP address: current value is "10.3.0.300-10.3.0.310"; the pool is skipped`,
      `error: Cannot read BGPAdvertisement metallb-system/adv (bad.yaml:24): spec.aggregationLength must be an integer from 0 to 32: current value is 40; skipped, the other documents are converted`,
      `error: Cannot read BGPPeer metallb-system/future (bad.yaml:26): apiVersion must be "metallb.io/v1beta1" or "metallb.io/v1beta2" for BGPPeer: current value is "metallb.io/v1beta3"; skipped, the other documents are converted`,
    ]);
    expect(r.output.lbIPPools.map((p) => p.metadata.name)).toEqual(["ok"]);
  });

  it("reports an unknown community name and MetalLB's aggregation-length rule", () => {
    const text = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {addresses: [10.1.0.0/24]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a, namespace: metallb-system}
spec:
  communities: [nonsense]
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: b, namespace: metallb-system}
spec:
  aggregationLength: 16
`;
    const r = migrateMetalLB([{ file: "c.yaml", text }]);
    expect(levels(r, "error")).toEqual([
      `error: Cannot read BGPAdvertisement metallb-system/a (c.yaml:10): spec.communities[0] must be "<0-65535>:<0-65535>", "large:<u32>:<u32>:<u32>" or the name of a Community: current value is "nonsense"; the advertisement is skipped`,
      `error: Cannot read BGPAdvertisement metallb-system/b (c.yaml:16): spec.aggregationLength must not be shorter than the prefixes of pool "p" (/24 in "10.1.0.0/24"): current value is 16; MetalLB refuses it, the advertisement is skipped`,
    ]);
  });

  it("adds sharing-cross-namespace when a sharing key spans namespaces, and reports TCP/UDP on one port", () => {
    const svc = (name: string, ns: string, port: number, proto: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}, annotations: {metallb.io/allow-shared-ip: dns}}
spec: {type: LoadBalancer, ports: [{port: ${port}, protocol: ${proto}}]}
status: {loadBalancer: {ingress: [{ip: 10.1.0.53}]}}`;
    const pool = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system}
spec: {addresses: [10.1.0.0/24]}`;
    const r = migrateMetalLB([{ file: "s.yaml", text: [pool, svc("dns-udp", "a", 53, "UDP"), svc("dns-tcp", "b", 53, "TCP")].join("\n---\n") }], { kubectl: true });
    expect(r.kubectl).toEqual([
      "kubectl annotate --overwrite -n a service dns-udp metallb.io/allow-shared-ip- lbipam.cilium.io/sharing-key=dns lbipam.cilium.io/sharing-cross-namespace=b",
      "kubectl annotate --overwrite -n b service dns-tcp metallb.io/allow-shared-ip- lbipam.cilium.io/sharing-key=dns lbipam.cilium.io/sharing-cross-namespace=a",
    ]);
    expect(levels(r, "gap")).toContain(`gap: sharing key "dns": port 53 is used with TCP and UDP; MetalLB shares such Services, Cilium's LB-IPAM (before protocol differentiation) refuses "same port" and gives one of them another address`);
    expect(renderMetalLB(r)).toContain("# kubectl annotate --overwrite -n a service dns-udp");
    expect(r.documents.some((d) => d.group === "services")).toBe(false);
  });

  it("converts the guide's BGPPeer with its timers", () => {
    const r = migrateMetalLB([read(GUIDE, "14-metallb-peer.yaml"), read(GUIDE, "12-metallb-pool.yaml")]);
    expect(levels(r, "error")).toEqual([]);
    expect(r.output.peerConfigs[0].spec.timers).toEqual({ connectRetryTimeSeconds: 120, holdTimeSeconds: 90, keepAliveTimeSeconds: 30 });
    expect(r.output.clusterConfigs[0].spec.bgpInstances).toEqual([{ name: "asn-65001", localASN: 65001, peers: [{ name: "tor-switch-1", peerAddress: "10.0.0.1", peerASN: 65100, peerConfigRef: { name: "tor-switch-1" } }] }]);
    // No BGPAdvertisement: MetalLB announces nothing, and neither does the output.
    expect(r.output.advertisements).toEqual([]);
  });
});
