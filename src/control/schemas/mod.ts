/**
 * The schema registry: (apiVersion, kind) → zod schema, and `parseResource`,
 * the one way a manifest document becomes a typed resource. The file source,
 * the Kubernetes source, `validate`, `plan` and `migrate` all parse here.
 *
 * cilium.io kinds are accepted in every version Cilium serves and come out
 * in the v2 shape. Fields a version does not have are dropped with a
 * warning; unknown fields are warnings, never errors. Errors name the
 * document, its file:line, the field, what was expected and what was there:
 *
 * @example
 * ```ts
 * const r = parseResource(doc);
 * // r.status === "error":
 * // Cannot load CiliumBGPPeerConfig "rack1" (peers.yaml:12): spec.families[0].afi
 * //   must be one of "ipv4", "ipv6", "l2vpn", "ls", "opaque": current value is "ip4"
 * ```
 */
import type { z } from "zod";
import { formatLocation, type Location, type ManifestDocument } from "../../source/manifest.ts";
import type { ParsedDocument } from "../../source/types.ts";
import { CiliumBGPAdvertisement } from "./advertisement.ts";
import { CiliumBGPClusterConfig } from "./cluster-config.ts";
import { CiliumNode } from "./cilium-node.ts";
import { EndpointSlice } from "./endpoint-slice.ts";
import { CiliumL2AnnouncementPolicy } from "./l2-announcement-policy.ts";
import { CiliumLoadBalancerIPPool } from "./lb-ip-pool.ts";
import { Node } from "./node.ts";
import { CiliumBGPNodeConfigOverride } from "./node-config-override.ts";
import { CiliumBGPNodeConfig } from "./node-config.ts";
import { CiliumBGPPeerConfig } from "./peer-config.ts";
import { CiliumBGPPeeringPolicy } from "./peering-policy.ts";
import { CiliumPodIPPool } from "./pod-ip-pool.ts";
import { Secret } from "./secret.ts";
import { Service } from "./service.ts";
import { describeIssues, formatPath, type Path } from "./_issues.ts";
import { unknownFields } from "./_unknown.ts";

export type Resource =
  | CiliumBGPClusterConfig
  | CiliumBGPPeerConfig
  | CiliumBGPAdvertisement
  | CiliumBGPNodeConfig
  | CiliumBGPNodeConfigOverride
  | CiliumBGPPeeringPolicy
  | CiliumPodIPPool
  | CiliumNode
  | CiliumL2AnnouncementPolicy
  | CiliumLoadBalancerIPPool
  | Service
  | EndpointSlice
  | Node
  | Secret;
export type ResourceKind = Resource["kind"];

export interface ManifestIssue {
  readonly level: "error" | "warning";
  readonly location: Location;
  readonly kind?: string;
  readonly name?: string;
  /** Dotted field path (`spec.families[0].afi`), when the issue is about one field. */
  readonly field?: string;
  /** The complete line, ready to print. */
  readonly message: string;
}

export type ParseResult =
  | {
    readonly status: "ok";
    readonly resource: Resource;
    /** apiVersion as written (the resource itself carries the normalised one). */
    readonly apiVersion: string;
    readonly location: Location;
    readonly warnings: ManifestIssue[];
  }
  | { readonly status: "error"; readonly kind?: string; readonly name?: string; readonly errors: ManifestIssue[]; readonly warnings: ManifestIssue[] }
  /** A kind herald does not read (MetalLB, ServiceMonitor…): skipped with a warning. */
  | { readonly status: "ignored"; readonly warnings: ManifestIssue[] };

type Note = (path: Path, message: string) => void;

interface KindEntry {
  readonly kind: ResourceKind;
  /** API group ("" for core). */
  readonly group: string;
  /** Served versions, most preferred first. */
  readonly versions: readonly string[];
  readonly schema: z.ZodType;
  /** Warn on fields the schema does not list (false for kinds herald reads only a part of). */
  readonly warnUnknown: boolean;
  /** Rewrites the raw (cloned) value before parsing: version differences and aliases. */
  readonly prepare?: (raw: Record<string, unknown>, version: string, note: Note) => void;
}

/**
 * Deletes null-valued keys at every level: the API server prunes nulls of
 * structural-schema fields before defaulting and validation (and built-in
 * kinds read null as unset), so `labels:` or `peers:` left empty in YAML is
 * an unset field, not a type error. Null list items stay (they are errors).
 */
