/**
 * Kubernetes mode end to end: losing the API server never withdraws a
 * route. Three agents on the API server double, BIRD polled continuously
 * (every 100 ms) while the API server is down for longer than the Lease
 * (restart hook) and while every watch expires (history compacted: 410
 * Gone, relist). Afterwards the cluster converges (new Services get
 * addresses and are announced) and BIRD has seen no withdrawal at all —
 * neither in the route listings nor in its per-neighbour withdraw counters.
 *
 * The steps build on each other, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BirdDaemon, useHarness, waitFor } from "../interop/harness/mod.ts";
import type { ApiServerDouble } from "../support/apiserver/mod.ts";
import {
  birdTable,
  birdWithdrawCounts,
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
  WithdrawalWatch,
} from "./_cluster.ts";

const h = useHarness("kao");
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

beforeAll(async () => {
  bird = await startBirdFor(h, NODES);
  api = await startDouble(clusterObjects(NODES, bird.port!));
  for (let i = 0; i < 5; i++) api.put(service(`svc-${i}`));
  agents = [];
  for (const n of NODES) agents.push(await startKubeAgent(h, api, n));
  await Promise.all(agents.map((a) => a.ready()));
  await waitFor(() => allAllocated(5), Boolean, { what: "five Services allocated", timeoutMs: 15_000 });
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

describe("the API server goes away; the routes stay", () => {
  it("API server down for longer than the Lease: every route stays at BIRD, then the cluster converges", async () => {
    const samples = watch.samples;
    await api.restart({ keepState: true, downMs: 4000 });
    // During the outage BIRD was sampled all along.
    expect(watch.samples - samples).toBeGreaterThan(15);
    expect(watch.withdrawn).toEqual([]);
    // A leader again (possibly another one), and LB-IPAM works: a new Service gets an address.
    await waitFor(() => leaseHolder(api), Boolean, { what: "a leader after the restart", timeoutMs: 15_000 });
    api.put(service("after-restart"));
    await waitFor(() => allAllocated(6), Boolean, { what: "the new Service allocated", timeoutMs: 20_000 });
    await birdShows("the new Service on every node");
    const now = ingress(api);
    for (const [k, ips] of Object.entries(allocations)) expect(now[k], k).toEqual(ips);
    expect(watch.withdrawn).toEqual([]);
  });

  it("every watch expires (410 Gone, relist): no route withdrawn, and changes made meanwhile arrive", async () => {
    const t0 = Date.now();
    // History forgotten, then every watch ends: each informer resumes from a
    // resourceVersion the server no longer has, gets 410 Gone and relists.
    api.compact();
    api.dropWatches();
    api.put(service("during-relist"));
    await waitFor(() => allAllocated(7), Boolean, { what: "the Service created across the relist allocated", timeoutMs: 20_000 });
    await birdShows("the Service created across the relist");
    // Each agent relisted Services (a GET without watch after the compaction).
    for (const n of NODES) {
      const lists = api.requests.filter((r) => r.time >= t0 && r.method === "GET" && !r.watch && r.path === "/api/v1/services" && r.headers.authorization === `Bearer ${n.name}`);
      expect(lists.length, `${n.name} relisted`).toBeGreaterThan(0);
    }
    const now = ingress(api);
    for (const [k, ips] of Object.entries(allocations)) expect(now[k], k).toEqual(ips);
  });

  it("BIRD saw no withdrawal at any time: not in the listings, not in its withdraw counters, sessions never dropped", async () => {
    await watch.stop();
    expect(watch.withdrawn).toEqual([]);
    expect(await birdWithdrawCounts(bird, NODES)).toEqual(counters);
    for (const p of await bird.peers()) if (NODES.some((n) => n.address === p.address)) expect(p.state).toBe("established");
    for (const a of agents) expect(a.proc.running).toBe(true);
  });

  it("the instruments are not blind: deleting a Service shows up as a withdrawal at every node, in listings and counters", async () => {
    const check = new WithdrawalWatch(bird, NODES, 100);
    await new Promise((r) => setTimeout(r, 300));
    const gone = `${ingress(api)["shop/svc-0"][0]}/32`;
    api.remove("v1", "Service", "svc-0", "shop");
    await birdShows("svc-0 withdrawn");
    await new Promise((r) => setTimeout(r, 300));
    await check.stop();
    expect(check.withdrawn.map((w) => `${w.peer} ${w.prefix}`).sort()).toEqual(NODES.map((n) => `${n.address} ${gone}`).sort());
    const after = await birdWithdrawCounts(bird, NODES);
    for (const n of NODES) expect(after[n.address]).toBe(counters[n.address] + 1);
  });
});
