/**
 * Kubernetes mode end to end, what users get wrong: two cluster configs
 * selecting one node (B4, B7), and objects herald cannot use — a peer
 * config breaking the timers rule, a pool with an impossible CIDR, a
 * Service asking for an IP that is not one. Each gets an Event and/or a
 * condition naming the field; every session, route and allocation of
 * everything else stays as it was (BIRD polled continuously). Three agents
 * on the API server double, BIRD 2 as the router.
 *
 * The steps build on each other, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { AgentStatus, BgpPeer } from "../../src/api/schemas.ts";
import { type BirdDaemon, useHarness, waitFor } from "../interop/harness/mod.ts";
import type { ApiServerDouble, KubeObject } from "../support/apiserver/mod.ts";
import {
  birdTable,
  birdWithdrawCounts,
  clusterObjects,
  expectedTable,
  ingress,
  type KubeAgentProcess,
  nodes,
  service,
  startBirdFor,
  startDouble,
  startKubeAgent,
  WithdrawalWatch,
} from "./_cluster.ts";

const h = useHarness("kcf");
const NODES = nodes(3);
let api: ApiServerDouble;
let bird: BirdDaemon;
let agents: KubeAgentProcess[];
let watch: WithdrawalWatch;
let counters: Record<string, number>;
let allocations: Record<string, string[]>;

const lbIPs = () => Object.values(ingress(api)).flat();
const allAllocated = (n: number) => {
  const all = Object.values(ingress(api));
  return all.length === n && all.every((ips) => ips.length === 1);
};
async function birdShows(what: string, timeoutMs = 20_000) {
  const want = expectedTable(NODES, lbIPs());
  return await waitFor(() => birdTable(bird, NODES), (t) => JSON.stringify(t) === JSON.stringify(want), { what: `BIRD to hold ${what}: ${JSON.stringify(want)}`, timeoutMs, intervalMs: 100 });
}
const events = (kind: string, name: string) => api.list("events.k8s.io/v1", "Event").filter((e) => e.regarding?.kind === kind && e.regarding?.name === name);
const conditions = (apiVersion: string, kind: string, name: string, namespace?: string): Record<string, KubeObject> =>
  Object.fromEntries((api.get(apiVersion, kind, name, namespace).status?.conditions ?? []).map((c: KubeObject) => [c.type, c]));
const node2 = NODES[1];

beforeAll(async () => {
  bird = await startBirdFor(h, NODES);
  api = await startDouble(clusterObjects(NODES, bird.port!));
  for (const name of ["web", "api", "cart"]) api.put(service(name));
  agents = [];
  for (const n of NODES) agents.push(await startKubeAgent(h, api, n));
  await Promise.all(agents.map((a) => a.ready()));
  await waitFor(() => allAllocated(3), Boolean, { what: "three Services allocated", timeoutMs: 15_000 });
  await birdShows("the initial state");
  for (const n of NODES) await bird.waitForPeer(n.address);
  allocations = ingress(api);
  counters = await birdWithdrawCounts(bird, NODES);
  watch = new WithdrawalWatch(bird, NODES, 100);
}, 60_000);

afterAll(async () => {
  await watch?.stop();
  await api?.stop();
});

describe("two cluster configs select one node (B4, B7)", () => {
  it("the newer one gets ConflictingClusterConfig naming the owner; the node runs only the owner's sessions", async () => {
    // node2 gets a second label, and a second, newer cluster config selects it by that label.
    const n = api.get("v1", "Node", node2.name);
    api.put({ ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, rack: "b" } } });
    api.put({
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPClusterConfig",
      metadata: { name: "rack-b" },
      spec: {
        nodeSelector: { matchLabels: { rack: "b" } },
        bgpInstances: [{ name: "other", localASN: 65002, peers: [{ name: "bird-b", peerAddress: "127.0.0.1", peerASN: 65000, peerConfigRef: { name: "bird" } }] }],
      },
    });
    const c = await waitFor(() => conditions("cilium.io/v2", "CiliumBGPClusterConfig", "rack-b")["cilium.io/ConflictingClusterConfig"], (x) => x?.status === "True", { what: "the conflict on rack-b", timeoutMs: 15_000 });
    expect(c).toMatchObject({ reason: "ConflictingClusterConfigs", message: "Selecting the same node(s) with ClusterConfig(s): [rack]" });
    expect(conditions("cilium.io/v2", "CiliumBGPClusterConfig", "rack")["cilium.io/ConflictingClusterConfig"]).toMatchObject({ status: "False" });
    expect(events("CiliumBGPClusterConfig", "rack-b").map((e) => e.note).join()).toContain("[rack]");
    // node2's NodeConfig stays the owner's, and so do its sessions.
    expect(api.get("cilium.io/v2", "CiliumBGPNodeConfig", node2.name).metadata.ownerReferences[0].name).toBe("rack");
    await new Promise((r) => setTimeout(r, 1000));
    const peers = z.array(BgpPeer).parse(await agents[1].get("/v1/peers"));
    expect(peers.map((p) => `${p["local-asn"]} ${p["peer-address"]}`)).toEqual(["65001 127.0.0.1"]);
    const status = AgentStatus.parse(await agents[1].get("/v1/status"));
    expect(status.instances.map((i) => i.name)).toEqual(["rack"]);
    await birdShows("the same routes");
  });
});

describe("objects herald cannot use", () => {
  it("a peer config breaking the timers rule: an Event naming spec.timers, listed by every agent; sessions and routes untouched", async () => {
    const pc = api.get("cilium.io/v2", "CiliumBGPPeerConfig", "bird");
    api.put({ ...pc, spec: { ...pc.spec, timers: { holdTimeSeconds: 9, keepAliveTimeSeconds: 30, connectRetryTimeSeconds: 1 } } });
    const ev = await waitFor(() => events("CiliumBGPPeerConfig", "bird"), (l) => l.some((e) => e.reason === "InvalidObject"), { what: "an Event on the peer config", timeoutMs: 15_000 });
    const note = ev.find((e) => e.reason === "InvalidObject")!.note;
    expect(note).toContain("spec.timers keepAliveTimeSeconds can not be larger than holdTimeSeconds");
    expect(ev.find((e) => e.reason === "InvalidObject")).toMatchObject({ type: "Warning", regarding: { apiVersion: "cilium.io/v2", kind: "CiliumBGPPeerConfig", name: "bird" } });
    for (const a of agents) {
      const s = await waitFor(() => a.get("/v1/status").then((x) => AgentStatus.parse(x)), (x) => x.manifests.some((m) => m.kind === "CiliumBGPPeerConfig"), { what: `${a.node.name} listing the problem` });
      expect(s.manifests.find((m) => m.kind === "CiliumBGPPeerConfig")).toMatchObject({ level: "error", key: "bird" });
      // The last valid version is in force: hold time 9 still negotiated.
      const peers = z.array(BgpPeer).parse(await a.get("/v1/peers"));
      expect(peers[0]).toMatchObject({ "session-state": "established", "applied-hold-time-seconds": 9 });
    }
  });

  it("a pool with an impossible CIDR: herald.io/InvalidSpec and an Event naming spec.blocks[0].cidr; allocations untouched", async () => {
    api.put({ apiVersion: "cilium.io/v2", kind: "CiliumLoadBalancerIPPool", metadata: { name: "broken" }, spec: { blocks: [{ cidr: "10.9.0.0/33" }] } });
    const ev = await waitFor(() => events("CiliumLoadBalancerIPPool", "broken"), (l) => l.length > 0, { what: "an Event on the pool", timeoutMs: 15_000 });
    expect(ev[0].note).toMatch(/spec\.blocks\[0\]\.cidr/);
    const c = await waitFor(() => conditions("cilium.io/v2", "CiliumLoadBalancerIPPool", "broken")["herald.io/InvalidSpec"], Boolean, { what: "InvalidSpec on the pool" });
    expect(c.message).toMatch(/spec\.blocks\[0\]\.cidr/);
    expect(ingress(api)).toEqual(allocations);
  });

  it("a Service asking for an IP that is not one: herald.io/InvalidRequest and an Event naming the annotation; the rest untouched", async () => {
    api.put(service("odd", { annotations: { "lbipam.cilium.io/ips": "banana" } }));
    const c = await waitFor(() => conditions("v1", "Service", "odd", "shop")["herald.io/InvalidRequest"], Boolean, { what: "InvalidRequest on the Service", timeoutMs: 15_000 });
    expect(c.message).toContain('annotation lbipam.cilium.io/ips entry "banana" is not an IP address');
    const ev = await waitFor(() => events("Service", "odd"), (l) => l.length > 0, { what: "an Event on the Service" });
    expect(ev[0]).toMatchObject({ type: "Warning", reason: "InvalidLoadBalancerRequest" });
    expect(ev[0].note).toContain("lbipam.cilium.io/ips");
    // Unparsable entries are skipped (§9.1): it is served like any other Service.
    await waitFor(() => allAllocated(4), Boolean, { what: "odd allocated" });
    const now = ingress(api);
    for (const [k, ips] of Object.entries(allocations)) expect(now[k], k).toEqual(ips);
    await birdShows("odd's address added");
  });

  it("through all of it no route was withdrawn and no session dropped", async () => {
    await watch.stop();
    expect(watch.withdrawn).toEqual([]);
    expect(await birdWithdrawCounts(bird, NODES)).toEqual(counters);
    for (const p of await bird.peers()) if (NODES.some((n) => n.address === p.address)) expect(p.state).toBe("established");
  });

  it("fixing the peer config clears the problem everywhere", async () => {
    const pc = api.get("cilium.io/v2", "CiliumBGPPeerConfig", "bird");
    api.put({ ...pc, spec: { ...pc.spec, timers: { holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 1 } } });
    for (const a of agents) {
      await waitFor(() => a.get("/v1/status").then((x) => AgentStatus.parse(x)), (x) => !x.manifests.some((m) => m.kind === "CiliumBGPPeerConfig"), { what: `${a.node.name} clearing the problem` });
    }
  });
});
