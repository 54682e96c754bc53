/**
 * One conformance suite for every ResourceSource (STYLE.md §3: a shared
 * suite run through a factory, as Hono runs one suite against each
 * router). A source is driven only through its world — files in a
 * directory, objects in an API server — and judged only by the batches it
 * delivers: the initial state in one batch, upserts, deletes, an invalid
 * version that keeps the last valid one in force, kinds herald does not
 * read.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ResourceSource, SourceEvent } from "../../src/source/types.ts";

/** A Kubernetes object as users write it. */
// deno-lint-ignore no-explicit-any
export type Doc = Record<string, any> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

export interface SourceWorld {
  source: ResourceSource;
  /** Creates or replaces the object in the world (a file, an API object). */
  put(doc: Doc): Promise<void>;
  /** Removes it from the world. */
  remove(doc: Doc): Promise<void>;
  stop(): Promise<void>;
}

/** Builds a world holding `initial`; the source is not started yet. */
export type WorldFactory = (initial: Doc[]) => Promise<SourceWorld>;

export const pool = (name: string, cidr: string): Doc => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumLoadBalancerIPPool",
  metadata: { name },
  spec: { blocks: [{ cidr }] },
});

export const svc = (name: string, port = 80): Doc => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "shop" },
  spec: { type: "LoadBalancer", ports: [{ port, protocol: "TCP" }] },
});

export const peerConfig = (name: string, hold: number): Doc => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumBGPPeerConfig",
  metadata: { name },
  spec: { timers: { holdTimeSeconds: hold, keepAliveTimeSeconds: 3 } },
});

/** A MetalLB kind: herald reads none of them. */
export const metallbPool = (name: string): Doc => ({
  apiVersion: "metallb.io/v1beta1",
  kind: "IPAddressPool",
  metadata: { name, namespace: "metallb-system" },
  spec: { addresses: ["192.0.2.0/28"] },
});

const describeEvent = (e: SourceEvent) =>
  e.type === "upsert" ? `upsert ${e.resource.kind} ${e.resource.key}` : e.type === "delete" ? `delete ${e.kind} ${e.key}` : e.type === "invalid" ? `invalid ${e.kind} ${e.key}` : e.type;

class Recorder {
  readonly batches: SourceEvent[][] = [];
  onBatch = (b: SourceEvent[]) => void this.batches.push(b);
  all(): SourceEvent[] {
    return this.batches.flat();
  }
  /** Events after the first `from` ones. */
  since(from: number): SourceEvent[] {
    return this.all().slice(from);
  }
  async until(pred: (e: SourceEvent) => boolean, what: string, from = 0, timeoutMs = 5000): Promise<SourceEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.since(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`Cannot see ${what} within ${timeoutMs} ms; got: ${this.since(from).map(describeEvent).join(", ")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  /** The object of the last upsert of kind/key. */
  last(kind: string, key: string): Doc | undefined {
    const ups = this.all().filter((e) => e.type === "upsert" && e.resource.kind === kind && e.resource.key === key);
    const e = ups.at(-1);
    return e?.type === "upsert" ? e.resource.object as Doc : undefined;
  }
}

const isUpsert = (kind: string, key: string) => (e: SourceEvent) => e.type === "upsert" && e.resource.kind === kind && e.resource.key === key;

/** Runs the suite against the sources `factory` makes. */
export function sourceConformance(name: string, factory: WorldFactory): void {
  describe(`${name}: ResourceSource conformance`, () => {
    let world: SourceWorld | undefined;
    afterEach(async () => {
      await world?.stop();
      world = undefined;
    });

    async function started(initial: Doc[]): Promise<{ w: SourceWorld; rec: Recorder }> {
      world = await factory(initial);
      const rec = new Recorder();
      await world.source.start(rec.onBatch);
      return { w: world, rec };
    }

    it("start() delivers the complete initial state as the first batch, keyed name or namespace/name", async () => {
      const { rec } = await started([pool("blue", "10.0.10.0/24"), svc("web"), peerConfig("rack", 9)]);
      expect(rec.batches.length).toBeGreaterThanOrEqual(1);
      const first = rec.batches[0].filter((e) => e.type === "upsert").map(describeEvent).sort();
      expect(first).toEqual(["upsert CiliumBGPPeerConfig rack", "upsert CiliumLoadBalancerIPPool blue", "upsert Service shop/web"]);
      // Typed by the schema registry: defaults filled in.
      expect(rec.last("CiliumBGPPeerConfig", "rack")?.spec.timers).toMatchObject({ holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 120 });
    });

    it("start() delivers an empty first batch for an empty world", async () => {
      const { rec } = await started([]);
      expect(rec.batches[0].filter((e) => e.type === "upsert" || e.type === "delete")).toEqual([]);
    });

    it("sends a new object and a changed one as upserts", async () => {
      const { w, rec } = await started([pool("blue", "10.0.10.0/24")]);
      const n = rec.all().length;
      await w.put(svc("web"));
      await w.put(pool("blue", "10.0.20.0/24"));
      await rec.until(isUpsert("Service", "shop/web"), "the new Service", n);
      await rec.until((e) => isUpsert("CiliumLoadBalancerIPPool", "blue")(e) && (e as { resource: { object: Doc } }).resource.object.spec.blocks[0].cidr === "10.0.20.0/24", "the changed pool", n);
    });

    it("sends a removed object as a delete", async () => {
      const { w, rec } = await started([pool("blue", "10.0.10.0/24"), svc("web")]);
      const n = rec.all().length;
      await w.remove(svc("web"));
      const e = await rec.until((e) => e.type === "delete", "a delete", n);
      expect(e).toEqual({ type: "delete", kind: "Service", key: "shop/web" });
    });

    it("reports an invalid version naming the field, and keeps the last valid one in force (no delete)", async () => {
      const { w, rec } = await started([pool("blue", "10.0.10.0/24")]);
      const n = rec.all().length;
      await w.put(pool("blue", "10.0.10.0/33"));
      const bad = await rec.until((e) => e.type === "invalid", "the invalid report", n);
      expect(bad).toMatchObject({ type: "invalid", kind: "CiliumLoadBalancerIPPool", key: "blue" });
      expect(bad.type === "invalid" && bad.errors.join("\n")).toMatch(/spec\.blocks\[0\]\.cidr/);
      expect(rec.since(n).some((e) => e.type === "delete" || isUpsert("CiliumLoadBalancerIPPool", "blue")(e))).toBe(false);
      expect(rec.last("CiliumLoadBalancerIPPool", "blue")?.spec.blocks[0].cidr).toBe("10.0.10.0/24");
      // Fixed: the new valid version arrives.
      const m = rec.all().length;
      await w.put(pool("blue", "10.0.30.0/24"));
      await rec.until(isUpsert("CiliumLoadBalancerIPPool", "blue"), "the fixed pool", m);
      expect(rec.last("CiliumLoadBalancerIPPool", "blue")?.spec.blocks[0].cidr).toBe("10.0.30.0/24");
    });

    it("never delivers kinds herald does not read, neither as objects nor as errors", async () => {
      const { w, rec } = await started([metallbPool("legacy"), pool("blue", "10.0.10.0/24")]);
      const n = rec.all().length;
      await w.put(metallbPool("more"));
      await w.put(svc("web")); // a marker: everything before it has been read
      await rec.until(isUpsert("Service", "shop/web"), "the marker", n);
      const about = rec.all().filter((e) =>
        (e.type === "upsert" && e.resource.kind === "IPAddressPool") || (e.type === "invalid" && e.kind === "IPAddressPool") || e.type === "delete"
      );
      expect(about).toEqual([]);
    });
  });
}
