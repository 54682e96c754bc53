/**
 * The three PATCH formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902,
 * with the `test` op) and Kubernetes' strategic merge patch, the last driven by
 * per-kind patch metadata (merge keys and strategies from the Go struct tags).
 */
import { badRequest, patchRejected } from "./errors.ts";

// deno-lint-ignore no-explicit-any
export type Json = any;

const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

/** RFC 7386. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The RFC 7386 patch that turns `from` into `to` (used by status writers and tests). */
export function createMergePatch(from: Json, to: Json): Json {
  if (!isObject(from) || !isObject(to)) return clone(to);
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (!(k in from)) patch[k] = clone(v);
    else if (!deepEqual(from[k], v)) patch[k] = isObject(from[k]) && isObject(v) ? createMergePatch(from[k], v) : clone(v);
  }
  return patch;
}

export function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x: Json, i: number) => deepEqual(x, b[i]));
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

// ---- RFC 6902 ----

interface Operation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split("/").map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function arrayIndex(token: string, length: number, forAdd: boolean): number {
  if (forAdd && token === "-") return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > length || (!forAdd && i === length)) throw new Error(`array index ${i} out of bounds`);
  return i;
}

function getAt(doc: Json, tokens: string[]): Json {
  let cur = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)];
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw new Error(`missing value at "${t}"`);
  }
  return cur;
}

function parentOf(doc: Json, tokens: string[]): [Json, string] {
  if (tokens.length === 0) throw new Error("cannot address the document root");
  const parent = getAt(doc, tokens.slice(0, -1));
  if (!isObject(parent) && !Array.isArray(parent)) throw new Error("parent is not a container");
  return [parent, tokens[tokens.length - 1]];
}

function addAt(doc: Json, tokens: string[], value: Json): Json {
  if (tokens.length === 0) return value;
  const [parent, last] = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else parent[last] = value;
  return doc;
}

function removeAt(doc: Json, tokens: string[]): Json {
  const [parent, last] = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false), 1);
  else {
    if (!Object.hasOwn(parent, last)) throw new Error(`missing key "${last}"`);
    delete parent[last];
  }
  return doc;
}

