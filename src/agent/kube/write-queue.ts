/**
 * The leader's writes, as a keyed work queue (client-go's workqueue with a
 * rate limiter, which Cilium's LB-IPAM and BGP operator both use):
 *
 * - one job per key (`svc/default/web`, `pool/blue`, `nodeconfigs`); adding
 *   a key that is already waiting does nothing more, since a job computes
 *   what to write when it runs, from the state at that moment;
 * - a key added while its job runs runs once more afterwards;
 * - at most `concurrency` jobs run at once (5,000 Services must not be
 *   5,000 simultaneous requests);
 * - a job that throws is retried after an exponential, jittered delay per
 *   key (spec I16: 250 ms doubling up to 5 min; B8: from 1 s), reset by a
 *   success; later events do not shorten the wait.
 *
 * Jobs check the leadership fence themselves, right before each request.
 *
 * @example
 * ```ts
 * const q = new WriteQueue({ concurrency: 16, log });
 * q.add("svc/default/web", () => writeServiceStatus("default/web"));
 * await q.idle();
 * ```
 */
import { type Logger, silentLogger } from "../../log.ts";

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

/** Spec I16: failed LB-IPAM items are retried from 250 ms up to 5 minutes. */
export const IPAM_RETRY: RetryPolicy = { initialMs: 250, maxMs: 300_000 };

export interface WriteQueueOptions {
  concurrency?: number;
  retry?: RetryPolicy;
  random?: () => number;
  log?: Logger;
}

interface Item {
  run: () => Promise<void>;
  retry: RetryPolicy;
  queued: boolean;
  running: boolean;
  again: boolean;
  failures: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class WriteQueue {
  readonly #o: Required<Omit<WriteQueueOptions, "log">>;
  readonly #log: Logger;
  readonly #items = new Map<string, Item>();
  readonly #ready: string[] = [];
  #running = 0;
  #stopped = false;
  #waiters: (() => void)[] = [];
  /** Jobs run, and how many of them failed. */
  readonly stats = { runs: 0, failures: 0 };

  constructor(options: WriteQueueOptions = {}) {
    this.#o = { concurrency: options.concurrency ?? 16, retry: options.retry ?? IPAM_RETRY, random: options.random ?? Math.random };
    this.#log = options.log ?? silentLogger;
  }

  /** Queues `run` under `key` (replacing a waiting job of that key). */
  add(key: string, run: () => Promise<void>, retry?: RetryPolicy): void {
    if (this.#stopped) return;
    let item = this.#items.get(key);
    if (!item) {
      item = { run, retry: retry ?? this.#o.retry, queued: false, running: false, again: false, failures: 0, timer: undefined };
      this.#items.set(key, item);
    }
    item.run = run;
    if (retry) item.retry = retry;
    if (item.failures === -Infinity) item.failures = 0; // cleared while running: this is a new job
    if (item.running) {
      item.again = true;
      return;
    }
    if (item.timer !== undefined || item.queued) return; // waiting already: it will run the newest job
    item.queued = true;
    this.#ready.push(key);
    this.#pump();
  }

  /** Keys waiting, running or backing off. */
  get size(): number {
    return this.#items.size;
  }

  /** Resolves when nothing waits or runs (jobs backing off count as waiting). */
  idle(): Promise<void> {
    if (this.#items.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Drops every job; running ones finish but are not retried. */
  clear(): void {
    for (const item of this.#items.values()) clearTimeout(item.timer);
    for (const [key, item] of this.#items) if (!item.running) this.#items.delete(key);
    for (const item of this.#items.values()) {
      item.again = false;
      item.failures = -Infinity; // marks "dropped" for #finish
    }
    this.#ready.length = 0;
    this.#wake();
  }

  stop(): void {
    this.#stopped = true;
    this.clear();
  }

  #pump(): void {
    while (this.#running < this.#o.concurrency && this.#ready.length > 0) {
      const key = this.#ready.shift()!;
      const item = this.#items.get(key);
      if (!item) continue;
      item.queued = false;
      item.running = true;
      this.#running++;
      this.stats.runs++;
      void item.run().then(() => this.#finish(key, item, null), (err) => this.#finish(key, item, err));
    }
  }

  #finish(key: string, item: Item, err: unknown): void {
    this.#running--;
    item.running = false;
    const dropped = item.failures === -Infinity;
    if (dropped || this.#stopped) {
      if (this.#items.get(key) === item) this.#items.delete(key);
    } else if (err !== null) {
      this.stats.failures++;
      const base = Math.min(item.retry.maxMs, item.retry.initialMs * 2 ** item.failures++);
      const delay = Math.round(base * (0.8 + 0.4 * this.#o.random()));
      this.#log.warn("Write failed, retrying", { key, error: err as Error, retryInMs: delay, attempt: item.failures });
      item.again = false;
      item.timer = setTimeout(() => {
        item.timer = undefined;
        if (this.#items.get(key) !== item || this.#stopped) return;
        item.queued = true;
        this.#ready.push(key);
        this.#pump();
      }, delay);
    } else {
      item.failures = 0;
      if (item.again) {
        item.again = false;
        item.queued = true;
        this.#ready.push(key);
      } else {
        this.#items.delete(key);
      }
    }
    this.#pump();
    if (this.#items.size === 0) this.#wake();
  }

  #wake(): void {
    if (this.#items.size > 0) return;
    for (const w of this.#waiters.splice(0)) w();
  }
}
