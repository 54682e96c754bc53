/**
 * Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`),
 * which `kubectl get` asks for: meta.k8s.io/v1 Table objects with the columns
 * the real server prints for each kind, CRD additionalPrinterColumns for
 * custom resources, and "Name / Created At" for everything else.
 */
import type { Json } from "./patch.ts";
import type { KubeObject, PrinterColumn, ResourceType } from "./types.ts";

/** apimachinery duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    const years = Math.floor(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export const age = (timestamp: string | undefined, now: number) =>
  timestamp ? humanDuration(now - Date.parse(timestamp)) : "<unknown>";

const NAME_COLUMN: PrinterColumn = {
  name: "Name",
  type: "string",
  format: "name",
  jsonPath: ".metadata.name",
  description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
};

/**
 * A tiny JSONPath for printer columns: `.a.b`, `.a[0]`, `.a[*].b` and
 * `.a[?(@.type=="X")].b`, which is what Cilium's CRDs use.
 */
export function jsonPathLookup(obj: Json, path: string): Json[] {
  const tokens = path.replace(/^\{?\.?/, "").replace(/\}$/, "").match(/\[\?\(@\.[^)]*\)\]|\[[^\]]*\]|[^.[\]]+/g) ?? [];
  let current: Json[] = [obj];
  for (const t of tokens) {
    const next: Json[] = [];
    for (const v of current) {
      if (v === null || v === undefined) continue;
      const filter = /^\[\?\(@\.([\w.-]+)\s*==\s*["']([^"']*)["']\)\]$/.exec(t);
      if (filter) {
        if (Array.isArray(v)) next.push(...v.filter((x) => x?.[filter[1]] === filter[2]));
      } else if (t === "[*]") {
        if (Array.isArray(v)) next.push(...v);
      } else if (/^\[\d+\]$/.test(t)) {
        if (Array.isArray(v)) next.push(v[Number(t.slice(1, -1))]);
      } else if (typeof v === "object" && !Array.isArray(v) && t in v) {
        next.push(v[t]);
      }
    }
    current = next.filter((x) => x !== undefined);
  }
  return current;
}

function cellFor(column: PrinterColumn, obj: KubeObject, now: number): Json {
  const found = jsonPathLookup(obj, column.jsonPath);
  if (found.length === 0) return null;
  const value = found[0];
  switch (column.type) {
    case "date":
      return typeof value === "string" ? age(value, now) : null;
    case "integer":
      return Number.isInteger(value) ? value : null;
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    default:
      return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}

/** Columns and cells for one object of `type` as served at `version`. */
export function tableFor(type: ResourceType, version: string): { columns: PrinterColumn[]; cells: (o: KubeObject, now: number) => Json[] } {
  if (type.columns && type.cells) return { columns: type.columns, cells: type.cells };
  if (type.custom) {
    const extra = type.printerColumns?.[version] ?? [];
    const columns = [NAME_COLUMN, ...extra];
    if (!extra.some((c) => c.jsonPath === ".metadata.creationTimestamp")) {
      columns.push({ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" });
    }
    return { columns, cells: (o, now) => columns.map((c) => (c === NAME_COLUMN ? o.metadata.name : cellFor(c, o, now))) };
  }
  const columns: PrinterColumn[] = [
    NAME_COLUMN,
    { name: "Created At", type: "date", jsonPath: ".metadata.creationTimestamp", description: "The creation time of the object." },
  ];
  return { columns, cells: (o) => [o.metadata.name, o.metadata.creationTimestamp] };
}

/** Builds a meta.k8s.io/v1 Table; `includeObject` is None, Metadata (default) or Object. */
export function toTable(
  type: ResourceType,
  version: string,
  objects: KubeObject[],
  listMeta: KubeObject,
  includeObject: string | null,
  now: number,
): KubeObject {
  const { columns, cells } = tableFor(type, version);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? "",
      description: c.description ?? "",
      priority: c.priority ?? 0,
    })),
    rows: objects.map((o) => ({ cells: cells(o, now), object: rowObject(o, includeObject) })),
  };
}

function rowObject(o: KubeObject, includeObject: string | null): Json {
  if (includeObject === "None") return undefined;
  if (includeObject === "Object") return o;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

/** True when the Accept header asks for a Table before plain JSON. */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(",")[0];
  return /as=Table/.test(first) && /g=meta\.k8s\.io/.test(first);
}