/** RFC 6902; a malformed patch is a 400, a patch that does not apply a 422. */
export function jsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  const ops = patch as Operation[];
  for (const op of ops) {
    if (!isObject(op) || typeof op.path !== "string") throw badRequest("invalid JSON patch operation: missing path");
    if (!["add", "remove", "replace", "move", "copy", "test"].includes(op.op)) {
      throw badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  let doc = clone(target);
  try {
    for (const op of ops) {
      const tokens = parsePointer(op.path);
      switch (op.op) {
        case "add":
          doc = addAt(doc, tokens, clone(op.value));
          break;
        case "remove":
          doc = removeAt(doc, tokens);
          break;
        case "replace":
          getAt(doc, tokens); // the target must exist
          if (tokens.length === 0) doc = clone(op.value);
          else {
            const [parent, last] = parentOf(doc, tokens);
            if (Array.isArray(parent)) parent[arrayIndex(last, parent.length, false)] = clone(op.value);
            else parent[last] = clone(op.value);
          }
          break;
        case "move": {
          const from = parsePointer(op.from ?? "");
          const value = getAt(doc, from);
          doc = addAt(removeAt(doc, from), tokens, value);
          break;
        }
        case "copy":
          doc = addAt(doc, tokens, clone(getAt(doc, parsePointer(op.from ?? ""))));
          break;
        case "test":
          if (!deepEqual(getAt(doc, tokens), op.value)) throw new Error(`testing value ${op.path} failed`);
          break;
      }
    }
  } catch (err) {
    if (err instanceof Error && err.name === "ApiError") throw err;
    throw patchRejected();
  }
  return doc;
}

// ---- strategic merge patch ----

/** Patch metadata for one field: what the Go struct tags say. */
export interface PatchMeta {
  /** `patchStrategy`: "merge" merges lists (by mergeKey for lists of maps); "retainKeys" honours $retainKeys. */
  strategy?: "merge" | "replace" | "retainKeys" | "merge,retainKeys";
  mergeKey?: string;
  /** Sub-fields of a struct (or of the list items' struct). */
  fields?: Record<string, PatchMeta>;
}

const DIRECTIVE = "$patch";
const RETAIN = "$retainKeys";
const ORDER = "$setElementOrder/";
const DELETE_PRIMITIVE = "$deleteFromPrimitiveList/";

/** Applies a strategic merge patch; fields without metadata are replaced (atomic), maps merge. */
export function strategicMergePatch(target: Json, patch: Json, meta: PatchMeta | undefined): Json {
  if (!isObject(patch)) throw badRequest("json: cannot unmarshal into Go value of type map[string]interface {}");
  return mergeMap(isObject(target) ? target : {}, patch, meta);
}

function mergeMap(original: Record<string, Json>, patch: Record<string, Json>, meta: PatchMeta | undefined): Json {
  const directive = patch[DIRECTIVE];
  if (directive === "replace") {
    const { [DIRECTIVE]: _, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (directive === "delete") return undefined;
  if (directive !== undefined && directive !== "merge") throw badRequest(`Unknown patch type: ${directive}`);

  let out: Record<string, Json> = { ...original };
  const retain = patch[RETAIN];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw badRequest("invalid patch: $retainKeys must be a list");
    out = Object.fromEntries(Object.entries(out).filter(([k]) => retain.includes(k)));
  }
  const orders = new Map<string, Json[]>();
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN) continue;
    if (key.startsWith(ORDER)) {
      orders.set(key.slice(ORDER.length), value);
      continue;
    }
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = key.slice(DELETE_PRIMITIVE.length);
      if (Array.isArray(out[field]) && Array.isArray(value)) {
        out[field] = out[field].filter((x: Json) => !value.some((d: Json) => deepEqual(d, x)));
      }
      continue;
    }
    const fieldMeta = meta?.fields?.[key];
    if (value === null) {
      delete out[key];
    } else if (isObject(value) && isObject(out[key])) {
      const merged = mergeMap(out[key], value, fieldMeta);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (isObject(value)) {
      const merged = mergeMap({}, value, fieldMeta);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value) && Array.isArray(out[key]) && fieldMeta?.strategy?.includes("merge")) {
      out[key] = mergeList(out[key], value, fieldMeta);
    } else if (Array.isArray(value)) {
      out[key] = stripListDirectives(value, fieldMeta);
    } else {
      out[key] = clone(value);
    }
  }
  for (const [field, order] of orders) {
    if (Array.isArray(out[field]) && Array.isArray(order)) out[field] = applyOrder(out[field], order, meta?.fields?.[field]);
  }
  return out;
}

function mergeList(original: Json[], patch: Json[], meta: PatchMeta): Json[] {
  const key = meta.mergeKey;
  if (patch.some((p) => isObject(p) && p[DIRECTIVE] === "replace")) {
    return stripListDirectives(patch.filter((p) => !(isObject(p) && p[DIRECTIVE] === "replace")), meta);
  }
  if (!key || !patch.every(isObject)) {
    // A merging list of primitives: union, original order first.
    const out = [...original];
    for (const v of patch) if (!out.some((x) => deepEqual(x, v))) out.push(clone(v));
    return out;
  }
  const out = original.map((x) => clone(x));
  for (const item of patch) {
    if (!(key in item)) throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const idx = out.findIndex((x) => isObject(x) && deepEqual(x[key], item[key]));
    if (item[DIRECTIVE] === "delete") {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = mergeMap(out[idx], item, meta);
    else out.push(mergeMap({}, item, meta));
  }
  return out.filter((x) => x !== undefined);
}

function applyOrder(list: Json[], order: Json[], meta: PatchMeta | undefined): Json[] {
  const key = meta?.mergeKey;
  const ident = (x: Json) => (key && isObject(x) ? x[key] : x);
  const wanted = order.map((o) => (key && isObject(o) ? o[key] : o));
  const ranked = list.map((x, i) => {
    const r = wanted.findIndex((w) => deepEqual(w, ident(x)));
    return { x, rank: r < 0 ? wanted.length + i : r };
  });
  return ranked.sort((a, b) => a.rank - b.rank).map((r) => r.x);
}

function stripListDirectives(list: Json[], meta: PatchMeta | undefined): Json[] {
  return list
    .filter((x) => !(isObject(x) && x[DIRECTIVE] === "delete"))
    .map((x) => (isObject(x) ? mergeMap({}, x, meta) : clone(x)));
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !k.startsWith("$"))
      .map(([k, v]) => [k, stripDirectives(v)]),
  );
}