function dropNulls(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) dropNulls(item);
  } else if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (obj[key] === null) delete obj[key];
      else dropNulls(obj[key]);
    }
  }
}

/** Removes every value matching `pattern` (`*` = each list item), noting each. */
function dropFields(raw: unknown, pattern: readonly string[], note: Note, message: string, at: Path = []): void {
  if (raw === null || typeof raw !== "object") return;
  const [head, ...rest] = pattern;
  if (head === "*") {
    if (Array.isArray(raw)) raw.forEach((item, i) => dropFields(item, rest, note, message, [...at, i]));
    return;
  }
  const obj = raw as Record<string, unknown>;
  if (!Object.hasOwn(obj, head)) return;
  if (rest.length === 0) {
    delete obj[head];
    note([...at, head], message);
  } else {
    dropFields(obj[head], rest, note, message, [...at, head]);
  }
}

const v2Only = (kind: string) => `is not a field of cilium.io/v2alpha1 ${kind} (v2 only): ignored`;
const notInV2 = (kind: string) => `is not a field of cilium.io/v2 ${kind}: ignored`;

const ENTRIES: readonly KindEntry[] = [
  {
    kind: "CiliumBGPClusterConfig",
    group: "cilium.io",
    versions: ["v2", "v2alpha1"],
    schema: CiliumBGPClusterConfig,
    warnUnknown: true,
    prepare(raw, version, note) {
      const peers = ["spec", "bgpInstances", "*", "peers", "*"];
      if (version === "v2alpha1") {
        dropFields(raw, [...peers, "autoDiscovery"], note, v2Only("CiliumBGPClusterConfig"));
        dropFields(raw, [...peers, "peerInterface"], note, v2Only("CiliumBGPClusterConfig"));
      } else {
        dropFields(raw, [...peers, "peerConfigRef", "group"], note, notInV2("CiliumBGPClusterConfig"));
        dropFields(raw, [...peers, "peerConfigRef", "kind"], note, notInV2("CiliumBGPClusterConfig"));
      }
      // J4: older docs showed a per-peer localPort; it is an instance field.
      dropFields(raw, [...peers, "localPort"], note,
        "is not a peer field (localPort belongs to the instance, spec.bgpInstances[].localPort): ignored");
    },
  },
  {
    kind: "CiliumBGPPeerConfig",
    group: "cilium.io",
    versions: ["v2", "v2alpha1"],
    schema: CiliumBGPPeerConfig,
    warnUnknown: true,
    prepare(raw, version, note) {
      if (version === "v2alpha1") {
        dropFields(raw, ["spec", "transport", "localPort"], note,
          "is deprecated in cilium.io/v2alpha1 and has no effect (the source port is always ephemeral, D11): ignored");
        dropFields(raw, ["spec", "transport", "sourceInterface"], note, v2Only("CiliumBGPPeerConfig"));
      }
    },
  },
  {
    kind: "CiliumBGPAdvertisement",
    group: "cilium.io",
    versions: ["v2", "v2alpha1"],
    schema: CiliumBGPAdvertisement,
    warnUnknown: true,
    prepare(raw, version, note) {
      if (version === "v2alpha1") {
        dropFields(raw, ["spec", "advertisements", "*", "interface"], note, v2Only("CiliumBGPAdvertisement"));
      }
    },
  },
  {
    kind: "CiliumBGPNodeConfig",
    group: "cilium.io",
    versions: ["v2", "v2alpha1"],
    schema: CiliumBGPNodeConfig,
    warnUnknown: true,
    prepare(raw, version, note) {
      if (version === "v2alpha1") {
        const peers = ["spec", "bgpInstances", "*", "peers", "*"];
        dropFields(raw, [...peers, "autoDiscovery"], note, v2Only("CiliumBGPNodeConfig"));
        dropFields(raw, [...peers, "peerInterface"], note, v2Only("CiliumBGPNodeConfig"));
      }
    },
  },
  {
    kind: "CiliumBGPNodeConfigOverride",
    group: "cilium.io",
    versions: ["v2", "v2alpha1"],
    schema: CiliumBGPNodeConfigOverride,
    warnUnknown: true,
  },
  {
    kind: "CiliumBGPPeeringPolicy",
    group: "cilium.io",
    versions: ["v2alpha1"],
    schema: CiliumBGPPeeringPolicy,
    warnUnknown: true,
    prepare(raw, _version, note) {
      // The seed guide writes `pathAttributes`; Cilium's field is
      // `advertisedPathAttributes` (the API server would prune the former).
      const routers = (raw.spec as { virtualRouters?: unknown } | undefined)?.virtualRouters;
      if (!Array.isArray(routers)) return;
      routers.forEach((router, r) => {
        const neighbors = (router as { neighbors?: unknown } | null)?.neighbors;
        if (!Array.isArray(neighbors)) return;
        neighbors.forEach((n, i) => {
          if (n === null || typeof n !== "object" || !Object.hasOwn(n, "pathAttributes")) return;
          const obj = n as Record<string, unknown>;
          const path = ["spec", "virtualRouters", r, "neighbors", i, "pathAttributes"];
          if (Object.hasOwn(obj, "advertisedPathAttributes")) {
            note(path, "is not a CiliumBGPPeeringPolicy field and advertisedPathAttributes is also set: ignored");
          } else {
            obj.advertisedPathAttributes = obj.pathAttributes;
            note(path, "is not a CiliumBGPPeeringPolicy field: Cilium reads \"advertisedPathAttributes\" " +
              "(the API server drops \"pathAttributes\"); herald accepts it as an alias, rename it");
          }
          delete obj.pathAttributes;
        });
      });
    },
  },
  { kind: "CiliumPodIPPool", group: "cilium.io", versions: ["v2alpha1"], schema: CiliumPodIPPool, warnUnknown: true },
  { kind: "CiliumNode", group: "cilium.io", versions: ["v2"], schema: CiliumNode, warnUnknown: false },
  {
    kind: "CiliumL2AnnouncementPolicy",
    group: "cilium.io",
    versions: ["v2alpha1"],
    schema: CiliumL2AnnouncementPolicy,
    warnUnknown: true,
  },
  {
    kind: "CiliumLoadBalancerIPPool",
    group: "cilium.io",
    versions: ["v2", "v2alpha1"],
    schema: CiliumLoadBalancerIPPool,
    warnUnknown: true,
  },
  // Core kinds: herald lists only the fields it reads, so other (valid
  // Kubernetes) fields pass without a warning.
  { kind: "Service", group: "", versions: ["v1"], schema: Service, warnUnknown: false },
  { kind: "EndpointSlice", group: "discovery.k8s.io", versions: ["v1"], schema: EndpointSlice, warnUnknown: false },
  { kind: "Node", group: "", versions: ["v1"], schema: Node, warnUnknown: false },
  { kind: "Secret", group: "", versions: ["v1"], schema: Secret, warnUnknown: false },
];

