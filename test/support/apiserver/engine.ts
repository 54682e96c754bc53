/**
 * The API semantics, independent of HTTP: create, get, list, update, patch
 * and delete with Kubernetes' rules — resourceVersion and optimistic
 * concurrency, uid, generation, creationTimestamp, the status subresource,
 * custom-resource schemas (prune, default, validate, fieldValidation),
 * finalizers, namespaces and dry runs. Garbage collection and namespace
 * termination live in gc.ts; watches in watch.ts.
 */
import { parse as parseYaml } from "yaml";
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  type FieldError,
  fieldForbidden,
  forbidden,
  gone,
  invalid,
  notFound,
  OBJECT_MODIFIED,
  timeout,
  unsupportedMediaType,
} from "./errors.ts";
import { GarbageCollector } from "./gc.ts";
import { deepEqual, type Json, jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { TypeRegistry } from "./registry.ts";
import { applyDefaults, prune, validate } from "./schema.ts";
import { type Matcher, parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { objectKey, Store } from "./store.ts";
import { apiVersionOf, type KubeObject, type ResourceType, type StrategyContext } from "./types.ts";
import { metadataErrors } from "./validation.ts";

export interface EngineOptions {
  /** Events kept per resource for watches; older resourceVersions get 410 Gone. */
  historySize: number;
  serviceCIDRs: string[];
  nodePortRange: [number, number];
  /** Delay of each garbage-collector step (the real one is asynchronous too). */
  gcDelayMs: number;
  /** Namespaces that exist from the start. */
  namespaces: string[];
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  historySize: 1000,
  serviceCIDRs: ["10.96.0.0/12"],
  nodePortRange: [30000, 32767],
  gcDelayMs: 5,
  namespaces: ["default", "kube-system", "kube-public", "kube-node-lease"],
};

export interface WriteOptions {
  dryRun?: boolean;
  /** Ignore | Warn (server default) | Strict: what to do with fields a custom resource's schema does not declare. */
  fieldValidation?: string;
  fieldManager?: string;
  subresource?: "status";
  /** Filled with warnings for the response's Warning headers. */
  warnings?: string[];
}

export interface DeleteOptions {
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ListQuery {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
}

const PATCH_TYPES = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

/** RFC 3339 with seconds, as metav1.Time serialises. */
export const timestamp = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

const SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789";
const randomSuffix = () => Array.from({ length: 5 }, () => SUFFIX_CHARS[Math.floor(Math.random() * SUFFIX_CHARS.length)]).join("");

export const groupResource = (t: ResourceType) => ({ group: t.group, resource: t.resource });

export class Engine {
  store: Store;
  readonly types = new TypeRegistry();
  readonly options: EngineOptions;
  readonly gc: GarbageCollector;
  readonly ctx: StrategyContext;

  constructor(options: Partial<EngineOptions> = {}) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...given };
    this.store = new Store({ historySize: this.options.historySize });
    this.gc = new GarbageCollector(this);
    this.ctx = {
      list: (storage) => this.store.list(storage),
      options: { serviceCIDRs: this.options.serviceCIDRs, nodePortRange: this.options.nodePortRange },
    };
    this.#seedNamespaces();
  }

  #seedNamespaces(): void {
    const ns = this.types.find("", "v1", "namespaces")!;
    for (const name of this.options.namespaces) {
      if (!this.store.get(ns.storage, name)) this.create(ns, "v1", undefined, { metadata: { name } });
    }
  }

  /** Drops every object, keeping the revision counter (watchers from before get 410). */
  reset(): void {
    this.store = this.store.emptied();
    this.types.syncCRDs([]);
    this.#seedNamespaces();
  }

  // ---- conversion between the stored and the served form ----

  external(type: ResourceType, version: string, stored: KubeObject): KubeObject {
    const copy = structuredClone(stored);
    const converted = type.toExternal ? type.toExternal(copy) : copy;
    const { apiVersion: _a, kind: _k, ...rest } = converted;
    return { apiVersion: apiVersionOf(type.group, version), kind: type.kind, ...rest };
  }

  #internal(type: ResourceType, body: KubeObject): KubeObject {
    const converted = type.toInternal ? type.toInternal(structuredClone(body)) : structuredClone(body);
    converted.apiVersion = apiVersionOf(type.group, type.storageVersion);
    converted.kind = type.kind;
    converted.metadata ??= {};
    return converted;
  }

  #checkBody(type: ResourceType, version: string, namespace: string | undefined, body: Json, name?: string): void {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    }
    const want = apiVersionOf(type.group, version);
    if (body.kind !== undefined && body.kind !== type.kind) {
      throw badRequest(`${body.kind} in version "${version}" cannot be handled as a ${type.kind}: no kind "${body.kind}" is registered for version "${want}"`);
    }
    if (body.apiVersion !== undefined && body.apiVersion !== want) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${want})`);
    }
    const meta = body.metadata ?? {};
    if (type.namespaced && meta.namespace && meta.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    if (name !== undefined && meta.name && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
  }

  #requireNamespace(type: ResourceType, namespace: string | undefined, name: string): void {
    if (!type.namespaced) return;
    const ns = this.store.get("core/namespaces", namespace ?? "");
    if (!ns) throw notFound({ group: "", resource: "namespaces" }, namespace ?? "");
    if (ns.metadata.deletionTimestamp) {
      throw forbidden(groupResource(type), name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  /** Custom resources: prune unknown fields (per fieldValidation), default, validate against the version's schema. */
  #schemaPass(type: ResourceType, version: string, obj: KubeObject, opts: WriteOptions): FieldError[] {
    const schema = type.schemas?.[version];
    if (!schema) return [];
    const unknown = prune(obj, schema);
    const mode = opts.fieldValidation ?? "Warn";
    if (unknown.length && mode === "Strict") {
      const list = unknown.map((u) => `unknown field "${u}"`).join(", ");
      throw badRequest(`${type.kind} in version "${version}" cannot be handled as a ${type.kind}: strict decoding error: ${list}`);
    }
    if (unknown.length && mode === "Warn") opts.warnings?.push(...unknown.map((u) => `unknown field "${u}"`));
    applyDefaults(obj, schema);
    const { apiVersion: _a, kind: _k, metadata: _m, ...content } = obj;
    return validate(content, { ...schema, required: (schema.required ?? []).filter((r) => !["apiVersion", "kind", "metadata"].includes(r)) });
  }

  #fail(type: ResourceType, name: string, errors: FieldError[]): never {
    throw invalid(type.kind, groupResource(type), name, errors);
  }

  // ---- reads ----

  getStored(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const obj = this.store.get(type.storage, objectKey(type.namespaced ? namespace : undefined, name));
    if (!obj) throw notFound(groupResource(type), name);
    return obj;
  }

  get(type: ResourceType, version: string, namespace: string | undefined, name: string): KubeObject {
    return this.external(type, version, this.getStored(type, namespace, name));
  }

  fieldMatcher(type: ResourceType, selector: string | null | undefined): (o: KubeObject) => boolean {
    const extra = type.fieldLabels ?? {};
    const match = parseFieldSelector(selector, ["metadata.name", "metadata.namespace", ...Object.keys(extra)]);
    return (o) => {
      const fields: Record<string, string> = { "metadata.name": o.metadata.name, "metadata.namespace": o.metadata.namespace ?? "" };
      for (const [k, f] of Object.entries(extra)) fields[k] = f(o);
      return match(fields);
    };
  }

  /** A predicate for watches and lists: namespace, label selector, field selector. */
  matcher(type: ResourceType, namespace: string | undefined, q: ListQuery): (o: KubeObject) => boolean {
    const labels: Matcher = parseLabelSelector(q.labelSelector);
    const fields = this.fieldMatcher(type, q.fieldSelector);
    return (o) => (!namespace || o.metadata.namespace === namespace) && labels(o.metadata.labels ?? {}) && fields(o);
  }

  list(type: ResourceType, version: string, namespace: string | undefined, q: ListQuery): KubeObject {
    const match = this.matcher(type, namespace, q);
    const current = this.store.resourceVersion;
    let rv = current;
    if (q.resourceVersion && q.resourceVersion !== "0") {
      const n = Number(q.resourceVersion);
      if (!Number.isInteger(n)) throw badRequest(`resourceVersion: Invalid value: "${q.resourceVersion}": strconv.ParseUint: parsing "${q.resourceVersion}": invalid syntax`);
      if (n > current) throw timeout(`Too large resource version: ${n}, current: ${current}`);
      if (q.resourceVersionMatch === "Exact" && n !== current) {
        if (n < this.store.oldest(type.storage)) throw expired(n, this.store.oldest(type.storage));
        throw gone(`The resourceVersion for the provided list is too old.`);
      }
    }
    let start: string | undefined;
    if (q.continue) {
      try {
        const token = JSON.parse(atob(q.continue));
        start = token.start;
        rv = token.rv;
      } catch {
        throw badRequest("continue key is not valid: illegal base64 data at input byte 0");
      }
    }
    const keyed = this.store.list(type.storage)
      .filter(match)
      .map((o) => ({ key: objectKey(o.metadata.namespace, o.metadata.name), o }))
      .filter(({ key }) => start === undefined || key > start);
    const limit = q.limit && q.limit > 0 ? q.limit : keyed.length;
    const page = keyed.slice(0, limit);
    const metadata: KubeObject = { resourceVersion: String(rv) };
    if (page.length < keyed.length) {
      metadata.continue = btoa(JSON.stringify({ rv, start: page[page.length - 1].key }));
      metadata.remainingItemCount = keyed.length - page.length;
    }
    return {
      apiVersion: apiVersionOf(type.group, version),
      kind: type.listKind,
      metadata,
      items: page.map(({ o }) => this.external(type, version, o)),
    };
  }

  // ---- writes ----

  create(type: ResourceType, version: string, namespace: string | undefined, body: Json, opts: WriteOptions = {}): KubeObject {
    this.#checkBody(type, version, namespace, body);
    const obj = this.#internal(type, body);
    const meta = obj.metadata;
    if (meta.resourceVersion) throw badRequest("resourceVersion should not be set on objects to be created");
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (type.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    this.#requireNamespace(type, namespace, meta.name ?? "");
    meta.uid = crypto.randomUUID();
    meta.creationTimestamp = timestamp();
    for (const f of ["deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"]) delete meta[f];
    if (type.generation !== "none") meta.generation = 1;
    else delete meta.generation;
    const errors: FieldError[] = [];
    if (type.custom) {
      if (type.hasStatus) delete obj.status;
      errors.push(...this.#schemaPass(type, version, obj, opts));
    }
    errors.unshift(...metadataErrors(obj, type));
    if (errors.length === 0) {
      type.prepareCreate?.(obj, this.ctx);
      errors.push(...(type.validate?.(obj, undefined) ?? []));
    }
    if (errors.length) this.#fail(type, meta.name ?? "", errors);
    const key = objectKey(meta.namespace, meta.name);
    if (this.store.get(type.storage, key)) throw alreadyExists(groupResource(type), meta.name);
    if (opts.dryRun) return this.external(type, version, obj);
    const stored = this.store.put(type.storage, key, obj);
    this.#afterWrite(type);
    return this.external(type, version, stored);
  }

  /** PUT; `created` tells the handler to answer 201. */
  update(
    type: ResourceType,
    version: string,
    namespace: string | undefined,
    name: string,
    body: Json,
    opts: WriteOptions = {},
  ): { object: KubeObject; created: boolean } {
    this.#checkBody(type, version, namespace, body, name);
    const old = this.store.get(type.storage, objectKey(type.namespaced ? namespace : undefined, name));
    if (!old) {
      if (opts.subresource || !type.allowCreateOnUpdate) throw notFound(groupResource(type), name);
      const b = structuredClone(body);
      delete b.metadata?.resourceVersion;
      return { object: this.create(type, version, namespace, { ...b, metadata: { ...b.metadata, name } }, opts), created: true };
    }
    const obj = this.#internal(type, body);
    const rv = obj.metadata.resourceVersion;
    if (rv) {
      if (rv !== old.metadata.resourceVersion) throw conflict(groupResource(type), name, OBJECT_MODIFIED);
    } else if (!type.allowUnconditionalUpdate) {
      this.#fail(type, name, [{
        field: "metadata.resourceVersion",
        type: "FieldValueInvalid",
        message: "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
      }]);
    }
    return { object: this.#commitUpdate(type, version, old, obj, opts), created: false };
  }

  patch(
    type: ResourceType,
    version: string,
    namespace: string | undefined,
    name: string,
    raw: string,
    contentType: string,
    opts: WriteOptions = {},
  ): KubeObject {
    const media = contentType.split(";")[0].trim();
    const accepted = type.custom
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.apply];
    if (!accepted.includes(media)) throw unsupportedMediaType(accepted);
    const old = this.store.get(type.storage, objectKey(type.namespaced ? namespace : undefined, name));
    let patch: Json;
    try {
      patch = media === PATCH_TYPES.apply ? parseYaml(raw) : JSON.parse(raw);
    } catch (err) {
      throw badRequest(`error decoding patch: ${(err as Error).message}`);
    }
    if (media === PATCH_TYPES.apply) return this.#apply(type, version, namespace, name, old, patch, opts);
    if (!old) throw notFound(groupResource(type), name);
    const current = this.external(type, version, old);
    let patched: Json;
    if (media === PATCH_TYPES.json) patched = jsonPatch(current, patch);
    else if (media === PATCH_TYPES.merge) patched = mergePatch(current, patch);
    else patched = strategicMergePatch(current, patch, type.patchMeta);
    if (typeof patched !== "object" || patched === null || Array.isArray(patched)) {
      throw badRequest("the patch result is not an object");
    }
    this.#checkBody(type, version, namespace, patched, name);
    const obj = this.#internal(type, patched);
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(groupResource(type), name, OBJECT_MODIFIED);
    return this.#commitUpdate(type, version, old, obj, opts);
  }

  /**
   * Server-side apply, simplified: creates the object or merges the applied
   * configuration into it (strategic merge for built-in kinds, merge patch
   * for custom resources). No managedFields, no conflicts, and fields left
   * out of a later apply are not removed.
   */
  #apply(
    type: ResourceType,
    version: string,
    namespace: string | undefined,
    name: string,
    old: KubeObject | undefined,
    applied: Json,
    opts: WriteOptions,
  ): KubeObject {
    if (!opts.fieldManager) throw badRequest("PATCH apply requests require the fieldManager query parameter");
    if (typeof applied !== "object" || applied === null || Array.isArray(applied)) throw badRequest("error decoding YAML: not an object");
    if (applied.apiVersion === undefined || applied.kind === undefined) {
      throw badRequest("invalid object type: /, Kind=");
    }
    this.#checkBody(type, version, namespace, applied, name);
    if (!old) {
      if (opts.subresource) throw notFound(groupResource(type), name);
      return this.create(type, version, namespace, { ...applied, metadata: { ...applied.metadata, name } }, opts);
    }
    const current = this.external(type, version, old);
    const merged = type.custom ? mergePatch(current, applied) : strategicMergePatch(current, applied, type.patchMeta);
    const obj = this.#internal(type, merged);
    if (applied.metadata?.resourceVersion && applied.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(groupResource(type), name, OBJECT_MODIFIED);
    }
    return this.#commitUpdate(type, version, old, obj, opts);
  }

  #contentChanged(type: ResourceType, a: KubeObject, b: KubeObject): boolean {
    const strip = (o: KubeObject) => {
      const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = o;
      if (type.hasStatus) delete rest.status;
      return rest;
    };
    if (!deepEqual(strip(a), strip(b))) return true;
    return type.generation === "contentOrLabels" && !deepEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {});
  }

  /** The shared tail of PUT, PATCH and apply: status rules, immutable metadata, validation, generation, store. */
  #commitUpdate(type: ResourceType, version: string, old: KubeObject, candidate: KubeObject, opts: WriteOptions): KubeObject {
    let obj: KubeObject;
    if (opts.subresource === "status") {
      if (type.custom) {
        // A custom resource's status write changes status and nothing else.
        obj = structuredClone(old);
        if (candidate.status !== undefined) obj.status = candidate.status;
        else delete obj.status;
      } else {
        // Built-in status strategies keep the old spec; metadata may change.
        obj = structuredClone(candidate);
        for (const k of new Set([...Object.keys(old), ...Object.keys(candidate)])) {
          if (k === "metadata" || k === "status" || k === "apiVersion" || k === "kind") continue;
          if (old[k] === undefined) delete obj[k];
          else obj[k] = structuredClone(old[k]);
        }
      }
    } else {
      obj = candidate;
      if (type.hasStatus) {
        if (old.status !== undefined) obj.status = structuredClone(old.status);
        else delete obj.status;
      }
    }
    const meta = (obj.metadata ??= {});
    for (const f of ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name"]) {
      if (old.metadata[f] === undefined) delete meta[f];
      else meta[f] = old.metadata[f];
    }
    delete meta.managedFields;
    meta.resourceVersion = old.metadata.resourceVersion;
    const errors: FieldError[] = [];
    if (type.custom) errors.push(...this.#schemaPass(type, version, obj, opts));
    if (!opts.subresource && errors.length === 0) type.prepareUpdate?.(obj, old, this.ctx);
    errors.unshift(...metadataErrors(obj, type));
    errors.push(...(type.validate?.(obj, old) ?? []));
    if (old.metadata.deletionTimestamp) {
      const added = (meta.finalizers ?? []).filter((f: string) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length) {
        errors.push(fieldForbidden("metadata.finalizers", `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f: string) => JSON.stringify(f)).join(", ")}}`));
      }
    }
    if (errors.length) this.#fail(type, old.metadata.name, errors);
    if (type.generation !== "none") {
      meta.generation = (old.metadata.generation ?? 1) + (this.#contentChanged(type, old, obj) ? 1 : 0);
    }
    // A write that changes nothing keeps the resourceVersion and sends no event.
    if (deepEqual(obj, old)) return this.external(type, version, old);
    if (opts.dryRun) return this.external(type, version, obj);
    const key = objectKey(meta.namespace, meta.name);
    if (meta.deletionTimestamp && (meta.finalizers ?? []).length === 0) {
      const last = this.store.remove(type.storage, key, obj)!;
      this.#afterDelete(type, last, "Background");
      return this.external(type, version, last);
    }
    const stored = this.store.put(type.storage, key, obj);
    this.#afterWrite(type);
    return this.external(type, version, stored);
  }

  delete(type: ResourceType, version: string, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject {
    const old = this.getStored(type, namespace, name);
    const p = opts.preconditions ?? {};
    if (p.uid && p.uid !== old.metadata.uid) {
      throw conflict(groupResource(type), name, `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (p.resourceVersion && p.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(groupResource(type), name, `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in meta: ${old.metadata.resourceVersion}`);
    }
    if (opts.dryRun) return this.#deleteResponse(type, version, old);
    const policy = opts.propagationPolicy ?? (opts.orphanDependents ? "Orphan" : "Background");
    const after = this.deleteStored(type, old, policy);
    return after.metadata.deletionTimestamp && this.store.get(type.storage, objectKey(after.metadata.namespace, after.metadata.name))
      ? this.external(type, version, after)
      : this.#deleteResponse(type, version, after);
  }

  #deleteResponse(type: ResourceType, version: string, obj: KubeObject): KubeObject {
    if (type.returnDeletedObject) return this.external(type, version, obj);
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: obj.metadata.name, group: type.group || undefined, kind: type.resource, uid: obj.metadata.uid },
    };
  }

  /**
   * Deletes a stored object with a propagation policy; objects with
   * finalizers (or Foreground deletion) are only marked. Used by DELETE, the
   * garbage collector and namespace termination. Returns the last state.
   */
  deleteStored(type: ResourceType, old: KubeObject, policy: "Background" | "Foreground" | "Orphan"): KubeObject {
    const key = objectKey(old.metadata.namespace, old.metadata.name);
    if (type.group === "" && type.resource === "namespaces") return this.gc.terminateNamespace(old);
    if (type.group === "apiextensions.k8s.io" && type.resource === "customresourcedefinitions") {
      const custom = this.types.customFor(old.metadata.name);
      if (custom) for (const o of this.store.list(custom.storage)) this.store.remove(custom.storage, objectKey(o.metadata.namespace, o.metadata.name));
    }
    if (policy === "Orphan") this.gc.orphanDependents(old.metadata.uid);
    const finalizers: string[] = [...(old.metadata.finalizers ?? [])];
    if (policy === "Foreground" && this.gc.hasDependents(old.metadata.uid) && !finalizers.includes("foregroundDeletion")) {
      finalizers.push("foregroundDeletion");
    }
    if (finalizers.length > 0) {
      if (old.metadata.deletionTimestamp && deepEqual(finalizers, old.metadata.finalizers)) return old;
      const marked = structuredClone(old);
      marked.metadata.deletionTimestamp ??= timestamp();
      marked.metadata.deletionGracePeriodSeconds ??= 0;
      marked.metadata.finalizers = finalizers;
      const stored = this.store.put(type.storage, key, marked);
      if (finalizers.includes("foregroundDeletion")) this.gc.foreground(stored.metadata.uid);
      return stored;
    }
    const last = this.store.remove(type.storage, key)!;
    this.#afterDelete(type, last, policy);
    return last;
  }

  #afterDelete(type: ResourceType, last: KubeObject, policy: string): void {
    this.#afterWrite(type);
    if (policy !== "Orphan") this.gc.ownerDeleted(last.metadata.uid);
  }

  #afterWrite(type: ResourceType): void {
    if (type.group === "apiextensions.k8s.io" && type.resource === "customresourcedefinitions") {
      this.types.syncCRDs(this.store.list(type.storage));
    }
  }

  deleteCollection(type: ResourceType, version: string, namespace: string | undefined, q: ListQuery, opts: DeleteOptions): KubeObject {
    const match = this.matcher(type, namespace, q);
    const items = this.store.list(type.storage).filter(match);
    const policy = opts.propagationPolicy ?? "Background";
    const out = opts.dryRun ? items : items.map((o) => this.deleteStored(type, o, policy));
    return {
      apiVersion: apiVersionOf(type.group, version),
      kind: type.listKind,
      metadata: { resourceVersion: String(this.store.resourceVersion) },
      items: out.map((o) => this.external(type, version, o)),
    };
  }
}
