/**
 * `herald migrate bgp-v2`: CiliumBGPPeeringPolicy → v2. The central proof is
 * equivalence: for every node, the control plane computes the same sessions
 * and the same routes with the same attributes from the v1 input and from the
 * v2 output (G4, G5 → E1, E9–E12, E19).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { desiredState } from "../../src/control/desired.ts";
import type { ControlOptions, Resources } from "../../src/control/types.ts";
import { migrateBgpV2, renderMigration } from "../../src/migrate/bgp-v2.ts";
import { formatFinding } from "../../src/migrate/report.ts";
import { compareViews, viewOf } from "../../src/migrate/verify.ts";
import { loadManifests } from "../../src/control/load.ts";

const HERE = fileURLToPath(new URL("./fixtures/v1/", import.meta.url));
const GUIDE = fileURLToPath(new URL("../control/fixtures/guide/", import.meta.url));
const read = (dir: string, name: string) => ({ file: name, text: readFileSync(`${dir}${name}`, "utf8") });
const FIXTURE = [read(HERE, "policies.yaml"), read(HERE, "cluster.yaml")];

const levels = (r: { findings: readonly { level: string }[] }, level: string) => r.findings.filter((f) => f.level === level).map((f) => formatFinding(f as never));

/** v1 state and v2 state of each node, from the input and the parsed-back output. */
function compareAll(input: Resources, output: Resources, nodes: string[], options: Partial<ControlOptions> = {}, labels?: (n: string) => Record<string, string> | undefined) {
  const v2: Resources = { ...input, peeringPolicies: [], clusterConfigs: output.clusterConfigs, peerConfigs: output.peerConfigs, advertisements: output.advertisements, nodeConfigOverrides: output.nodeConfigOverrides };
  return nodes.map((name) => {
    const before = desiredState({ resources: input, node: { name }, options });
    const after = desiredState({ resources: v2, node: { name, labels: labels?.(name) }, options });
    return { name, before, after, diffs: compareViews(viewOf(before), viewOf(after)) };
  });
}

