/**
 * Lease-based leader election against the API server double, with short
 * durations (lease 1 s, renew deadline 0.7 s, retry 0.1 s): acquisition,
 * renewal, failover timing after the holder stops renewing, fast handover
 * on release, and fencing (two leaders never both answer isLeader()).
 */
import { afterEach, describe, expect, it } from "vitest";
import { LeaderElector } from "../../../src/source/kube/leader-election.ts";
import { clientFromKubeconfigText, type KubeClient } from "../../../src/source/kube/client.ts";
import { LB_IP_POOLS } from "../../../src/source/kube/resources.ts";
import { StatusWriter } from "../../../src/source/kube/status-writer.ts";
import type { ApiServerDouble } from "../../support/apiserver/mod.ts";
import { pool } from "../../apiserver/_fixtures.ts";
import { cluster, until } from "./_cluster.ts";

const LEASE_MS = 1000;
const RENEW_DEADLINE_MS = 700;
const RETRY_MS = 100;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const { api, client } = await cluster();
  cleanups.push(() => api.stop());
  return { api, client };
}

function candidate(client: KubeClient, identity: string, log: string[] = []) {
  const e = new LeaderElector({
    client,
    namespace: "kube-system",
    name: "herald-lb-ipam",
    identity,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: RENEW_DEADLINE_MS,
    retryPeriodMs: RETRY_MS,
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });
  cleanups.push(() => e.stop({ release: false }));
  return e;
}

const lease = (api: ApiServerDouble) => api.get("coordination.k8s.io/v1", "Lease", "herald-lb-ipam", "kube-system");

/** Samples both candidates until `done`, failing if both ever claim leadership. */
async function neverTwoLeaders(a: LeaderElector, b: LeaderElector, done: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    expect(a.isLeader() && b.isLeader()).toBe(false);
    if (Date.now() > deadline) throw new Error(`Cannot see the handover within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("LeaderElector", () => {
  it("the first candidate creates and holds the Lease; the other follows", async () => {
    const { api, client } = await setup();
    const a = candidate(client, "node-a");
    a.start();
    await a.whenLeader();
    const b = candidate(client, "node-b");
    b.start();
    await until(() => b.leader === "node-a", "b observing a");
    expect(b.isLeader()).toBe(false);
    const l = lease(api);
    expect(l.spec).toMatchObject({ holderIdentity: "node-a", leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect(l.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const firstRenew = l.spec.renewTime;
    await until(() => lease(api).spec.renewTime !== firstRenew, "a renewal");
    expect(lease(api).spec.acquireTime).toBe(l.spec.acquireTime);
    expect(a.isLeader()).toBe(true);
  });

  it("a holder that stops renewing is replaced after the lease duration, never before", async () => {
    const { api, client } = await setup();
    const log: string[] = [];
    const a = candidate(client, "node-a", log);
    const b = candidate(client, "node-b", log);
    a.start();
    await a.whenLeader();
    b.start();
    await until(() => b.leader === "node-a", "b observing a");
    // a crashes: no more renewals, no release.
    await a.stop({ release: false });
    const lastRenew = Date.parse(lease(api).spec.renewTime);
    await neverTwoLeaders(a, b, () => b.isLeader(), 4000);
    const tookOver = Date.now() - lastRenew;
    expect(tookOver).toBeGreaterThanOrEqual(LEASE_MS - 50);
    expect(tookOver).toBeLessThan(LEASE_MS + 4 * RETRY_MS + 400);
    expect(lease(api).spec).toMatchObject({ holderIdentity: "node-b", leaseTransitions: 1 });
    expect(log).toEqual(["node-a started", "node-a stopped", "node-b started"]);
  });

  it("a released lease is taken over within a retry period", async () => {
    const { api, client } = await setup();
    const a = candidate(client, "node-a");
    const b = candidate(client, "node-b");
    a.start();
    await a.whenLeader();
    b.start();
    await until(() => b.leader === "node-a", "b observing a");
    const t0 = Date.now();
    await a.stop();
    expect(a.isLeader()).toBe(false);
    expect(lease(api).spec.holderIdentity).toBeUndefined();
    await b.whenLeader();
    expect(Date.now() - t0).toBeLessThan(LEASE_MS);
  });

  it("fencing: a leader that cannot renew stops answering isLeader() within the renew deadline", async () => {
    const { api, client } = await setup();
    const log: string[] = [];
    const a = candidate(client, "node-a", log);
    a.start();
    await a.whenLeader();
    const failing = api.failNext({ method: "GET", path: "leases", status: 503, times: Infinity });
    const t0 = Date.now();
    await until(() => !a.isLeader(), "a fenced", 2000);
    expect(Date.now() - t0).toBeLessThanOrEqual(RENEW_DEADLINE_MS + 50);
    await until(() => log.includes("node-a stopped"), "onStoppedLeading", 2000);
    failing.cancel();
    await a.whenLeader();
    expect(log).toEqual(["node-a started", "node-a stopped", "node-a started"]);
  });

  it("candidates starting together on a missing lease elect exactly one", async () => {
    const { client } = await setup();
    const all = ["n1", "n2", "n3"].map((n) => candidate(client, n));
    for (const c of all) c.start();
    await Promise.race(all.map((c) => c.whenLeader()));
    await new Promise((r) => setTimeout(r, 3 * RETRY_MS));
    expect(all.filter((c) => c.isLeader())).toHaveLength(1);
  });

  it("refuses a renew deadline that is not shorter than the lease", async () => {
    const { client } = await setup();
    expect(() => new LeaderElector({ client, namespace: "x", name: "y", identity: "z", leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(
      /renewDeadlineMs \(1000\) must be less than leaseDurationMs \(1000\)/,
    );
  });

  it("end to end: a leader cut off from the Lease stops writing status before the next leader starts", async () => {
    const { api } = await setup();
    // Two nodes, told apart by their tokens.
    const clientFor = (token: string) => clientFromKubeconfigText(api.kubeconfig().replace("user: {}", `user: { token: ${token} }`));
    api.put(pool("p"));
    const a = candidate(clientFor("a"), "node-a");
    const b = candidate(clientFor("b"), "node-b");
    a.start();
    await a.whenLeader();
    b.start();
    await until(() => b.leader === "node-a", "b observing a");
    let running = true;
    const writeLoop = async (token: string, elector: LeaderElector) => {
      const writer = new StatusWriter({ client: clientFor(token), fieldManager: token, fence: () => elector.isLeader(), maxAttempts: 1 });
      for (let n = 0; running; n++) {
        await writer.write({ resource: LB_IP_POOLS, name: "p" }, { conditions: [{ type: "writer", status: "True", message: `${token}${n}` }] }).catch(() => {});
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const loops = Promise.all([writeLoop("a", a), writeLoop("b", b)]);
    await new Promise((r) => setTimeout(r, 150));
    // a can no longer reach the Lease; its status writes still reach the server.
    api.failNext({ path: "leases", when: (r) => r.headers.authorization === "Bearer a", status: 503, times: Infinity });
    await until(() => b.isLeader(), "b leading", 4000);
    await new Promise((r) => setTimeout(r, 150));
    running = false;
    await loops;
    const patches = (token: string) =>
      api.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/status") && r.headers.authorization === `Bearer ${token}`).map((r) => r.time);
    const [fromA, fromB] = [patches("a"), patches("b")];
    expect(fromA.length).toBeGreaterThan(0);
    expect(fromB.length).toBeGreaterThan(0);
    expect(Math.max(...fromA)).toBeLessThan(Math.min(...fromB));
  });
});
