/**
 * Which resource types are served right now: the built-in ones plus one per
 * established CustomResourceDefinition, looked up by group/version/resource
 * (URLs), by storage key (watch fan-out, garbage collection) or by kind.
 */
import { builtinTypes } from "./builtin.ts";
import { typeFromCRD } from "./crd.ts";
import type { KubeObject, ResourceType } from "./types.ts";

export class TypeRegistry {
  #builtin: ResourceType[] = builtinTypes();
  #custom = new Map<string, ResourceType>();

  all(): ResourceType[] {
    return [...this.#builtin, ...this.#custom.values()];
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.resource === resource && t.versions.includes(version));
  }

  byStorage(storage: string): ResourceType | undefined {
    // The storage's own type (not an alias such as events.k8s.io/events).
    return this.all().find((t) => t.storage === storage && !t.toExternal) ?? this.all().find((t) => t.storage === storage);
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.kind === kind);
  }

  /** Types registered by a CRD (by CRD name). */
  customFor(crdName: string): ResourceType | undefined {
    return this.#custom.get(crdName);
  }

  /** Re-derives the custom types from the stored CRDs. */
  syncCRDs(crds: KubeObject[]): void {
    this.#custom.clear();
    for (const crd of crds) {
      if (crd.metadata.deletionTimestamp) continue;
      const t = typeFromCRD(crd);
      if (t) this.#custom.set(crd.metadata.name, t);
    }
  }
}
