/**
 * Writes the status subresource of objects, the way Cilium's status
 * reconcilers do (spec F1, I13, I14): read the object, compute the desired
 * status from it, and patch `/status` only when it differs.
 *
 * - Patch formats: JSON patch (`test` of metadata.resourceVersion, then
 *   `replace` — or `add` when there is no status yet — of `/status`), or a
 *   JSON merge patch carrying metadata.resourceVersion and the difference.
 *   Both are conditional on the version read, so a concurrent writer makes
 *   the write fail (409 for merge patch; 422 for a failed `test`, told from
 *   a refused status by the object having moved on) and the writer
 *   re-reads, recomputes and retries with backoff.
 * - Per object: writes are at least `minIntervalMs` apart; requests made in
 *   between are coalesced (the latest computation wins, every caller gets
 *   the one result).
 * - Fencing: `fence()` (the leader check) is asked right before every
 *   PATCH; a false answer drops the write.
 *
 * @example
 * ```ts
 * const w = new StatusWriter({ client, fieldManager: "cilium-operator-lb-ipam", fence: () => elector.isLeader() });
 * await w.write({ resource: SERVICES, namespace: "default", name: "web" }, (svc) => ({ ...svc.status, conditions }));
 * ```
 */
import { silentLogger, type Logger } from "../../log.ts";
import { Backoff, type BackoffOptions, sleep } from "./backoff.ts";
import { KubeApiError, type KubeClient } from "./client.ts";
import { type ResourceRef, resourcePath } from "./resources.ts";

export interface StatusTarget {
  resource: ResourceRef;
  namespace?: string;
  name: string;
}

/** The object as read from the API server. */
export interface CurrentObject {
  metadata: { name: string; namespace?: string; resourceVersion: string; generation?: number; [k: string]: unknown };
  status?: unknown;
  [k: string]: unknown;
}

/** Desired status given the current object; undefined means "leave it". */
export type ComputeStatus = (current: CurrentObject) => unknown;

export type WriteResult = "written" | "unchanged" | "not-found" | "fenced";

export interface StatusWriterOptions {
  client: KubeClient;
  /** `fieldManager` of every write (Cilium: CiliumBGPNodeConfigStatusReconciler, cilium-operator-lb-ipam). */
  fieldManager: string;
  format?: "json-patch" | "merge-patch";
  /** Least time between two writes to one object (F1: 5 s). */
  minIntervalMs?: number;
  /** Attempts per write before it fails (conflicts and transient errors count). */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Asked before every PATCH; false drops the write ("fenced"). */
  fence?: () => boolean;
  log?: Logger;
}

interface Pending {
  compute: ComputeStatus;
  waiters: { resolve: (r: WriteResult) => void; reject: (e: unknown) => void }[];
}

