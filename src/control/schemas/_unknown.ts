/**
 * Unknown-field detection: walks a raw manifest value alongside the zod
 * schema and lists the paths of keys the schema does not declare.
 *
 * zod strips such keys silently (as the API server prunes them); herald
 * reports them as warnings, because a misspelt field is the commonest way a
 * Cilium manifest "does nothing". Reads zod 4's public `_zod.def` tree.
 */
import type { z } from "zod";

type Path = (string | number)[];

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
}

const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "catch", "readonly", "nonoptional"]);

/** The object shapes a schema accepts at this level (after unwrapping). */
function shapes(schema: z.ZodType, depth = 0): Def[] {
  if (depth > 20) return [];
  const d = def(schema);
  if (WRAPPERS.has(d.type)) return shapes(d.innerType!, depth + 1);
  if (d.type === "pipe") return shapes(d.in!, depth + 1);
  if (d.type === "lazy") return shapes(d.getter!(), depth + 1);
  if (d.type === "union") return d.options!.flatMap((o) => shapes(o, depth + 1));
  if (d.type === "intersection") return [...shapes(d.left!, depth + 1), ...shapes(d.right!, depth + 1)];
  return [d];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Paths of keys in `value` that `schema` does not declare. */
export function unknownFields(schema: z.ZodType, value: unknown, path: Path = []): Path[] {
  const out: Path[] = [];
  walk(schema, value, path, out);
  return out;
}

function walk(schema: z.ZodType, value: unknown, path: Path, out: Path[]): void {
  const candidates = shapes(schema);
  if (candidates.some((d) => d.type === "any" || d.type === "unknown")) return;
  if (Array.isArray(value)) {
    const arr = candidates.find((d) => d.type === "array");
    if (arr) value.forEach((item, i) => walk(arr.element!, item, [...path, i], out));
    return;
  }
  if (!isPlainObject(value)) return;
  const record = candidates.find((d) => d.type === "record");
  if (record) {
    for (const [k, v] of Object.entries(value)) walk(record.valueType!, v, [...path, k], out);
    return;
  }
  const objects = candidates.filter((d) => d.type === "object");
  if (objects.length === 0) return;
  for (const [key, v] of Object.entries(value)) {
    const field = objects.map((o) => o.shape![key]).find((s) => s !== undefined);
    if (field === undefined) out.push([...path, key]);
    else walk(field, v, [...path, key], out);
  }
}
