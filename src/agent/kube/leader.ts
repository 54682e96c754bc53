/**
 * The cluster-wide work, run by whichever agent holds the Lease (Cilium's
 * operator, done by one of the agents): LB-IPAM (lb-ipam.ts), the
 * NodeConfigs and config conditions (node-configs.ts), and Events for
 * objects herald cannot use (issues.ts).
 *
 * A term of leadership, in order:
 * 1. wait for the freshness barrier (freshness.ts): the informers have
 *    seen at least a fresh LIST of every kind the leader reads;
 * 2. load LB-IPAM from the store — every address already in a Service
 *    status is adopted before any allocation (I12) — and queue the writes
 *    that differ from what the API holds;
 * 3. recompute NodeConfigs and conditions;
 * 4. from then on, follow every batch of events.
 *
 * Every write asks the fence — this term is still current and
 * `LeaderElector.isLeader()` — right before it leaves; a lost Lease ends
 * the term at once: queued writes are dropped, the engine is thrown away
 * (the next term rebuilds it from the API), and nothing is withdrawn:
 * routes follow Service status, which stays as written.
 */
import type { ControlOptions } from "../../control/types.ts";
import type { LbIpamOptions } from "../../ipam/mod.ts";
import type { LbIpam } from "../../ipam/engine.ts";
import type { Logger } from "../../log.ts";
import type { KubeClient } from "../../source/kube/client.ts";
import type { EventRecorder } from "../../source/kube/events.ts";
import type { ResourceRef } from "../../source/kube/resources.ts";
import type { SourceEvent } from "../../source/types.ts";
import { waitUntilFresh } from "./freshness.ts";
import { InvalidObjectEvents } from "./issues.ts";
import { LeaderLbIpam, POOL_KIND, SERVICE_KIND } from "./lb-ipam.ts";
import { NODE_CONFIG_INPUTS, NodeConfigDuty } from "./node-configs.ts";
import type { ClusterStore } from "./store.ts";
import { WriteQueue } from "./write-queue.ts";

/** The kinds the leader reads, hence the ones the freshness barrier checks. */
export const LEADER_KINDS = new Set([...NODE_CONFIG_INPUTS, POOL_KIND, SERVICE_KIND]);

export interface LeaderDutiesOptions {
  client: KubeClient;
  store: ClusterStore;
  /** The kinds the source watches (only those can be checked for freshness). */
  watched: () => readonly ResourceRef[];
  secretsNamespace: string;
  isLeader: () => boolean;
  events: EventRecorder | null;
  control: Pick<ControlOptions, "routerIDAllocationMode" | "routerIDAllocationIPPool" | "statusReport" | "bgpSecretsNamespace">;
  /** LB-IPAM options; `ipv4`/`ipv6` decided when a term starts. */
  lbIpam: () => Omit<LbIpamOptions, "logger" | "now">;
  /** Concurrent writes (default 16). */
  concurrency?: number;
  now?: () => Date;
  log: Logger;
}

interface Term {
  readonly id: number;
  readonly abort: AbortController;
  readonly queue: WriteQueue;
  ready: boolean;
  ipam: LeaderLbIpam | null;
  nodeConfigs: NodeConfigDuty | null;
  invalid: InvalidObjectEvents | null;
}

export class LeaderDuties {
  readonly #o: LeaderDutiesOptions;
  readonly #log: Logger;
  #term: Term | null = null;
  #terms = 0;
  /** Resolves when the current term is running (tests). */
  #readyWaiters: (() => void)[] = [];

  constructor(o: LeaderDutiesOptions) {
    this.#o = o;
    this.#log = o.log;
  }

  /** LB-IPAM's engine while leading and running, else null. */
  get engine(): LbIpam | null {
    return this.#term?.ready ? this.#term.ipam?.engine ?? null : null;
  }

  get running(): boolean {
    return this.#term?.ready === true;
  }