describe("migrateBgpV2() equivalence", () => {
  const r = migrateBgpV2(FIXTURE);

  it("converts without errors, and the output validates with herald's schemas", () => {
    expect(levels(r, "error")).toEqual([]);
    // Parse the printed YAML back, as a user's cluster (or herald's file source) would.
    const back = loadManifests([{ file: "out.yaml", text: renderMigration(r) }]);
    expect(back.issues.filter((i) => i.level === "error")).toEqual([]);
    expect(back.issues.filter((i) => i.level === "warning")).toEqual([]);
    expect(back.resources.clusterConfigs.length).toBeGreaterThan(0);
  });

  it("computes the same sessions, routes and attributes for every node (G4, G5 → E1, E9–E12, E19)", () => {
    const results = compareAll(r.input, r.output, ["node-a", "node-b", "node-c", "node-e", "node-x"]);
    for (const { name, diffs } of results) expect(diffs, name).toEqual([]);
    // Not vacuous: the v1 side announces PodCIDRs, pod pools and Services with attributes.
    const a = viewOf(results[0].before);
    const tor1 = a.get("AS65001 peer 10.0.0.1")!;
    expect(tor1.routes.get("ipv4/unicast 10.244.1.0/24")).toBe("origin igp, communities 65001:1 65001:2, large 65001:2:2");
    expect(tor1.routes.get("ipv4/unicast 198.51.100.1/32")).toBe("origin igp, communities 65001:300, large 65001:3:3");
    expect(tor1.routes.get("ipv4/unicast 10.250.0.0/26")).toBe("origin igp, communities 65535:65281");
    expect(tor1.routes.has("ipv4/unicast 10.251.0.0/26")).toBe(true);
    expect(tor1.routes.has("ipv4/unicast 10.252.0.0/26")).toBe(false);
    expect(tor1.routes.has("ipv4/unicast 192.0.2.50/32")).toBe(true);
    expect(tor1.routes.has("ipv4/unicast 198.51.100.5/32")).toBe(true); // eTP Local, endpoint here
    const tor2 = a.get("AS65001 peer 10.0.0.2")!;
    expect(tor2.routes.get("ipv4/unicast 198.51.100.17/32")).toBe("origin igp, communities 65001:20, local-pref 80");
    expect(tor2.routes.get("ipv4/unicast 198.51.100.1/32")).toBe("origin igp, local-pref 50");
    expect(tor2.session.get("timers")).toBe("connect 5s hold 9s keepalive 3s");
    expect(a.get("AS65002 peer fd00:1::1")!.routes.has("ipv6/unicast fd00:96::53/128")).toBe(true);
    expect(a.get("AS65002 peer fd00:1::1")!.session.get("routerID")).toBe("192.0.2.1");
    const b = viewOf(results[1].before);
    expect(b.get("AS65001 peer 10.0.0.2")!.routes.get("ipv4/unicast 10.244.2.0/24")).toBe("origin igp, communities 65535:65282, local-pref 100");
    expect(b.get("AS65001 peer 10.0.0.1")!.routes.has("ipv4/unicast 198.51.100.5/32")).toBe(false); // no local endpoint
    expect(viewOf(results[4].before).size).toBe(0);
  });

  it("stays equivalent with the legacy ORIGIN option and without Service endpoints routable (E4, E16)", () => {
    for (const options of [{ legacyOriginAttribute: true }, { noServiceEndpointsRoutable: false }, { ipamMode: "multi-pool" }]) {
      for (const { name, diffs } of compareAll(r.input, r.output, ["node-a", "node-b", "node-e"], options)) expect(diffs, `${name} ${JSON.stringify(options)}`).toEqual([]);
    }
  });

  it("checks every selected node itself and says so", () => {
    expect(r.verifiedNodes).toEqual(["node-a", "node-b", "node-c", "node-e"]);
    expect(levels(r, "note")).toContain("note: checked on 4 nodes (node-a, node-b, node-c, node-e): the v2 output gives the same sessions and the same routes with the same path attributes as v1");
    expect(levels(r, "gap").filter((g) => g.includes("Node "))).toEqual([]);
  });

  it("splits a policy into disjoint node classes when PodCIDR attributes select nodes", () => {
    const racks = r.output.clusterConfigs.filter((c) => c.metadata.name.startsWith("racks"));
    // zone=a and "zone NotIn (a)" are complements: two classes cover every node.
    expect(racks.map((c) => c.metadata.name)).toEqual(["racks-1", "racks-2"]);
    expect(racks.map((c) => c.spec.nodeSelector)).toEqual([
      { matchLabels: { bgp: "on", zone: "a" } },
      { matchLabels: { bgp: "on" }, matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] },
    ]);
    expect(r.output.clusterConfigs.find((c) => c.metadata.name === "edge")!.spec.nodeSelector).toEqual({ matchLabels: { bgp: "edge" } });
  });

  it("keeps session settings and families per neighbour, sharing PeerConfigs only when identical", () => {
    const pcs = r.output.peerConfigs;
    const tor2 = pcs.find((p) => p.spec.authSecretRef === "tor2-md5")!;
    expect(tor2.spec).toMatchObject({
      timers: { connectRetryTimeSeconds: 5, holdTimeSeconds: 9, keepAliveTimeSeconds: 3 },
      gracefulRestart: { enabled: true, restartTimeSeconds: 60 },
    });
    expect(tor2.spec.families!.map((f) => `${f.afi}/${f.safi}`)).toEqual(["ipv4/unicast"]);
    const v6 = pcs.find((p) => p.spec.ebgpMultihop === 4)!;
    expect(v6.spec.transport?.peerPort).toBe(1179);
    expect(v6.spec.families!.map((f) => f.afi)).toEqual(["ipv6", "ipv4"]);
  });

  it("writes the router-id/local-port node annotation as a CiliumBGPNodeConfigOverride (G2 → B3)", () => {
    expect(r.output.nodeConfigOverrides.map((o) => [o.metadata.name, o.spec.bgpInstances])).toEqual([
      ["node-a", [{ name: "asn-65001", routerID: "10.255.0.1", localPort: 1790 }]],
    ]);
  });

  it("reports what v2 cannot say the same way, never silently", () => {
    const gaps = levels(r, "gap");
    expect(gaps).toContain("gap: CiliumBGPPeeringPolicy racks: router 65001 neighbor 10.0.0.1/32: v1 put CiliumLoadBalancerIPPool attributes on any Service address inside the pool's CIDRs (also ExternalIP); v2 puts them on LoadBalancerIP routes only");
    expect(levels(r, "warning").some((w) => w.includes("pathAttributes is not a CiliumBGPPeeringPolicy field"))).toBe(true);
  });
});

