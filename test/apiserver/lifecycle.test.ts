/**
 * Deletion and definitions: finalizers, propagation policies and garbage
 * collection (spec B5), namespace termination, CRD registration and
 * removal, discovery, custom-resource schemas and server-side printing.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { type ApiServerDouble, type KubeObject, startApiServer } from "../support/apiserver/mod.ts";
import { request } from "../support/apiserver/testing.ts";
import { pool, poolCRD, simpleCRD } from "./_fixtures.ts";

let api: ApiServerDouble;
const call = (method: string, path: string, options?: Parameters<typeof request>[3]) => request(api.url, method, path, options);
const CLUSTER = "/apis/cilium.io/v2/ciliumbgpclusterconfigs";
const NODECFG = "/apis/cilium.io/v2/ciliumbgpnodeconfigs";
const POOLS = "/apis/cilium.io/v2/ciliumloadbalancerippools";

beforeAll(async () => {
  api = await startApiServer({ gcDelayMs: 1 });
  api.put(poolCRD());
  api.put(simpleCRD("CiliumBGPClusterConfig", "ciliumbgpclusterconfigs", { status: true }));
  api.put(simpleCRD("CiliumBGPNodeConfig", "ciliumbgpnodeconfigs", { status: true }));
});
afterAll(() => api.stop());

async function clusterWithNodeConfigs(name: string, nodes: string[]): Promise<KubeObject> {
  const owner = (await call("POST", CLUSTER, { body: { apiVersion: "cilium.io/v2", kind: "CiliumBGPClusterConfig", metadata: { name }, spec: {} } })).body;
  for (const n of nodes) {
    const r = await call("POST", NODECFG, {
      body: {
        apiVersion: "cilium.io/v2",
        kind: "CiliumBGPNodeConfig",
        metadata: {
          name: n,
          ownerReferences: [{ apiVersion: "cilium.io/v2", kind: "CiliumBGPClusterConfig", name, uid: owner.metadata.uid, controller: true }],
        },
        spec: { bgpInstances: [] },
      },
    });
    expect(r.status).toBe(201);
  }
  return owner;
}

const exists = async (path: string) => (await call("GET", path)).status === 200;

describe("deletion and garbage collection", () => {
  it("DELETE answers with the object for custom resources and with a Success Status for Secrets", async () => {
    await call("POST", POOLS, { body: pool("del") });
    const r = await call("DELETE", `${POOLS}/del`);
    expect(r.status).toBe(200);
    expect(r.body.kind).toBe("CiliumLoadBalancerIPPool");
    await call("POST", "/api/v1/namespaces/default/secrets", { body: { apiVersion: "v1", kind: "Secret", metadata: { name: "s" } } });
    const s = await call("DELETE", "/api/v1/namespaces/default/secrets/s");
    expect(s.body).toMatchObject({ kind: "Status", status: "Success", details: { name: "s", kind: "secrets" } });
    expect((await call("DELETE", "/api/v1/namespaces/default/secrets/s")).status).toBe(404);
  });

  it("an object with finalizers is only marked; it goes when the last finalizer is removed", async () => {
    await call("POST", POOLS, { body: { ...pool("fin"), metadata: { name: "fin", finalizers: ["example.com/keep"] } } });
    const marked = await call("DELETE", `${POOLS}/fin`);
    expect(marked.body.metadata.deletionTimestamp).toBeTruthy();
    expect(await exists(`${POOLS}/fin`)).toBe(true);
    const addMore = await call("PATCH", `${POOLS}/fin`, { body: { metadata: { finalizers: ["example.com/keep", "x.io/new"] } }, contentType: "application/merge-patch+json" });
    expect(addMore.status).toBe(422);
    const r = await call("PATCH", `${POOLS}/fin`, { body: { metadata: { finalizers: null } }, contentType: "application/merge-patch+json" });
    expect(r.status).toBe(200);
    expect(await exists(`${POOLS}/fin`)).toBe(false);
  });

  it("deleting a cluster config garbage-collects the NodeConfigs it owns (B5)", async () => {
    await clusterWithNodeConfigs("gc-bg", ["node-a", "node-b"]);
    await call("DELETE", `${CLUSTER}/gc-bg`);
    await api.settle();
    expect(await exists(`${NODECFG}/node-a`)).toBe(false);
    expect(await exists(`${NODECFG}/node-b`)).toBe(false);
  });

  it("a dependent with another live owner only loses the dangling reference", async () => {
    const a = await clusterWithNodeConfigs("gc-a", ["node-shared"]);
    const b = (await call("POST", CLUSTER, { body: { apiVersion: "cilium.io/v2", kind: "CiliumBGPClusterConfig", metadata: { name: "gc-b" }, spec: {} } })).body;
    await call("PATCH", `${NODECFG}/node-shared`, {
      body: { metadata: { ownerReferences: [{ apiVersion: "cilium.io/v2", kind: "CiliumBGPClusterConfig", name: "gc-a", uid: a.metadata.uid }, { apiVersion: "cilium.io/v2", kind: "CiliumBGPClusterConfig", name: "gc-b", uid: b.metadata.uid }] } },
      contentType: "application/merge-patch+json",
    });
    await call("DELETE", `${CLUSTER}/gc-a`);
    await api.settle();
    const left = (await call("GET", `${NODECFG}/node-shared`)).body;
    expect(left.metadata.ownerReferences.map((r: KubeObject) => r.name)).toEqual(["gc-b"]);
  });

  it("propagationPolicy=Orphan keeps dependents and strips their owner reference", async () => {
    await clusterWithNodeConfigs("gc-orphan", ["node-o"]);
    await call("DELETE", `${CLUSTER}/gc-orphan?propagationPolicy=Orphan`);
    await api.settle();
    const o = (await call("GET", `${NODECFG}/node-o`)).body;
    expect(o.metadata.ownerReferences).toBeUndefined();
  });

  it("propagationPolicy=Foreground deletes the dependents before the owner", async () => {
    await clusterWithNodeConfigs("gc-fg", ["node-f"]);
    const deleted: string[] = [];
    const unsubscribe = api.engine.store.subscribe((ev) => ev.type === "DELETED" && deleted.push(ev.object.metadata.name));
    const r = await call("DELETE", `${CLUSTER}/gc-fg`, { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Foreground" } });
    expect(r.body.metadata.finalizers).toEqual(["foregroundDeletion"]);
    expect(r.body.metadata.deletionTimestamp).toBeTruthy();
    await api.settle();
    unsubscribe();
    expect(deleted).toEqual(["node-f", "gc-fg"]);
    expect(await exists(`${NODECFG}/node-f`)).toBe(false);
    expect(await exists(`${CLUSTER}/gc-fg`)).toBe(false);
  });

  it("a uid precondition that does not match answers 409", async () => {
    await call("POST", POOLS, { body: pool("pre") });
    const r = await call("DELETE", `${POOLS}/pre`, { body: { preconditions: { uid: "not-it" } } });
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/Precondition failed: UID in precondition: not-it, UID in object meta: /);
  });

  it("deleting a namespace makes it Terminating, refuses new content, deletes its objects, then itself", async () => {
    // A real namespace controller takes seconds; give this double enough time
    // that the POST below always meets the Terminating namespace, even on a loaded machine.
    const slow = await startApiServer({ gcDelayMs: 1000 });
    const call = (method: string, path: string, options?: Parameters<typeof request>[3]) =>
      request(slow.url, method, path, options);
    const exists = async (path: string) => (await call("GET", path)).status === 200;
    onTestFinished(() => slow.stop());
    await call("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } } });
    await call("POST", "/api/v1/namespaces/doomed/configmaps", { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "b" } } });
    const r = await call("DELETE", "/api/v1/namespaces/doomed");
    expect(r.body.status.phase).toBe("Terminating");
    const refused = await call("POST", "/api/v1/namespaces/doomed/configmaps", { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "d" } } });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('configmaps "d" is forbidden: unable to create new content in namespace doomed because it is being terminated');
    await slow.settle();
    expect(await exists("/api/v1/namespaces/doomed")).toBe(false);
    expect(await exists("/api/v1/namespaces/doomed/configmaps/c")).toBe(false);
  });
});

describe("CustomResourceDefinitions", () => {
  const crdPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

  it("a CRD gets NamesAccepted and Established conditions and its kinds appear in discovery", async () => {
    const crd = (await call("GET", `${crdPath}/ciliumloadbalancerippools.cilium.io`)).body;
    expect(crd.status.conditions.map((c: KubeObject) => [c.type, c.status])).toEqual([["NamesAccepted", "True"], ["Established", "True"]]);
    expect(crd.status.storedVersions).toEqual(["v2"]);
    const group = (await call("GET", "/apis/cilium.io")).body;
    expect(group.preferredVersion.version).toBe("v2");
    expect(group.versions.map((v: KubeObject) => v.version)).toEqual(["v2", "v2alpha1"]);
    const list = (await call("GET", "/apis/cilium.io/v2")).body;
    const pools = list.resources.find((r: KubeObject) => r.name === "ciliumloadbalancerippools");
    expect(pools).toMatchObject({ namespaced: false, kind: "CiliumLoadBalancerIPPool", shortNames: ["ippools", "ippool", "lbippool", "lbippools"], categories: ["cilium"] });
    expect(pools.verbs).toEqual(["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]);
    expect(list.resources.find((r: KubeObject) => r.name === "ciliumloadbalancerippools/status").verbs).toEqual(["get", "patch", "update"]);
    const groups = (await call("GET", "/apis")).body.groups.map((g: KubeObject) => g.name);
    expect(groups).toEqual(expect.arrayContaining(["cilium.io", "discovery.k8s.io", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"]));
  });

  it("objects are served at every served version and stored once", async () => {
    await call("POST", POOLS, { body: pool("versions") });
    const alpha = (await call("GET", "/apis/cilium.io/v2alpha1/ciliumloadbalancerippools/versions")).body;
    expect(alpha.apiVersion).toBe("cilium.io/v2alpha1");
    const patched = await call("PATCH", "/apis/cilium.io/v2alpha1/ciliumloadbalancerippools/versions", {
      body: { spec: { disabled: true } },
      contentType: "application/merge-patch+json",
    });
    expect(patched.status).toBe(200);
    expect((await call("GET", `${POOLS}/versions`)).body.spec.disabled).toBe(true);
  });

  it("the schema prunes unknown fields (with a Warning), applies defaults and validates", async () => {
    const r = await call("POST", POOLS, { body: { ...pool("schema"), spec: { blocks: [{ cidr: "10.3.0.0/24", extra: 1 }], bogus: true } } });
    expect(r.status).toBe(201);
    expect(r.body.spec).toEqual({ blocks: [{ cidr: "10.3.0.0/24" }], disabled: false });
    expect(r.headers.get("warning")).toContain('unknown field \\"spec.blocks[0].extra\\"');
    const strict = await call("POST", `${POOLS}?fieldValidation=Strict`, { body: { ...pool("strict"), spec: { bogus: true } } });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe(
      'CiliumLoadBalancerIPPool in version "v2" cannot be handled as a CiliumLoadBalancerIPPool: strict decoding error: unknown field "spec.bogus"',
    );
    const invalid = await call("POST", POOLS, { body: { ...pool("invalid"), spec: { blocks: [{ cidr: "10.0.0.0/33" }], allowFirstLastIPs: "maybe" } } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.details.causes.map((c: KubeObject) => c.field)).toEqual(["spec.blocks[0].cidr", "spec.allowFirstLastIPs"]);
    expect(invalid.body.message).toContain('spec.allowFirstLastIPs: Unsupported value: "maybe": supported values: "Yes", "No"');
    const missing = await call("POST", POOLS, { body: { apiVersion: "cilium.io/v2", kind: "CiliumLoadBalancerIPPool", metadata: { name: "nospec" } } });
    expect(missing.body.message).toBe('CiliumLoadBalancerIPPool "nospec" is invalid: spec: Required value');
  });

  it("a list-map of conditions refuses two entries with the same type", async () => {
    await call("POST", POOLS, { body: pool("dupcond") });
    const r = await call("PATCH", `${POOLS}/dupcond/status`, {
      body: { status: { conditions: [{ type: "a", status: "True" }, { type: "a", status: "False" }] } },
      contentType: "application/merge-patch+json",
    });
    expect(r.status).toBe(422);
    expect(r.body.details.causes[0].field).toBe("status.conditions[1]");
  });

  it("a CRD whose name is not plural.group is invalid", async () => {
    const crd = simpleCRD("Thing", "things");
    crd.metadata.name = "wrong.cilium.io";
    const r = await call("POST", crdPath, { body: crd });
    expect(r.status).toBe(422);
    expect(r.body.message).toContain('metadata.name: Invalid value: "wrong.cilium.io": must be spec.names.plural+"."+spec.group');
  });

  it("deleting a CRD removes its objects and its discovery entry", async () => {
    await call("POST", crdPath, { body: simpleCRD("Thing", "things") });
    await call("POST", "/apis/cilium.io/v2/things", { body: { apiVersion: "cilium.io/v2", kind: "Thing", metadata: { name: "t" } } });
    await call("DELETE", `${crdPath}/things.cilium.io`);
    expect((await call("GET", "/apis/cilium.io/v2/things")).status).toBe(404);
    const list = (await call("GET", "/apis/cilium.io/v2")).body;
    expect(list.resources.some((r: KubeObject) => r.name === "things")).toBe(false);
    await call("POST", crdPath, { body: simpleCRD("Thing", "things") });
    expect((await call("GET", "/apis/cilium.io/v2/things")).body.items).toEqual([]);
  });

  it("server-side printing uses the CRD's printer columns (what kubectl get shows)", async () => {
    await call("POST", POOLS, { body: pool("table") });
    await call("PATCH", `${POOLS}/table/status`, {
      body: { status: { conditions: [{ type: "cilium.io/PoolConflict", status: "False" }, { type: "cilium.io/IPsAvailable", status: "Unknown", message: "254" }] } },
      contentType: "application/merge-patch+json",
    });
    const r = await call("GET", `${POOLS}/table`, { accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" });
    expect(r.body.kind).toBe("Table");
    expect(r.body.columnDefinitions.map((c: KubeObject) => c.name)).toEqual(["Name", "Disabled", "Conflicting", "IPs Available", "Age"]);
    expect(r.body.rows[0].cells.slice(0, 4)).toEqual(["table", false, "False", "254"]);
    expect(r.body.rows[0].object.kind).toBe("PartialObjectMetadata");
  });
});