  /** Starts a term (the Lease was just acquired). */
  start(): void {
    this.stop();
    const id = ++this.#terms;
    const abort = new AbortController();
    const term: Term = {
      id,
      abort,
      queue: new WriteQueue({ concurrency: this.#o.concurrency ?? 16, log: this.#log }),
      ready: false,
      ipam: null,
      nodeConfigs: null,
      invalid: null,
    };
    this.#term = term;
    void this.#run(term).catch((err) => this.#log.error("Cannot start the leader's work", { error: err as Error }));
  }

  /** Ends the term (the Lease was lost or the agent stops): nothing more is written. */
  stop(): void {
    const t = this.#term;
    if (!t) return;
    this.#term = null;
    t.abort.abort();
    t.queue.stop();
    if (t.ready) this.#log.info("Stopped the cluster-wide work (LB-IPAM, NodeConfigs): no longer the leader");
  }

  /**
   * Follows one batch (after the store took it): LB-IPAM sees every event
   * (pool and Service status included); NodeConfigs are recomputed only for
   * `relevant` ones — not for each node's status report or a Node's
   * heartbeat, which change nothing the derivation reads.
   */
  apply(events: readonly SourceEvent[], relevant: readonly SourceEvent[] = events): void {
    const t = this.#term;
    if (!t?.ready) return;
    t.ipam!.apply(events);
    let inputs = false;
    let invalid = false;
    for (const e of relevant) {
      const kind = e.type === "upsert" ? e.resource.kind : e.type === "delete" || e.type === "invalid" ? e.kind : undefined;
      if (kind !== undefined && NODE_CONFIG_INPUTS.has(kind)) inputs = true;
      if (e.type === "invalid") invalid = true;
    }
    if (inputs) t.nodeConfigs!.touch();
    if (invalid) t.invalid?.report(this.#o.store.problems());
  }

  /** Resolves when a term is running. */
  whenRunning(): Promise<void> {
    if (this.running) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Resolves when the current term has nothing left to write (tests, benchmarks). */
  async idle(): Promise<void> {
    await this.#term?.queue.idle();
  }

  /** Counters of the current term. */
  stats(): { ipam: LeaderLbIpam["stats"] | null; nodeConfigs: NodeConfigDuty["stats"] | null } {
    return { ipam: this.#term?.ipam?.stats ?? null, nodeConfigs: this.#term?.nodeConfigs?.stats ?? null };
  }

  async #run(term: Term): Promise<void> {
    const o = this.#o;
    const current = () => this.#term === term && !term.abort.signal.aborted;
    const fence = () => current() && o.isLeader();
    const started = performance.now();
    const refs = o.watched().filter((r) => LEADER_KINDS.has(r.kind));
    this.#log.info("Leading: waiting until the informers have caught up with the API server before allocating", { kinds: refs.length });
    const fresh = await waitUntilFresh({ client: o.client, store: o.store, refs, secretsNamespace: o.secretsNamespace, signal: term.abort.signal });
    if (!current() || fresh.rounds < 0) return;
    const lb = o.lbIpam();
    term.ipam = new LeaderLbIpam({ client: o.client, store: o.store, queue: term.queue, fence, events: o.events, engine: { ...lb, now: o.now ?? (() => new Date()) }, log: this.#log });
    term.nodeConfigs = new NodeConfigDuty({ client: o.client, store: o.store, queue: term.queue, fence, events: o.events, options: o.control, now: o.now, log: this.#log });
    term.invalid = o.events ? new InvalidObjectEvents(o.events) : null;
    const adopted = term.ipam.load();
    term.nodeConfigs.touch();
    term.invalid?.report(o.store.problems());
    term.ready = true;
    this.#log.info("Leading: LB-IPAM and NodeConfigs running", {
      services_with_addresses: adopted,
      pools: term.ipam.engine.pools().length,
      queued_writes: term.queue.size,
      barrier_rounds: fresh.rounds,
      ms: Math.round(performance.now() - started),
    });
    for (const w of this.#readyWaiters.splice(0)) w();
  }
}