describe("migrateBgpV2() on the guide's policies", () => {
  const files = [read(GUIDE, "07-peering-policy.yaml"), read(GUIDE, "16-traffic-engineering-legacy.yaml")];
  const nodes = `apiVersion: v1
kind: Node
metadata: {name: rack01-w1, labels: {bgp-policy: rack01}}
spec: {podCIDRs: [10.244.5.0/24]}
status: {addresses: [{type: InternalIP, address: 192.0.2.5}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, labels: {bgp-announce: "true"}}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 10.100.0.50}]}}
`;

  it("converts each policy on its own and reports that they select the same nodes (G1 vs B4)", () => {
    const r = migrateBgpV2([...files, { file: "nodes.yaml", text: nodes }]);
    expect(levels(r, "error")).toEqual([]);
    expect(levels(r, "gap")).toContain(`gap: CiliumBGPPeeringPolicies "rack01-peering" and "traffic-engineering-legacy" can select the same node: v1 tears down every session on such a node (G1); v2 lets the older CiliumBGPClusterConfig win (B4). Make the nodeSelectors disjoint`);
    expect(levels(r, "note")).toContain("note: CiliumBGPPeeringPolicy traffic-engineering-legacy: router 65001 neighbor 10.0.0.1/32: CiliumLoadBalancerIPPool path attributes have no effect: the router has no serviceSelector, so no Service is advertised (G4)");
  });

  for (const name of ["07-peering-policy.yaml", "16-traffic-engineering-legacy.yaml"]) {
    it(`keeps routes and attributes of ${name} on a selected node, pathAttributes included`, () => {
      const r = migrateBgpV2([read(GUIDE, name), { file: "nodes.yaml", text: nodes }]);
      expect(levels(r, "error")).toEqual([]);
      const [res] = compareAll(r.input, r.output, ["rack01-w1"]);
      expect(res.diffs).toEqual([]);
      expect(viewOf(res.before).size).toBeGreaterThan(0);
      if (name.startsWith("16")) {
        expect(viewOf(res.after).get("AS65001 peer 10.0.0.1")!.routes.get("ipv4/unicast 10.244.5.0/24")).toBe("origin igp, communities 65001:100 65535:65281");
      } else {
        expect(viewOf(res.after).get("AS65001 peer 10.0.0.2")!.routes.get("ipv4/unicast 10.100.0.50/32")).toBe("origin igp");
      }
    });
  }
});

describe("migrateBgpV2() --staging", () => {
  const r = migrateBgpV2(FIXTURE, { staging: true });

  it("selects no node until it carries the staging label (the guide's step 1)", () => {
    for (const c of r.output.clusterConfigs) {
      const policy = c.metadata.name.startsWith("racks") ? "racks" : "edge";
      expect(c.spec.nodeSelector?.matchLabels?.["migrate.herald.io/bgp-v2"]).toBe(policy);
    }
    const v2only: Resources = { ...r.input, peeringPolicies: [], clusterConfigs: r.output.clusterConfigs, peerConfigs: r.output.peerConfigs, advertisements: r.output.advertisements, nodeConfigOverrides: r.output.nodeConfigOverrides };
    for (const name of ["node-a", "node-b", "node-e"]) expect(desiredState({ resources: v2only, node: { name } }).api).toBe("none");
  });

  it("is equivalent on a node once it is labelled, and prints the rollout steps", () => {
    const label = (n: string) => ({ "migrate.herald.io/bgp-v2": n === "node-e" ? "edge" : "racks" });
    for (const { name, diffs } of compareAll(r.input, r.output, ["node-a", "node-b", "node-c", "node-e"], {}, label)) expect(diffs, name).toEqual([]);
    const text = renderMigration(r);
    expect(text).toContain("#   2. kubectl label node <node> migrate.herald.io/bgp-v2=<value>  (v1 still wins on that node, H1); <value> per policy:");
    expect(r.verifiedNodes).toHaveLength(4);
  });
});

