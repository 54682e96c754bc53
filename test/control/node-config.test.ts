import { describe, expect, it } from "vitest";
import {
  CONDITION_CONFLICTING_CLUSTER_CONFIG,
  CONDITION_MISSING_PEER_CONFIGS,
  CONDITION_NO_MATCHING_NODE,
  candidateNodes,
  deriveNodeConfigs,
  nodeConfigForNode,
  nodeConfigWrites,
  peerConfigConditions,
} from "../../src/control/node-config.ts";
import { DEFAULT_OPTIONS, type Resources } from "../../src/control/types.ts";
import { issuesOf, node, stateOf, withResources, yaml } from "./_helpers.ts";

const opts = { routerIDAllocationMode: "default" as const, routerIDAllocationIPPool: "", statusReport: true };

const clusterConfig = (name: string, selector: string, extra = "", created?: string) => `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata:
  name: ${name}
  uid: uid-${name}
  generation: 3${created ? `\n  creationTimestamp: "${created}"` : ""}
spec:
${selector}
  bgpInstances:
    - name: main
      localASN: 65001
      localPort: 179
      peers:
        - name: tor-1
          peerAddress: 10.0.0.1
          peerASN: 65100
          peerConfigRef: {name: tor}
        - name: tor-2
          peerASN: 65100
          autoDiscovery: {mode: DefaultGateway, defaultGateway: {addressFamily: ipv4}}
${extra}`;

function resources(text: string, ...nodes: ReturnType<typeof node>[]): Resources {
  return withResources(yaml(text).resources, ...nodes);
}

