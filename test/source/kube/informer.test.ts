/**
 * Informer against the API server double: list then watch, relist after
 * 410 Gone (diffed, so only real changes are reported), bookmarks keeping
 * the resourceVersion fresh, backoff while the server is down, invalid
 * objects reported and skipped, and listeners that throw.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { CiliumLoadBalancerIPPool } from "../../../src/control/schemas/lb-ip-pool.ts";
import type { Resource } from "../../../src/control/schemas/mod.ts";
import { type InformerEvent, Informer, type InvalidObject } from "../../../src/source/kube/informer.ts";
import { parseKubeObject } from "../../../src/source/kube/parse.ts";
import { LB_IP_POOLS } from "../../../src/source/kube/resources.ts";
import type { ApiServerDouble } from "../../support/apiserver/mod.ts";
import { pool } from "../../apiserver/_fixtures.ts";
import { cluster, installCRDs, until } from "./_cluster.ts";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function setup(options: Parameters<typeof cluster>[0] = {}) {
  const { api, client } = await cluster(options);
  stops.push(() => api.stop());
  const events: InformerEvent<Resource>[] = [];
  const invalid: InvalidObject[] = [];
  const informer = new Informer<Resource>({
    client,
    resource: LB_IP_POOLS,
    parse: parseKubeObject,
    onInvalid: (i) => invalid.push(i),
    backoff: { initialMs: 50, maxMs: 400 },
    watchTimeoutSeconds: [30, 30],
  });
  informer.onEvent((ev) => events.push(ev));
  stops.push(() => informer.stop());
  return { api, informer, events, invalid };
}

const summary = (events: InformerEvent<Resource>[]) => events.map((e) => `${e.type} ${e.key}`);
const cidrOf = (r: Resource | undefined) => (r as CiliumLoadBalancerIPPool | undefined)?.spec.blocks?.[0]?.cidr;
const relabel = (api: ApiServerDouble, name: string, labels: Record<string, string>) => {
  const cur = api.get("cilium.io/v2", "CiliumLoadBalancerIPPool", name);
  api.put({ ...cur, metadata: { ...cur.metadata, labels } });
};

describe("Informer", () => {
  it("lists, signals synced, then reports watch changes as typed objects", async () => {
    const { api, informer, events } = await setup();
    api.put(pool("a", "10.0.1.0/24"));
    informer.start();
    await informer.synced;
    expect(informer.hasSynced()).toBe(true);
    expect(summary(events)).toEqual(["added a"]);
    expect(cidrOf(informer.get("a"))).toBe("10.0.1.0/24");
    api.put(pool("b", "10.0.2.0/24"));
    api.put(pool("a", "10.0.3.0/24"));
    api.remove("cilium.io/v2", "CiliumLoadBalancerIPPool", "b");
    await until(() => events.length === 4, "four events");
    expect(summary(events)).toEqual(["added a", "added b", "modified a", "deleted b"]);
    const mod = events[2] as Extract<InformerEvent<Resource>, { type: "modified" }>;
    expect([cidrOf(mod.old), cidrOf(mod.object)]).toEqual(["10.0.1.0/24", "10.0.3.0/24"]);
    expect(informer.keys()).toEqual(["a"]);
    expect(informer.resourceVersion).toBe(String(api.engine.store.resourceVersion));
  });

  it("relists after 410 Gone and reports only what changed while it was away", async () => {
    const { api, informer, events } = await setup();
    for (const n of ["keep", "gone", "edit"]) api.put(pool(n));
    informer.start();
    await informer.synced;
    await until(() => api.watchCount === 1, "the watch");
    events.length = 0;
    api.dropWatches();
    api.remove("cilium.io/v2", "CiliumLoadBalancerIPPool", "gone");
    api.put(pool("edit", "10.9.0.0/24"));
    api.put(pool("new"));
    api.compact();
    await until(() => informer.stats.expired === 1 && events.length === 3, "the relist");
    expect(summary(events).sort()).toEqual(["added new", "deleted gone", "modified edit"]);
    expect(informer.stats.lists).toBe(2);
    api.put(pool("after"));
    await until(() => informer.get("after") !== undefined, "the watch after the relist");
  });

  it("bookmarks keep the resourceVersion fresh, so a resumed watch needs no relist", async () => {
    const { api, informer } = await setup();
    informer.start();
    await informer.synced;
    await until(() => api.watchCount === 1, "the watch");
    for (let i = 0; i < 5; i++) api.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `c${i}`, namespace: "default" } });
    api.sendBookmarks();
    await until(() => informer.resourceVersion === String(api.engine.store.resourceVersion), "the bookmark");
    expect(informer.stats.bookmarks).toBe(1);
    api.compact();
    api.dropWatches();
    await until(() => informer.stats.watches === 2 && api.watchCount === 1, "the resumed watch");
    api.put(pool("x"));
    await until(() => informer.get("x") !== undefined, "the new object");
    expect(informer.stats.expired).toBe(0);
    expect(informer.stats.lists).toBe(1);
  });

  it("backs off while the server is down and resumes where it left off", async () => {
    const { api, informer, events } = await setup();
    api.put(pool("a"));
    informer.start();
    await informer.synced;
    await until(() => api.watchCount === 1, "the watch");
    const restarted = api.restart({ keepState: true, downMs: 600 });
    await new Promise((r) => setTimeout(r, 50));
    await restarted;
    api.put(pool("b"));
    await until(() => informer.get("b") !== undefined, "the object created after the restart", 8000);
    expect(informer.stats.errors).toBeGreaterThanOrEqual(2);
    expect(informer.stats.lists).toBe(1);
    expect(summary(events)).toEqual(["added a", "added b"]);
    const watchAttempts = api.requests.filter((r) => r.watch).length;
    expect(watchAttempts).toBeLessThan(10);
  });

  it("retries a failed list with backoff before it is synced", async () => {
    const { api, informer } = await setup();
    api.failNext({ method: "GET", path: "ciliumloadbalancerippools", watch: false, status: 500, times: 2 });
    informer.start();
    await informer.synced;
    expect(informer.stats.errors).toBe(2);
    expect(informer.stats.lists).toBe(3);
  });

  it("after the server lost its state, relists and reports the deletions", async () => {
    const { api, informer, events } = await setup();
    api.put(pool("a"));
    informer.start();
    await informer.synced;
    await until(() => api.watchCount === 1, "the watch");
    await api.restart({ keepState: false });
    installCRDs(api);
    await until(() => events.some((e) => e.type === "deleted"), "the deletion", 8000);
    expect(informer.keys()).toEqual([]);
  });

  it("reports an invalid object (kind, name, field) and skips it; a valid earlier version stays in force", async () => {
    const { api, informer, events, invalid } = await setup();
    api.put(pool("good", "10.0.1.0/24"));
    // The server accepts any string as a cidr; herald's schema does not.
    api.put(pool("bad", "10.0.2.0/33"));
    informer.start();
    await informer.synced;
    expect(summary(events)).toEqual(["added good"]);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ kind: "CiliumLoadBalancerIPPool", name: "bad", keptPrevious: false });
    expect(invalid[0].errors[0].field).toBe("spec.blocks[0].cidr");
    expect(invalid[0].errors[0].message).toMatch(/^Cannot load CiliumLoadBalancerIPPool "bad" \(resourceVersion \d+\): /);
    api.put(pool("good", "10.0.1.0/33"));
    await until(() => invalid.length === 2, "the second report");
    expect(invalid[1]).toMatchObject({ name: "good", keptPrevious: true });
    expect(cidrOf(informer.get("good"))).toBe("10.0.1.0/24");
    api.put(pool("later"));
    await until(() => informer.get("later") !== undefined, "later objects");
    api.remove("cilium.io/v2", "CiliumLoadBalancerIPPool", "bad");
    api.put(pool("bad", "10.0.5.0/24"));
    await until(() => cidrOf(informer.get("bad")) === "10.0.5.0/24", "the fixed object");
  });

  it("a listener that throws does not stop the informer or the other listeners", async () => {
    const { api, informer, events } = await setup();
    informer.onEvent(() => {
      throw new Error("listener bug");
    });
    informer.start();
    await informer.synced;
    api.put(pool("a"));
    api.put(pool("b"));
    await until(() => events.length === 2, "both events");
    relabel(api, "a", { x: "y" });
    await until(() => events.length === 3, "the third event");
  });
});
