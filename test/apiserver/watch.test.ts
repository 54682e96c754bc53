/**
 * Watch semantics of the double: where a watch starts (resourceVersion
 * unset, "0", N), 410 Gone for revisions older than the history window,
 * bookmarks, selector transitions, timeouts, and the restart/drop hooks.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ApiServerDouble, startApiServer } from "../support/apiserver/mod.ts";
import { request, WatchReader } from "../support/apiserver/testing.ts";
import { pool, poolCRD } from "./_fixtures.ts";

let api: ApiServerDouble;
const readers: WatchReader[] = [];
const POOLS = "/apis/cilium.io/v2/ciliumloadbalancerippools";
const call = (method: string, path: string, options?: Parameters<typeof request>[3]) => request(api.url, method, path, options);
const watch = (query: string, path = POOLS) => {
  const r = new WatchReader(`${api.url}${path}?watch=true&${query}`);
  readers.push(r);
  return r;
};
const label = (name: string, labels: Record<string, string | null>) =>
  call("PATCH", `${POOLS}/${name}`, { body: { metadata: { labels } }, contentType: "application/merge-patch+json" });

beforeEach(async () => {
  api = await startApiServer({ historySize: 50 });
  api.put(poolCRD());
});
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.close()));
  await api.stop();
});

describe("where a watch starts", () => {
  it("without resourceVersion: ADDED for every existing object, then live changes", async () => {
    api.put(pool("a"));
    api.put(pool("b"));
    const w = watch("");
    expect((await w.next()).object.metadata.name).toBe("a");
    expect((await w.next()).object.metadata.name).toBe("b");
    await label("a", { x: "1" });
    await call("DELETE", `${POOLS}/b`);
    const mod = await w.next();
    expect([mod.type, mod.object.metadata.labels]).toEqual(["MODIFIED", { x: "1" }]);
    const del = await w.next();
    expect([del.type, del.object.metadata.name]).toEqual(["DELETED", "b"]);
  });

  it("resourceVersion=0 also starts with the current state", async () => {
    api.put(pool("a"));
    const w = watch("resourceVersion=0");
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "a" } } });
  });

  it("resourceVersion=N replays exactly the changes after N, with increasing resourceVersions", async () => {
    api.put(pool("a"));
    const rv = (await call("GET", POOLS)).body.metadata.resourceVersion;
    await label("a", { step: "1" });
    api.put(pool("c"));
    const w = watch(`resourceVersion=${rv}`);
    const e1 = await w.next();
    const e2 = await w.next();
    expect([e1.type, e1.object.metadata.name, e2.type, e2.object.metadata.name]).toEqual(["MODIFIED", "a", "ADDED", "c"]);
    expect(Number(e1.object.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
    expect(Number(e2.object.metadata.resourceVersion)).toBeGreaterThan(Number(e1.object.metadata.resourceVersion));
  });

  it("a resourceVersion older than the history window gets an ERROR event with 410 Expired (after compaction)", async () => {
    api.put(pool("a"));
    const rv = (await call("GET", POOLS)).body.metadata.resourceVersion;
    await label("a", { step: "1" });
    api.compact();
    const w = watch(`resourceVersion=${rv}`);
    const ev = await w.next();
    expect(w.status).toBe(200);
    expect(ev.type).toBe("ERROR");
    expect(ev.object).toMatchObject({ kind: "Status", status: "Failure", reason: "Expired", code: 410 });
    expect(ev.object.message).toMatch(new RegExp(`^too old resource version: ${rv} \\(\\d+\\)$`));
    await w.end();
  });

  it("the history window is bounded by historySize", async () => {
    api.put(pool("a"));
    const rv = (await call("GET", POOLS)).body.metadata.resourceVersion;
    api.setHistorySize(3);
    for (let i = 0; i < 5; i++) await label("a", { step: String(i) });
    expect((await watch(`resourceVersion=${rv}`).next()).type).toBe("ERROR");
    const recent = (await call("GET", POOLS)).body.metadata.resourceVersion;
    await label("a", { step: "last" });
    expect((await watch(`resourceVersion=${recent}`).next()).type).toBe("MODIFIED");
  });

  it("a watch from the resourceVersion of a kind's list still works after other kinds changed", async () => {
    const rv = (await call("GET", POOLS)).body.metadata.resourceVersion;
    for (let i = 0; i < 60; i++) await call("POST", "/api/v1/namespaces/default/configmaps", { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `c${i}` } } });
    api.put(pool("late"));
    expect(await watch(`resourceVersion=${rv}`).next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "late" } } });
  });
});

describe("bookmarks, selectors and endings", () => {
  it("BOOKMARKs carry the current resourceVersion, only when allowed", async () => {
    const plain = watch("resourceVersion=0");
    const w = watch("resourceVersion=0&allowWatchBookmarks=true");
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 3; i++) await call("POST", "/api/v1/namespaces/default/configmaps", { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `bm${i}` } } });
    api.sendBookmarks();
    const bm = await w.next();
    expect(bm.type).toBe("BOOKMARK");
    expect(bm.object).toMatchObject({ kind: "CiliumLoadBalancerIPPool", apiVersion: "cilium.io/v2" });
    expect(bm.object.metadata.resourceVersion).toBe(String(api.engine.store.resourceVersion));
    await expect(plain.next(200)).rejects.toThrow(/none within/);
  });

  it("bookmarks go out periodically at the configured interval", async () => {
    await api.stop();
    api = await startApiServer({ bookmarkIntervalMs: 40 });
    const w = watch("allowWatchBookmarks=true&resourceVersion=0", "/api/v1/nodes");
    expect((await w.next(1000)).type).toBe("BOOKMARK");
    expect((await w.next(1000)).type).toBe("BOOKMARK");
  });

  it("sendInitialEvents ends the initial state with an initial-events-end BOOKMARK", async () => {
    api.put(pool("a"));
    const w = watch("sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan");
    expect((await w.next()).type).toBe("ADDED");
    const bm = await w.next();
    expect(bm.type).toBe("BOOKMARK");
    expect(bm.object.metadata.annotations).toEqual({ "k8s.io/initial-events-end": "true" });
  });

  it("objects entering a label selector arrive as ADDED, leaving it as DELETED", async () => {
    api.put(pool("a"));
    const w = watch(`labelSelector=${encodeURIComponent("rack=r1")}`);
    await label("a", { rack: "r1" });
    expect((await w.next()).type).toBe("ADDED");
    await label("a", { rack: "r1", other: "x" });
    expect((await w.next()).type).toBe("MODIFIED");
    await label("a", { rack: "r2" });
    const gone = await w.next();
    expect(gone.type).toBe("DELETED");
    expect(gone.object.metadata.labels).toEqual({ rack: "r1", other: "x" });
  });

  it("a namespaced watch sees only its namespace; a named watch only its object", async () => {
    const ns = watch("", "/api/v1/namespaces/kube-system/configmaps");
    const named = watch("fieldSelector=metadata.name%3Dwanted", "/api/v1/namespaces/default/configmaps");
    await call("POST", "/api/v1/namespaces/default/configmaps", { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "other" } } });
    await call("POST", "/api/v1/namespaces/default/configmaps", { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "wanted" } } });
    await call("POST", "/api/v1/namespaces/kube-system/configmaps", { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ks" } } });
    expect((await ns.next()).object.metadata.name).toBe("ks");
    expect((await named.next()).object.metadata.name).toBe("wanted");
  });

  it("timeoutSeconds ends the stream cleanly", async () => {
    const w = watch("timeoutSeconds=1");
    await w.end(2500);
    expect(w.events).toEqual([]);
  });

  it("dropWatches() ends every stream; an injected failure answers the next watch", async () => {
    const w = watch("");
    await new Promise((r) => setTimeout(r, 50));
    expect(api.watchCount).toBe(1);
    api.dropWatches();
    await w.end();
    expect(api.watchCount).toBe(0);
    api.failNext({ watch: true, status: 500 });
    const failed = watch("");
    await failed.end();
    expect(failed.status).toBe(500);
  });

  it("restart keeping state: a watch resumed from its last resourceVersion continues", async () => {
    api.put(pool("a"));
    const w = watch("");
    const first = await w.next();
    await api.restart({ keepState: true, downMs: 20 });
    await w.end();
    await label("a", { after: "restart" });
    const resumed = watch(`resourceVersion=${first.object.metadata.resourceVersion}`);
    expect(await resumed.next()).toMatchObject({ type: "MODIFIED", object: { metadata: { labels: { after: "restart" } } } });
  });

  it("restart dropping state: the resumed watch gets 410 and a relist finds nothing", async () => {
    api.put(pool("a"));
    const rv = (await call("GET", POOLS)).body.metadata.resourceVersion;
    await api.restart({ keepState: false });
    expect((await call("GET", POOLS)).status).toBe(404);
    api.put(poolCRD());
    expect((await watch(`resourceVersion=${rv}`).next()).object.code).toBe(410);
    expect((await call("GET", POOLS)).body.items).toEqual([]);
    expect(Number((await call("GET", POOLS)).body.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
  });
});
