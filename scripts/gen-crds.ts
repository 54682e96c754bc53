/**
 * Generates deploy/kubernetes/10-crds.yaml: the CustomResourceDefinitions
 * herald reads and writes, for clusters without Cilium's. Names, versions,
 * scope, short names, categories, status subresources and printer columns
 * are Cilium's (spec/cilium-api.md §0.1), so Cilium's own CRDs can replace
 * these later. Schemas come from the zod schemas of the registry
 * (src/control/schemas) through `z.toJSONSchema`, converted to structural
 * OpenAPI v3: nullable instead of `| null`, enum unions merged, no $refs or
 * 2020-12 keywords, metadata left to the API server, scalar defaults only.
 * What zod checks in code (refinements: IP syntax, cross-field rules) stays
 * in herald's validation; the CRD is never stricter than herald.
 *
 * Usage: scripts/gen-crds [--check] [--out FILE]
 */
import { readFile, writeFile } from "node:fs/promises";
import { z } from "zod";
import { stringify } from "yaml";
import { schemaFor } from "../src/control/schemas/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

export interface CRDKind {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  /** Served versions, storage first. */
  versions: ("v2" | "v2alpha1")[];
  status: boolean;
  printerColumns?: Json[];
  /** Lists keyed by a field (`+listType=map`), as dotted paths below the root. */
  listMaps?: Record<string, string>;
  /** Fields only the v2alpha1 version has (accepted, ignored by herald). */
  v2alpha1Extra?: Record<string, Json>;
}

const AGE = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };
const CONDITIONS = { "status.conditions": "type" };
const peerRefExtra = {
  group: { type: "string", default: "cilium.io", description: "Informational, v2alpha1 only." },
  kind: { type: "string", default: "CiliumBGPPeerConfig", description: "Informational, v2alpha1 only." },
};

/** The kinds herald needs in a cluster without Cilium (spec/cilium-api.md §0.1). */
export const CRD_KINDS: CRDKind[] = [
  {
    kind: "CiliumBGPClusterConfig",
    plural: "ciliumbgpclusterconfigs",
    singular: "ciliumbgpclusterconfig",
    shortNames: ["cbgpcluster"],
    categories: ["cilium", "ciliumbgp"],
    versions: ["v2", "v2alpha1"],
    status: true,
    printerColumns: [AGE],
    listMaps: { "spec.bgpInstances": "name", "spec.bgpInstances.peers": "name", ...CONDITIONS },
    v2alpha1Extra: { "spec.bgpInstances.peers.peerConfigRef": peerRefExtra },
  },
  {
    kind: "CiliumBGPPeerConfig",
    plural: "ciliumbgppeerconfigs",
    singular: "ciliumbgppeerconfig",
    shortNames: ["cbgppeer"],
    categories: ["cilium", "ciliumbgp"],
    versions: ["v2", "v2alpha1"],
    status: true,
    printerColumns: [AGE],
    listMaps: { ...CONDITIONS },
    v2alpha1Extra: {
      "spec.transport": { localPort: { type: "integer", minimum: 1, maximum: 65535, description: "Deprecated, v2alpha1 only; has no effect." } },
    },
  },
  {
    kind: "CiliumBGPAdvertisement",
    plural: "ciliumbgpadvertisements",
    singular: "ciliumbgpadvertisement",
    shortNames: ["cbgpadvert"],
    categories: ["cilium", "ciliumbgp"],
    versions: ["v2", "v2alpha1"],
    status: false,
    printerColumns: [AGE],
  },
  {
    kind: "CiliumBGPNodeConfig",
    plural: "ciliumbgpnodeconfigs",
    singular: "ciliumbgpnodeconfig",
    shortNames: ["cbgpnode"],
    categories: ["cilium", "ciliumbgp"],
    versions: ["v2", "v2alpha1"],
    status: true,
    printerColumns: [AGE],
    listMaps: { "spec.bgpInstances": "name", "spec.bgpInstances.peers": "name", ...CONDITIONS },
    v2alpha1Extra: { "spec.bgpInstances.peers.peerConfigRef": peerRefExtra },
  },
  {
    kind: "CiliumBGPNodeConfigOverride",
    plural: "ciliumbgpnodeconfigoverrides",
    singular: "ciliumbgpnodeconfigoverride",
    shortNames: ["cbgpnodeoverride"],
    categories: ["cilium", "ciliumbgp"],
    versions: ["v2", "v2alpha1"],
    status: false,
    printerColumns: [AGE],
    listMaps: { "spec.bgpInstances": "name", "spec.bgpInstances.peers": "name" },
  },
  {
    kind: "CiliumBGPPeeringPolicy",
    plural: "ciliumbgppeeringpolicies",
    singular: "ciliumbgppeeringpolicy",
    shortNames: ["bgpp"],
    categories: ["cilium", "ciliumbgp"],
    versions: ["v2alpha1"],
    status: false,
    printerColumns: [AGE],
  },
  {
    kind: "CiliumLoadBalancerIPPool",
    plural: "ciliumloadbalancerippools",
    singular: "ciliumloadbalancerippool",
    shortNames: ["ippools", "ippool", "lbippool", "lbippools"],
    categories: ["cilium"],
    versions: ["v2", "v2alpha1"],
    status: true,
    printerColumns: [
      { name: "Disabled", type: "boolean", jsonPath: ".spec.disabled" },
      { name: "Conflicting", type: "string", jsonPath: '.status.conditions[?(@.type=="cilium.io/PoolConflict")].status' },
      { name: "IPs Available", type: "string", jsonPath: '.status.conditions[?(@.type=="cilium.io/IPsAvailable")].message' },
      AGE,
    ],
    listMaps: { ...CONDITIONS },
  },
];

