/**
 * KubeSource against the API server double: the first batch is the whole
 * initial state, changes follow in batches, invalid objects are reported
 * (the last valid version stays), Secrets come from the BGP secrets
 * namespace only, and CRDs installed later are picked up.
 */
import { afterEach, describe, expect, it } from "vitest";
import { KubeSource } from "../../../src/source/kube/source.ts";
import type { SourceEvent } from "../../../src/source/types.ts";
import type { ApiServerDouble } from "../../support/apiserver/mod.ts";
import { clientFromKubeconfigText } from "../../../src/source/kube/client.ts";
import { startApiServer } from "../../support/apiserver/mod.ts";
import { pool } from "../../apiserver/_fixtures.ts";
import { cluster, installCRDs, until } from "./_cluster.ts";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

function collect() {
  const batches: SourceEvent[][] = [];
  const all = () => batches.flat();
  const describe = (e: SourceEvent) =>
    e.type === "upsert" ? `upsert ${e.resource.kind} ${e.resource.key}` : e.type === "delete" ? `delete ${e.kind} ${e.key}` : e.type === "invalid" ? `invalid ${e.kind} ${e.key}` : e.type;
  return { batches, all, describe, onBatch: (b: SourceEvent[]) => batches.push(b) };
}

function seed(api: ApiServerDouble) {
  api.put({ apiVersion: "v1", kind: "Node", metadata: { name: "worker-1", labels: { rack: "r1" } } });
  api.put({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { type: "LoadBalancer", ports: [{ port: 80 }] } });
  api.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "bgp", namespace: "kube-system" }, stringData: { password: "x" } });
  api.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "app", namespace: "default" }, stringData: { token: "y" } });
  api.put(pool("pool-a"));
}

describe("KubeSource", () => {
  it("the first batch carries the whole initial state; Secrets only from the secrets namespace", async () => {
    const { api, client } = await cluster();
    stops.push(() => api.stop());
    seed(api);
    const c = collect();
    const source = new KubeSource({ client, secretsNamespace: "kube-system" });
    stops.push(() => source.stop());
    await source.start(c.onBatch);
    expect(c.batches).toHaveLength(1);
    expect(c.batches[0].map(c.describe).sort()).toEqual([
      "upsert CiliumLoadBalancerIPPool pool-a",
      "upsert Node worker-1",
      "upsert Secret kube-system/bgp",
      "upsert Service default/web",
    ]);
    const svc = c.batches[0].find((e) => e.type === "upsert" && e.resource.kind === "Service");
    expect(svc?.type === "upsert" && svc.resource.origin.resourceVersion).toMatch(/^\d+$/);
    // Cilium's own kinds are not installed by herald's CRDs.
    expect(source.watching).not.toContain("CiliumNode");
  });

  it("then sends changes in batches, and reports invalid objects keeping the last valid one", async () => {
    const { api, client } = await cluster();
    stops.push(() => api.stop());
    seed(api);
    const c = collect();
    const source = new KubeSource({ client });
    stops.push(() => source.stop());
    await source.start(c.onBatch);
    api.put(pool("pool-b", "10.0.20.0/24"));
    api.remove("v1", "Service", "web", "default");
    await until(() => c.all().length === 6, "two more events");
    // Each kind has its own watch, so their order is not defined.
    expect(c.all().slice(4).map(c.describe).sort()).toEqual(["delete Service default/web", "upsert CiliumLoadBalancerIPPool pool-b"]);
    api.put(pool("pool-b", "10.0.20.0/33"));
    await until(() => c.all().some((e) => e.type === "invalid"), "the invalid report");
    const bad = c.all().find((e) => e.type === "invalid")!;
    expect(bad).toMatchObject({ kind: "CiliumLoadBalancerIPPool", key: "pool-b" });
    expect(bad.type === "invalid" && bad.errors[0]).toMatch(/spec\.blocks\[0\]\.cidr/);
    expect(c.all().some((e) => e.type === "delete" && e.key === "pool-b")).toBe(false);
  });

  it("starts without herald's CRDs and picks them up once installed", async () => {
    const api = await startApiServer();
    stops.push(() => api.stop());
    const client = clientFromKubeconfigText(api.kubeconfig());
    api.put({ apiVersion: "v1", kind: "Node", metadata: { name: "worker-1" } });
    const c = collect();
    const source = new KubeSource({ client, discoveryIntervalMs: 50 });
    stops.push(() => source.stop());
    await source.start(c.onBatch);
    expect(c.batches[0].map(c.describe)).toEqual(["upsert Node worker-1"]);
    installCRDs(api);
    api.put(pool("late"));
    await until(() => c.all().some((e) => e.type === "upsert" && e.resource.key === "late"), "the pool", 5000);
    expect(source.watching).toContain("CiliumLoadBalancerIPPool");
  });

  it("waits for an API server that is not up yet", async () => {
    const { api, client } = await cluster();
    stops.push(() => api.stop());
    seed(api);
    await api.stop();
    const c = collect();
    const source = new KubeSource({ client, informer: { backoff: { initialMs: 20, maxMs: 100 } } });
    stops.push(() => source.stop());
    const started = source.start(c.onBatch);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.batches).toHaveLength(0);
    await api.start();
    await started;
    expect(c.batches[0].length).toBe(4);
  });
});
