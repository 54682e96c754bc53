/**
 * Kubernetes mode end to end: three herald agents (child processes) on the
 * API server double, BIRD 2 as the router. Each node announces its Pod CIDR
 * and every LoadBalancer IP the leader allocated; only the leader writes
 * Service status, pool status and NodeConfigs; when the leader is killed
 * (SIGKILL) another agent leads within the lease bound, no allocation
 * changes, and new Services still get addresses that every node announces.
 *
 * The steps build on each other, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BirdDaemon, useHarness, waitFor } from "../interop/harness/mod.ts";
import type { ApiServerDouble, KubeObject } from "../support/apiserver/mod.ts";
import {
  birdTable,
  clusterObjects,
  expectedTable,
  ingress,
  type KubeAgentProcess,
  leaseHolder,
  nodes,
  service,
  startBirdFor,
  startDouble,
  startKubeAgent,
  TAKEOVER_MS,
} from "./_cluster.ts";

const h = useHarness("kcb");
const NODES = nodes(3);
let api: ApiServerDouble;
let bird: BirdDaemon;
let agents: Map<string, KubeAgentProcess>;

const lbIPs = () => Object.values(ingress(api)).flat();
const allAllocated = (n: number) => {
  const all = Object.values(ingress(api));
  return all.length === n && all.every((ips) => ips.length === 1);
};
async function birdShows(ns: typeof NODES, what: string, timeoutMs = 20_000) {
  const want = expectedTable(ns, lbIPs());
  return await waitFor(() => birdTable(bird, ns), (t) => JSON.stringify(t) === JSON.stringify(want), { what: `BIRD to hold ${what}: ${JSON.stringify(want)}`, timeoutMs, intervalMs: 100 });
}

beforeAll(async () => {
  bird = await startBirdFor(h, NODES);
  api = await startDouble(clusterObjects(NODES, bird.port!));
  for (const name of ["web", "api", "shop", "cart"]) api.put(service(name));
  agents = new Map();
  for (const n of NODES) agents.set(n.name, await startKubeAgent(h, api, n));
  await Promise.all([...agents.values()].map((a) => a.ready()));
}, 60_000);

afterAll(async () => {
  await api?.stop();
});

describe("three agents, one leader, BIRD", () => {
  it("every node announces its Pod CIDR and every LoadBalancer IP the leader allocated", async () => {
    await waitFor(() => allAllocated(4), Boolean, { what: "four Services allocated", timeoutMs: 15_000 });
    const ips = lbIPs();
    expect(new Set(ips).size).toBe(4);
    for (const ip of ips) expect(ip).toMatch(/^172\.30\.0\.\d+$/);
    await birdShows(NODES, "each node's Pod CIDR and the four /32s");
    for (const n of NODES) await bird.waitForPeer(n.address);
  });

  it("each node reports its sessions in its NodeConfig status (F2)", async () => {
    for (const n of NODES) {
      const status = await waitFor(() => api.get("cilium.io/v2", "CiliumBGPNodeConfig", n.name).status, (s: KubeObject) => s?.bgpInstances?.[0]?.peers?.[0]?.peeringState === "established" && s.bgpInstances[0].peers[0].routeCount?.[0]?.advertised === 5, { what: `${n.name}'s NodeConfig status`, timeoutMs: 15_000 });
      expect(status.bgpInstances[0].peers[0]).toMatchObject({ name: "bird", peerAddress: "127.0.0.1", peerASN: 65000, timers: { appliedHoldTimeSeconds: 9, appliedKeepaliveSeconds: 3 } });
    }
  });

  it("only the leader wrote Service status, pool status and NodeConfigs", () => {
    const leader = leaseHolder(api)!;
    expect(NODES.map((n) => n.name)).toContain(leader);
    const writes = (token: string) =>
      api.requests.filter((r) => ["POST", "PUT", "PATCH", "DELETE"].includes(r.method) && r.headers.authorization === `Bearer ${token}` && !r.path.includes("/leases"));
    for (const n of NODES) {
      const paths = writes(n.name).map((r) => `${r.method} ${r.path}`);
      if (n.name === leader) {
        expect(paths.filter((p) => /services\/[^/]+\/status$/.test(p)).length).toBeGreaterThanOrEqual(4);
        expect(paths.filter((p) => p === "POST /apis/cilium.io/v2/ciliumbgpnodeconfigs").length).toBe(3);
      } else {
        expect(paths.filter((p) => !p.startsWith(`PATCH /apis/cilium.io/v2/ciliumbgpnodeconfigs/${n.name}/status`)), `writes by ${n.name}`).toEqual([]);
      }
    }
  });

  let survivors: typeof NODES;
  let killed: string;

  it("the leader is killed: another leads within the lease bound and no allocation changes", async () => {
    const before = ingress(api);
    killed = leaseHolder(api)!;
    const victim = agents.get(killed)!;
    const t0 = Date.now();
    await victim.proc.stop({ signal: "SIGKILL" });
    survivors = NODES.filter((n) => n.name !== killed);
    const next = await waitFor(() => leaseHolder(api), (x) => x !== undefined && x !== killed, { what: "a new leader", timeoutMs: TAKEOVER_MS + 5000, intervalMs: 50 });
    const took = Date.now() - t0;
    expect(survivors.map((n) => n.name)).toContain(next);
    // A lease duration after the last renewal the follower saw, plus its retry period (client-go's rule).
    expect(took).toBeLessThanOrEqual(TAKEOVER_MS + 500);
    // Give the new leader time to run LB-IPAM (adoption) and write whatever it would.
    await new Promise((r) => setTimeout(r, 1500));
    expect(ingress(api)).toEqual(before);
    const rewrites = api.requests.filter((r) => r.method === "PATCH" && /services\/[^/]+\/status$/.test(r.path) && r.headers.authorization === `Bearer ${next}`);
    expect(rewrites).toEqual([]);
  });

  it("new Services still get free addresses, and the surviving nodes announce them", async () => {
    const before = lbIPs();
    api.put(service("checkout"));
    api.put(service("search", { namespace: "default" }));
    await waitFor(() => allAllocated(6), Boolean, { what: "six Services allocated", timeoutMs: 15_000 });
    const fresh = [ingress(api)["shop/checkout"][0], ingress(api)["default/search"][0]];
    for (const ip of fresh) expect(before).not.toContain(ip);
    expect(new Set(lbIPs()).size).toBe(6);
    await birdShows(survivors, "the survivors announcing all six /32s");
  });

  it("the killed node's agent comes back as a follower and announces everything again", async () => {
    const n = NODES.find((x) => x.name === killed)!;
    const leader = leaseHolder(api);
    const again = await startKubeAgent(h, api, n);
    agents.set(killed, again);
    await again.ready();
    await birdShows(NODES, "all three nodes again");
    expect(leaseHolder(api)).toBe(leader);
  });
});