const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const SAFE_INT = 9007199254740991;

/** Merges anyOf members (after null is taken out) into one structural node. */
function mergeUnion(members: Json[]): Json {
  const types = new Set(members.map((m) => m.type));
  if (types.size === 1) {
    const [type] = types;
    if (type === "object") {
      const properties: Record<string, Json> = {};
      for (const m of members) Object.assign(properties, m.properties ?? {});
      const required = members.map((m) => new Set<string>(m.required ?? [])).reduce((a, b) => new Set([...a].filter((x) => b.has(x))));
      const out: Json = { type: "object", properties };
      if (required.size) out.required = [...required];
      return out;
    }
    if (members.every((m) => Array.isArray(m.enum))) {
      return { type, enum: [...new Set(members.flatMap((m) => m.enum))] };
    }
    // Different constraints on one type: keep the type, drop the constraints.
    return { type };
  }
  if (types.size === 2 && types.has("integer") && types.has("string")) return { "x-kubernetes-int-or-string": true };
  return { "x-kubernetes-preserve-unknown-fields": true };
}

/** JSON Schema (zod, draft 2020-12) → structural OpenAPI v3 schema. */
export function structural(node: Json): Json {
  if (!isObject(node)) return node;
  let n: Json = { ...node };
  delete n.$schema;
  delete n.propertyNames;
  if (n.const !== undefined) {
    n.enum = [n.const];
    delete n.const;
  }
  if (Array.isArray(n.anyOf) || Array.isArray(n.oneOf)) {
    const members = (n.anyOf ?? n.oneOf).map(structural);
    const nonNull = members.filter((m: Json) => m.type !== "null");
    const nullable = nonNull.length < members.length;
    const { anyOf: _a, oneOf: _o, ...rest } = n;
    n = { ...rest, ...(nonNull.length === 1 ? nonNull[0] : mergeUnion(nonNull)) };
    if (nullable) n.nullable = true;
  }
  if (n.type === "integer") {
    if (n.minimum === -SAFE_INT) delete n.minimum;
    if (n.maximum === SAFE_INT) delete n.maximum;
    n.format ??= Math.max(Math.abs(n.minimum ?? 0), Math.abs(n.maximum ?? 0)) <= 2147483647 && n.maximum !== undefined ? "int32" : "int64";
  }
  if (typeof n.exclusiveMinimum === "number") {
    n.minimum = n.exclusiveMinimum;
    n.exclusiveMinimum = true;
  }
  if (typeof n.exclusiveMaximum === "number") {
    n.maximum = n.exclusiveMaximum;
    n.exclusiveMaximum = true;
  }
  // Object and list defaults in zod are parse conveniences, not API defaults.
  if (isObject(n.default) || Array.isArray(n.default)) delete n.default;
  // Only formats the API server knows; zod's cidrv4/ipv4 etc. mean the same or nothing to it.
  if (n.format && !["int32", "int64", "ipv4", "ipv6", "cidr", "date-time", "uuid", "byte"].includes(n.format)) delete n.format;
  if (n.type === "object") {
    if (isObject(n.properties)) {
      n.properties = Object.fromEntries(Object.entries(n.properties).map(([k, v]) => [k, structural(v)]));
      delete n.additionalProperties;
    } else if (isObject(n.additionalProperties) && Object.keys(n.additionalProperties).length) {
      n.additionalProperties = structural(n.additionalProperties);
    } else {
      delete n.additionalProperties;
      n["x-kubernetes-preserve-unknown-fields"] = true;
    }
  }
  if (n.type === "array") {
    n.items = isObject(n.items) && Object.keys(n.items).length ? structural(n.items) : { "x-kubernetes-preserve-unknown-fields": true };
  }
  if (!n.type && !n["x-kubernetes-int-or-string"] && !n["x-kubernetes-preserve-unknown-fields"]) {
    n["x-kubernetes-preserve-unknown-fields"] = true;
  }
  // `type` first, as Kubernetes prints schemas.
  const { type, ...rest } = n;
  return type === undefined ? rest : { type, ...rest };
}