describe("deriveNodeConfigs()", () => {
  it("selects every node when nodeSelector is absent, and by labels otherwise (B1)", () => {
    const all = resources(clusterConfig("all", ""), node("a"), node("b"));
    expect(deriveNodeConfigs({ resources: all, nodes: candidateNodes(all), options: opts }).nodeConfigs.map((n) => n.metadata.name))
      .toEqual(["a", "b"]);
    const some = resources(clusterConfig("rack", "  nodeSelector: {matchLabels: {rack: r1}}"), node("a", { rack: "r1" }), node("b", { rack: "r2" }));
    expect(deriveNodeConfigs({ resources: some, nodes: candidateNodes(some), options: opts }).nodeConfigs.map((n) => n.metadata.name))
      .toEqual(["a"]);
  });

  it("copies instances and peers, nothing from PeerConfigs or adverts, with a controller ownerReference (B2)", () => {
    const r = resources(clusterConfig("c", ""), node("a"));
    const [nc] = deriveNodeConfigs({ resources: r, nodes: candidateNodes(r), options: opts }).nodeConfigs;
    expect(nc.metadata.ownerReferences).toEqual([{ apiVersion: "cilium.io/v2", kind: "CiliumBGPClusterConfig", name: "c", uid: "uid-c", controller: true }]);
    expect(nc.spec.bgpInstances).toEqual([{
      name: "main",
      localASN: 65001,
      localPort: 179,
      peers: [
        { name: "tor-1", peerASN: 65100, peerAddress: "10.0.0.1", peerConfigRef: { name: "tor" } },
        { name: "tor-2", peerASN: 65100, autoDiscovery: { mode: "DefaultGateway", defaultGateway: { addressFamily: "ipv4" } } },
      ],
    }]);
  });

  it("applies the override named after the node: routerID, localPort, localASN, peer localAddress; ignores peer localPort and unknown names (B3)", () => {
    const r = resources(clusterConfig("c", "") + `---
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfigOverride
metadata: {name: a}
spec:
  bgpInstances:
    - name: main
      routerID: 10.9.9.9
      localPort: 1179
      localASN: 65009
      peers:
        - name: tor-1
          localAddress: 10.0.0.100
          localPort: 5000
        - name: nobody
          localAddress: 10.0.0.101
    - name: other-instance
      routerID: 10.8.8.8
`, node("a"), node("b"));
    const d = deriveNodeConfigs({ resources: r, nodes: candidateNodes(r), options: opts });
    const a = d.nodeConfigs.find((n) => n.metadata.name === "a")!.spec.bgpInstances;
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ name: "main", routerID: "10.9.9.9", localPort: 1179, localASN: 65009 });
    expect(a[0].peers![0]).toEqual({ name: "tor-1", peerASN: 65100, peerAddress: "10.0.0.1", peerConfigRef: { name: "tor" }, localAddress: "10.0.0.100" });
    expect(a[0].peers![1].localAddress).toBeUndefined();
    const b = d.nodeConfigs.find((n) => n.metadata.name === "b")!.spec.bgpInstances[0];
    expect(b.routerID).toBeUndefined();
    expect(b.localPort).toBe(179);
  });

  it("gives a node to the oldest config, then the smaller name, and reports the others (B4)", () => {
    const text = clusterConfig("zeta", "", "", "2024-01-01T00:00:00Z") + "---\n" +
      clusterConfig("alpha", "", "", "2025-01-01T00:00:00Z") + "---\n" + clusterConfig("beta", "  nodeSelector: {matchLabels: {x: y}}");
    const r = resources(text, node("n1", { x: "y" }));
    const d = deriveNodeConfigs({ resources: r, nodes: candidateNodes(r), options: opts });
    expect(d.owners.get("n1")).toBe("zeta");
    expect(d.losers.get("n1")).toEqual(["alpha", "beta"]);
    const cond = (cfg: string) => d.conditions.get(cfg)!.find((c) => c.type === CONDITION_CONFLICTING_CLUSTER_CONFIG)!;
    expect(cond("alpha")).toEqual({
      type: "cilium.io/ConflictingClusterConfig",
      status: "True",
      reason: "ConflictingClusterConfigs",
      message: "Selecting the same node(s) with ClusterConfig(s): [zeta]",
      observedGeneration: 3,
    });
    expect(cond("zeta")).toMatchObject({ status: "False", reason: "ConflictingClusterConfigs", message: "" });
    // Equal (absent) timestamps: the smaller name wins.
    const r2 = resources(clusterConfig("b", "") + "---\n" + clusterConfig("a", ""), node("n1"));
    expect(deriveNodeConfigs({ resources: r2, nodes: candidateNodes(r2), options: opts }).owners.get("n1")).toBe("a");
  });

  it("reports the conflict on the node's own path as a warning naming the owner (B4)", () => {
    const r = resources(clusterConfig("a", "") + "---\n" + clusterConfig("b", ""), node("n1"));
    const s = stateOf(r, "n1");
    expect(s.clusterConfig).toBe("a");
    expect(issuesOf(s, "B4")).toEqual([
      `CiliumBGPClusterConfig "b" also selects node n1; "a" owns it (older, or same age and smaller name), so "b" is not applied here and gets cilium.io/ConflictingClusterConfig`,
    ]);
  });

  it("sets NoMatchingNode, MissingPeerConfigs and ConflictingClusterConfig with Cilium's texts, sorted by type (B7, §9.4)", () => {
    const r = resources(clusterConfig("c", "  nodeSelector: {matchLabels: {none: here}}", `        - name: rr
          peerAddress: 10.0.0.9
          peerASN: 65001
          peerConfigRef: {name: rr}
        - name: rr2
          peerAddress: 10.0.0.10
          peerConfigRef: {name: rr}`), node("n1"));
    const d = deriveNodeConfigs({ resources: r, nodes: candidateNodes(r), options: opts });
    expect(d.conditions.get("c")).toEqual([
      { type: CONDITION_CONFLICTING_CLUSTER_CONFIG, status: "False", reason: "ConflictingClusterConfigs", message: "", observedGeneration: 3 },
      {
        type: CONDITION_MISSING_PEER_CONFIGS,
        status: "True",
        reason: "MissingPeerConfigs",
        message: "Referenced CiliumBGPPeerConfig(s) are missing: [rr tor]",
        observedGeneration: 3,
      },
      { type: CONDITION_NO_MATCHING_NODE, status: "True", reason: "NoMatchingNode", message: "No node matches spec.nodeSelector", observedGeneration: 3 },
    ]);
    const off = deriveNodeConfigs({ resources: r, nodes: candidateNodes(r), options: { ...opts, statusReport: false } });
    expect(off.conditions.get("c")).toEqual([]);
  });

  it("writes only what changed and deletes NodeConfigs of nodes no longer selected (B5, B6)", () => {
    const r = resources(clusterConfig("c", "  nodeSelector: {matchLabels: {bgp: on}}"), node("a", { bgp: "on" }), node("b", { bgp: "on" }));
    const desired = deriveNodeConfigs({ resources: r, nodes: candidateNodes(r), options: opts }).nodeConfigs;
    const stale = { ...desired[0], metadata: { ...desired[0].metadata, name: "gone" } };
    const changed = structuredClone(desired[1]);
    changed.spec.bgpInstances[0].localPort = 1;
    const foreign = { ...desired[0], metadata: { name: "foreign", ownerReferences: [{ apiVersion: "cilium.io/v2", kind: "CiliumBGPClusterConfig", name: "deleted", uid: "x" }] } };
    const w = nodeConfigWrites([desired[0], changed, stale, foreign], desired, new Set(["c"]));
    expect(w.create).toEqual([]);
    expect(w.update.map((n) => n.metadata.name)).toEqual(["b"]);
    expect(w.delete).toEqual(["gone"]);
  });

  it("allocates router IDs from the pool, keeps existing ones, honours overrides (B9)", () => {
    const base = clusterConfig("c", "") + `---
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfig
metadata: {name: b}
spec:
  bgpInstances:
    - name: main
      localASN: 65001
      routerID: 10.99.0.7
---
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfigOverride
metadata: {name: c}
spec:
  bgpInstances:
    - name: main
      routerID: 192.0.2.1
---
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfigOverride
metadata: {name: d}
spec:
  bgpInstances:
    - name: main
      routerID: 10.99.0.7
`;
    const r = resources(base, node("a"), node("b"), node("c"), node("d"));
    const ip = { ...opts, routerIDAllocationMode: "ip-pool" as const, routerIDAllocationIPPool: "10.99.0.0/29" };
    const d = deriveNodeConfigs({ resources: r, nodes: candidateNodes(r), options: ip });
    const rid = (n: string) => d.nodeConfigs.find((x) => x.metadata.name === n)?.spec.bgpInstances[0].routerID;
    expect(rid("a")).toBe("10.99.0.0");
    expect(rid("b")).toBe("10.99.0.7"); // restored
    expect(rid("c")).toBe("192.0.2.1"); // outside the pool: as-is
    expect(rid("d")).toBeUndefined(); // inside and taken by b: that node fails
    expect(d.errors).toEqual([{ node: "d", clusterConfig: "c", message: `Cannot use router ID override "10.99.0.7" for instance "main": it is allocated to b/main (B9)` }]);
    // Per-node path in ip-pool mode sees the same allocation.
    expect(nodeConfigForNode(r, { name: "a" }, ip).nodeConfig?.spec.bgpInstances[0].routerID).toBe("10.99.0.0");
    // A missing routerID in ip-pool mode is an error on the node (C4).
    const s = stateOf(resources(clusterConfig("c", "") + "---\napiVersion: cilium.io/v2\nkind: CiliumBGPPeerConfig\nmetadata: {name: tor}\n"), "x", {
      nodeConfigSource: "resource",
      routerIDAllocationMode: "ip-pool",
    });
    expect(s.instances).toEqual([]);
  });

  it("reports an exhausted pool (B9)", () => {
    const r = resources(clusterConfig("c", ""), node("a"), node("b"), node("c"));
    const d = deriveNodeConfigs({ resources: r, nodes: candidateNodes(r), options: { ...opts, routerIDAllocationMode: "ip-pool", routerIDAllocationIPPool: "10.99.0.0/31" } });
    expect(d.nodeConfigs.map((n) => n.spec.bgpInstances[0].routerID)).toEqual(["10.99.0.0", "10.99.0.1"]);
    expect(d.errors[0].message).toContain(`pool "10.99.0.0/31" is exhausted`);
  });
});

