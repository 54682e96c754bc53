/**
 * Asynchronous clean-up, as kube-controller-manager does it: the garbage
 * collector (ownerReferences: Background deletes dependents after their last
 * owner is gone, Foreground deletes them before the owner, Orphan strips the
 * references) and namespace termination (Terminating phase, contents deleted,
 * then the namespace). `idle()` lets tests wait until it has settled.
 */
import type { Engine } from "./engine.ts";
import { objectKey, type Store } from "./store.ts";
import type { KubeObject } from "./types.ts";

export class GarbageCollector {
  #engine: Engine;
  #queue: (() => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waiters: (() => void)[] = [];

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  get #store(): Store {
    return this.#engine.store;
  }

  #enqueue(task: () => void): void {
    this.#queue.push(task);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const batch = this.#queue.splice(0);
      for (const task of batch) task();
      if (this.#queue.length) this.#schedule();
      else for (const w of this.#waiters.splice(0)) w();
    }, this.#engine.options.gcDelayMs);
  }

  /** Resolves once no clean-up work is pending. */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#timer === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Drops pending work (the double restarts with no state). */
  clear(): void {
    this.#queue = [];
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiters.splice(0)) w();
  }

  dependents(uid: string): { storage: string; object: KubeObject }[] {
    const out: { storage: string; object: KubeObject }[] = [];
    for (const storage of this.#store.storages()) {
      for (const object of this.#store.list(storage)) {
        if ((object.metadata.ownerReferences ?? []).some((r: KubeObject) => r.uid === uid)) out.push({ storage, object });
      }
    }
    return out;
  }

  hasDependents(uid: string): boolean {
    return this.dependents(uid).length > 0;
  }

  /** Background propagation: dependents whose owners are all gone are deleted, dangling references removed. */
  ownerDeleted(uid: string): void {
    this.#enqueue(() => {
      for (const { storage, object } of this.dependents(uid)) {
        const refs: KubeObject[] = object.metadata.ownerReferences ?? [];
        const live = refs.filter((r) => this.#store.byUID(r.uid));
        if (live.length === 0) {
          if (object.metadata.deletionTimestamp) continue;
          const type = this.#engine.types.byStorage(storage);
          if (type) this.#engine.deleteStored(type, object, "Background");
        } else {
          const updated = structuredClone(object);
          updated.metadata.ownerReferences = live;
          this.#store.put(storage, objectKey(object.metadata.namespace, object.metadata.name), updated);
        }
      }
    });
  }

  /** Orphan propagation: dependents lose their reference to the owner (done before the owner goes). */
  orphanDependents(uid: string): void {
    for (const { storage, object } of this.dependents(uid)) {
      const updated = structuredClone(object);
      const refs = (object.metadata.ownerReferences ?? []).filter((r: KubeObject) => r.uid !== uid);
      if (refs.length) updated.metadata.ownerReferences = refs;
      else delete updated.metadata.ownerReferences;
      this.#store.put(storage, objectKey(object.metadata.namespace, object.metadata.name), updated);
    }
  }

  /** Foreground propagation: delete the dependents, then drop the owner's foregroundDeletion finalizer. */
  foreground(ownerUid: string): void {
    this.#enqueue(() => {
      const owner = this.#store.byUID(ownerUid);
      if (!owner) return;
      const deps = this.dependents(ownerUid);
      for (const { storage, object } of deps) {
        const type = this.#engine.types.byStorage(storage);
        if (type && !object.metadata.deletionTimestamp) this.#engine.deleteStored(type, object, "Foreground");
      }
      if (this.dependents(ownerUid).length > 0) {
        this.foreground(ownerUid);
        return;
      }
      this.#removeFinalizer(owner, "foregroundDeletion");
    });
  }

  #removeFinalizer(owner: KubeObject, finalizer: string): void {
    const storage = this.#storageOf(owner);
    if (!storage) return;
    const key = objectKey(owner.metadata.namespace, owner.metadata.name);
    const updated = structuredClone(owner);
    updated.metadata.finalizers = (owner.metadata.finalizers ?? []).filter((f: string) => f !== finalizer);
    if (updated.metadata.finalizers.length === 0) {
      delete updated.metadata.finalizers;
      this.#store.remove(storage, key, updated);
      this.ownerDeleted(owner.metadata.uid);
    } else {
      this.#store.put(storage, key, updated);
    }
  }

  #storageOf(obj: KubeObject): string | undefined {
    return this.#store.storages().find((s) => this.#store.get(s, objectKey(obj.metadata.namespace, obj.metadata.name))?.metadata.uid === obj.metadata.uid);
  }

  /** Marks a namespace Terminating and deletes its contents, then the namespace. */
  terminateNamespace(ns: KubeObject): KubeObject {
    let marked = ns;
    if (!ns.metadata.deletionTimestamp) {
      const updated = structuredClone(ns);
      updated.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      updated.metadata.deletionGracePeriodSeconds = 0;
      updated.status = { ...updated.status, phase: "Terminating" };
      marked = this.#store.put("core/namespaces", ns.metadata.name, updated);
    }
    this.#drainNamespace(ns.metadata.name);
    return marked;
  }

  #drainNamespace(name: string): void {
    this.#enqueue(() => {
      let remaining = 0;
      for (const type of this.#engine.types.all()) {
        if (!type.namespaced || type.toExternal) continue;
        for (const o of this.#store.list(type.storage)) {
          if (o.metadata.namespace !== name) continue;
          remaining++;
          if (!o.metadata.deletionTimestamp) this.#engine.deleteStored(type, o, "Background");
        }
      }
      if (remaining > 0) {
        this.#drainNamespace(name);
        return;
      }
      const ns = this.#store.get("core/namespaces", name);
      if (!ns) return;
      const final = structuredClone(ns);
      final.spec = { ...final.spec, finalizers: [] };
      this.#store.remove("core/namespaces", name, final);
      this.ownerDeleted(ns.metadata.uid);
    });
  }
}
