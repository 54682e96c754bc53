/**
 * StatusWriter against the API server double: writes only on change (F1,
 * I13), the two patch formats, conflict retries with a re-read, transient
 * and permanent errors, per-object rate limiting with coalescing, fencing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { LB_IP_POOLS, SERVICES } from "../../../src/source/kube/resources.ts";
import { type CurrentObject, StatusWriter } from "../../../src/source/kube/status-writer.ts";
import type { ApiServerDouble } from "../../support/apiserver/mod.ts";
import { pool } from "../../apiserver/_fixtures.ts";
import { cluster } from "./_cluster.ts";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

async function setup(options: Partial<ConstructorParameters<typeof StatusWriter>[0]> = {}) {
  const { api, client } = await cluster();
  stops.push(() => api.stop());
  const writer = new StatusWriter({ client, fieldManager: "herald-test", backoff: { initialMs: 10, maxMs: 50 }, ...options });
  stops.push(async () => writer.stop());
  return { api, writer };
}

const patches = (api: ApiServerDouble) => api.requests.filter((r) => r.method === "PATCH");
const poolTarget = (name: string) => ({ resource: LB_IP_POOLS, name });
const conditions = (message: string) => ({
  conditions: [{ type: "cilium.io/IPsAvailable", status: "Unknown", reason: "noreason", message, lastTransitionTime: "2024-01-01T00:00:00Z" }],
});

describe("StatusWriter", () => {
  it("patches /status with JSON patch `replace` only when the status differs (I13)", async () => {
    const { api, writer } = await setup();
    api.put({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { type: "LoadBalancer", ports: [{ port: 80 }] } });
    const status = { loadBalancer: { ingress: [{ ip: "10.0.10.1" }] } };
    const target = { resource: SERVICES, namespace: "default", name: "web" };
    expect(await writer.write(target, status)).toBe("written");
    expect(await writer.write(target, structuredClone(status))).toBe("unchanged");
    const sent = patches(api);
    expect(sent).toHaveLength(1);
    expect(sent[0].path).toBe("/api/v1/namespaces/default/services/web/status");
    expect(sent[0].query.fieldManager).toBe("herald-test");
    expect(sent[0].contentType).toBe("application/json-patch+json");
    expect(JSON.parse(sent[0].body!).map((op: { op: string; path: string }) => `${op.op} ${op.path}`)).toEqual(["test /metadata/resourceVersion", "replace /status"]);
    expect(api.get("v1", "Service", "web", "default").status).toEqual(status);
    expect(writer.stats).toMatchObject({ patches: 1, unchanged: 1 });
  });

  it("uses `add /status` on an object that has no status yet (I14 pool status)", async () => {
    const { api, writer } = await setup();
    api.put(pool("p"));
    expect(await writer.write(poolTarget("p"), conditions("254"))).toBe("written");
    expect(JSON.parse(patches(api)[0].body!)[1].op).toBe("add");
    expect(api.get("cilium.io/v2", "CiliumLoadBalancerIPPool", "p").status).toEqual(conditions("254"));
  });

  it("merge-patch format sends the difference with a resourceVersion precondition", async () => {
    const { api, writer } = await setup({ format: "merge-patch" });
    api.put({ ...pool("p"), status: conditions("1") });
    expect(await writer.write(poolTarget("p"), conditions("2"))).toBe("written");
    expect(await writer.write(poolTarget("p"), {})).toBe("written");
    const [first, second] = patches(api).map((p) => JSON.parse(p.body!));
    expect(first.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(first.status).toEqual(conditions("2"));
    expect(second.status).toEqual({ conditions: null });
    expect(api.get("cilium.io/v2", "CiliumLoadBalancerIPPool", "p").status).toEqual({});
  });

  for (const format of ["json-patch", "merge-patch"] as const) {
    it(`${format}: a concurrent change makes the write conflict; it re-reads, recomputes and writes`, async () => {
      const { api, writer } = await setup({ format });
      api.put(pool("p"));
      let calls = 0;
      const result = await writer.write(poolTarget("p"), (current: CurrentObject) => {
        calls++;
        if (calls === 1) {
          // Someone else writes between our read and our patch.
          const cur = api.get("cilium.io/v2", "CiliumLoadBalancerIPPool", "p");
          api.put({ ...cur, metadata: { ...cur.metadata, labels: { touched: "yes" } } });
        }
        return { conditions: [{ type: "seen", status: "True", message: String(current.metadata.labels ? "after" : "before") }] };
      });
      expect(result).toBe("written");
      expect(calls).toBe(2);
      expect(writer.stats.conflicts).toBe(1);
      expect(api.get("cilium.io/v2", "CiliumLoadBalancerIPPool", "p").status.conditions[0].message).toBe("after");
    });
  }

  it("retries transient errors with backoff, and gives up after maxAttempts", async () => {
    const { api, writer } = await setup({ maxAttempts: 3 });
    api.put(pool("p"));
    api.failNext({ method: "PATCH", status: 500, times: 2 });
    expect(await writer.write(poolTarget("p"), conditions("1"))).toBe("written");
    expect(writer.stats.errors).toBe(2);
    api.failNext({ method: "PATCH", status: 503, times: 3 });
    await expect(writer.write(poolTarget("p"), conditions("2"))).rejects.toMatchObject({ code: 503 });
  });

  it("does not retry a permanent error (a status the schema refuses)", async () => {
    const { api, writer } = await setup();
    api.put(pool("p"));
    await expect(writer.write(poolTarget("p"), { conditions: [{ type: "x", status: "Maybe" }] })).rejects.toMatchObject({ code: 422 });
    expect(patches(api)).toHaveLength(1);
  });

  it("keeps writes to one object minIntervalMs apart and coalesces the ones in between", async () => {
    const { api, writer } = await setup({ minIntervalMs: 300 });
    api.put(pool("p"));
    api.put(pool("q"));
    expect(await writer.write(poolTarget("p"), conditions("1"))).toBe("written");
    const t0 = Date.now();
    const [b, c, other] = await Promise.all([
      writer.write(poolTarget("p"), conditions("2")),
      writer.write(poolTarget("p"), conditions("3")),
      writer.write(poolTarget("q"), conditions("9")),
    ]);
    expect([b, c, other]).toEqual(["written", "written", "written"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(patches(api).filter((p) => p.path.includes("/p/"))).toHaveLength(2);
    expect(api.get("cilium.io/v2", "CiliumLoadBalancerIPPool", "p").status).toEqual(conditions("3"));
  });

  it("a fence that says no drops the write before it is sent", async () => {
    let leader = false;
    const { api, writer } = await setup({ fence: () => leader });
    api.put(pool("p"));
    expect(await writer.write(poolTarget("p"), conditions("1"))).toBe("fenced");
    expect(patches(api)).toHaveLength(0);
    leader = true;
    expect(await writer.write(poolTarget("p"), conditions("1"))).toBe("written");
  });

  it("reports an object that does not exist", async () => {
    const { writer } = await setup();
    expect(await writer.write(poolTarget("missing"), conditions("1"))).toBe("not-found");
  });
});