describe("desiredState() node configuration source", () => {
  const pc = "---\napiVersion: cilium.io/v2\nkind: CiliumBGPPeerConfig\nmetadata: {name: tor}\n";
  it("derives this node's NodeConfig in file mode (A1, B)", () => {
    const s = stateOf(resources(clusterConfig("c", "") + pc, node("n1", {}, { ipv4: "192.0.2.10" })), "n1");
    expect(s.api).toBe("v2");
    expect(s.nodeConfig?.metadata.name).toBe("n1");
    expect(s.instances.map((i) => i.name)).toEqual(["main"]);
  });

  it("runs the NodeConfig named after the node in Kubernetes mode, and nothing without one (C1)", () => {
    const nc = `---
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfig
metadata: {name: n1}
spec:
  bgpInstances:
    - name: from-resource
      localASN: 65002
      routerID: 10.1.1.1
`;
    const r = resources(clusterConfig("c", "") + pc + nc, node("n1"), node("n2"));
    const s = stateOf(r, "n1", { nodeConfigSource: "resource" });
    expect(s.instances.map((i) => i.name)).toEqual(["from-resource"]);
    expect(stateOf(r, "n2", { nodeConfigSource: "resource" }).api).toBe("none");
    expect(stateOf(r, "n2", { nodeConfigSource: "resource" }).instances).toEqual([]);
  });

  it("uses the node's labels from Node, CiliumNode and the identity (B1)", () => {
    const cn = `---
apiVersion: cilium.io/v2
kind: CiliumNode
metadata: {name: n1, labels: {rack: r1}}
`;
    const r = resources(clusterConfig("c", "  nodeSelector: {matchLabels: {rack: r1}}") + pc + cn);
    expect(stateOf(r, "n1").api).toBe("v2");
    expect(stateOf(r, "n2").api).toBe("none");
    expect(stateOf(r, "n2", {}, undefined, { rack: "r1" }).api).toBe("v2");
    expect(DEFAULT_OPTIONS.nodeConfigSource).toBe("derive");
  });
});

