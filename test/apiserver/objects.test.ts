/**
 * The double's object semantics, checked over HTTP against what
 * kube-apiserver does: metadata it assigns, optimistic concurrency, status
 * subresource, generation, Status errors, selectors, paging, dry runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiServerDouble, startApiServer } from "../support/apiserver/mod.ts";
import { request } from "../support/apiserver/testing.ts";
import { pool, poolCRD } from "./_fixtures.ts";

let api: ApiServerDouble;
const POOLS = "/apis/cilium.io/v2/ciliumloadbalancerippools";
const SVCS = "/api/v1/namespaces/default/services";
const call = (method: string, path: string, options?: Parameters<typeof request>[3]) => request(api.url, method, path, options);

const service = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { ports: [{ name: "http", port: 80 }], ...extra },
});

beforeAll(async () => {
  api = await startApiServer();
  api.put(poolCRD());
});
afterAll(() => api.stop());

describe("create", () => {
  it("create assigns uid, creationTimestamp, a global resourceVersion and generation 1 (custom resource)", async () => {
    const before = Number((await call("GET", POOLS)).body.metadata.resourceVersion);
    const r = await call("POST", POOLS, { body: pool("create-a") });
    expect(r.status).toBe(201);
    const m = r.body.metadata;
    expect(m.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(m.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Number(m.resourceVersion)).toBeGreaterThan(before);
    expect(m.generation).toBe(1);
    const other = await call("POST", SVCS, { body: service("create-b") });
    expect(Number(other.body.metadata.resourceVersion)).toBeGreaterThan(Number(m.resourceVersion));
    expect(other.body.metadata.generation).toBeUndefined();
  });

  it("create of an existing name answers 409 AlreadyExists with a Status", async () => {
    await call("POST", POOLS, { body: pool("dup") });
    const r = await call("POST", POOLS, { body: pool("dup") });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "AlreadyExists",
      code: 409,
      message: 'ciliumloadbalancerippools.cilium.io "dup" already exists',
      details: { name: "dup", group: "cilium.io", kind: "ciliumloadbalancerippools" },
    });
  });

  it("create refuses a resourceVersion and a namespace that is not the URL's", async () => {
    const withRV = await call("POST", POOLS, { body: { ...pool("rv"), metadata: { name: "rv", resourceVersion: "5" } } });
    expect(withRV.status).toBe(400);
    expect(withRV.body.message).toBe("resourceVersion should not be set on objects to be created");
    const wrongNs = await call("POST", SVCS, { body: { ...service("x"), metadata: { name: "x", namespace: "kube-system" } } });
    expect(wrongNs.status).toBe(400);
    expect(wrongNs.body.message).toBe("the namespace of the provided object does not match the namespace sent on the request");
  });

  it("create in a namespace that does not exist answers 404 for the namespace", async () => {
    const r = await call("POST", "/api/v1/namespaces/nowhere/services", { body: service("x") });
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('namespaces "nowhere" not found');
  });

  it("create validates names with Kubernetes' messages (Service names are DNS-1035 labels)", async () => {
    const r = await call("POST", SVCS, { body: service("9web") });
    expect(r.status).toBe(422);
    expect(r.body.reason).toBe("Invalid");
    expect(r.body.message).toMatch(/^Service "9web" is invalid: metadata\.name: Invalid value: "9web": a DNS-1035 label must consist of/);
    expect(r.body.details.causes[0]).toMatchObject({ reason: "FieldValueInvalid", field: "metadata.name" });
  });

  it("generateName gets a random suffix", async () => {
    const r = await call("POST", POOLS, { body: { ...pool("x"), metadata: { generateName: "gen-" } } });
    expect(r.status).toBe(201);
    expect(r.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });
});

describe("get, update and generation", () => {
  it("get of a missing object answers 404 NotFound naming the resource", async () => {
    const r = await call("GET", `${SVCS}/missing`);
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ reason: "NotFound", message: 'services "missing" not found', details: { name: "missing", kind: "services" } });
  });

  it("update with a stale resourceVersion answers 409 Conflict", async () => {
    const created = (await call("POST", POOLS, { body: pool("occ") })).body;
    const fresh = await call("PUT", `${POOLS}/occ`, { body: { ...created, spec: { blocks: [{ cidr: "10.1.0.0/24" }] } } });
    expect(fresh.status).toBe(200);
    const stale = await call("PUT", `${POOLS}/occ`, { body: { ...created, spec: { blocks: [{ cidr: "10.2.0.0/24" }] } } });
    expect(stale.status).toBe(409);
    expect(stale.body.message).toBe(
      'Operation cannot be fulfilled on ciliumloadbalancerippools.cilium.io "occ": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it("a custom resource update needs a resourceVersion; a Service update does not", async () => {
    const created = (await call("POST", POOLS, { body: pool("norv") })).body;
    delete created.metadata.resourceVersion;
    const r = await call("PUT", `${POOLS}/norv`, { body: created });
    expect(r.status).toBe(422);
    expect(r.body.message).toBe('CiliumLoadBalancerIPPool "norv" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update');
    const svc = (await call("POST", SVCS, { body: service("norv") })).body;
    delete svc.metadata.resourceVersion;
    expect((await call("PUT", `${SVCS}/norv`, { body: { ...svc, metadata: { ...svc.metadata, labels: { a: "b" } } } })).status).toBe(200);
  });

  it("generation moves on spec changes only, not on metadata or status", async () => {
    const a = (await call("POST", POOLS, { body: pool("gen") })).body;
    const labelled = (await call("PATCH", `${POOLS}/gen`, { body: { metadata: { labels: { x: "y" } } }, contentType: "application/merge-patch+json" })).body;
    expect(labelled.metadata.generation).toBe(1);
    expect(Number(labelled.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
    const status = (await call("PATCH", `${POOLS}/gen/status`, {
      body: { status: { conditions: [{ type: "cilium.io/PoolConflict", status: "False" }] } },
      contentType: "application/merge-patch+json",
    })).body;
    expect(status.metadata.generation).toBe(1);
    const spec = (await call("PATCH", `${POOLS}/gen`, { body: { spec: { disabled: true } }, contentType: "application/merge-patch+json" })).body;
    expect(spec.metadata.generation).toBe(2);
  });

  it("an update that changes nothing keeps the resourceVersion", async () => {
    const a = (await call("POST", POOLS, { body: pool("noop") })).body;
    const b = (await call("PUT", `${POOLS}/noop`, { body: a })).body;
    expect(b.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
  });
});

describe("status subresource", () => {
  it("create drops the status of a custom resource with a status subresource", async () => {
    const r = await call("POST", POOLS, { body: { ...pool("st-create"), status: { conditions: [{ type: "x", status: "True" }] } } });
    expect(r.body.status).toBeUndefined();
  });

  it("main-resource writes keep the status; status writes change only the status", async () => {
    await call("POST", POOLS, { body: pool("st") });
    const s = await call("PATCH", `${POOLS}/st/status`, {
      body: { metadata: { labels: { sneaky: "yes" } }, spec: { disabled: true }, status: { conditions: [{ type: "cilium.io/IPsUsed", status: "Unknown", message: "0" }] } },
      contentType: "application/merge-patch+json",
    });
    expect(s.status).toBe(200);
    expect(s.body.status.conditions[0].type).toBe("cilium.io/IPsUsed");
    expect(s.body.spec.disabled).toBe(false);
    expect(s.body.metadata.labels).toBeUndefined();
    const m = await call("PATCH", `${POOLS}/st`, {
      body: { spec: { disabled: true }, status: { conditions: [] } },
      contentType: "application/merge-patch+json",
    });
    expect(m.body.spec.disabled).toBe(true);
    expect(m.body.status.conditions).toHaveLength(1);
  });

  it("Service: create resets status, a status write keeps the spec (I13 writes go to /status)", async () => {
    const created = (await call("POST", SVCS, { body: { ...service("lb", { type: "LoadBalancer" }), status: { loadBalancer: { ingress: [{ ip: "1.2.3.4" }] } } } })).body;
    expect(created.status).toEqual({ loadBalancer: {} });
    const r = await call("PATCH", `${SVCS}/lb/status`, {
      body: [{ op: "replace", path: "/status", value: { loadBalancer: { ingress: [{ ip: "10.0.10.1" }] } } }, { op: "replace", path: "/spec/type", value: "ClusterIP" }],
      contentType: "application/json-patch+json",
    });
    expect(r.status).toBe(200);
    expect(r.body.status.loadBalancer.ingress).toEqual([{ ip: "10.0.10.1" }]);
    expect(r.body.spec.type).toBe("LoadBalancer");
    const main = await call("PATCH", `${SVCS}/lb`, { body: { status: { loadBalancer: {} } }, contentType: "application/merge-patch+json" });
    expect(main.body.status.loadBalancer.ingress).toEqual([{ ip: "10.0.10.1" }]);
  });

  it("JSON patch `replace /status` on an object without status fails with 422, `add` works", async () => {
    await call("POST", POOLS, { body: pool("nostatus") });
    const replace = await call("PATCH", `${POOLS}/nostatus/status`, {
      body: [{ op: "replace", path: "/status", value: { conditions: [] } }],
      contentType: "application/json-patch+json",
    });
    expect(replace.status).toBe(422);
    expect(replace.body.message).toBe("the server rejected our request due to an error in our request");
    const add = await call("PATCH", `${POOLS}/nostatus/status`, {
      body: [{ op: "add", path: "/status", value: { conditions: [] } }],
      contentType: "application/json-patch+json",
    });
    expect(add.status).toBe(200);
  });
});

describe("patch", () => {
  it("a JSON patch `test` op that fails rejects the whole patch", async () => {
    await call("POST", POOLS, { body: pool("jp") });
    const r = await call("PATCH", `${POOLS}/jp`, {
      body: [{ op: "replace", path: "/spec/disabled", value: true }, { op: "test", path: "/metadata/name", value: "other" }],
      contentType: "application/json-patch+json",
    });
    expect(r.status).toBe(422);
    expect((await call("GET", `${POOLS}/jp`)).body.spec.disabled).toBe(false);
  });

  it("a merge patch with a stale metadata.resourceVersion answers 409", async () => {
    await call("POST", POOLS, { body: pool("mp") });
    const r = await call("PATCH", `${POOLS}/mp`, { body: { metadata: { resourceVersion: "1" }, spec: { disabled: true } }, contentType: "application/merge-patch+json" });
    expect(r.status).toBe(409);
    expect(r.body.reason).toBe("Conflict");
  });

  it("strategic merge patch merges Service ports by port and honours $patch: delete", async () => {
    await call("POST", SVCS, { body: service("smp", { ports: [{ name: "a", port: 80 }, { name: "b", port: 443 }] }) });
    const r = await call("PATCH", `${SVCS}/smp`, {
      body: { spec: { "$setElementOrder/ports": [{ port: 443 }, { port: 8080 }], ports: [{ name: "c", port: 8080 }, { $patch: "delete", port: 80 }] } },
      contentType: "application/strategic-merge-patch+json",
    });
    expect(r.status).toBe(200);
    expect(r.body.spec.ports.map((p: { port: number }) => p.port)).toEqual([443, 8080]);
    expect(r.body.spec.ports[0].name).toBe("b");
  });

  it("strategic merge patch on a custom resource answers 415", async () => {
    await call("POST", POOLS, { body: pool("smp-cr") });
    const r = await call("PATCH", `${POOLS}/smp-cr`, { body: { spec: { disabled: true } }, contentType: "application/strategic-merge-patch+json" });
    expect(r.status).toBe(415);
    expect(r.body.message).toBe(
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
  });

  it("server-side apply creates, then merges, and requires a field manager", async () => {
    const body = "apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata:\n  name: ssa\nspec:\n  blocks:\n  - cidr: 10.9.0.0/24\n";
    const noManager = await call("PATCH", `${POOLS}/ssa`, { body, contentType: "application/apply-patch+yaml" });
    expect(noManager.status).toBe(400);
    const created = await call("PATCH", `${POOLS}/ssa?fieldManager=test`, { body, contentType: "application/apply-patch+yaml" });
    expect(created.status).toBe(201);
    const updated = await call("PATCH", `${POOLS}/ssa?fieldManager=test`, {
      body: body + "  disabled: true\n",
      contentType: "application/apply-patch+yaml",
    });
    expect(updated.status).toBe(200);
    expect(updated.body.spec).toEqual({ blocks: [{ cidr: "10.9.0.0/24" }], disabled: true });
  });
});

describe("list", () => {
  it("lists carry the current resourceVersion and honour label selectors (=, !=, in, notin, exists, !exists)", async () => {
    for (const [name, labels] of [["l1", { rack: "r1", tier: "a" }], ["l2", { rack: "r2" }], ["l3", { rack: "r3", tier: "b" }]] as const) {
      await call("POST", POOLS, { body: pool(name, "10.0.0.0/24", { ...labels, set: "sel" }) });
    }
    const names = async (sel: string) =>
      (await call("GET", `${POOLS}?labelSelector=${encodeURIComponent(`set=sel,${sel}`)}`)).body.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    expect(await names("rack=r1")).toEqual(["l1"]);
    expect(await names("rack==r2")).toEqual(["l2"]);
    expect(await names("rack!=r1")).toEqual(["l2", "l3"]);
    expect(await names("rack in (r1,r3)")).toEqual(["l1", "l3"]);
    expect(await names("rack notin (r1,r3)")).toEqual(["l2"]);
    expect(await names("tier")).toEqual(["l1", "l3"]);
    expect(await names("!tier")).toEqual(["l2"]);
    const list = await call("GET", POOLS);
    expect(list.body.kind).toBe("CiliumLoadBalancerIPPoolList");
    expect(Number(list.body.metadata.resourceVersion)).toBeGreaterThanOrEqual(
      Math.max(...list.body.items.map((i: { metadata: { resourceVersion: string } }) => Number(i.metadata.resourceVersion))),
    );
  });

  it("field selectors: metadata.name, and 400 for an unsupported field", async () => {
    const r = await call("GET", `${POOLS}?fieldSelector=metadata.name%3Dl2`);
    expect(r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["l2"]);
    const bad = await call("GET", `${POOLS}?fieldSelector=spec.disabled%3Dtrue`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe("field label not supported: spec.disabled");
    const badLabel = await call("GET", `${POOLS}?labelSelector=${encodeURIComponent("a in b")}`);
    expect(badLabel.status).toBe(400);
  });

  it("limit and continue page through a list in key order", async () => {
    const first = await call("GET", `${POOLS}?labelSelector=set%3Dsel&limit=2`);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.metadata.remainingItemCount).toBe(1);
    const second = await call("GET", `${POOLS}?labelSelector=set%3Dsel&limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`);
    expect(second.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["l3"]);
    expect(second.body.metadata.continue).toBeUndefined();
    expect(second.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
  });

  it("a list at a resourceVersion newer than the store answers 504 Too large resource version", async () => {
    const r = await call("GET", `${POOLS}?resourceVersion=999999999`);
    expect(r.status).toBe(504);
    expect(r.body.message).toMatch(/^Too large resource version: 999999999, current: \d+$/);
  });

  it("all-namespaces lists span namespaces; namespaced lists do not", async () => {
    await call("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } } });
    await call("POST", "/api/v1/namespaces/other/services", { body: service("elsewhere") });
    const all = (await call("GET", "/api/v1/services")).body.items.map((i: { metadata: { namespace: string } }) => i.metadata.namespace);
    expect(new Set(all)).toEqual(new Set(["default", "other"]));
    const other = (await call("GET", "/api/v1/namespaces/other/services")).body.items;
    expect(other.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["elsewhere"]);
  });
});

describe("dry run and kinds with defaults", () => {
  it("dryRun=All validates and answers without storing", async () => {
    const r = await call("POST", `${POOLS}?dryRun=All`, { body: pool("dry") });
    expect(r.status).toBe(201);
    expect(r.body.metadata.uid).toBeTruthy();
    expect((await call("GET", `${POOLS}/dry`)).status).toBe(404);
  });

  it("Service defaults: type, sessionAffinity, protocol, targetPort, a unique ClusterIP, node ports for LoadBalancer", async () => {
    const a = (await call("POST", SVCS, { body: service("def-a", { type: "LoadBalancer" }) })).body;
    const b = (await call("POST", SVCS, { body: service("def-b") })).body;
    expect(a.spec).toMatchObject({
      type: "LoadBalancer",
      sessionAffinity: "None",
      externalTrafficPolicy: "Cluster",
      internalTrafficPolicy: "Cluster",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      allocateLoadBalancerNodePorts: true,
      ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 80 }],
    });
    expect(a.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(a.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    expect(b.spec.clusterIP).not.toBe(a.spec.clusterIP);
    expect(b.spec.ports[0].nodePort).toBeUndefined();
    const badClass = await call("POST", SVCS, { body: service("def-c", { loadBalancerClass: "io.cilium/bgp-control-plane" }) });
    expect(badClass.status).toBe(422);
    expect(badClass.body.message).toBe(
      'Service "def-c" is invalid: spec.loadBalancerClass: Invalid value: "io.cilium/bgp-control-plane": may only be used when `type` is \'LoadBalancer\'',
    );
  });

  it("Secret stringData is merged into data (base64) and not stored", async () => {
    const r = await call("POST", "/api/v1/namespaces/kube-system/secrets", {
      body: { apiVersion: "v1", kind: "Secret", metadata: { name: "bgp-auth" }, stringData: { password: "s3cret" } },
    });
    expect(r.body.data).toEqual({ password: btoa("s3cret") });
    expect(r.body.stringData).toBeUndefined();
    expect(r.body.type).toBe("Opaque");
  });

  it("events.k8s.io/v1 Events are also served as core/v1 Events", async () => {
    const ev = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: "web.1" },
      eventTime: "2024-01-01T00:00:00.000000Z",
      reportingController: "herald.io/agent",
      reportingInstance: "herald-node-1",
      action: "Allocate",
      reason: "IPAllocated",
      note: "Allocated 10.0.10.1",
      type: "Normal",
      regarding: { kind: "Service", namespace: "default", name: "web", apiVersion: "v1" },
    };
    expect((await call("POST", "/apis/events.k8s.io/v1/namespaces/default/events", { body: ev })).status).toBe(201);
    const core = (await call("GET", "/api/v1/namespaces/default/events/web.1")).body;
    expect(core).toMatchObject({ apiVersion: "v1", message: "Allocated 10.0.10.1", involvedObject: { name: "web" }, reportingComponent: "herald.io/agent" });
    const sel = await call("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dweb");
    expect(sel.body.items).toHaveLength(1);
  });

  it("Leases are namespaced and follow optimistic concurrency", async () => {
    const L = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";
    const lease = (await call("POST", L, {
      body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "herald" }, spec: { holderIdentity: "a", leaseDurationSeconds: 15 } },
    })).body;
    const ok = await call("PUT", `${L}/herald`, { body: { ...lease, spec: { ...lease.spec, holderIdentity: "b" } } });
    expect(ok.status).toBe(200);
    const stale = await call("PUT", `${L}/herald`, { body: { ...lease, spec: { ...lease.spec, holderIdentity: "c" } } });
    expect(stale.status).toBe(409);
  });
});
