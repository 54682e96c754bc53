/**
 * A generic informer: list, then watch from the list's resourceVersion,
 * keeping a local cache of typed objects and telling listeners what changed.
 *
 * - 410 Gone (an ERROR event or an error status) ⇒ relist; the relist is
 *   diffed against the cache, so listeners see only real changes.
 * - Other failures (connection refused, 5xx, the server restarting) ⇒
 *   exponential backoff with jitter, then a watch resumed from the last
 *   resourceVersion seen (objects or bookmarks).
 * - Every object goes through `parse` (the schema registry): an invalid one
 *   is reported (kind, name, field) and skipped; if an earlier version was
 *   valid, that version stays in force. Nothing a listener or the server
 *   does ends the loop; only stop() does.
 *
 * @example
 * ```ts
 * const pools = new Informer({ client, resource: LB_IP_POOLS, parse });
 * pools.onEvent((ev) => console.log(ev.type, ev.key));
 * pools.start();
 * await pools.synced;
 * ```
 */
import { silentLogger, type Logger } from "../../log.ts";
import { Backoff, type BackoffOptions, sleep } from "./backoff.ts";
import { KubeApiError, type KubeClient, type WatchEvent } from "./client.ts";
import { objectKey, type ResourceRef, resourcePath } from "./resources.ts";

/** One problem with an object, as the schema registry reports it. */
export interface FieldProblem {
  /** Dotted path (`spec.blocks[0].cidr`), when the problem is about one field. */
  field?: string;
  message: string;
}

export type ParseOutcome<T> =
  | { ok: true; value: T; warnings?: readonly string[] }
  | { ok: false; errors: readonly FieldProblem[] };

/** An object the informer skipped. */
export interface InvalidObject {
  kind: string;
  name: string;
  namespace?: string;
  key: string;
  resourceVersion?: string;
  errors: readonly FieldProblem[];
  /** True when an earlier valid version stays in force. */
  keptPrevious: boolean;
}

export type InformerEvent<T> =
  | { type: "added"; key: string; object: T }
  | { type: "modified"; key: string; object: T; old: T }
  | { type: "deleted"; key: string; object: T };

export interface InformerOptions<T> {
  client: KubeClient;
  resource: ResourceRef;
  /** Only this namespace (namespaced kinds); all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Raw JSON object → typed value, or the problems found. May throw (counted as invalid). */
  parse(raw: unknown): ParseOutcome<T>;
  onInvalid?(invalid: InvalidObject): void;
  onWarning?(key: string, warnings: readonly string[]): void;
  backoff?: BackoffOptions;
  /** Server-side watch timeout range in seconds (client-go: 300–600). */
  watchTimeoutSeconds?: [min: number, max: number];
  /** List page size (limit/continue). */
  pageSize?: number;
  random?: () => number;
  log?: Logger;
}

interface Entry<T> {
  object: T;
  resourceVersion: string;
}

export interface InformerStats {
  lists: number;
  watches: number;
  /** Relists caused by 410 Gone. */
  expired: number;
  errors: number;
  bookmarks: number;
}

class Expired extends Error {}

export class Informer<T> {
  readonly #o: InformerOptions<T>;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  #cache = new Map<string, Entry<T>>();
  /** Keys whose current version in the API is invalid, with that version. */
  #invalid = new Map<string, string>();
  #listeners = new Set<(ev: InformerEvent<T>) => void>();
  #rv = "";
  #needList = true;
  #synced = false;
  #resolveSynced!: () => void;
  readonly synced: Promise<void>;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  readonly stats: InformerStats = { lists: 0, watches: 0, expired: 0, errors: 0, bookmarks: 0 };

