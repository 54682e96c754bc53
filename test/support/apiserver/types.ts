/**
 * What the double knows about a resource type: names for discovery, scope,
 * which semantics apply (status subresource, generation, custom resource
 * rules) and the per-kind strategy hooks (defaults, validation, allocation).
 */
import type { FieldError } from "./errors.ts";
import type { Json, PatchMeta } from "./patch.ts";
import type { StructuralSchema } from "./schema.ts";

/** A Kubernetes object as JSON. */
export type KubeObject = Record<string, Json>;

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

/** Services the strategies need from the server (allocations, lookups). */
export interface StrategyContext {
  /** Every stored object of a resource (storage key `group/resource`). */
  list(storage: string): KubeObject[];
  options: { serviceCIDRs: string[]; nodePortRange: [number, number] };
}

export interface ResourceType {
  group: string;
  /** Served versions, preferred first. */
  versions: string[];
  storageVersion: string;
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Has a /status subresource: main writes keep status, status writes keep the rest. */
  hasStatus: boolean;
  /** Custom resource rules: no strategic merge patch, resourceVersion required on update, status-only status writes. */
  custom: boolean;
  /**
   * When metadata.generation moves: never, on any change outside metadata
   * (and status when it is a subresource), or that plus label changes
   * (EndpointSlice).
   */
  generation: "none" | "content" | "contentOrLabels";
  allowCreateOnUpdate: boolean;
  allowUnconditionalUpdate: boolean;
  /** DELETE answers with the object (true) or a Success Status (false). */
  returnDeletedObject: boolean;
  /** Where objects live; types sharing storage see the same objects (core and events.k8s.io Events). */
  storage: string;
  patchMeta?: PatchMeta;
  /** Field labels beyond metadata.name and metadata.namespace. */
  fieldLabels?: Record<string, (obj: KubeObject) => string>;
  /** Defaults and allocations on create; may throw ApiError. */
  prepareCreate?(obj: KubeObject, ctx: StrategyContext): void;
  /** Defaults and carried-over values on update (main resource). */
  prepareUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): void;
  validate?(obj: KubeObject, old: KubeObject | undefined): FieldError[];
  /** The name rule for metadata.name (DNS subdomain unless stated). */
  nameRule?: "subdomain" | "label" | "dns1035" | "path";
  /** Stored form to the form served at `version` (Events: core ⇄ events.k8s.io). */
  toExternal?(stored: KubeObject): KubeObject;
  toInternal?(external: KubeObject): KubeObject;
  /** Server-side printing for `kubectl get`. */
  columns?: PrinterColumn[];
  cells?(obj: KubeObject, now: number): Json[];
  /** Custom resources: structural schema per version, printer columns per version. */
  schemas?: Record<string, StructuralSchema | undefined>;
  printerColumns?: Record<string, PrinterColumn[]>;
  /** Name of the CRD that defines the type. */
  crd?: string;
}

export const storageKey = (group: string, resource: string) => `${group || "core"}/${resource}`;

export const apiVersionOf = (group: string, version: string) => (group === "" ? version : `${group}/${version}`);
