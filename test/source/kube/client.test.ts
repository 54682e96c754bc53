/**
 * KubeClient against the API server double: kubeconfig loading, JSON
 * requests and KubeApiError, watch streams (events, server end, abort,
 * error statuses, a connection the server drops, silence).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeApiError, KubeClient, type WatchEvent } from "../../../src/source/kube/client.ts";
import { NODES, resourcePath } from "../../../src/source/kube/resources.ts";
import { type ApiServerDouble, startApiServer } from "../../support/apiserver/mod.ts";

let api: ApiServerDouble;
let client: KubeClient;
let dir: string;

beforeAll(async () => {
  api = await startApiServer();
  dir = await mkdtemp(join(tmpdir(), `herald-kubeclient-${process.pid}-`));
  await writeFile(join(dir, "kubeconfig"), api.kubeconfig());
  client = KubeClient.load({ kubeconfig: join(dir, "kubeconfig") });
});
afterAll(async () => {
  await api.stop();
  await rm(dir, { recursive: true, force: true });
});

const node = (name: string) => ({ apiVersion: "v1", kind: "Node", metadata: { name } });

describe("KubeClient", () => {
  it("loads a kubeconfig file and sends JSON requests", async () => {
    expect(client.server).toBe(api.url);
    const created = await client.request<{ metadata: { uid: string } }>("POST", resourcePath(NODES), { body: node("n1") });
    expect(created.metadata.uid).toBeTruthy();
    const list = await client.request<{ items: unknown[] }>("GET", resourcePath(NODES), { query: { labelSelector: undefined, limit: 10 } });
    expect(list.items).toHaveLength(1);
  });

  it("turns error statuses into KubeApiError with code, reason and the server's message", async () => {
    const err = await client.request("GET", resourcePath(NODES, { name: "nope" })).catch((e: KubeApiError) => e) as KubeApiError;
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ code: 404, reason: "NotFound", message: 'Cannot GET /api/v1/nodes/nope: nodes "nope" not found' });
    expect(err.status?.details?.name).toBe("nope");
  });

  it("streams watch events until the server ends the watch", async () => {
    const events: WatchEvent[] = [];
    const done = client.watch(resourcePath(NODES), { resourceVersion: "0", timeoutSeconds: 1 }, (ev) => events.push(ev));
    await done;
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED n1"]);
  });

  it("resolves on abort and rejects on an error status", async () => {
    const controller = new AbortController();
    const w = client.watch(resourcePath(NODES), {}, () => {}, controller.signal);
    setTimeout(() => controller.abort(), 50);
    await expect(w).resolves.toBeUndefined();
    const missing = client.watch("/apis/cilium.io/v2/ciliumloadbalancerippools", {}, () => {});
    await expect(missing).rejects.toMatchObject({ code: 404 });
  });

  it("rejects when the server drops the connection, and when the stream stays silent", async () => {
    const dropped = client.watch(resourcePath(NODES), {}, () => {});
    await new Promise((r) => setTimeout(r, 50));
    api.dropWatches({ abrupt: true });
    await expect(dropped).rejects.toThrow();
    const silent = client.watch(resourcePath(NODES), { resourceVersion: String(api.engine.store.resourceVersion) }, () => {}, undefined, 200);
    await expect(silent).rejects.toThrow(/no data for 200 ms/);
  });
});