describe("peerConfigConditions()", () => {
  const text = `apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: with-secret, generation: 2}
spec: {authSecretRef: present}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: missing-secret}
spec: {authSecretRef: absent}
---
apiVersion: v1
kind: Secret
metadata: {name: present, namespace: kube-system}
stringData: {password: x}
`;
  it("sets MissingAuthSecret with Cilium's message, only with a secrets namespace and status reporting (D9, §9.4)", () => {
    const r = yaml(text).resources;
    const c = peerConfigConditions(r, { bgpSecretsNamespace: "kube-system", statusReport: true });
    expect(c.get("with-secret")).toEqual([{ type: "cilium.io/MissingAuthSecret", status: "False", reason: "MissingAuthSecret", message: "", observedGeneration: 2 }]);
    expect(c.get("missing-secret")).toEqual([{ type: "cilium.io/MissingAuthSecret", status: "True", reason: "MissingAuthSecret", message: `Referenced Auth Secret "absent" is missing` }]);
    expect(peerConfigConditions(r, { bgpSecretsNamespace: "", statusReport: true }).get("missing-secret")).toEqual([]);
    expect(peerConfigConditions(r, { bgpSecretsNamespace: "kube-system", statusReport: false }).get("missing-secret")).toEqual([]);
  });
});
