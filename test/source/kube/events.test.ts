/** EventRecorder against the double: events.k8s.io/v1 objects, series for repeats, best effort. */
import { afterEach, describe, expect, it } from "vitest";
import { EventRecorder } from "../../../src/source/kube/events.ts";
import type { ApiServerDouble } from "../../support/apiserver/mod.ts";
import { cluster } from "./_cluster.ts";

let api: ApiServerDouble | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

const web = { apiVersion: "v1", kind: "Service", namespace: "default", name: "web" };
const allocated = { type: "Normal" as const, reason: "IPAllocated", action: "Allocate", note: "Allocated 10.0.10.1" };

describe("EventRecorder", () => {
  it("creates an events.k8s.io/v1 Event that kubectl get events (core/v1) also shows", async () => {
    const c = await cluster();
    api = c.api;
    const rec = new EventRecorder({ client: c.client, controller: "herald.io/agent", instance: "herald-node-1" });
    expect(await rec.record(web, allocated)).toBe(true);
    const [ev] = api.list("events.k8s.io/v1", "Event", "default");
    expect(ev).toMatchObject({
      reportingController: "herald.io/agent",
      reportingInstance: "herald-node-1",
      reason: "IPAllocated",
      action: "Allocate",
      type: "Normal",
      note: "Allocated 10.0.10.1",
      regarding: { kind: "Service", name: "web", namespace: "default" },
    });
    expect(ev.metadata.name).toMatch(/^web\.[0-9a-f]+$/);
    const [core] = api.list("v1", "Event", "default");
    expect(core).toMatchObject({ message: "Allocated 10.0.10.1", involvedObject: { name: "web" } });
  });

  it("a repeat becomes a series on the first event; cluster-scoped objects report in default", async () => {
    const c = await cluster();
    api = c.api;
    const rec = new EventRecorder({ client: c.client, controller: "herald.io/agent", instance: "i" });
    await rec.record(web, allocated);
    await rec.record(web, allocated);
    await rec.record(web, allocated);
    const events = api.list("events.k8s.io/v1", "Event", "default");
    expect(events).toHaveLength(1);
    expect(events[0].series.count).toBe(3);
    await rec.record({ apiVersion: "cilium.io/v2", kind: "CiliumLoadBalancerIPPool", name: "pool-a" }, { ...allocated, reason: "PoolConflict" });
    expect(api.list("events.k8s.io/v1", "Event", "default")).toHaveLength(2);
  });

  it("is best effort: a failure resolves false; a fence that says no writes nothing", async () => {
    const c = await cluster();
    api = c.api;
    api.failNext({ method: "POST", path: "events", status: 500 });
    let leader = false;
    const rec = new EventRecorder({ client: c.client, controller: "herald.io/agent", instance: "i", fence: () => leader });
    expect(await rec.record(web, allocated)).toBe(false);
    leader = true;
    expect(await rec.record(web, allocated)).toBe(false);
    expect(await rec.record(web, allocated)).toBe(true);
  });
});