describe("migrateBgpV2() gaps and bad input", () => {
  it("names a Service that would get another pool's attributes when pool selectors overlap", () => {
    const text = `apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: p}
spec:
  virtualRouters:
    - localASN: 65001
      serviceSelector: {}
      neighbors:
        - peerAddress: 10.0.0.1/32
          peerASN: 65001
          advertisedPathAttributes:
            - selectorType: CiliumLoadBalancerIPPool
              selector: {matchLabels: {tier: premium}}
              localPreference: 200
---
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: premium, labels: {tier: premium}}
spec: {blocks: [{cidr: 203.0.113.0/28}], serviceSelector: {matchLabels: {exposure: public}}}
---
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: default}
spec: {blocks: [{cidr: 203.0.113.16/28}]}
---
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: web, labels: {exposure: public}}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 203.0.113.20}]}}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.0.2.1}]}
`;
    const r = migrateBgpV2([{ file: "p.yaml", text }]);
    const gaps = levels(r, "gap");
    expect(gaps).toContain(`gap: CiliumBGPPeeringPolicy p: router 65001 neighbor 10.0.0.1/32: a Service matching both exposure=public and the selector of CiliumLoadBalancerIPPool "default" (everything) may get its IP from "default" (v1: no attributes) but is advertised with the attributes of "premium" (local-pref 200) in v2, which selects Services by label, not by pool; make the pools' serviceSelectors disjoint to remove the ambiguity`);
    expect(gaps).toContain(`gap: CiliumBGPPeeringPolicy p: router 65001 neighbor 10.0.0.1/32: Service web/shop holds 203.0.113.20 from pool "default" (v1: no attributes) but matches the entry for pool "premium" (v2 adds local-pref 200)`);
    // The node-by-node check finds the same difference on the wire.
    expect(gaps).toContain("gap: Node n1: AS65001 peer 10.0.0.1: ipv4/unicast 203.0.113.20/32 has origin igp, local-pref 100 with v1 but origin igp, local-pref 200 with the v2 output");
  });

  it("reports a bad document with file:line, field and expected form, and converts the others", () => {
    const bad = `apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: broken}
spec:
  virtualRouters:
    - localASN: 65001
      neighbors:
        - peerAddress: 10.0.0.1
          peerASN: 65100
`;
    const r = migrateBgpV2([{ file: "bad.yaml", text: bad }, read(HERE, "policies.yaml")]);
    expect(levels(r, "error")).toEqual([
      `error: Cannot load CiliumBGPPeeringPolicy "broken" (bad.yaml:8): spec.virtualRouters[0].neighbors[0].peerAddress must be a CIDR such as "10.0.0.0/24" or "fd00::/64": current value is "10.0.0.1"; skipped, the other documents are converted`,
    ]);
    expect(r.output.clusterConfigs.map((c) => c.metadata.name)).toContain("edge");
  });

  it("refuses a policy v1 itself rejects (keepalive > hold, G3) and says why", () => {
    const text = `apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: timers}
spec:
  virtualRouters:
    - localASN: 65001
      neighbors: [{peerAddress: 10.0.0.1/32, peerASN: 65100, holdTimeSeconds: 9}]
`;
    const r = migrateBgpV2([{ file: "t.yaml", text }]);
    expect(levels(r, "error")).toEqual([
      "error: CiliumBGPPeeringPolicy timers: router 65001 neighbor 10.0.0.1/32: keepAliveTimeSeconds (30) can not be larger than holdTimeSeconds (9); v1 rejects the whole policy (G3) and v2 would refuse the PeerConfig: not converted",
    ]);
    expect(r.documents).toEqual([]);
  });

  it("reports a malformed router annotation instead of writing an override", () => {
    const text = readFileSync(`${HERE}policies.yaml`, "utf8") + `---
apiVersion: v1
kind: Node
metadata:
  name: bad-node
  labels: {bgp: edge}
  annotations: {cilium.io/bgp-virtual-router.65010: "router-id=banana"}
`;
    const r = migrateBgpV2([{ file: "p.yaml", text }]);
    expect(levels(r, "error")).toContain(`error: Node bad-node: annotation cilium.io/bgp-virtual-router.65010: router-id must be an IPv4 address: current value is "banana"; v1 rejects the policy on this node (G2): no override written`);
    expect(r.output.nodeConfigOverrides).toEqual([]);
  });

  it("asks for Node objects when none are given", () => {
    const r = migrateBgpV2([read(HERE, "policies.yaml")]);
    expect(levels(r, "action")[0]).toMatch(/^action: no Node objects given/);
    expect(r.verifiedNodes).toEqual([]);
  });
});

describe("migrateBgpV2() where v1 and v2 differ", () => {
  it("reports start/stop pool blocks (v1's reconciler fails on them) and the node-by-node difference it makes", () => {
    const text = `apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: p}
spec:
  virtualRouters:
    - localASN: 65001
      serviceSelector: {matchLabels: {announce: "yes"}}
      neighbors:
        - peerAddress: 10.0.0.1/32
          peerASN: 65100
          advertisedPathAttributes:
            - selectorType: CiliumLoadBalancerIPPool
              communities: {standard: ["65001:7"]}
---
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: ranges}
spec: {blocks: [{start: 198.51.100.10, stop: 198.51.100.20}]}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: x, labels: {announce: "yes"}}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 198.51.100.11}]}}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.0.2.1}]}
`;
    const r = migrateBgpV2([{ file: "r.yaml", text }]);
    expect(levels(r, "gap")).toContain(`gap: CiliumBGPPeeringPolicy p: router 65001 neighbor 10.0.0.1/32: CiliumLoadBalancerIPPool "ranges" has start/stop blocks, which Cilium's v1 path-attribute reconciler cannot use (it fails); v2 applies communities 65001:7 to all of the pool's Services`);
    expect(levels(r, "gap")).toContain("gap: Node n1: AS65001 peer 10.0.0.1: ipv4/unicast 198.51.100.11/32 has origin igp with v1 but origin igp, communities 65001:7 with the v2 output");
  });
});