  constructor(options: InformerOptions<T>) {
    this.#o = options;
    this.#log = (options.log ?? silentLogger).child({ subsys: "k8s-informer", resource: options.resource.resource });
    this.#backoff = new Backoff({ random: options.random, ...options.backoff });
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onEvent(listener: (ev: InformerEvent<T>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** The last resourceVersion seen (list, event or bookmark). */
  get resourceVersion(): string {
    return this.#rv;
  }

  get(key: string): T | undefined {
    return this.#cache.get(key)?.object;
  }

  list(): T[] {
    return [...this.#cache.values()].map((e) => e.object);
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        if (this.#needList) {
          await this.#list(signal);
          this.#needList = false;
          this.#backoff.reset();
        }
        await this.#watch(signal);
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof Expired || (err instanceof KubeApiError && err.code === 410)) {
          // The window moved past our resourceVersion: relist at once (client-go does too).
          this.stats.expired++;
          this.#needList = true;
          this.#log.info("Watch expired, relisting", { resourceVersion: this.#rv });
          continue;
        }
        this.stats.errors++;
        const delay = this.#backoff.next();
        this.#log.warn("Cannot list or watch, retrying", { error: err, retryInMs: delay, attempt: this.#backoff.attempt });
        await sleep(delay, signal);
      }
    }
  }

  #query(): Record<string, string | undefined> {
    return { labelSelector: this.#o.labelSelector, fieldSelector: this.#o.fieldSelector };
  }

  #path(): string {
    return resourcePath(this.#o.resource, { namespace: this.#o.namespace });
  }

  async #list(signal: AbortSignal): Promise<void> {
    this.stats.lists++;
    const items: unknown[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.#o.client.request<{ metadata: { resourceVersion: string; continue?: string }; items: unknown[] }>(
        "GET",
        this.#path(),
        { query: { ...this.#query(), limit: this.#o.pageSize ?? 500, continue: cont }, signal },
      );
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    const seen = new Set<string>();
    for (const raw of items) {
      const key = this.#keyOf(raw);
      if (key === undefined) continue;
      seen.add(key);
      this.#apply("upsert", key, raw, true);
    }
    for (const key of [...this.#cache.keys()]) {
      if (!seen.has(key)) this.#apply("delete", key, undefined, true);
    }
    for (const key of [...this.#invalid.keys()]) if (!seen.has(key)) this.#invalid.delete(key);
    this.#rv = rv;
    if (!this.#synced) {
      this.#synced = true;
      this.#resolveSynced();
    }
  }

  async #watch(signal: AbortSignal): Promise<void> {
    this.stats.watches++;
    const [min, max] = this.#o.watchTimeoutSeconds ?? [300, 600];
    const timeout = Math.round(min + (max - min) * (this.#o.random ?? Math.random)());
    let expired = false;
    let failure: KubeApiError | undefined;
    let delivered = false;
    const started = Date.now();
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal.addEventListener("abort", stop, { once: true });
    try {
      await this.#o.client.watch(
        this.#path(),
        { ...this.#query(), resourceVersion: this.#rv, allowWatchBookmarks: true, timeoutSeconds: timeout },
        (ev) => {
          if (expired) return;
          if (ev.type === "ERROR") {
            if (ev.object?.code === 410) expired = true;
            else failure = new KubeApiError(`watch ${this.#path()}`, ev.object?.code ?? 500, ev.object);
            controller.abort();
            return;
          }
          delivered = true;
          this.#event(ev);
        },
        controller.signal,
        (timeout + 60) * 1000,
      );
    } finally {
      signal.removeEventListener("abort", stop);
    }
    if (expired) throw new Expired("resourceVersion expired");
    if (failure) throw failure;
    // A watch that delivered something proves the server is back: start backoff over.
    if (delivered) this.#backoff.reset();
    // A server that keeps closing watches at once must not make us spin.
    else if (Date.now() - started < 1000 && !signal.aborted) await sleep(this.#backoff.next(), signal);
  }

  #event(ev: WatchEvent): void {
    const rv = ev.object?.metadata?.resourceVersion;
    if (ev.type === "BOOKMARK") {
      this.stats.bookmarks++;
      if (rv) this.#rv = rv;
      return;
    }
    const key = this.#keyOf(ev.object);
    if (key !== undefined) this.#apply(ev.type === "DELETED" ? "delete" : "upsert", key, ev.object, false);
    if (rv) this.#rv = rv;
  }

  #keyOf(raw: unknown): string | undefined {
    const meta = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
    if (typeof meta?.name !== "string") {
      this.#log.warn("Skipping an object without metadata.name", { kind: this.#o.resource.kind });
      return undefined;
    }
    return objectKey(this.#o.resource, { name: meta.name, namespace: typeof meta.namespace === "string" ? meta.namespace : undefined });
  }

  #apply(op: "upsert" | "delete", key: string, raw: unknown, fromList: boolean): void {
    const prev = this.#cache.get(key);
    if (op === "delete") {
      this.#invalid.delete(key);
      if (!prev) return;
      this.#cache.delete(key);
      this.#emit({ type: "deleted", key, object: prev.object });
      return;
    }
    const rv = String((raw as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion ?? "");
    // A relist returns every object again; unchanged ones are not news.
    if (fromList && prev && prev.resourceVersion === rv && !this.#invalid.has(key)) return;
    if (this.#invalid.get(key) === rv) return;
    let outcome: ParseOutcome<T>;
    try {
      outcome = this.#o.parse(raw);
    } catch (err) {
      outcome = { ok: false, errors: [{ message: (err as Error).message }] };
    }
    if (!outcome.ok) {
      this.#invalid.set(key, rv);
      const meta = (raw as { metadata: { name: string; namespace?: string } }).metadata;
      const report: InvalidObject = {
        kind: this.#o.resource.kind,
        name: meta.name,
        namespace: meta.namespace,
        key,
        resourceVersion: rv || undefined,
        errors: outcome.errors,
        keptPrevious: prev !== undefined,
      };
      this.#log.warn("Skipping invalid object", {
        kind: report.kind,
        name: key,
        field: outcome.errors[0]?.field,
        error: outcome.errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join("; "),
        keptPrevious: report.keptPrevious,
      });
      this.#o.onInvalid?.(report);
      return;
    }
    this.#invalid.delete(key);
    if (outcome.warnings?.length) this.#o.onWarning?.(key, outcome.warnings);
    this.#cache.set(key, { object: outcome.value, resourceVersion: rv });
    this.#emit(prev ? { type: "modified", key, object: outcome.value, old: prev.object } : { type: "added", key, object: outcome.value });
  }

  #emit(ev: InformerEvent<T>): void {
    for (const l of [...this.#listeners]) {
      try {
        l(ev);
      } catch (err) {
        this.#log.error("Informer listener failed", { error: err, event: ev.type, key: ev.key });
      }
    }
  }
}
