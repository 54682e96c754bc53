/**
 * Every YAML example of the seed guide (test/control/fixtures/guide/), parsed
 * and turned into the routes and attributes Cilium would produce. Where the
 * guide's prose disagrees with spec/ (Cilium's code), the test follows spec/
 * and says so.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseManifests } from "../../src/source/manifest.ts";
import { planNode } from "../../src/cli/plan.ts";
import { deriveNodeConfigs, candidateNodes } from "../../src/control/node-config.ts";
import type { Resources } from "../../src/control/types.ts";
import { FIXTURES, fixture, node, routes, stateOf, svc, withResources } from "./_helpers.ts";

const read = (name: string) => readFileSync(`${FIXTURES}guide/${name}`, "utf8");
const load = (...names: string[]) => fixture(...names.map((n) => `guide/${n}`));

/** The guide's Helm values set `ipam.mode`, which decides whether PodCIDRs are advertised (E9). */
const helm = parseManifests("01-helm-values.yaml", read("01-helm-values.yaml")).documents[0].value as { ipam: { mode: string } };
const options = { ipamMode: helm.ipam.mode };

const worker = (name: string, labels: Record<string, string>, n: number) =>
  node(name, labels, { ipv4: `10.0.1.${n}`, podCIDRs: [`10.244.${n}.0/24`, `fd00:244:${n}::/64`] });

const announced = svc("shop/web", { labels: { "bgp-announce": "true" }, lb: ["10.100.0.50"], externalIPs: ["203.0.113.10"], clusterIPs: ["10.96.0.10"] });
const quiet = svc("shop/internal", { lb: ["10.100.0.51"], clusterIPs: ["10.96.0.11"] });

function v2Setup(extra: string[] = [], nodes = [worker("worker-01", { "bgp-policy": "rack01" }, 1)]): Resources {
  const r = load("02-cluster-config.yaml", "03-peer-config.yaml", "04-advertisement.yaml", ...extra);
  expect(r.issues.filter((i) => i.level === "error")).toEqual([]);
  return withResources(r.resources, ...nodes, announced, quiet);
}

