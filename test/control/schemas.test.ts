import { describe, expect, it } from "vitest";
import { parseManifests } from "../../src/source/manifest.ts";
import { KINDS, parseDocument, parseResource, type ParseResult, schemaFor } from "../../src/control/schemas/mod.ts";
import { KEEPALIVE_RULE_MESSAGE } from "../../src/control/schemas/peer-config.ts";
import { yaml } from "./_helpers.ts";

function parse(text: string, file = "m.yaml"): ParseResult {
  const { documents, errors } = parseManifests(file, text);
  expect(errors).toEqual([]);
  return parseResource(documents[0]);
}
function ok(text: string) {
  const r = parse(text);
  if (r.status !== "ok") throw new Error(JSON.stringify(r));
  return r;
}
function errorsOf(text: string): string[] {
  const r = parse(text);
  expect(r.status).toBe("error");
  return r.status === "error" ? r.errors.map((e) => e.message) : [];
}
const warningsOf = (text: string) => parse(text).warnings.map((w) => w.message);

const peerConfig = (spec: string, version = "v2") => `apiVersion: cilium.io/${version}
kind: CiliumBGPPeerConfig
metadata:
  name: rack1
spec:
${spec}`;

describe("parseResource() errors", () => {
  it("names kind, object, file:line, field, the expected form and the current value", () => {
    const text = peerConfig(`  families:
    - afi: ip4
      safi: unicast`);
    expect(errorsOf(text)).toEqual([
      `Cannot load CiliumBGPPeerConfig "rack1" (m.yaml:7): spec.families[0].afi must be one of "ipv4", "ipv6", "l2vpn", "ls", "opaque": current value is "ip4"`,
    ]);
  });

  it.each([
    ["timers:\n    holdTimeSeconds: 2\n    keepAliveTimeSeconds: 1", "spec.timers.holdTimeSeconds must be an integer from 3 to 65535: current value is 2"],
    ["ebgpMultihop: 0", "spec.ebgpMultihop must be an integer from 1 to 255: current value is 0"],
    ["transport:\n    peerPort: 70000", "spec.transport.peerPort must be an integer from 1 to 65535: current value is 70000"],
    ["gracefulRestart:\n    restartTimeSeconds: 10", "spec.gracefulRestart.enabled is required"],
    ["gracefulRestart:\n    enabled: true\n    restartTimeSeconds: 4096", "spec.gracefulRestart.restartTimeSeconds must be an integer from 1 to 4095: current value is 4096"],
    ["families:\n    - afi: ipv4\n      safi: uni", "spec.families[0].safi must be one of \"unicast\", \"multicast\""],
    ["families:\n    - afi: ipv4", "spec.families[0].safi is required"],
    ["timers:\n    holdTimeSeconds: \"90\"", "spec.timers.holdTimeSeconds must be an integer from 3 to 65535: current value is \"90\""],
  ])("CiliumBGPPeerConfig %j ⇒ %s (ranges and enums of spec §2)", (spec, want) => {
    const errors = errorsOf(peerConfig(`  ${spec}`));
    expect(errors.some((e) => e.includes(want))).toBe(true);
  });

  it("checks keepalive ≤ hold after defaults, with Cilium's message (D7a)", () => {
    const errors = errorsOf(peerConfig("  timers:\n    holdTimeSeconds: 9"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`spec.timers ${KEEPALIVE_RULE_MESSAGE}: holdTimeSeconds is 9, keepAliveTimeSeconds is 30`);
    expect(errors[0]).toContain("(m.yaml:6)");
    expect(KEEPALIVE_RULE_MESSAGE).toBe("keepAliveTimeSeconds can not be larger than holdTimeSeconds");
    // Both set: accepted.
    expect(ok(peerConfig("  timers:\n    holdTimeSeconds: 9\n    keepAliveTimeSeconds: 3")).status).toBe("ok");
    // keepalive alone above the default hold: refused too.
    expect(errorsOf(peerConfig("  timers:\n    keepAliveTimeSeconds: 91"))[0]).toContain(KEEPALIVE_RULE_MESSAGE);
  });

  it("fills the API-server defaults of a PeerConfig (spec §2)", () => {
    const r = ok(peerConfig("  timers: {}\n  transport: {}\n  gracefulRestart:\n    enabled: true"));
    const pc = r.resource as { spec: Record<string, unknown> };
    expect(pc.spec.timers).toEqual({ connectRetryTimeSeconds: 120, holdTimeSeconds: 90, keepAliveTimeSeconds: 30 });
    expect(pc.spec.transport).toEqual({ peerPort: 179 });
    expect(pc.spec.gracefulRestart).toEqual({ enabled: true, restartTimeSeconds: 120 });
    expect(pc.spec.ebgpMultihop).toBe(1);
  });

  it("refuses 0 or 17 instances and duplicate instance and peer names (spec §1, C2)", () => {
    const cc = (instances: string) => `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:${instances}`;
    expect(errorsOf(cc(" []"))[0]).toContain("spec.bgpInstances must have 1 to 16 instances");
    const many = Array.from({ length: 17 }, (_, i) => `\n    - name: i${i}\n      localASN: 1`).join("");
    expect(errorsOf(cc(many))[0]).toContain("spec.bgpInstances must have 1 to 16 instances");
    const dup = errorsOf(cc("\n    - name: a\n    - name: a"));
    expect(dup[0]).toContain("spec.bgpInstances[1].name must be unique");
    const peers = errorsOf(cc("\n    - name: a\n      peers:\n        - name: p\n        - name: p"));
    expect(peers[0]).toContain("spec.bgpInstances[0].peers[1].name must be unique");
  });

  it("refuses an ASN of 0 for localASN and accepts peerASN 0, defaulting it (D2)", () => {
    const cc = (inst: string) => `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: a
${inst}`;
    expect(errorsOf(cc("      localASN: 0"))[0]).toContain("spec.bgpInstances[0].localASN must be an integer from 1 to 4294967295: current value is 0");
    const r = ok(cc("      localASN: 4294967295\n      peers:\n        - name: p\n          peerAddress: 10.0.0.1"));
    expect((r.resource as { spec: { bgpInstances: Array<{ peers: Array<{ peerASN: number }> }> } }).spec.bgpInstances[0].peers[0].peerASN).toBe(0);
  });

  it("checks peer addresses against Cilium's IP pattern (no prefix length, zone allowed)", () => {
    const cc = (addr: string) => `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: a
      localASN: 65001
      peers:
        - name: p
          peerAddress: "${addr}"`;
    expect(errorsOf(cc("10.0.0.1/32"))[0]).toContain(`spec.bgpInstances[0].peers[0].peerAddress must be an IPv4 or IPv6 address (no prefix length): current value is "10.0.0.1/32"`);
    expect(ok(cc("fe80::1%eth0")).status).toBe("ok");
    expect(ok(cc(" 10.0.0.1 ")).status).toBe("ok");
  });

  it("applies the advertisement CEL rules (spec §3), v2 only where Cilium does", () => {
    const adv = (entry: string, version = "v2") => `apiVersion: cilium.io/${version}
kind: CiliumBGPAdvertisement
metadata: {name: a}
spec:
  advertisements:
    - ${entry}`;
    expect(errorsOf(adv("advertisementType: Service"))[0]).toContain(`spec.advertisements[0].service is required when advertisementType is "Service"`);
    expect(errorsOf(adv("advertisementType: PodCIDR\n      service: {addresses: [ClusterIP]}"))[0]).toContain("service is only allowed");
    expect(errorsOf(adv("advertisementType: Interface"))[0]).toContain(`interface is required when advertisementType is "Interface"`);
    expect(errorsOf(adv("advertisementType: PodCIDR\n      selector: {}"))[0]).toContain(`selector is not allowed when advertisementType is "PodCIDR"`);
    expect(errorsOf(adv("advertisementType: Service\n      service: {addresses: []}"))[0]).toContain("must list at least one of");
    expect(errorsOf(adv("advertisementType: Service\n      service: {addresses: [ClusterIP], aggregationLengthIPv4: 32}"))[0])
      .toContain("aggregationLengthIPv4 must be an integer from 0 to 31");
    expect(errorsOf(adv("advertisementType: Service\n      service: {addresses: [ClusterIP], aggregationLengthIPv6: 128}"))[0])
      .toContain("aggregationLengthIPv6 must be an integer from 0 to 127");
    // v2alpha1: no Interface type, and the selector-on-PodCIDR rule does not exist.
    expect(errorsOf(adv("advertisementType: Interface\n      interface: {name: lo}", "v2alpha1"))[0]).toContain(`"Interface" needs apiVersion cilium.io/v2`);
    expect(ok(adv("advertisementType: PodCIDR\n      selector: {}", "v2alpha1")).status).toBe("ok");
  });

  it("checks community formats (spec §3)", () => {
    const adv = (c: string) => `apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: a}
spec:
  advertisements:
    - advertisementType: PodCIDR
      attributes:
        communities:
          ${c}`;
    expect(errorsOf(adv("standard: [\"65536:1\"]"))[0]).toContain("must be a community");
    expect(errorsOf(adv("standard: [\"4294967296\"]"))[0]).toContain("must be a community");
    expect(ok(adv("standard: [\"4294967295\", \"0:0\", \"65535:65535\"]")).status).toBe("ok");
    expect(errorsOf(adv("wellKnown: [no-exports]"))[0]).toContain(`must be one of "internet", "planned-shut"`);
    expect(errorsOf(adv("large: [\"1:2\"]"))[0]).toContain(`must be a large community "<u32>:<u32>:<u32>"`);
    expect(ok(adv("large: [\"4294967295:0:1\"]")).status).toBe("ok");
  });

  it("refuses a bad label selector operator with its location", () => {
    const errors = errorsOf(`apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: a}
spec:
  advertisements:
    - advertisementType: Service
      service: {addresses: [LoadBalancerIP]}
      selector:
        matchExpressions:
          - key: x
            operator: Equals
            values: [y]`);
    expect(errors[0]).toMatch(/\(m\.yaml:11\): spec\.advertisements\[0\]\.selector\.matchExpressions\[0\]\.operator must be one of "In", "NotIn", "Exists", "DoesNotExist": current value is "Equals"/);
  });

  it("refuses documents that are not Kubernetes objects, and versions Cilium does not serve", () => {
    expect(errorsOf("just: a map")[0]).toContain("not a Kubernetes object: kind is required");
    expect(errorsOf("apiVersion: cilium.io/v1\nkind: CiliumBGPPeerConfig\nmetadata: {name: x}")[0])
      .toBe(`Cannot load CiliumBGPPeerConfig "x" (m.yaml:1): apiVersion must be one of "cilium.io/v2", "cilium.io/v2alpha1" (the versions Cilium serves for CiliumBGPPeerConfig): current value is "cilium.io/v1"`);
    // CiliumPodIPPool v2 is defined but not served (spec §0.1).
    expect(errorsOf("apiVersion: cilium.io/v2\nkind: CiliumPodIPPool\nmetadata: {name: p}\nspec: {}")[0]).toContain(`apiVersion must be "cilium.io/v2alpha1"`);
    // v1 is v2alpha1 only.
    expect(errorsOf("apiVersion: cilium.io/v2\nkind: CiliumBGPPeeringPolicy\nmetadata: {name: p}\nspec: {}")[0]).toContain(`apiVersion must be "cilium.io/v2alpha1"`);
  });

  it("skips kinds herald does not read with a warning", () => {
    const r = parse("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}");
    expect(r.status).toBe("ignored");
    expect(r.warnings[0].message).toBe(`IPAddressPool "p" (m.yaml:1): metallb.io/v1beta1 IPAddressPool is not a kind herald reads: ignored`);
    // Same kind name, other group: not ours either.
    expect(parse("apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: s}").status).toBe("ignored");
  });
});

describe("parseResource() versions and unknown fields", () => {
  it("normalises v2alpha1 to the v2 shape and drops peerConfigRef group/kind (spec §1)", () => {
    const r = ok(`apiVersion: cilium.io/v2alpha1
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: a
      localASN: 65001
      peers:
        - name: p
          peerAddress: 10.0.0.1
          peerConfigRef: {name: pc, group: cilium.io, kind: CiliumBGPPeerConfig}`);
    expect(r.apiVersion).toBe("cilium.io/v2alpha1");
    const cc = r.resource as { apiVersion: string; spec: { bgpInstances: Array<{ peers: Array<{ peerConfigRef: unknown }> }> } };
    expect(cc.apiVersion).toBe("cilium.io/v2");
    expect(cc.spec.bgpInstances[0].peers[0].peerConfigRef).toEqual({ name: "pc" });
    expect(r.warnings).toEqual([]);
  });

  it("warns about and ignores fields a version does not have", () => {
    const v1alpha = warningsOf(`apiVersion: cilium.io/v2alpha1
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: a
      localASN: 65001
      peers:
        - name: p
          autoDiscovery: {mode: DefaultGateway, defaultGateway: {addressFamily: ipv4}}`);
    expect(v1alpha).toEqual([
      `CiliumBGPClusterConfig "c" (m.yaml:10): spec.bgpInstances[0].peers[0].autoDiscovery is not a field of cilium.io/v2alpha1 CiliumBGPClusterConfig (v2 only): ignored`,
    ]);
    const v2 = warningsOf(`apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: a
      peers:
        - name: p
          localPort: 179
          peerConfigRef: {name: x, kind: CiliumBGPPeerConfig}`);
    expect(v2).toHaveLength(2);
    expect(v2.some((w) => w.includes("(m.yaml:9): spec.bgpInstances[0].peers[0].localPort is not a peer field (localPort belongs to the instance"))).toBe(true);
    expect(v2.some((w) => w.includes("spec.bgpInstances[0].peers[0].peerConfigRef.kind is not a field of cilium.io/v2 CiliumBGPClusterConfig: ignored"))).toBe(true);
    expect(warningsOf(peerConfig("  transport:\n    localPort: 179", "v2alpha1"))[0])
      .toContain("spec.transport.localPort is deprecated in cilium.io/v2alpha1 and has no effect");
    expect(warningsOf(peerConfig("  transport:\n    localPort: 179"))[0])
      .toContain("spec.transport.localPort is not a field of cilium.io/v2 CiliumBGPPeerConfig: ignored");
  });

  it("accepts unknown fields with a warning naming each, and still loads the resource", () => {
    const r = parse(peerConfig("  timer:\n    holdTimeSeconds: 9\n  families:\n    - afi: ipv4\n      safi: unicast\n      advertisement: {}"));
    expect(r.status).toBe("ok");
    expect(r.warnings.map((w) => w.message)).toEqual([
      `CiliumBGPPeerConfig "rack1" (m.yaml:6): spec.timer is not a field of cilium.io/v2 CiliumBGPPeerConfig: ignored`,
      `CiliumBGPPeerConfig "rack1" (m.yaml:11): spec.families[0].advertisement is not a field of cilium.io/v2 CiliumBGPPeerConfig: ignored`,
    ]);
  });

  it("reads an empty (null) field as unset, as the API server prunes nulls, and still requires what is required", () => {
    const advert = ok(`apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata:
  name: a
  labels:
spec:
  advertisements:
    - advertisementType: PodCIDR
      attributes:
`).resource;
    expect(advert.metadata.labels).toBeUndefined();
    const cc = ok(`apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  nodeSelector:
  bgpInstances:
    - {name: main, localASN: 65001, peers: }
`).resource;
    expect(cc.kind === "CiliumBGPClusterConfig" && cc.spec.bgpInstances[0].peers).toBeUndefined();
    const pc = ok(peerConfig("  timers:\n  families:\n    - {afi: ipv4, safi: unicast, advertisements: }")).resource;
    expect(pc.kind === "CiliumBGPPeerConfig" && pc.spec.families![0].advertisements).toBeUndefined();
    expect(errorsOf(peerConfig("  families:\n    - {afi: , safi: unicast}"))).toEqual([
      `Cannot load CiliumBGPPeerConfig "rack1" (m.yaml:7): spec.families[0].afi is required`,
    ]);
  });

  it("accepts [newer] fields: autoDiscovery Unnumbered and peerInterface", () => {
    const r = ok(`apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: a
      localASN: 65001
      peers:
        - name: p
          peerInterface: eth0
          autoDiscovery: {mode: Unnumbered, unnumbered: {interface: eth0}}`);
    expect(r.warnings).toEqual([]);
  });

  it("renames the guide's v1 pathAttributes to advertisedPathAttributes, with a warning", () => {
    const r = ok(`apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: p}
spec:
  virtualRouters:
    - localASN: 65001
      neighbors:
        - peerAddress: 10.0.0.1/32
          peerASN: 65100
          pathAttributes:
            - selectorType: PodCIDR
              communities: {standard: ["65001:100"]}`);
    expect(r.warnings.map((w) => w.message)).toEqual([
      `CiliumBGPPeeringPolicy "p" (m.yaml:10): spec.virtualRouters[0].neighbors[0].pathAttributes is not a CiliumBGPPeeringPolicy field: Cilium reads "advertisedPathAttributes" (the API server drops "pathAttributes"); herald accepts it as an alias, rename it`,
    ]);
    const pp = r.resource as { spec: { virtualRouters: Array<{ neighbors: Array<{ advertisedPathAttributes: unknown[] }> }> } };
    expect(pp.spec.virtualRouters[0].neighbors[0].advertisedPathAttributes).toHaveLength(1);
  });

  it("requires a CIDR for v1 peerAddress and applies v1 defaults (G3)", () => {
    const pp = (addr: string) => `apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: p}
spec:
  virtualRouters:
    - localASN: 65001
      neighbors:
        - peerAddress: "${addr}"
          peerASN: 65100`;
    expect(errorsOf(pp("10.0.0.1"))[0]).toContain(`spec.virtualRouters[0].neighbors[0].peerAddress must be a CIDR`);
    const r = ok(pp("10.0.0.1/32"));
    const n = (r.resource as { spec: { virtualRouters: Array<{ exportPodCIDR: boolean; neighbors: unknown[] }> } }).spec.virtualRouters[0];
    expect(n.exportPodCIDR).toBe(false);
    expect(n.neighbors[0]).toMatchObject({
      peerPort: 179,
      eBGPMultihopTTL: 1,
      connectRetryTimeSeconds: 120,
      holdTimeSeconds: 90,
      keepAliveTimeSeconds: 30,
    });
  });

  it("parses every kind herald reads, in every served version", () => {
    const bodies: Record<string, string> = {
      CiliumBGPClusterConfig: "spec:\n  bgpInstances: [{name: a, localASN: 1}]",
      CiliumBGPPeerConfig: "spec: {}",
      CiliumBGPAdvertisement: "spec:\n  advertisements: [{advertisementType: PodCIDR}]",
      CiliumBGPNodeConfig: "spec:\n  bgpInstances: [{name: a, localASN: 1, peers: [{name: p, peerAddress: 10.0.0.1}]}]\nstatus:\n  bgpInstances: [{name: a, localASN: 1, peers: [{name: p, peerAddress: 10.0.0.1, peeringState: established, routeCount: [{afi: ipv4, safi: unicast, received: 1, advertised: 2}]}]}]\n  conditions: [{type: cilium.io/BGPReconcileError, status: \"False\", reason: BGPReconcileError}]",
      CiliumBGPNodeConfigOverride: "spec:\n  bgpInstances: [{name: a, routerID: 10.0.0.1, peers: [{name: p, localAddress: 10.0.0.2, localPort: 1}]}]",
      CiliumBGPPeeringPolicy: "spec:\n  virtualRouters: [{localASN: 1, neighbors: [{peerAddress: 10.0.0.1/32, peerASN: 2}]}]",
      CiliumPodIPPool: "spec:\n  ipv4: {cidrs: [10.10.0.0/16], maskSize: 24}",
      CiliumNode: "spec:\n  ipam: {podCIDRs: [10.244.0.0/24], pools: {allocated: [{pool: p, cidrs: [10.10.1.0/24]}]}}",
      CiliumL2AnnouncementPolicy: "spec:\n  loadBalancerIPs: true\n  interfaces: [\"^eth\"]",
      CiliumLoadBalancerIPPool: "spec:\n  blocks: [{cidr: 10.0.0.0/24}]",
      Service: "spec: {type: ClusterIP}",
      EndpointSlice: "addressType: IPv4\nendpoints: []",
      Node: "spec: {}",
      Secret: "stringData: {password: x}",
    };
    for (const { kind, apiVersions } of KINDS) {
      for (const apiVersion of apiVersions) {
        const r = parse(`apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: x, namespace: default}\n${bodies[kind]}`);
        expect(r.status, `${apiVersion} ${kind}: ${JSON.stringify(r)}`).toBe("ok");
        expect(schemaFor(apiVersion, kind)).toBeDefined();
      }
    }
  });
});

describe("loadManifests()", () => {
  it("keeps loading the other documents when one is invalid, and refuses duplicates", () => {
    const r = yaml(`apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: a}
spec: {ebgpMultihop: 0}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: b}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: b}
---
: [bad yaml
`, "x.yaml", true);
    expect(r.resources.peerConfigs.map((p) => p.metadata.name)).toEqual(["b"]);
    const errors = r.issues.filter((i) => i.level === "error").map((i) => i.message);
    expect(errors).toContain(`Cannot load CiliumBGPPeerConfig "a" (x.yaml:4): spec.ebgpMultihop must be an integer from 1 to 255: current value is 0`);
    expect(errors).toContain(`Cannot load CiliumBGPPeerConfig "b" (x.yaml:10): metadata.name must be unique: "b" is already defined at x.yaml:6`);
    expect(errors.some((e) => e.startsWith("Cannot load document (x.yaml:15): YAML syntax error"))).toBe(true);
  });
});

describe("parseDocument()", () => {
  const doc = (text: string) => parseManifests("d.yaml", text).documents[0];
  it("gives the resource sources kind, key and message texts", () => {
    expect(parseDocument(doc("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: prod}\nspec: {type: ClusterIP}"))).toMatchObject({
      ok: true,
      kind: "Service",
      key: "prod/web",
      warnings: [],
    });
    expect(parseDocument(doc("apiVersion: cilium.io/v2\nkind: CiliumBGPPeerConfig\nmetadata: {name: x}\nspec: {ebgpMultihop: 0}"))).toEqual({
      ok: false,
      kind: "CiliumBGPPeerConfig",
      key: "x",
      errors: [`Cannot load CiliumBGPPeerConfig "x" (d.yaml:4): spec.ebgpMultihop must be an integer from 1 to 255: current value is 0`],
    });
    const ignored = parseDocument(doc("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}"));
    expect(ignored).toEqual({ ok: false, errors: [`IPAddressPool "p" (d.yaml:1): metallb.io/v1beta1 IPAddressPool is not a kind herald reads: ignored`] });
  });
});
