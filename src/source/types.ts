/**
 * What every resource source (a directory of manifests, the Kubernetes API)
 * gives the rest of herald: batches of typed resource events. Nothing past
 * this interface knows where a resource came from, except for the `origin`
 * carried along for messages.
 */

/** Where a resource was read, for messages ("peers.yaml:12" or "resourceVersion 42"). */
export interface Origin {
  readonly file?: string;
  readonly line?: number;
  readonly resourceVersion?: string;
}

export interface Resource<T = unknown> {
  readonly kind: string;
  /** "name" for cluster-scoped kinds, "namespace/name" for namespaced ones. */
  readonly key: string;
  /** Already validated and typed by the schema registry. */
  readonly object: T;
  readonly origin: Origin;
}

export type SourceEvent =
  | { readonly type: "upsert"; readonly resource: Resource }
  | { readonly type: "delete"; readonly kind: string; readonly key: string }
  /**
   * A document that failed validation. When kind and key can be read, the
   * last good version of that resource (if any) stays in force.
   */
  | {
    readonly type: "invalid";
    readonly kind?: string;
    readonly key?: string;
    readonly origin: Origin;
    readonly errors: readonly string[];
  }
  | { readonly type: "warning"; readonly origin: Origin; readonly message: string }
  /** A document of a kind herald does not read (MetalLB, ServiceMonitor…): skipped, not an error. */
  | { readonly type: "ignored"; readonly origin: Origin; readonly message: string }
  /**
   * A file was read again (or removed): the `invalid`, `warning` and
   * `ignored` events that follow in the batch replace the earlier ones for
   * that file, so a consumer can drop problems that were fixed. File source only.
   */
  | { readonly type: "file"; readonly file: string; readonly removed: boolean };

export interface ResourceSource {
  /**
   * Starts reading. The first call of `onBatch` carries the complete initial
   * state; later calls carry changes. Resolves once the first batch is out.
   */
  start(onBatch: (events: SourceEvent[]) => void): Promise<void>;
  stop(): Promise<void>;
}

/** The result of validating one document: what the schema registry returns. */
export type ParsedDocument =
  | { readonly ok: true; readonly kind: string; readonly key: string; readonly object: unknown; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly kind?: string; readonly key?: string; readonly errors: readonly string[]; readonly ignored?: boolean };