describe("seed guide examples", () => {
  it("01 Helm values: not a Kubernetes manifest; its ipam.mode is an option", () => {
    expect(helm.ipam.mode).toBe("kubernetes");
    const r = load("01-helm-values.yaml");
    expect(r.issues.map((i) => i.message)).toEqual([
      `Cannot load document (guide/01-helm-values.yaml:2): not a Kubernetes object: kind is required (expected apiVersion and kind, e.g. "cilium.io/v2" and "CiliumBGPPeerConfig")`,
    ]);
  });

  it("02–04 cluster config, peer config and advertisement: two eBGP ToR sessions with PodCIDR and labelled Service IPs", () => {
    const r = load("02-cluster-config.yaml", "03-peer-config.yaml", "04-advertisement.yaml");
    // v2alpha1 transport.localPort is deprecated and ignored (spec §2).
    expect(r.issues.map((i) => i.message)).toEqual([
      `CiliumBGPPeerConfig "datacenter-peer-config" (guide/03-peer-config.yaml:11): spec.transport.localPort is deprecated in cilium.io/v2alpha1 and has no effect (the source port is always ephemeral, D11): ignored`,
    ]);
    const s = stateOf(v2Setup(), "worker-01", options);
    expect(s.instances).toHaveLength(1);
    const inst = s.instances[0];
    expect(inst).toMatchObject({ name: "rack01-instance", localASN: 65001, routerID: "10.0.1.1", localPort: null });
    expect(inst.peers.map((p) => ({
      name: p.name,
      address: p.address,
      asn: p.peerASN,
      port: p.peerPort,
      timers: p.timers,
      gr: p.gracefulRestart,
      fams: p.families,
    }))).toEqual(["tor-switch-1", "tor-switch-2"].map((name, i) => ({
      name,
      address: `10.0.0.${i + 1}`,
      asn: 65100,
      port: 179,
      timers: { connectRetryTimeSeconds: 120, holdTimeSeconds: 90, keepAliveTimeSeconds: 30 },
      gr: { enabled: true, restartTimeSeconds: 120 },
      fams: ["ipv4/unicast", "ipv6/unicast"],
    })));
    const flat = routes(s, "tor-switch-1").map((x) => `${x.family} ${x.prefix} [${x.communities}] ${x.wireLocalPreference}`);
    expect(flat).toEqual([
      "ipv4/unicast 10.100.0.50/32 [] null",
      "ipv4/unicast 10.244.1.0/24 [] null",
      "ipv4/unicast 10.96.0.10/32 [] null",
      "ipv4/unicast 203.0.113.10/32 [] null",
      "ipv6/unicast fd00:244:1::/64 [] null",
    ]);
    expect(routes(s, "tor-switch-2").map((x) => x.prefix)).toEqual(routes(s, "tor-switch-1").map((x) => x.prefix));
    // A node the nodeSelector does not pick runs no BGP.
    expect(stateOf(v2Setup(), "elsewhere", options).api).toBe("none");
  });

  it("05 node override: router ID, listen port and tor-switch-1's source address on node-worker-03 only (B3)", () => {
    const nodes = [worker("node-worker-03", { "bgp-policy": "rack01" }, 3), worker("worker-01", { "bgp-policy": "rack01" }, 1)];
    const r = v2Setup(["05-node-override.yaml"], nodes);
    const s = stateOf(r, "node-worker-03", options);
    expect(s.instances[0]).toMatchObject({ routerID: "10.0.1.33", routerIDSource: "node-config", localPort: 1179 });
    expect(s.instances[0].peers.map((p) => [p.name, p.localAddress])).toEqual([["tor-switch-1", "10.0.1.33"], ["tor-switch-2", null]]);
    const other = stateOf(r, "worker-01", options);
    expect(other.instances[0]).toMatchObject({ routerID: "10.0.1.1", localPort: null });
  });

  it("06 leaf-spine: peers whose PeerConfigs do not exist are not configured until they do (D5, B7)", () => {
    const r = withResources(load("06-leaf-spine.yaml").resources, worker("leaf-1", { topology: "leaf-spine" }, 5));
    const s = stateOf(r, "leaf-1", options);
    expect(s.instances[0].peers).toEqual([]);
    const d = deriveNodeConfigs({ resources: r, nodes: candidateNodes(r), options: { routerIDAllocationMode: "default", routerIDAllocationIPPool: "", statusReport: true } });
    expect(d.conditions.get("leaf-spine-bgp")!.find((c) => c.type === "cilium.io/MissingPeerConfigs")!.message)
      .toBe("Referenced CiliumBGPPeerConfig(s) are missing: [ibgp-peer-config spine-peer-config]");
  });

  it("06 + 15 + 17 leaf-spine with its PeerConfigs: LOCAL_PREF reaches only the iBGP route reflector (E8)", () => {
    const base = load("06-leaf-spine.yaml", "15-traffic-engineering.yaml", "17-production-peer-config.yaml");
    const pc = base.resources.peerConfigs[0];
    base.resources.peerConfigs = [
      { ...pc, metadata: { name: "spine-peer-config" } },
      { ...pc, metadata: { name: "ibgp-peer-config" } },
    ];
    const r = withResources(base.resources, worker("leaf-1", { topology: "leaf-spine" }, 5));
    const s = stateOf(r, "leaf-1", options);
    expect(s.instances[0].peers.map((p) => `${p.name} ${p.sessionType}`)).toEqual(["spine-1 ebgp", "spine-2 ebgp", "route-reflector ibgp"]);
    const pod = (peer: string) => routes(s, peer).find((x) => x.prefix === "10.244.5.0/24")!;
    expect(pod("spine-1")).toMatchObject({ communities: ["65001:100", "65535:65281"], large: ["65001:200:300"], localPreference: 150, wireLocalPreference: null });
    expect(pod("route-reflector")).toMatchObject({ localPreference: 150, wireLocalPreference: 150 });
    // 17 lists only ipv4/unicast: no IPv6 routes even though the node has an IPv6 PodCIDR.
    expect(routes(s).some((x) => x.family === "ipv6/unicast")).toBe(false);
  });

  it("07 v1 peering policy: both neighbours get the PodCIDR and labelled LoadBalancer IPs (G3, G4)", () => {
    const r = withResources(load("07-peering-policy.yaml").resources, worker("worker-01", { "bgp-policy": "rack01" }, 1), announced, quiet);
    const s = stateOf(r, "worker-01", options);
    expect(s.api).toBe("v1");
    expect(s.instances[0].peers.map((p) => [p.name, p.peerASN, p.gracefulRestart.enabled, p.gracefulRestart.restartTimeSeconds]))
      .toEqual([["10.0.0.1", 65100, true, 120], ["10.0.0.2", 65100, true, 120]]);
    // serviceAdvertisements defaults to [LoadBalancerIP] (G4).
    expect(routes(s, "10.0.0.1").map((x) => `${x.family} ${x.prefix}`)).toEqual([
      "ipv4/unicast 10.100.0.50/32",
      "ipv4/unicast 10.244.1.0/24",
      "ipv6/unicast fd00:244:1::/64",
    ]);
  });

  it("08, 09, 11 pools and shared Services: the guide's Services lack environment=production, so LB-IPAM refuses them; with the label they share 10.100.0.50 (I9, I11)", () => {
    const files = ["02-cluster-config.yaml", "03-peer-config.yaml", "08-production-pool.yaml", "09-staging-pool.yaml", "10-lb-service-advertisement.yaml", "11-shared-services.yaml"]
      .map((f) => ({ file: f, text: read(f) }));
    const nodeFile = {
      file: "node.yaml",
      text: "apiVersion: v1\nkind: Node\nmetadata: {name: worker-01, labels: {bgp-policy: rack01}}\nstatus: {addresses: [{type: InternalIP, address: 10.0.1.1}]}\n",
    };
    const asIs = planNode({ files: [...files, nodeFile], nodeName: "worker-01", options });
    expect(asIs.json.services).toEqual([
      { namespace: "default", name: "web-http", ips: [], condition: { status: "False", reason: "pool_selector_mismatch" } },
      { namespace: "default", name: "web-https", ips: [], condition: { status: "False", reason: "pool_selector_mismatch" } },
    ]);
    const labelled = files.map((f) =>
      f.file === "11-shared-services.yaml"
        ? { ...f, text: f.text.replaceAll("  annotations:", "  labels: {environment: production, bgp-announce: \"true\"}\n  annotations:") }
        : f
    );
    const plan = planNode({ files: [...labelled, nodeFile], nodeName: "worker-01", options }).json;
    expect(plan.services.map((s) => [s.name, s.ips, s.condition?.reason])).toEqual([
      ["web-http", ["10.100.0.50"], "satisfied"],
      ["web-https", ["10.100.0.50"], "satisfied"],
    ]);
    expect(plan.pools.map((p) => [p.name, p.total, p.used])).toEqual([["production-pool", 512, 1], ["staging-pool", 256, 0]]);
    // One /32 for the shared address, with the advertisement's community (10).
    expect(plan.instances[0].peers[0].routes).toEqual([
      { family: "ipv4/unicast", prefix: "10.100.0.50/32", communities: ["65001:100"], largeCommunities: [], localPreference: null },
    ]);
  });

  it("10 LoadBalancer advertisement: community 65001:100 on labelled LoadBalancer IPs only", () => {
    const r = withResources(load("02-cluster-config.yaml", "03-peer-config.yaml", "10-lb-service-advertisement.yaml").resources,
      worker("worker-01", { "bgp-policy": "rack01" }, 1), announced, quiet);
    expect(routes(stateOf(r, "worker-01", options), "tor-switch-1").map((x) => `${x.prefix} [${x.communities}]`)).toEqual(["10.100.0.50/32 [65001:100]"]);
  });

  it("12, 14, 18 MetalLB and ServiceMonitor manifests are skipped with a warning; 13 is 08 again (same name)", () => {
    const r = load("12-metallb-pool.yaml", "14-metallb-peer.yaml", "18-service-monitor.yaml");
    expect(r.loaded).toEqual([]);
    expect(r.issues.map((i) => `${i.level} ${i.message.slice(i.message.indexOf(": ") + 2)}`)).toEqual([
      "warning metallb.io/v1beta1 IPAddressPool is not a kind herald reads: ignored",
      "warning metallb.io/v1beta2 BGPPeer is not a kind herald reads: ignored",
      "warning monitoring.coreos.com/v1 ServiceMonitor is not a kind herald reads: ignored",
    ]);
    const thirteen = load("13-cilium-pool.yaml");
    expect(thirteen.resources.lbIPPools[0].spec.blocks).toEqual(load("08-production-pool.yaml").resources.lbIPPools[0].spec.blocks);
    expect(load("08-production-pool.yaml", "13-cilium-pool.yaml").issues[0].message).toContain(`metadata.name must be unique: "production-pool" is already defined at guide/08-production-pool.yaml:1`);
  });

  it("15 traffic engineering: PodCIDR and premium-Service attributes, merged with 04/10 where they overlap (E8, E19)", () => {
    const premium = svc("shop/checkout", { labels: { "traffic-class": "premium", "bgp-announce": "true" }, lb: ["10.100.0.60"] });
    const r = withResources(
      load("02-cluster-config.yaml", "03-peer-config.yaml", "10-lb-service-advertisement.yaml", "15-traffic-engineering.yaml").resources,
      worker("worker-01", { "bgp-policy": "rack01" }, 1),
      announced,
      premium,
    );
    const got = routes(stateOf(r, "worker-01", options), "tor-switch-1").map((x) => ({
      prefix: x.prefix,
      communities: x.communities,
      large: x.large,
      lp: x.localPreference,
      wire: x.wireLocalPreference,
    }));
    expect(got).toEqual([
      { prefix: "10.100.0.50/32", communities: ["65001:100"], large: [], lp: null, wire: null },
      // 10 and 15 both select it: union of communities, highest LOCAL_PREF (E19).
      { prefix: "10.100.0.60/32", communities: ["65001:100", "65001:200"], large: [], lp: 200, wire: null },
      { prefix: "10.244.1.0/24", communities: ["65001:100", "65535:65281"], large: ["65001:200:300"], lp: 150, wire: null },
      { prefix: "fd00:244:1::/64", communities: ["65001:100", "65535:65281"], large: ["65001:200:300"], lp: 150, wire: null },
    ]);
  });

  it("16 legacy traffic engineering: pathAttributes read as advertisedPathAttributes, with a warning (G5)", () => {
    const r = load("16-traffic-engineering-legacy.yaml");
    expect(r.issues.map((i) => i.message)).toEqual([
      `CiliumBGPPeeringPolicy "traffic-engineering-legacy" (guide/16-traffic-engineering-legacy.yaml:15): spec.virtualRouters[0].neighbors[0].pathAttributes is not a CiliumBGPPeeringPolicy field: Cilium reads "advertisedPathAttributes" (the API server drops "pathAttributes"); herald accepts it as an alias, rename it`,
    ]);
    const pools = load("08-production-pool.yaml").resources.lbIPPools;
    const premiumPool = { ...pools[0], metadata: { name: "premium", labels: { pool: "premium" } } };
    const policy = r.resources.peeringPolicies[0];
    // The guide's router has no serviceSelector; add one so that LB routes exist to carry the pool attributes.
    const withServices = structuredClone(policy);
    withServices.spec.virtualRouters[0].serviceSelector = { matchLabels: { "bgp-announce": "true" } };
    const res = withResources({ ...r.resources, peeringPolicies: [withServices], lbIPPools: [premiumPool] },
      worker("worker-01", { "bgp-policy": "rack01" }, 1), announced);
    const got = routes(stateOf(res, "worker-01", options), "10.0.0.1").map((x) => `${x.prefix} [${x.communities}] ${x.localPreference} ${x.wireLocalPreference}`);
    expect(got).toEqual([
      "10.100.0.50/32 [65001:200] 200 null",
      "10.244.1.0/24 [65001:100,65535:65281] null null",
      "fd00:244:1::/64 [65001:100,65535:65281] null null",
    ]);
  });

  it("17 production peer config: the guide's timers, GR and ebgpMultihop, IPv4 only", () => {
    const r = load("17-production-peer-config.yaml");
    expect(r.issues).toEqual([]);
    expect(r.resources.peerConfigs[0].spec).toEqual({
      timers: { holdTimeSeconds: 90, keepAliveTimeSeconds: 30, connectRetryTimeSeconds: 120 },
      gracefulRestart: { enabled: true, restartTimeSeconds: 120 },
      ebgpMultihop: 1,
      families: [{ afi: "ipv4", safi: "unicast", advertisements: { matchLabels: { advertise: "bgp" } } }],
    });
  });

  it("the guide's claim that two matching cluster configs tear a node down: Cilium keeps the owner's (B4)", () => {
    const r = load("02-cluster-config.yaml", "03-peer-config.yaml");
    const twin = { ...r.resources.clusterConfigs[0], metadata: { name: "datacenter-bgp-2" } };
    const s = stateOf(withResources(r.resources, twin, worker("worker-01", { "bgp-policy": "rack01" }, 1)), "worker-01", options);
    expect(s.clusterConfig).toBe("datacenter-bgp");
    expect(s.instances[0].peers).toHaveLength(2);
  });
});
