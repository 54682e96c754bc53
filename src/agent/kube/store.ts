/**
 * The cluster as this agent's informers last delivered it: every typed
 * object by kind and key, the resourceVersion last seen for each key (also
 * when that version failed validation, so the freshness barrier can tell a
 * skipped object from a missing one) and the current validation problems.
 *
 * `apply()` also decides which events the control engine needs: a change
 * that touches only what herald itself writes (the status of NodeConfigs,
 * cluster and peer configs and pools) or only the resourceVersion (a Node's
 * heartbeat, once the schema has dropped everything herald does not read)
 * is not news for control, and would otherwise rebuild the whole desired
 * state every few seconds on every node.
 */
import { addResource, emptyResources, type Resource, type Resources } from "../../control/mod.ts";
import type { SourceEvent } from "../../source/types.ts";

/** Kinds whose status herald writes and control never reads. */
const STATUS_WRITTEN = new Set(["CiliumBGPNodeConfig", "CiliumBGPClusterConfig", "CiliumBGPPeerConfig", "CiliumLoadBalancerIPPool"]);

/** A validation problem of the version the API server holds now. */
export interface StoredProblem {
  readonly kind: string;
  readonly key: string;
  readonly resourceVersion?: string;
  readonly errors: readonly string[];
}

/** What control reads of an object: everything the schema kept, minus bookkeeping (and status, for STATUS_WRITTEN kinds). */
function projection(kind: string, obj: unknown): string {
  const o = obj as { metadata?: Record<string, unknown>; status?: unknown };
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = o.metadata ?? {};
  const rest: Record<string, unknown> = { ...o, metadata: meta };
  if (STATUS_WRITTEN.has(kind)) delete rest.status;
  return stableJson(rest);
}

/** JSON with object keys sorted, for equality of plain data. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, value) =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, (value as Record<string, unknown>)[k]]))
      : value) ?? "undefined";
}

export class ClusterStore {
  readonly #objects = new Map<string, Map<string, Resource>>();
  readonly #seen = new Map<string, Map<string, string>>();
  readonly #problems = new Map<string, StoredProblem>();

  #kind<T>(m: Map<string, Map<string, T>>, kind: string): Map<string, T> {
    let k = m.get(kind);
    if (!k) m.set(kind, k = new Map());
    return k;
  }

  /** Takes a batch; returns the events control needs (see the module doc). */
  apply(events: readonly SourceEvent[]): SourceEvent[] {
    const out: SourceEvent[] = [];
    for (const e of events) {
      if (e.type === "upsert") {
        const { kind, key, object, origin } = e.resource;
        const objects = this.#kind(this.#objects, kind);
        const before = objects.get(key);
        objects.set(key, object as Resource);
        if (origin.resourceVersion !== undefined) this.#kind(this.#seen, kind).set(key, origin.resourceVersion);
        this.#problems.delete(`${kind}\u0000${key}`);
        if (before === undefined || projection(kind, before) !== projection(kind, object)) out.push(e);
      } else if (e.type === "delete") {
        this.#objects.get(e.kind)?.delete(e.key);
        this.#seen.get(e.kind)?.delete(e.key);
        this.#problems.delete(`${e.kind}\u0000${e.key}`);
        out.push(e);
      } else if (e.type === "invalid") {
        if (e.kind !== undefined && e.key !== undefined) {
          if (e.origin.resourceVersion !== undefined) this.#kind(this.#seen, e.kind).set(e.key, e.origin.resourceVersion);
          this.#problems.set(`${e.kind}\u0000${e.key}`, { kind: e.kind, key: e.key, resourceVersion: e.origin.resourceVersion, errors: e.errors });
        }
        out.push(e);
      } else {
        out.push(e);
      }
    }
    return out;
  }

  get<T = Resource>(kind: string, key: string): T | undefined {
    return this.#objects.get(kind)?.get(key) as T | undefined;
  }

  list<T = Resource>(kind: string): T[] {
    return [...(this.#objects.get(kind)?.values() ?? [])] as T[];
  }

  /** Keys known for `kind`: valid objects and objects whose only version seen was invalid. */
  keys(kind: string): string[] {
    return [...(this.#seen.get(kind)?.keys() ?? [])];
  }

  /** The resourceVersion last delivered for an object (valid or not). */
  seenVersion(kind: string, key: string): string | undefined {
    return this.#seen.get(kind)?.get(key);
  }

  /** Objects whose current version is invalid (the last valid one, if any, stays in force). */
  problems(): StoredProblem[] {
    return [...this.#problems.values()];
  }

  problem(kind: string, key: string): StoredProblem | undefined {
    return this.#problems.get(`${kind}\u0000${key}`);
  }

  /** Every typed object (of `kinds`, when given), as control's Resources lists. */
  resources(kinds?: ReadonlySet<string>): Resources {
    const r = emptyResources();
    for (const [kind, objects] of this.#objects) {
      if (kinds && !kinds.has(kind)) continue;
      for (const o of objects.values()) addResource(r, o);
    }
    return r;
  }
}
