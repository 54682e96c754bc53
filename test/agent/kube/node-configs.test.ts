/**
 * herald agent in Kubernetes mode, the operator's BGP work on the leader
 * (B2–B7, D9) and each node's NodeConfig status (C1, F1–F4), against the
 * API server double with in-process agents and an in-process BGP collector.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Speaker } from "../../../src/bgp/speaker.ts";
import type { KubeObject } from "../../support/apiserver/mod.ts";
import { bgpConfig, collector, eventually, node, type TestCluster, testCluster } from "./_cluster.ts";

let t: TestCluster;
let speaker: Speaker | undefined;
afterEach(async () => {
  await t?.stop();
  await speaker?.close();
  speaker = undefined;
});

const nodeConfig = (name: string) => t.api.find("cilium.io/v2", "CiliumBGPNodeConfig", name);
const conditions = (kind: string, name: string): Record<string, KubeObject> =>
  Object.fromEntries((t.api.find("cilium.io/v2", kind, name)?.status?.conditions ?? []).map((c: KubeObject) => [c.type, c]));

describe("NodeConfigs on the leader", () => {
  it("creates one per selected node with the cluster config as controller owner (B2, B5), updates it on change (B6), deletes it when the node leaves (B5)", async () => {
    t = await testCluster();
    t.api.put(node("node-1", "127.0.0.11"));
    t.api.put(node("node-2", "127.0.0.12"));
    t.api.put(node("node-3", "127.0.0.13", { bgp: "off" }));
    for (const o of bgpConfig({ peerPort: 1 })) t.api.put(o);
    const cc = t.api.get("cilium.io/v2", "CiliumBGPClusterConfig", "main");
    const a = t.agent("node-1");
    await a.start();
    await eventually(() => nodeConfig("node-1") && nodeConfig("node-2"), "two NodeConfigs");
    expect(nodeConfig("node-3")).toBeUndefined();
    const nc = nodeConfig("node-2")!;
    expect(nc.metadata.ownerReferences).toEqual([{ apiVersion: "cilium.io/v2", kind: "CiliumBGPClusterConfig", name: "main", uid: cc.metadata.uid, controller: true }]);
    expect(nc.spec).toEqual({ bgpInstances: [{ name: "i", localASN: 65001, peers: [{ name: "up", peerAddress: "127.0.0.1", peerASN: 65000, peerConfigRef: { name: "upstream" } }] }] });

    // B3: an override contributes localAddress; the spec changes, so the object is updated.
    t.api.put({ apiVersion: "cilium.io/v2", kind: "CiliumBGPNodeConfigOverride", metadata: { name: "node-2" }, spec: { bgpInstances: [{ name: "i", peers: [{ name: "up", localAddress: "127.0.0.12" }] }] } });
    await eventually(() => nodeConfig("node-2")?.spec.bgpInstances[0].peers[0].localAddress === "127.0.0.12", "the override applied");
    expect(t.api.requests.some((r) => r.method === "PUT" && r.path.endsWith("/ciliumbgpnodeconfigs/node-2"))).toBe(true);

    // B5: node-2 stops being selected.
    t.api.put(node("node-2", "127.0.0.12", { bgp: "off" }));
    await eventually(() => !nodeConfig("node-2"), "node-2's NodeConfig deleted");
    expect(nodeConfig("node-1")).toBeDefined();

    // B5: deleting the cluster config removes its NodeConfigs (garbage collection through the owner).
    t.api.remove("cilium.io/v2", "CiliumBGPClusterConfig", "main");
    await eventually(() => !nodeConfig("node-1"), "node-1's NodeConfig collected");
  });

  it("two cluster configs selecting one node: the older owns it, the other gets ConflictingClusterConfig naming it (B4, B7)", async () => {
    t = await testCluster();
    t.api.put(node("node-1", "127.0.0.11"));
    for (const o of bgpConfig({ name: "older", peerPort: 1 })) t.api.put(o);
    await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has seconds
    t.api.put(bgpConfig({ name: "newer", asn: 65009, peerPort: 1 })[0]);
    const a = t.agent("node-1");
    await a.start();
    await eventually(() => conditions("CiliumBGPClusterConfig", "newer")["cilium.io/ConflictingClusterConfig"]?.status === "True", "the conflict condition");
    expect(conditions("CiliumBGPClusterConfig", "newer")["cilium.io/ConflictingClusterConfig"]).toMatchObject({
      reason: "ConflictingClusterConfigs",
      message: "Selecting the same node(s) with ClusterConfig(s): [older]",
    });
    expect(conditions("CiliumBGPClusterConfig", "older")["cilium.io/ConflictingClusterConfig"]).toMatchObject({ status: "False" });
    expect(nodeConfig("node-1")!.metadata.ownerReferences[0].name).toBe("older");
    expect(nodeConfig("node-1")!.spec.bgpInstances[0].localASN).toBe(65001);
    // C1: the node runs its NodeConfig, i.e. the winner's instance.
    await eventually(() => a.view.status().instances.map((i) => i.localASN).join() === "65001", "the node running AS 65001 only");
    const ev = await eventually(() => t.api.list("events.k8s.io/v1", "Event", "default").find((e) => e.regarding?.name === "newer"), "an Event on the loser");
    expect(ev.note).toContain("[older]");
  });

  it("cluster config conditions (B7): NoMatchingNode, MissingPeerConfigs sorted and de-duplicated; MissingAuthSecret on the peer config (D9)", async () => {
    t = await testCluster();
    t.api.put(node("node-1", "127.0.0.11"));
    const [cc, pc] = bgpConfig({ peerPort: 1, selector: { bgp: "nowhere" } });
    cc.spec.bgpInstances[0].peers.push({ name: "b", peerAddress: "127.0.0.2", peerASN: 65000, peerConfigRef: { name: "zeta" } });
    cc.spec.bgpInstances[0].peers.push({ name: "c", peerAddress: "127.0.0.3", peerASN: 65000, peerConfigRef: { name: "alpha" } });
    cc.spec.bgpInstances[0].peers.push({ name: "d", peerAddress: "127.0.0.4", peerASN: 65000, peerConfigRef: { name: "zeta" } });
    t.api.put(cc);
    t.api.put({ ...pc, spec: { ...pc.spec, authSecretRef: "bgp-pass" } });
    const a = t.agent("node-1");
    await a.start();
    const c = await eventually(() => {
      const c = conditions("CiliumBGPClusterConfig", "main");
      return c["cilium.io/MissingPeerConfigs"] && c;
    }, "cluster config conditions");
    expect(c["cilium.io/NoMatchingNode"]).toMatchObject({ status: "True", reason: "NoMatchingNode", message: "No node matches spec.nodeSelector" });
    expect(c["cilium.io/MissingPeerConfigs"]).toMatchObject({ status: "True", message: "Referenced CiliumBGPPeerConfig(s) are missing: [alpha zeta]" });
    // Sorted by type, as Cilium's operator writes them.
    const types = t.api.get("cilium.io/v2", "CiliumBGPClusterConfig", "main").status.conditions.map((x: KubeObject) => x.type);
    expect(types).toEqual([...types].sort());
    const p = await eventually(() => conditions("CiliumBGPPeerConfig", "upstream")["cilium.io/MissingAuthSecret"], "MissingAuthSecret");
    expect(p).toMatchObject({ status: "True", reason: "MissingAuthSecret", message: 'Referenced Auth Secret "bgp-pass" is missing' });
    // The Secret appears in the secrets namespace: the condition turns False.
    t.api.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "bgp-pass", namespace: "kube-system" }, stringData: { password: "s3cret" } });
    await eventually(() => conditions("CiliumBGPPeerConfig", "upstream")["cilium.io/MissingAuthSecret"]?.status === "False", "MissingAuthSecret False");
  });
});

describe("the node's NodeConfig status", () => {
  it("reports instances and peers with Cilium's fields once established (F2), BGPReconcileError False (F3), field manager CiliumBGPNodeConfigStatusReconciler (F1)", async () => {
    const c = await collector();
    speaker = c.speaker;
    t = await testCluster();
    t.api.put(node("node-1", "127.0.0.11"));
    for (const o of bgpConfig({ peerPort: c.port })) t.api.put(o);
    const a = t.agent("node-1");
    await a.start();
    const status = await eventually(() => {
      const s = nodeConfig("node-1")?.status;
      return s?.bgpInstances?.[0]?.peers?.[0]?.peeringState === "established" && s.bgpInstances[0].peers[0].routeCount ? s : null;
    }, "an established peer in the status");
    expect(status.bgpInstances).toEqual([{
      name: "i",
      localASN: 65001,
      peers: [{
        name: "up",
        peerAddress: "127.0.0.1",
        peerASN: 65000,
        peeringState: "established",
        timers: { appliedHoldTimeSeconds: 9, appliedKeepaliveSeconds: 3 },
        establishedTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        routeCount: [{ afi: "ipv4", safi: "unicast", received: 0, advertised: 1 }],
      }],
    }]);
    expect(status.conditions).toEqual([expect.objectContaining({ type: "cilium.io/BGPReconcileError", status: "False", reason: "BGPReconcileError" })]);
    const writes = t.api.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/ciliumbgpnodeconfigs/node-1/status"));
    for (const w of writes) {
      expect(w.query.fieldManager).toBe("CiliumBGPNodeConfigStatusReconciler");
      expect(JSON.parse(w.body!)[0]).toMatchObject({ path: "/status" });
    }
    // Only when changed: a steady session causes no further writes.
    const n = writes.length;
    await new Promise((r) => setTimeout(r, 800)); // four rounds of 200 ms
    expect(t.api.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/ciliumbgpnodeconfigs/node-1/status")).length).toBe(n);
  });

  it("a CiliumBGPPeeringPolicy selecting the node wins over its NodeConfig (H1); the NodeConfig status then lists no instance", async () => {
    const c = await collector();
    speaker = c.speaker;
    t = await testCluster();
    t.api.put(node("node-1", "127.0.0.11"));
    for (const o of bgpConfig({ peerPort: c.port })) t.api.put(o);
    const a = t.agent("node-1");
    await a.start();
    await eventually(() => a.view.status().api === "v2" && nodeConfig("node-1")?.status?.bgpInstances?.length === 1, "v2 running and reported");
    t.api.put({
      apiVersion: "cilium.io/v2alpha1",
      kind: "CiliumBGPPeeringPolicy",
      metadata: { name: "legacy" },
      spec: {
        nodeSelector: { matchLabels: { bgp: "on" } },
        virtualRouters: [{ localASN: 65077, exportPodCIDR: true, neighbors: [{ peerAddress: "127.0.0.1/32", peerASN: 65000, peerPort: c.port, holdTimeSeconds: 9, keepAliveTimeSeconds: 3 }] }],
      },
    });
    await eventually(() => a.view.status().api === "v1" && a.view.status().instances.map((i) => i.localASN).join() === "65077", "the v1 router running instead");
    // The NodeConfig stays (the leader derives it regardless), but nothing of it runs.
    expect(nodeConfig("node-1")).toBeDefined();
    await eventually(() => (nodeConfig("node-1")?.status?.bgpInstances ?? [{}]).length === 0, "no instance in the NodeConfig status");
  });

  it("the leader does not re-derive NodeConfigs for the nodes' own status reports", async () => {
    const c = await collector();
    speaker = c.speaker;
    t = await testCluster();
    t.api.put(node("node-1", "127.0.0.11"));
    t.api.put(node("node-2", "127.0.0.12"));
    for (const o of bgpConfig({ peerPort: c.port })) t.api.put(o);
    // One source address per node (B3), so that the collector tells the two sessions apart.
    for (const [n, addr] of [["node-1", "127.0.0.11"], ["node-2", "127.0.0.12"]]) {
      t.api.put({ apiVersion: "cilium.io/v2", kind: "CiliumBGPNodeConfigOverride", metadata: { name: n }, spec: { bgpInstances: [{ name: "i", peers: [{ name: "up", localAddress: addr }] }] } });
    }
    const [a, b] = [t.agent("node-1"), t.agent("node-2")];
    await Promise.all([a.start(), b.start()]);
    const leader = await eventually(() => [a, b].find((x) => x.kube!.leader.running), "a leader");
    await eventually(() => ["node-1", "node-2"].every((n) => nodeConfig(n)?.status?.bgpInstances?.[0]?.peers?.[0]?.peeringState === "established"), "both reporting established");
    await leader.kube!.leader.idle();
    const runs = leader.kube!.leader.stats().nodeConfigs!.runs;
    const reports = t.api.requests.filter((r) => r.method === "PATCH" && /ciliumbgpnodeconfigs\/node-\d\/status$/.test(r.path)).length;
    // Status changes (route counts, states) keep coming; force one more report on each node.
    for (const n of ["node-1", "node-2"]) {
      const nc = t.api.get("cilium.io/v2", "CiliumBGPNodeConfig", n);
      t.api.put({ ...nc, status: { ...nc.status, bgpInstances: [] } });
    }
    await eventually(() => t.api.requests.filter((r) => r.method === "PATCH" && /ciliumbgpnodeconfigs\/node-\d\/status$/.test(r.path)).length >= reports + 2, "both nodes writing their status again");
    await leader.kube!.leader.idle();
    expect(leader.kube!.leader.stats().nodeConfigs!.runs).toBe(runs);
  });

  it("no NodeConfig for the node: its instances are torn down (C1)", async () => {
    const c = await collector();
    speaker = c.speaker;
    t = await testCluster();
    t.api.put(node("node-1", "127.0.0.11"));
    for (const o of bgpConfig({ peerPort: c.port })) t.api.put(o);
    const a = t.agent("node-1");
    await a.start();
    await eventually(() => a.view.peers().some((p) => p.state === "established"), "the session");
    t.api.put(node("node-1", "127.0.0.11", { bgp: "off" }));
    await eventually(() => !nodeConfig("node-1"), "the NodeConfig deleted");
    await eventually(() => a.view.status().instances.length === 0 && a.view.peers().length === 0, "no instance");
  });

  it("with --enable-bgp-control-plane-status-report=false the status is cleared once and cluster config conditions are removed (F4, B7)", async () => {
    t = await testCluster();
    t.api.put(node("node-1", "127.0.0.11"));
    for (const o of bgpConfig({ peerPort: 1 })) t.api.put(o);
    const nc = t.api.put({
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPNodeConfig",
      metadata: { name: "node-1" },
      spec: { bgpInstances: [{ name: "i", localASN: 65001 }] },
      status: { bgpInstances: [{ name: "old", localASN: 1 }] },
    });
    expect(nc.status).toBeDefined();
    t.api.put({
      ...t.api.get("cilium.io/v2", "CiliumBGPClusterConfig", "main"),
      status: { conditions: [{ type: "cilium.io/NoMatchingNode", status: "True", reason: "NoMatchingNode", message: "x", lastTransitionTime: "2020-01-01T00:00:00Z" }, { type: "example.com/Other", status: "True", reason: "R", message: "kept", lastTransitionTime: "2020-01-01T00:00:00Z" }] },
    });
    const a = t.agent("node-1", { kube: { statusReport: false } });
    await a.start();
    await eventually(() => JSON.stringify(nodeConfig("node-1")?.status ?? {}) === "{}", "the status cleared");
    await eventually(() => {
      const types = Object.keys(conditions("CiliumBGPClusterConfig", "main"));
      return types.join() === "example.com/Other";
    }, "herald's conditions removed, others kept");
    const clears = t.api.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/ciliumbgpnodeconfigs/node-1/status")).length;
    await new Promise((r) => setTimeout(r, 600));
    expect(t.api.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/ciliumbgpnodeconfigs/node-1/status")).length).toBe(clears);
    expect(clears).toBe(1);
  });
});