/** The node at a dotted path, descending through array items. */
function at(schema: Json, path: string): Json {
  let n = schema;
  for (const part of path.split(".")) {
    while (n?.type === "array") n = n.items;
    n = n?.properties?.[part];
    if (!n) throw new Error(`Cannot find "${path}" in the generated schema`);
  }
  return n;
}

function versionSchema(k: CRDKind, version: "v2" | "v2alpha1"): Json {
  const zod = schemaFor(`cilium.io/${version}`, k.kind);
  if (!zod) throw new Error(`Cannot generate the ${k.kind} CRD: the schema registry has no cilium.io/${version} ${k.kind}`);
  const schema = structural(z.toJSONSchema(zod, { io: "input", unrepresentable: "any" }));
  // apiVersion, kind and metadata belong to the API server.
  schema.properties.apiVersion = { type: "string" };
  schema.properties.kind = { type: "string" };
  schema.properties.metadata = { type: "object" };
  schema.required = (schema.required ?? []).filter((r: string) => !["apiVersion", "kind", "metadata"].includes(r));
  if (!schema.required.length) delete schema.required;
  if (k.status && !schema.properties.status) schema.properties.status = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  for (const [path, key] of Object.entries(k.listMaps ?? {})) {
    const list = at(schema, path);
    if (list.type !== "array") throw new Error(`Cannot mark ${k.kind} ${path} as a map list: not an array`);
    list["x-kubernetes-list-type"] = "map";
    list["x-kubernetes-list-map-keys"] = [key];
    list.items.required = [...new Set([...(list.items.required ?? []), key])];
  }
  if (version === "v2alpha1") {
    for (const [path, extra] of Object.entries(k.v2alpha1Extra ?? {})) {
      const node = at(schema, path);
      node.properties = { ...node.properties, ...extra };
    }
  }
  return schema;
}

export function generateCRDs(kinds: CRDKind[] = CRD_KINDS): Json[] {
  return kinds.map((k) => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${k.plural}.cilium.io`, labels: { "app.kubernetes.io/part-of": "herald" } },
    spec: {
      group: "cilium.io",
      scope: "Cluster",
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.singular, shortNames: k.shortNames, categories: k.categories },
      versions: k.versions.map((v, i) => ({
        name: v,
        served: true,
        storage: i === 0,
        ...(v === "v2alpha1" && k.versions.length > 1
          ? { deprecated: true, deprecationWarning: `cilium.io/v2alpha1 ${k.kind} is deprecated; use cilium.io/v2 ${k.kind}` }
          : {}),
        ...(k.printerColumns ? { additionalPrinterColumns: k.printerColumns } : {}),
        schema: { openAPIV3Schema: versionSchema(k, v) },
        ...(k.status ? { subresources: { status: {} } } : {}),
      })),
    },
  }));
}

const HEADER = `# herald's CustomResourceDefinitions, for clusters without Cilium's.
# Generated by scripts/gen-crds from the schema registry (src/control/schemas); do not edit.
# Names, versions, short names and printer columns are Cilium's: Cilium's own CRDs can replace these.
`;

/** The file's text: YAML 1.1 quoting, so Go YAML reads "Yes"/"No" as strings. */
export function crdsYaml(): string {
  return HEADER + generateCRDs().map((crd) => "---\n" + stringify(crd, { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false })).join("");
}

export const CRDS_FILE = new URL("../deploy/kubernetes/10-crds.yaml", import.meta.url);

export async function main(argv: string[]): Promise<number> {
  const check = argv.includes("--check");
  const outIdx = argv.indexOf("--out");
  const out = outIdx >= 0 ? argv[outIdx + 1] : CRDS_FILE;
  const text = crdsYaml();
  if (check) {
    const current = await readFile(out, "utf8").catch(() => "");
    if (current !== text) {
      console.error(`gen-crds: ${out instanceof URL ? "deploy/kubernetes/10-crds.yaml" : out} is out of date: run scripts/gen-crds`);
      return 1;
    }
    return 0;
  }
  await writeFile(out, text);
  console.log(`gen-crds: wrote ${CRD_KINDS.length} CustomResourceDefinitions to ${out instanceof URL ? "deploy/kubernetes/10-crds.yaml" : out}`);
  return 0;
}
