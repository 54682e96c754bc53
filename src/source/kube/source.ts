/**
 * The Kubernetes resource source: one informer per kind herald reads,
 * behind the same `ResourceSource` interface as the file source. The first
 * batch carries the complete initial state (every served kind listed);
 * later batches carry changes, coalesced over a few milliseconds.
 *
 * cilium.io kinds are optional: a kind the API server does not serve (its
 * CRD not installed) is skipped, and discovery is asked again periodically
 * so that CRDs installed later are picked up without a restart.
 *
 * @example
 * ```ts
 * const source = new KubeSource({ client: KubeClient.load({}), secretsNamespace: "kube-system" });
 * await source.start((events) => agent.apply(events));
 * ```
 */
import { silentLogger, type Logger } from "../../log.ts";
import type { Resource as Typed } from "../../control/schemas/mod.ts";
import type { ResourceSource, SourceEvent } from "../types.ts";
import { Backoff, sleep } from "./backoff.ts";
import type { KubeClient } from "./client.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import { parseKubeObject } from "./parse.ts";
import {
  ADVERTISEMENTS,
  CILIUM_NODES,
  CLUSTER_CONFIGS,
  ENDPOINT_SLICES,
  LB_IP_POOLS,
  NODE_CONFIG_OVERRIDES,
  NODE_CONFIGS,
  NODES,
  PEER_CONFIGS,
  PEERING_POLICIES,
  POD_IP_POOLS,
  type ResourceRef,
  SECRETS,
  SERVICES,
} from "./resources.ts";

/** What herald reads from a cluster. */
export const READ_RESOURCES: readonly ResourceRef[] = [
  NODES,
  SERVICES,
  ENDPOINT_SLICES,
  SECRETS,
  CLUSTER_CONFIGS,
  PEER_CONFIGS,
  ADVERTISEMENTS,
  NODE_CONFIGS,
  NODE_CONFIG_OVERRIDES,
  PEERING_POLICIES,
  LB_IP_POOLS,
  // Only with Cilium's CRDs (CiliumPodIPPool adverts).
  POD_IP_POOLS,
  CILIUM_NODES,
];

export interface KubeSourceOptions {
  client: KubeClient;
  /** Where authSecretRef Secrets live; no other Secrets are read (default kube-system). */
  secretsNamespace?: string;
  resources?: readonly ResourceRef[];
  /** How often kinds that are not served are looked for again (default 30 s). */
  discoveryIntervalMs?: number;
  /** Changes within this window go out as one batch (default 10 ms). */
  batchDelayMs?: number;
  /** Passed to every informer (backoff, watch timeouts). */
  informer?: Pick<InformerOptions<unknown>, "backoff" | "watchTimeoutSeconds" | "pageSize">;
  log?: Logger;
}

const optional = (ref: ResourceRef) => ref.group !== "" && ref.group !== "discovery.k8s.io";

export class KubeSource implements ResourceSource {
  readonly #o: KubeSourceOptions;
  readonly #log: Logger;
  readonly #informers = new Map<string, Informer<Typed>>();
  #pending: SourceEvent[] = [];
  #onBatch: (events: SourceEvent[]) => void = () => {};
  #started = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort = new AbortController();
  #discovery: Promise<void> | undefined;
  #flushedOnce = false;

  constructor(options: KubeSourceOptions) {
    this.#o = options;
    this.#log = (options.log ?? silentLogger).child({ subsys: "k8s-source" });
  }

