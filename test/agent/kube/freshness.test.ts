/**
 * The new leader's freshness barrier: it resolves only once the store has
 * seen every object a fresh LIST shows (at that resourceVersion or later)
 * and holds nothing the LIST says was deleted.
 */
import { afterEach, describe, expect, it } from "vitest";
import { behind, compareVersions, waitUntilFresh } from "../../../src/agent/kube/freshness.ts";
import { ClusterStore } from "../../../src/agent/kube/store.ts";
import { SERVICES } from "../../../src/source/kube/resources.ts";
import type { SourceEvent } from "../../../src/source/types.ts";
import type { ApiServerDouble, KubeObject } from "../../support/apiserver/mod.ts";
import { cluster } from "../../source/kube/_cluster.ts";
import { clientFor, service } from "./_cluster.ts";

let api: ApiServerDouble | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

const upsert = (o: KubeObject): SourceEvent => ({
  type: "upsert",
  resource: { kind: o.kind, key: `${o.metadata.namespace}/${o.metadata.name}`, object: o, origin: { resourceVersion: o.metadata.resourceVersion } },
});

describe("freshness barrier", () => {
  it("compareVersions() orders integer resourceVersions and only equates others", () => {
    expect(compareVersions("9", "10")).toBe(-1);
    expect(compareVersions("10", "9")).toBe(1);
    expect(compareVersions("abc", "abc")).toBe(0);
    expect(compareVersions("abc", "abd")).toBeNull();
  });

  it("behind() names an object listed but not seen, seen at an older version, or deleted before the list", () => {
    const store = new ClusterStore();
    const listed = { resourceVersion: "20", items: [{ key: "default/a", resourceVersion: "12" }] };
    expect(behind(store, "Service", listed)).toContain('"default/a" at resourceVersion 12, seen never');
    store.apply([upsert({ kind: "Service", metadata: { name: "a", namespace: "default", resourceVersion: "11" } })]);
    expect(behind(store, "Service", listed)).toContain("seen 11");
    store.apply([upsert({ kind: "Service", metadata: { name: "a", namespace: "default", resourceVersion: "12" } })]);
    expect(behind(store, "Service", listed)).toBeNull();
    store.apply([upsert({ kind: "Service", metadata: { name: "gone", namespace: "default", resourceVersion: "15" } })]);
    expect(behind(store, "Service", listed)).toContain('"default/gone" deleted before resourceVersion 20');
    // Created after the list: newer than it, not a sign of lag.
    store.apply([{ type: "delete", kind: "Service", key: "default/gone" }, upsert({ kind: "Service", metadata: { name: "new", namespace: "default", resourceVersion: "21" } })]);
    expect(behind(store, "Service", listed)).toBeNull();
  });

  it("waitUntilFresh() waits for a Service the store has not seen yet, then resolves", async () => {
    ({ api } = await cluster());
    const a = api.put(service("a"));
    const b = api.put(service("b"));
    const store = new ClusterStore();
    store.apply([upsert(a)]);
    const abort = new AbortController();
    let done = false;
    const p = waitUntilFresh({ client: clientFor(api, "t"), store, refs: [SERVICES], secretsNamespace: "kube-system", signal: abort.signal, pollMs: 20 })
      .then((r) => {
        done = true;
        return r;
      });
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    store.apply([upsert(b)]);
    const r = await p;
    expect(r.rounds).toBeGreaterThanOrEqual(1);
  });

  it("waitUntilFresh() gives up (rounds -1) when the term ends", async () => {
    ({ api } = await cluster());
    api.put(service("a"));
    const abort = new AbortController();
    const p = waitUntilFresh({ client: clientFor(api, "t"), store: new ClusterStore(), refs: [SERVICES], secretsNamespace: "kube-system", signal: abort.signal, pollMs: 20 });
    setTimeout(() => abort.abort(), 100);
    expect((await p).rounds).toBe(-1);
  });
});