interface Slot {
  lastWrite: number;
  pending: Pending | undefined;
  running: boolean;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => deepEqual(x, (b as unknown[])[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386 patch from `from` to `to`. */
export function mergePatchBetween(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (!(k in from)) patch[k] = v;
    else if (!deepEqual(from[k], v)) patch[k] = mergePatchBetween(from[k], v);
  }
  return patch;
}

/** Retrying helps with these: conflicts, throttling, server errors, no answer at all. */
const isTransient = (err: unknown) => !(err instanceof KubeApiError) || err.code === 429 || err.code >= 500;

export class StatusWriter {
  readonly #o: StatusWriterOptions;
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();
  #stopped = false;
  readonly #abort = new AbortController();
  /** Requests sent (PATCH) and skipped as unchanged, for tests and metrics. */
  readonly stats = { patches: 0, unchanged: 0, conflicts: 0, errors: 0 };

  constructor(options: StatusWriterOptions) {
    this.#o = options;
    this.#log = (options.log ?? silentLogger).child({ subsys: "k8s-status" });
  }

  /**
   * Makes the object's status what `desired` says (a value, or a function of
   * the current object). Resolves once written, found unchanged, gone, or
   * fenced; rejects after `maxAttempts` failures or on a permanent error.
   */
  write(target: StatusTarget, desired: unknown | ComputeStatus): Promise<WriteResult> {
    if (this.#stopped) return Promise.reject(new Error("Cannot write status: the writer is stopped"));
    const compute: ComputeStatus = typeof desired === "function" ? desired as ComputeStatus : () => desired;
    const key = `${target.resource.group}/${target.resource.resource}/${target.namespace ?? ""}/${target.name}`;
    let slot = this.#slots.get(key);
    if (!slot) this.#slots.set(key, (slot = { lastWrite: -Infinity, pending: undefined, running: false }));
    return new Promise((resolve, reject) => {
      if (slot.pending) {
        // Coalesce: the newest computation replaces the waiting one.
        slot.pending.compute = compute;
        slot.pending.waiters.push({ resolve, reject });
      } else {
        slot.pending = { compute, waiters: [{ resolve, reject }] };
      }
      if (!slot.running) void this.#drain(target, slot);
    });
  }

  /** Drops pending writes (they resolve "fenced") and refuses new ones. */
  stop(): void {
    this.#stopped = true;
    this.#abort.abort();
  }

  async #drain(target: StatusTarget, slot: Slot): Promise<void> {
    slot.running = true;
    try {
      while (slot.pending) {
        const wait = slot.lastWrite + (this.#o.minIntervalMs ?? 0) - Date.now();
        if (wait > 0) await sleep(wait, this.#abort.signal);
        const job = slot.pending;
        slot.pending = undefined;
        try {
          const result = this.#stopped ? "fenced" : await this.#writeOnce(target, job.compute);
          if (result === "written") slot.lastWrite = Date.now();
          for (const w of job.waiters) w.resolve(result);
        } catch (err) {
          for (const w of job.waiters) w.reject(err);
        }
      }
    } finally {
      slot.running = false;
    }
  }

  async #writeOnce(target: StatusTarget, compute: ComputeStatus): Promise<WriteResult> {
    const format = this.#o.format ?? "json-patch";
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000, ...this.#o.backoff });
    const attempts = this.#o.maxAttempts ?? 10;
    const path = resourcePath(target.resource, { namespace: target.namespace, name: target.name });
    for (let attempt = 1;; attempt++) {
      let sentAt: string | undefined;
      try {
        if (this.#stopped) return "fenced";
        const current = await this.#o.client.request<CurrentObject>("GET", path);
        const desired = compute(current);
        if (desired === undefined || deepEqual(current.status, desired)) {
          this.stats.unchanged++;
          return "unchanged";
        }
        const rv = current.metadata.resourceVersion;
        const [contentType, body] = format === "json-patch"
          ? ["application/json-patch+json", [
            { op: "test", path: "/metadata/resourceVersion", value: rv },
            { op: current.status === undefined ? "add" : "replace", path: "/status", value: desired },
          ]]
          : ["application/merge-patch+json", { metadata: { resourceVersion: rv }, status: mergePatchBetween(current.status ?? {}, desired) }];
        // Fencing: the last moment before the write leaves this process.
        if (this.#o.fence && !this.#o.fence()) {
          this.#log.info("Not writing status: not the leader", { kind: target.resource.kind, name: target.name });
          return "fenced";
        }
        this.stats.patches++;
        sentAt = rv;
        await this.#o.client.request("PATCH", `${path}/status`, { query: { fieldManager: this.#o.fieldManager }, body, contentType });
        return "written";
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 404) return "not-found";
        const conflict = await this.#isConflict(err, format, path, sentAt);
        if (conflict) this.stats.conflicts++;
        else this.stats.errors++;
        if ((!conflict && !isTransient(err)) || attempt >= attempts) {
          this.#log.warn("Cannot write status", { kind: target.resource.kind, name: target.name, error: err, attempts: attempt });
          throw err;
        }
        const delay = backoff.next();
        this.#log.debug("Retrying status write", { kind: target.resource.kind, name: target.name, conflict, retryInMs: delay });
        await sleep(delay, this.#abort.signal);
      }
    }
  }

  /**
   * 409 is a conflict. A JSON patch whose `test` of the resourceVersion
   * failed comes back as a 422, like a status the schema refuses: tell them
   * apart by whether the object moved on since it was read.
   */
  async #isConflict(err: unknown, format: string, path: string, sentAt: string | undefined): Promise<boolean> {
    if (!(err instanceof KubeApiError)) return false;
    if (err.code === 409) return true;
    if (err.code !== 422 || format !== "json-patch" || sentAt === undefined) return false;
    try {
      const now = await this.#o.client.request<CurrentObject>("GET", path);
      return now.metadata.resourceVersion !== sentAt;
    } catch {
      return false;
    }
  }
}