  /** Kinds being watched now (tests, status). */
  get watching(): string[] {
    return [...this.#informers.keys()];
  }

  async start(onBatch: (events: SourceEvent[]) => void): Promise<void> {
    this.#onBatch = onBatch;
    const wanted = this.#o.resources ?? READ_RESOURCES;
    const served = await this.#servedUntilReachable(wanted);
    for (const ref of wanted) if (served.has(ref.resource)) this.#watch(ref);
    await Promise.all([...this.#informers.values()].map((i) => i.synced));
    if (this.#abort.signal.aborted) return;
    this.#started = true;
    this.#flush();
    const missing = wanted.filter((r) => !served.has(r.resource));
    if (missing.length) {
      this.#log.info("Kinds not served by the API server, looking again later", { kinds: missing.map((m) => m.kind).join(",") });
      this.#discovery = this.#rediscover(missing);
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#timer);
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
    await this.#discovery;
  }

  /** Which of `refs` the API server serves; core kinds always are. Retries until the server answers. */
  async #servedUntilReachable(refs: readonly ResourceRef[]): Promise<Set<string>> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    for (;;) {
      try {
        return await this.#served(refs);
      } catch (err) {
        if (this.#abort.signal.aborted) return new Set();
        const delay = backoff.next();
        this.#log.warn("Cannot reach the API server, retrying", { error: err, retryInMs: delay });
        await sleep(delay, this.#abort.signal);
      }
    }
  }

  async #served(refs: readonly ResourceRef[]): Promise<Set<string>> {
    const out = new Set<string>();
    const byGroupVersion = new Map<string, ResourceRef[]>();
    for (const r of refs) {
      if (!optional(r)) {
        out.add(r.resource);
        continue;
      }
      const gv = `${r.group}/${r.version}`;
      byGroupVersion.set(gv, [...(byGroupVersion.get(gv) ?? []), r]);
    }
    for (const [gv, group] of byGroupVersion) {
      let names: string[] = [];
      try {
        const list = await this.#o.client.request<{ resources?: { name: string }[] }>("GET", `/apis/${gv}`);
        names = (list.resources ?? []).map((r) => r.name);
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
      for (const r of group) if (names.includes(r.resource)) out.add(r.resource);
    }
    return out;
  }

  async #rediscover(missing: ResourceRef[]): Promise<void> {
    const signal = this.#abort.signal;
    while (missing.length && !signal.aborted) {
      await sleep(this.#o.discoveryIntervalMs ?? 30_000, signal);
      if (signal.aborted) return;
      try {
        const served = await this.#served(missing);
        for (const ref of missing.filter((r) => served.has(r.resource))) {
          this.#log.info("Kind now served, watching it", { kind: ref.kind });
          this.#watch(ref);
        }
        missing = missing.filter((r) => !served.has(r.resource));
      } catch (err) {
        this.#log.warn("Cannot look for CRDs", { error: err });
      }
    }
  }

  #watch(ref: ResourceRef): void {
    const informer = new Informer<Typed>({
      client: this.#o.client,
      resource: ref,
      namespace: ref.group === SECRETS.group && ref.resource === SECRETS.resource ? this.#o.secretsNamespace ?? "kube-system" : undefined,
      parse: parseKubeObject,
      log: this.#o.log,
      ...this.#o.informer,
      onInvalid: (bad) =>
        this.#push({
          type: "invalid",
          kind: bad.kind,
          key: bad.key,
          origin: { resourceVersion: bad.resourceVersion },
          errors: bad.errors.map((e) => e.message),
        }),
      onWarning: (_key, warnings) => {
        for (const message of warnings) this.#push({ type: "warning", origin: {}, message });
      },
    });
    informer.onEvent((ev) => {
      if (ev.type === "deleted") {
        this.#push({ type: "delete", kind: ref.kind, key: ev.key });
        return;
      }
      const rv = (ev.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
      this.#push({ type: "upsert", resource: { kind: ref.kind, key: ev.key, object: ev.object, origin: { resourceVersion: rv } } });
    });
    this.#informers.set(ref.kind, informer);
    informer.start();
  }

  #push(ev: SourceEvent): void {
    this.#pending.push(ev);
    if (!this.#started || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#o.batchDelayMs ?? 10);
  }

  /** Sends what is pending; the first call always sends (the initial state may be empty). */
  #flush(): void {
    const events = this.#pending;
    this.#pending = [];
    if (events.length === 0 && this.#flushedOnce) return;
    this.#flushedOnce = true;
    try {
      this.#onBatch(events);
    } catch (err) {
      this.#log.error("Source consumer failed on a batch", { error: err, events: events.length });
    }
  }
}
