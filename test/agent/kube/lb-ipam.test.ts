/**
 * herald agent in Kubernetes mode, LB-IPAM on the elected leader, against
 * the API server double (in-process agents, told apart by their tokens):
 * what is written where and how (I13, I14), that only the leader writes,
 * that a new leader adopts what is in Service status before allocating
 * (I12), and that failed writes are retried (I16).
 */
import { afterEach, describe, expect, it } from "vitest";
import { type TestCluster, eventually, ingress, pool, service, testCluster } from "./_cluster.ts";

let t: TestCluster;
afterEach(async () => {
  await t?.stop();
});

const leaseHolder = (api: TestCluster["api"]) => api.find("coordination.k8s.io/v1", "Lease", "herald-operator", "herald")?.spec?.holderIdentity;
const allAllocated = (api: TestCluster["api"], n: number) => {
  const all = Object.values(ingress(api));
  return all.length === n && all.every((ips) => ips.length === 1);
};

describe("LB-IPAM on the leader", () => {
  it("writes Service status with a JSON patch replacing /status, field manager cilium-operator-lb-ipam (I13), and pool counts (I14)", async () => {
    t = await testCluster();
    t.api.put(pool("blue", "10.50.0.0/29"));
    for (const n of ["a", "b", "c"]) t.api.put(service(n));
    const a = t.agent("node-1");
    await a.start();
    await eventually(() => allAllocated(t.api, 3), "three Services with an address");
    const ips = Object.values(ingress(t.api)).flat().sort();
    expect(new Set(ips).size).toBe(3);
    for (const ip of ips) expect(ip).toMatch(/^10\.50\.0\.[0-7]$/);

    const patches = t.api.requests.filter((r) => r.method === "PATCH" && /\/services\/[^/]+\/status$/.test(r.path));
    expect(patches.length).toBeGreaterThanOrEqual(3);
    for (const p of patches) {
      expect(p.contentType).toBe("application/json-patch+json");
      expect(p.query.fieldManager).toBe("cilium-operator-lb-ipam");
      const body = JSON.parse(p.body!);
      expect(body).toHaveLength(1);
      expect(body[0]).toMatchObject({ op: "replace", path: "/status" });
      expect(body[0].value.conditions).toEqual([expect.objectContaining({ type: "cilium.io/IPAMRequestSatisfied", status: "True", reason: "satisfied" })]);
    }
    const p = await eventually(() => {
      const c = t.api.get("cilium.io/v2", "CiliumLoadBalancerIPPool", "blue").status?.conditions ?? [];
      return c.find((x: { type: string; message: string }) => x.type === "cilium.io/IPsUsed" && x.message === "3") ? c : null;
    }, "pool status with 3 used");
    const byType = Object.fromEntries(p.map((c: { type: string; message: string }) => [c.type, c.message]));
    expect(byType).toMatchObject({ "cilium.io/IPsTotal": "8", "cilium.io/IPsAvailable": "5", "cilium.io/IPsUsed": "3" });
    expect(t.api.requests.some((r) => r.method === "PATCH" && r.path.endsWith("/ciliumloadbalancerippools/blue/status") && r.query.fieldManager === "cilium-operator-lb-ipam")).toBe(true);
  });

  it("writes only what changed: a Service whose status is already right gets no write (I13)", async () => {
    t = await testCluster();
    t.api.put(pool("blue", "10.50.0.0/29"));
    t.api.put(service("a"));
    const a = t.agent("node-1");
    await a.start();
    await eventually(() => allAllocated(t.api, 1), "an address");
    await a.kube!.leader.idle();
    const count = () => t.api.requests.filter((r) => r.method === "PATCH" && r.path.includes("/services/")).length;
    const before = count();
    // An unrelated change to the Service: a label.
    const svc = t.api.get("v1", "Service", "a", "default");
    t.api.put({ ...svc, metadata: { ...svc.metadata, labels: { team: "x" } } });
    await new Promise((r) => setTimeout(r, 300));
    await a.kube!.leader.idle();
    expect(count()).toBe(before);
  });

  it("only the leader writes Service status, pool status and NodeConfigs; the others write only their own NodeConfig status", async () => {
    t = await testCluster();
    t.api.put(pool("blue", "10.50.0.0/28"));
    for (const n of ["a", "b", "c", "d"]) t.api.put(service(n));
    const agents = ["node-1", "node-2", "node-3"].map((n) => t.agent(n));
    await Promise.all(agents.map((a) => a.start()));
    await eventually(() => allAllocated(t.api, 4), "four Services with an address");
    await eventually(() => leaseHolder(t.api), "a leader");
    const leader = leaseHolder(t.api)!;
    for (const n of ["node-1", "node-2", "node-3"].filter((x) => x !== leader)) {
      const w = t.writes(n).filter((x) => !x.includes("/leases"));
      expect(w.filter((x) => !x.startsWith(`PATCH /apis/cilium.io/v2/ciliumbgpnodeconfigs/${n}/status`)), `writes by ${n}`).toEqual([]);
    }
    expect(t.writes(leader).filter((x) => x.includes("/services/")).length).toBeGreaterThanOrEqual(4);
  });

  it("a new leader adopts every address already in Service status before allocating (I12): nothing moves, new Services get free addresses", async () => {
    t = await testCluster();
    t.api.put(pool("blue", "10.50.0.0/28"));
    for (const n of ["a", "b", "c"]) t.api.put(service(n));
    const first = t.agent("node-1");
    await first.start();
    await eventually(() => allAllocated(t.api, 3), "three Services with an address");
    const before = ingress(t.api);
    const second = t.agent("node-2");
    await second.start();
    // The first leader goes away (releasing the Lease); the second takes over.
    await first.stop();
    await eventually(() => leaseHolder(t.api) === "node-2" && second.kube!.leader.running, "node-2 leading");
    t.api.put(service("d"));
    await eventually(() => allAllocated(t.api, 4), "the new Service allocated by node-2");
    const after = ingress(t.api);
    for (const [k, ips] of Object.entries(before)) expect(after[k], k).toEqual(ips);
    expect(Object.values(before).flat()).not.toContain(after["default/d"][0]);
    // Adoption writes nothing for the Services that were right already.
    const rewrote = t.writes("node-2").filter((x) => /services\/(a|b|c)\/status/.test(x));
    expect(rewrote).toEqual([]);
  });

  it("retries a failed status write with backoff until it lands (I16)", async () => {
    t = await testCluster();
    t.api.put(pool("blue", "10.50.0.0/29"));
    const failing = t.api.failNext({ method: "PATCH", path: /services\/a\/status$/, status: 500, times: 3 });
    t.api.put(service("a"));
    const a = t.agent("node-1");
    await a.start();
    await eventually(() => allAllocated(t.api, 1), "the address, after three failures", 15_000);
    expect(failing.remaining()).toBe(0);
    const attempts = t.api.requests.filter((r) => r.method === "PATCH" && /services\/a\/status$/.test(r.path));
    expect(attempts.length).toBe(4);
    // 250 ms doubling, ±20 %: the fourth attempt is at least 200+400+800 ms after the first.
    expect(attempts[3].time - attempts[0].time).toBeGreaterThanOrEqual(1400);
  });

  it("an unparsable requested IP gets herald.io/InvalidRequest naming the annotation, and a Warning Event; other Services are untouched", async () => {
    t = await testCluster();
    t.api.put(pool("blue", "10.50.0.0/29"));
    t.api.put(service("good"));
    const a = t.agent("node-1");
    await a.start();
    await eventually(() => allAllocated(t.api, 1), "good allocated");
    const good = ingress(t.api)["default/good"];
    t.api.put(service("bad", { annotations: { "lbipam.cilium.io/ips": "10.50.0.5,not-an-ip" } }));
    const cond = await eventually(() =>
      t.api.get("v1", "Service", "bad", "default").status?.conditions?.find((c: { type: string }) => c.type === "herald.io/InvalidRequest"), "the InvalidRequest condition");
    expect(cond.message).toContain('annotation lbipam.cilium.io/ips entry "not-an-ip" is not an IP address');
    // The parsable part is still honoured.
    await eventually(() => ingress(t.api)["default/bad"]?.[0] === "10.50.0.5", "10.50.0.5 on bad");
    const ev = await eventually(() => t.api.list("events.k8s.io/v1", "Event", "default").find((e) => e.regarding?.name === "bad"), "an Event about bad");
    expect(ev).toMatchObject({ type: "Warning", reason: "InvalidLoadBalancerRequest", regarding: { kind: "Service", namespace: "default", name: "bad" } });
    expect(ev.note).toContain("lbipam.cilium.io/ips");
    expect(ingress(t.api)["default/good"]).toEqual(good);
  });

  it("an invalid pool is reported on the pool (herald.io/InvalidSpec naming the field) and by an Event; its last valid version keeps serving", async () => {
    t = await testCluster();
    t.api.put(pool("blue", "10.50.0.0/29"));
    t.api.put(service("a"));
    const a = t.agent("node-1");
    await a.start();
    await eventually(() => allAllocated(t.api, 1), "a allocated");
    const ipA = ingress(t.api)["default/a"];
    t.api.put(pool("blue", "10.50.0.0/33"));
    const ev = await eventually(() => t.api.list("events.k8s.io/v1", "Event", "default").find((e) => e.regarding?.kind === "CiliumLoadBalancerIPPool"), "an Event about the pool");
    expect(ev).toMatchObject({ type: "Warning", reason: "InvalidObject", regarding: { apiVersion: "cilium.io/v2", name: "blue" } });
    expect(ev.note).toMatch(/spec\.blocks\[0\]\.cidr/);
    const cond = await eventually(() =>
      t.api.get("cilium.io/v2", "CiliumLoadBalancerIPPool", "blue").status?.conditions?.find((c: { type: string }) => c.type === "herald.io/InvalidSpec"), "InvalidSpec");
    expect(cond.message).toMatch(/spec\.blocks\[0\]\.cidr/);
    // The last valid version (10.50.0.0/29) still allocates, and nothing moved.
    t.api.put(service("b"));
    await eventually(() => ingress(t.api)["default/b"]?.length === 1, "b allocated from the last valid version");
    expect(ingress(t.api)["default/b"][0]).toMatch(/^10\.50\.0\.[0-7]$/);
    expect(ingress(t.api)["default/a"]).toEqual(ipA);
  });

  it("a pool that was never valid gets its condition and its Event once: its own status write (a new version) does not start a loop", async () => {
    t = await testCluster();
    t.api.put(pool("typo", "10.60.0.0/33"));
    const a = t.agent("node-1");
    await a.start();
    await eventually(() =>
      t.api.get("cilium.io/v2", "CiliumLoadBalancerIPPool", "typo").status?.conditions?.find((c: { type: string }) => c.type === "herald.io/InvalidSpec"), "InvalidSpec on typo");
    await new Promise((r) => setTimeout(r, 1000));
    const writes = t.api.requests.filter((r) => r.method === "PATCH" && r.path.endsWith("/ciliumloadbalancerippools/typo/status"));
    const events = t.api.list("events.k8s.io/v1", "Event", "default").filter((e) => e.regarding?.name === "typo");
    expect(writes).toHaveLength(1);
    expect(events).toHaveLength(1);
    // The message names the field, not the version it was read at.
    expect(events[0].note).toMatch(/spec\.blocks\[0\]\.cidr/);
    expect(events[0].note).not.toContain("resourceVersion");
  });
});
