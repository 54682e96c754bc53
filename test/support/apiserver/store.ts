/**
 * The double's "etcd": objects per storage key, one global resourceVersion
 * counter, a bounded per-resource event history (the watch cache window
 * that decides 410 Gone) and synchronous change listeners for watches.
 */
import type { KubeObject } from "./types.ts";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: EventType;
  storage: string;
  /** The object after the change (for DELETED: its last state, with the deletion's resourceVersion). */
  object: KubeObject;
  /** The object before the change (MODIFIED, DELETED). */
  prev?: KubeObject;
  rv: number;
}

interface History {
  events: StoreEvent[];
  /** Watches must start at or after this resourceVersion; older ones get 410. */
  oldest: number;
}

export const objectKey = (namespace: string | undefined, name: string) => (namespace ? `${namespace}/${name}` : name);

export class Store {
  #rv: number;
  #data = new Map<string, Map<string, KubeObject>>();
  #uids = new Map<string, { storage: string; key: string }>();
  #history = new Map<string, History>();
  #listeners = new Set<(ev: StoreEvent) => void>();
  /** Where the history of a resource that has never changed starts. */
  #baseOldest: number;
  historySize: number;

  constructor(options: { historySize: number; startRV?: number }) {
    this.historySize = options.historySize;
    this.#rv = options.startRV ?? 1;
    this.#baseOldest = this.#rv;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  #bucket(storage: string): Map<string, KubeObject> {
    let b = this.#data.get(storage);
    if (!b) this.#data.set(storage, (b = new Map()));
    return b;
  }

  #historyOf(storage: string): History {
    let h = this.#history.get(storage);
    // A resource that never changed has a complete (empty) history since the base.
    if (!h) this.#history.set(storage, (h = { events: [], oldest: this.#baseOldest }));
    return h;
  }

  get(storage: string, key: string): KubeObject | undefined {
    return this.#data.get(storage)?.get(key);
  }

  /** All objects of a storage key, in key order (as etcd lists them). */
  list(storage: string): KubeObject[] {
    const b = this.#data.get(storage);
    if (!b) return [];
    return [...b.entries()].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0)).map(([, o]) => o);
  }

  byUID(uid: string): KubeObject | undefined {
    const at = this.#uids.get(uid);
    return at ? this.get(at.storage, at.key) : undefined;
  }

  storages(): string[] {
    return [...this.#data.keys()];
  }

  /** Writes an object at a new resourceVersion and records the event. */
  put(storage: string, key: string, object: KubeObject): KubeObject {
    this.#historyOf(storage);
    const prev = this.#bucket(storage).get(key);
    const rv = ++this.#rv;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(rv);
    this.#bucket(storage).set(key, stored);
    this.#uids.set(stored.metadata.uid, { storage, key });
    this.#emit({ type: prev ? "MODIFIED" : "ADDED", storage, object: stored, prev, rv });
    return structuredClone(stored);
  }

  /**
   * Removes an object; the DELETED event carries its last state (`final`
   * when a write removed the last finalizer) at the deletion's revision.
   */
  remove(storage: string, key: string, final?: KubeObject): KubeObject | undefined {
    this.#historyOf(storage);
    const prev = this.#bucket(storage).get(key);
    if (!prev) return undefined;
    this.#bucket(storage).delete(key);
    this.#uids.delete(prev.metadata.uid);
    const rv = ++this.#rv;
    const last = structuredClone(final ?? prev);
    last.metadata.resourceVersion = String(rv);
    this.#emit({ type: "DELETED", storage, object: last, prev, rv });
    return structuredClone(last);
  }

  #emit(ev: StoreEvent): void {
    const h = this.#historyOf(ev.storage);
    h.events.push(ev);
    while (h.events.length > this.historySize) {
      const dropped = h.events.shift()!;
      h.oldest = dropped.rv;
    }
    for (const l of [...this.#listeners]) l(ev);
  }

  /**
   * Events of `storage` after `rv`, or "expired" when the window no longer
   * reaches back that far (the caller answers 410 Gone).
   */
  since(storage: string, rv: number): StoreEvent[] | "expired" {
    const h = this.#historyOf(storage);
    if (rv < h.oldest) return "expired";
    return h.events.filter((e) => e.rv > rv);
  }

  oldest(storage: string): number {
    return this.#historyOf(storage).oldest;
  }

  /** Forgets all history: watches from any earlier revision get 410 Gone. */
  compact(storage?: string): void {
    if (storage === undefined) {
      this.#baseOldest = this.#rv;
      this.#history.clear();
    } else this.#history.set(storage, { events: [], oldest: this.#rv });
  }

  subscribe(listener: (ev: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A store with no objects whose revisions continue after this one's, so
   * that every resourceVersion a client holds is too old (state dropped).
   */
  emptied(): Store {
    return new Store({ historySize: this.historySize, startRV: this.#rv + 1 });
  }
}
