/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's
 * rules: acquire a missing, released or expired lease; renew every
 * retryPeriod; a holder that stops renewing is replaced once a candidate
 * has seen its record unchanged for a whole lease duration; release on
 * shutdown so the next leader need not wait.
 *
 * Fencing: `isLeader()` is true only while the last successful renewal
 * *started* less than renewDeadline ago. Another candidate can take over no
 * sooner than leaseDuration after it saw that renewal, and renewDeadline <
 * leaseDuration, so a writer that asks `isLeader()` right before each write
 * never overlaps with the next leader (given equal clock rates).
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({ client, namespace: "kube-system", name: "herald-lb-ipam", identity: nodeName });
 * elector.start();
 * await elector.whenLeader();
 * const writer = new StatusWriter({ client, fieldManager: "…", fence: () => elector.isLeader() });
 * ```
 */
import { silentLogger, type Logger } from "../../log.ts";
import { sleep } from "./backoff.ts";
import { KubeApiError, type KubeClient } from "./client.ts";
import { LEASES, resourcePath } from "./resources.ts";

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** This candidate (herald: the node name). */
  identity: string;
  /** How long a silent holder keeps the lease (written as whole seconds, at least 1). Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that cannot renew for this long stops leading. Default 10 s; must be < leaseDurationMs. */
  renewDeadlineMs?: number;
  /** Pause between attempts. Default 2 s. */
  retryPeriodMs?: number;
  now?: () => number;
  random?: () => number;
  log?: Logger;
  onStartedLeading?(): void;
  onStoppedLeading?(): void;
  /** The observed holder changed (undefined: nobody holds it). */
  onNewLeader?(identity: string | undefined): void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: LeaseSpec;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, "000Z");

export class LeaderElector {
  readonly #o: Required<Pick<LeaderElectorOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">> & LeaderElectorOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #path: string;
  #leading = false;
  /** When the last successful renewal started (local clock). */
  #lastRenew = -Infinity;
  #observed: string | undefined;
  #observedAt = -Infinity;
  #leader: string | undefined;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #waiters: (() => void)[] = [];

  constructor(options: LeaderElectorOptions) {
    this.#o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options };
    if (this.#o.renewDeadlineMs >= this.#o.leaseDurationMs) {
      throw new RangeError(`Cannot elect a leader: renewDeadlineMs (${this.#o.renewDeadlineMs}) must be less than leaseDurationMs (${this.#o.leaseDurationMs})`);
    }
    this.#log = (options.log ?? silentLogger).child({ subsys: "leader-election", lease: `${options.namespace}/${options.name}` });
    this.#now = options.now ?? Date.now;
    this.#path = resourcePath(LEASES, { namespace: options.namespace });
  }

  /** The fencing check: ask it right before every write only the leader may do. */
  isLeader(): boolean {
    return this.#leading && this.#now() - this.#lastRenew < this.#o.renewDeadlineMs;
  }

  /** The holder last seen in the Lease. */
  get leader(): string | undefined {
    return this.#leader;
  }

  /** Resolves when this candidate leads (at once if it does). */
  whenLeader(): Promise<void> {
    if (this.isLeader()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Stops campaigning; by default releases the lease so that another
   * candidate takes over at its next attempt instead of after a lease duration.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    if (options.release !== false && this.#leading) {
      try {
        await this.#release();
      } catch (err) {
        this.#log.warn("Cannot release the lease", { error: err });
      }
    }
    this.#setLeading(false);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const started = this.#now();
      let renewed = false;
      try {
        renewed = await this.#tryAcquireOrRenew(started);
      } catch (err) {
        this.#log.warn("Cannot acquire or renew the lease", { error: err });
      }
      if (signal.aborted) break;
      if (renewed) {
        this.#lastRenew = started;
        this.#setLeading(true);
      } else if (this.#leading && this.#now() - this.#lastRenew >= this.#o.renewDeadlineMs) {
        this.#log.warn("Lost the lease: could not renew within the renew deadline", { renewDeadlineMs: this.#o.renewDeadlineMs });
        this.#setLeading(false);
      }
      // Followers spread their attempts (client-go: JitterUntil(retryPeriod, 1.2)).
      const jitter = this.#leading ? 0 : this.#o.retryPeriodMs * 0.2 * (this.#o.random ?? Math.random)();
      await sleep(this.#o.retryPeriodMs + jitter, signal);
    }
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.#log.info(leading ? "Started leading" : "Stopped leading", { identity: this.#o.identity });
    if (leading) {
      for (const w of this.#waiters.splice(0)) w();
      this.#o.onStartedLeading?.();
    } else {
      this.#o.onStoppedLeading?.();
    }
  }

  #observe(spec: LeaseSpec, at: number): void {
    const record = JSON.stringify([spec.holderIdentity ?? "", spec.renewTime ?? "", spec.acquireTime ?? "", spec.leaseDurationSeconds ?? 0, spec.leaseTransitions ?? 0]);
    if (record !== this.#observed) {
      this.#observed = record;
      this.#observedAt = at;
    }
    const holder = spec.holderIdentity || undefined;
    if (holder !== this.#leader) {
      this.#leader = holder;
      this.#o.onNewLeader?.(holder);
    }
  }

  #spec(now: number, previous: LeaseSpec | undefined): LeaseSpec {
    const mine = previous?.holderIdentity === this.#o.identity;
    return {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.#o.leaseDurationMs / 1000)),
      acquireTime: mine && previous?.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous && !mine ? 1 : 0),
    };
  }

  async #tryAcquireOrRenew(now: number): Promise<boolean> {
    const client = this.#o.client;
    let lease: Lease;
    try {
      lease = await client.request<Lease>("GET", `${this.#path}/${encodeURIComponent(this.#o.name)}`);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 404)) throw err;
      const spec = this.#spec(now, undefined);
      try {
        await client.request("POST", this.#path, {
          body: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.#o.name, namespace: this.#o.namespace }, spec },
        });
      } catch (createErr) {
        if (createErr instanceof KubeApiError && createErr.code === 409) return false;
        throw createErr;
      }
      this.#observe(spec, this.#now());
      return true;
    }
    const spec = lease.spec ?? {};
    this.#observe(spec, this.#now());
    const holder = spec.holderIdentity;
    if (holder && holder !== this.#o.identity) {
      const validFor = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (this.#observedAt + validFor > this.#now()) {
        // Someone else holds a lease we have not seen expire.
        this.#setLeading(false);
        return false;
      }
    }
    const next = this.#spec(now, spec);
    try {
      await client.request("PUT", `${this.#path}/${encodeURIComponent(this.#o.name)}`, {
        body: { ...lease, spec: next },
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 409) return false;
      throw err;
    }
    this.#observe(next, this.#now());
    return true;
  }

  /** Gives the lease up: no holder, one-second duration (client-go ReleaseOnCancel). */
  async #release(): Promise<void> {
    const path = `${this.#path}/${encodeURIComponent(this.#o.name)}`;
    const lease = await this.#o.client.request<Lease>("GET", path);
    if (lease.spec?.holderIdentity !== this.#o.identity) return;
    const now = this.#now();
    const spec: LeaseSpec = { leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: lease.spec.leaseTransitions ?? 0 };
    await this.#o.client.request("PUT", path, { body: { ...lease, spec } });
    this.#observe(spec, now);
  }
}
