/**
 * Discovery documents (legacy, unaggregated form: /api, /apis, /api/v1,
 * /apis/<group>, /apis/<group>/<version>) and the minimum of OpenAPI v3 that
 * kubectl consults: one document per group-version whose PATCH operations
 * carry x-kubernetes-group-version-kind and the `fieldValidation` parameter,
 * so kubectl leaves schema validation to the server. The documents list no
 * strategic-merge content type, so kubectl computes apply patches from its
 * compiled-in types (built-in kinds) or as JSON merge patches (custom
 * resources), exactly as against a server without OpenAPI v2.
 */
import { createHash } from "node:crypto";
import { versionPriority } from "./crd.ts";
import type { Json } from "./patch.ts";
import type { TypeRegistry } from "./registry.ts";
import { apiVersionOf, type ResourceType } from "./types.ts";

export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-herald-double",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2025-01-01T00:00:00Z",
  goVersion: "go1.23.0",
  compiler: "gc",
  platform: "linux/amd64",
};

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function groupVersions(types: TypeRegistry): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of types.all()) {
    const vs = out.get(t.group) ?? [];
    for (const v of t.versions) if (!vs.includes(v)) vs.push(v);
    out.set(t.group, vs);
  }
  for (const vs of out.values()) vs.sort((a, b) => versionPriority(b) - versionPriority(a));
  return out;
}

export function apiVersions(serverAddress: string): Json {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(group: string, versions: string[]): Json {
  return {
    name: group,
    versions: versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${group}/${versions[0]}`, version: versions[0] },
  };
}

export function apiGroupList(types: TypeRegistry): Json {
  const groups = [...groupVersions(types)].filter(([g]) => g !== "");
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(([g, vs]) => apiGroup(g, vs)) };
}

export function apiGroupDoc(types: TypeRegistry, group: string): Json | undefined {
  const vs = groupVersions(types).get(group);
  return vs && group !== "" ? { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group, vs) } : undefined;
}

export function apiResourceList(types: TypeRegistry, group: string, version: string): Json | undefined {
  const served = types.all().filter((t) => t.group === group && t.versions.includes(version));
  if (served.length === 0) return undefined;
  const resources: Json[] = [];
  for (const t of served) {
    const entry: Json = {
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.resource === "namespaces" && t.group === "" ? VERBS.filter((v) => v !== "deletecollection") : VERBS,
    };
    if (t.shortNames.length) entry.shortNames = t.shortNames;
    if (t.categories.length) entry.categories = t.categories;
    resources.push(entry);
    if (t.hasStatus) resources.push({ name: `${t.resource}/status`, singularName: "", namespaced: t.namespaced, kind: t.kind, verbs: ["get", "patch", "update"] });
    if (t.resource === "namespaces" && t.group === "") {
      resources.push({ name: "namespaces/finalize", singularName: "", namespaced: false, kind: "Namespace", verbs: ["update"] });
    }
  }
  return { kind: "APIResourceList", apiVersion: "v1", groupVersion: apiVersionOf(group, version), resources };
}

// ---- OpenAPI v3 ----

const gvPath = (group: string, version: string) => (group === "" ? `api/${version}` : `apis/${group}/${version}`);

function operations(t: ResourceType, version: string): Json {
  const gvk = { group: t.group, version, kind: t.kind };
  const body = { content: Object.fromEntries(["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"].map((c) => [c, { schema: { type: "object" } }])) };
  const query = (name: string) => ({ name, in: "query", schema: { type: "string", uniqueItems: true } });
  return {
    get: { "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk },
    put: { "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": gvk, parameters: ["dryRun", "fieldManager", "fieldValidation"].map(query) },
    patch: {
      "x-kubernetes-action": "patch",
      "x-kubernetes-group-version-kind": gvk,
      parameters: ["dryRun", "fieldManager", "fieldValidation", "force"].map(query),
      requestBody: body,
    },
    delete: { "x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk },
  };
}

export function openAPIV3Doc(types: TypeRegistry, group: string, version: string): Json | undefined {
  const served = types.all().filter((t) => t.group === group && t.versions.includes(version));
  if (served.length === 0) return undefined;
  const paths: Record<string, Json> = {};
  for (const t of served) {
    const base = `/${gvPath(group, version)}/${t.namespaced ? "namespaces/{namespace}/" : ""}${t.resource}`;
    paths[base] = {
      get: { "x-kubernetes-action": "list", "x-kubernetes-group-version-kind": { group, version, kind: t.kind } },
      post: {
        "x-kubernetes-action": "post",
        "x-kubernetes-group-version-kind": { group, version, kind: t.kind },
        parameters: ["dryRun", "fieldManager", "fieldValidation"].map((name) => ({ name, in: "query", schema: { type: "string" } })),
      },
    };
    paths[`${base}/{name}`] = operations(t, version);
    if (t.hasStatus) paths[`${base}/{name}/status`] = operations(t, version);
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas: {} },
  };
}

export function openAPIV3Root(types: TypeRegistry): Json {
  const paths: Record<string, Json> = {};
  for (const [group, versions] of groupVersions(types)) {
    for (const v of versions) {
      const doc = openAPIV3Doc(types, group, v);
      const hash = createHash("sha512").update(JSON.stringify(doc)).digest("hex").toUpperCase();
      paths[gvPath(group, v)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, v)}?hash=${hash}` };
    }
  }
  return { paths };
}
