/**
 * Manifest texts → typed Resources, with every problem located. Pure: the
 * caller reads the files (CLI, file source) and passes their texts.
 *
 * A bad document is reported and skipped; everything else still loads, so
 * one typo never takes the rest of the configuration down.
 */
import { formatLocation, type Location, type ManifestDocument, parseManifests } from "../source/manifest.ts";
import { type ManifestIssue, parseResource, type Resource } from "./schemas/mod.ts";
import { emptyResources, type Resources } from "./types.ts";

const FIELD: Record<Resource["kind"], keyof Resources> = {
  CiliumBGPClusterConfig: "clusterConfigs",
  CiliumBGPPeerConfig: "peerConfigs",
  CiliumBGPAdvertisement: "advertisements",
  CiliumBGPNodeConfig: "nodeConfigs",
  CiliumBGPNodeConfigOverride: "nodeConfigOverrides",
  CiliumBGPPeeringPolicy: "peeringPolicies",
  CiliumPodIPPool: "podIPPools",
  CiliumNode: "ciliumNodes",
  CiliumL2AnnouncementPolicy: "l2AnnouncementPolicies",
  CiliumLoadBalancerIPPool: "lbIPPools",
  Service: "services",
  EndpointSlice: "endpointSlices",
  Node: "nodes",
  Secret: "secrets",
};

const NAMESPACED = new Set(["Service", "EndpointSlice", "Secret"]);

/** "Kind/name" or "Kind/namespace/name": how resources are told apart. */
export function resourceKey(r: Resource): string {
  return NAMESPACED.has(r.kind)
    ? `${r.kind}/${r.metadata.namespace ?? "default"}/${r.metadata.name}`
    : `${r.kind}/${r.metadata.name}`;
}

/** Appends a resource to the right list of a Resources value. */
export function addResource(resources: Resources, r: Resource): void {
  (resources[FIELD[r.kind]] as Resource[]).push(r);
}

export interface LoadedResource {
  readonly resource: Resource;
  readonly apiVersion: string;
  readonly location: Location;
  /** The document it came from, to locate fields. */
  readonly doc: ManifestDocument;
}

export interface LoadResult {
  readonly resources: Resources;
  /** Every resource that loaded, in file order. */
  readonly loaded: readonly LoadedResource[];
  /** resourceKey → where it was defined. */
  readonly locations: ReadonlyMap<string, Location>;
  /** Errors and warnings, in file order. */
  readonly issues: readonly ManifestIssue[];
}

export function loadManifests(files: ReadonlyArray<{ file: string; text: string }>): LoadResult {
  const resources = emptyResources();
  const loaded: LoadedResource[] = [];
  const locations = new Map<string, Location>();
  const issues: ManifestIssue[] = [];
  for (const { file, text } of files) {
    const parsed = parseManifests(file, text);
    for (const e of parsed.errors) {
      issues.push({ level: "error", location: e.location, message: `Cannot load document (${formatLocation(e.location)}): YAML syntax error: ${e.message}` });
    }
    for (const doc of parsed.documents) {
      const r = parseResource(doc);
      issues.push(...r.warnings);
      if (r.status === "error") issues.push(...r.errors);
      if (r.status !== "ok") continue;
      const key = resourceKey(r.resource);
      const first = locations.get(key);
      if (first) {
        issues.push({
          level: "error",
          location: r.location,
          kind: r.resource.kind,
          name: r.resource.metadata.name,
          message: `Cannot load ${r.resource.kind} "${r.resource.metadata.name}" (${formatLocation(r.location)}): ` +
            `metadata.name must be unique: "${r.resource.metadata.name}" is already defined at ${formatLocation(first)}`,
        });
        continue;
      }
      locations.set(key, r.location);
      addResource(resources, r.resource);
      loaded.push({ resource: r.resource, apiVersion: r.apiVersion, location: r.location, doc });
    }
  }
  return { resources, loaded, locations, issues };
}