const BY_KIND = new Map(ENTRIES.map((e) => [e.kind as string, e]));

/** The kinds the registry reads, with their served apiVersions. */
export const KINDS: ReadonlyArray<{ kind: ResourceKind; apiVersions: string[] }> = ENTRIES.map((e) => ({
  kind: e.kind,
  apiVersions: e.versions.map((v) => e.group === "" ? v : `${e.group}/${v}`),
}));

/** The schema for (apiVersion, kind), or undefined when herald does not read it. */
export function schemaFor(apiVersion: string, kind: string): z.ZodType | undefined {
  const e = BY_KIND.get(kind);
  if (!e) return undefined;
  const [group, version] = splitApiVersion(apiVersion);
  return e.group === group && e.versions.includes(version) ? e.schema : undefined;
}

function splitApiVersion(apiVersion: string): [string, string] {
  const slash = apiVersion.lastIndexOf("/");
  return slash < 0 ? ["", apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

function subject(kind: string | undefined, name: string | undefined): string {
  if (!kind) return "document";
  return name ? `${kind} "${name}"` : kind;
}

/** Parses one manifest document into a typed resource. Pure. */
export function parseResource(doc: ManifestDocument): ParseResult {
  const raw = doc.value;
  const warnings: ManifestIssue[] = [];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return {
      status: "error",
      errors: [{
        level: "error",
        location: doc.location,
        message: `Cannot load document (${formatLocation(doc.location)}): not a Kubernetes object: expected a mapping with apiVersion and kind`,
      }],
      warnings,
    };
  }
  const obj = raw as Record<string, unknown>;
  const kind = typeof obj.kind === "string" ? obj.kind : undefined;
  const apiVersion = typeof obj.apiVersion === "string" ? obj.apiVersion : undefined;
  const meta = obj.metadata as { name?: unknown } | undefined;
  const name = typeof meta?.name === "string" ? meta.name : undefined;
  const who = subject(kind, name);
  const error = (path: Path, text: string): ManifestIssue => {
    const location = doc.locate(path as (string | number)[]);
    return {
      level: "error",
      location,
      kind,
      name,
      field: path.length ? formatPath(path) : undefined,
      message: `Cannot load ${who} (${formatLocation(location)}): ${text}`,
    };
  };
  if (kind === undefined || apiVersion === undefined) {
    const missing = kind === undefined ? "kind" : "apiVersion";
    return {
      status: "error",
      kind,
      name,
      errors: [error([], `not a Kubernetes object: ${missing} is required (expected apiVersion and kind, e.g. "cilium.io/v2" and "CiliumBGPPeerConfig")`)],
      warnings,
    };
  }
  const entry = BY_KIND.get(kind);
  const [group, version] = splitApiVersion(apiVersion);
  if (!entry || entry.group !== group) {
    warnings.push({
      level: "warning",
      location: doc.location,
      kind,
      name,
      message: `${who} (${formatLocation(doc.location)}): ${apiVersion} ${kind} is not a kind herald reads: ignored`,
    });
    return { status: "ignored", warnings };
  }
  if (!entry.versions.includes(version)) {
    const served = entry.versions.map((v) => `"${group ? `${group}/` : ""}${v}"`).join(", ");
    return {
      status: "error",
      kind,
      name,
      errors: [error(["apiVersion"], `apiVersion must be ${entry.versions.length > 1 ? "one of " : ""}${served} (the versions Cilium serves for ${kind}): current value is "${apiVersion}"`)],
      warnings,
    };
  }

  const value = structuredClone(obj);
  const note: Note = (path, text) => {
    const location = doc.locate(path as (string | number)[]);
    warnings.push({
      level: "warning",
      location,
      kind,
      name,
      field: formatPath(path),
      message: `${who} (${formatLocation(location)}): ${formatPath(path)} ${text}`,
    });
  };
  entry.prepare?.(value, version, note);
  if (entry.warnUnknown) {
    for (const path of unknownFields(entry.schema, value)) {
      if (path.length === 1 && path[0] === "status") continue;
      note(path, `is not a field of ${apiVersion} ${kind}: ignored`);
    }
  }
  dropNulls(value);
  const parsed = entry.schema.safeParse(value);
  if (!parsed.success) {
    const errors = describeIssues(parsed.error.issues, value).map((p) => error(p.path, p.text));
    return { status: "error", kind, name, errors, warnings };
  }
  return { status: "ok", resource: parsed.data as Resource, apiVersion, location: doc.location, warnings };
}

const NAMESPACED_KINDS = new Set(["Service", "EndpointSlice", "Secret"]);

/**
 * `parseResource` in the shape the resource sources take (source/types.ts):
 * key "name" or "namespace/name", messages as text. A kind herald does not
 * read comes back as not-ok without kind or key, its warning as the error
 * text, so a source never holds an old version for it.
 */
export function parseDocument(doc: ManifestDocument): ParsedDocument {
  const r = parseResource(doc);
  const keyOf = (kind: string | undefined, name: string | undefined, namespace: unknown) =>
    kind === undefined || name === undefined
      ? undefined
      : NAMESPACED_KINDS.has(kind)
      ? `${typeof namespace === "string" && namespace ? namespace : "default"}/${name}`
      : name;
  if (r.status === "ok") {
    const m = r.resource.metadata;
    return { ok: true, kind: r.resource.kind, key: keyOf(r.resource.kind, m.name, m.namespace)!, object: r.resource, warnings: r.warnings.map((w) => w.message) };
  }
  if (r.status === "ignored") return { ok: false, errors: r.warnings.map((w) => w.message) };
  const ns = (doc.value as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace;
  return { ok: false, kind: r.kind, key: keyOf(r.kind, r.name, ns), errors: r.errors.map((e) => e.message) };
}
