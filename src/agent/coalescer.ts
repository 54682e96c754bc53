/**
 * The reconcile trigger: at most one run per interval, but no waiting for
 * the first change after a quiet spell (spec E20: Cilium rate-limits
 * reactions to one trigger per 100 ms; herald keeps that bound and starts
 * the first run at once, which is what keeps file-change-to-route latency
 * low).
 *
 * - `trigger()` asks for a run. With no run in the last interval it starts
 *   on the next macrotask; otherwise it is folded into one run at the end
 *   of the interval, however many triggers came in between.
 * - Runs never overlap: a trigger during a run schedules one more run.
 * - `retry(ms)` asks for a run no later than `ms` from now (backoff after
 *   reconcile errors, spec C9); a trigger may run it sooner.
 *
 * @example
 * ```ts
 * const c = new Coalescer(() => reconcile(), { intervalMs: 100 });
 * c.trigger(); c.trigger(); c.trigger();   // one run now, at most one more 100 ms later
 * await c.idle();
 * ```
 */

export interface CoalescerOptions {
  /** Minimum time between the starts of two runs. Default 100 ms. */
  intervalMs?: number;
  /** Milliseconds clock; performance.now by default. */
  now?: () => number;
  /** Called when a run rejects (the coalescer keeps going). */
  onError?: (err: unknown) => void;
}

export class Coalescer {
  readonly #run: () => Promise<void>;
  readonly #interval: number;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;
  #lastStart = -Infinity;
  #running: Promise<void> | null = null;
  #pending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #stopped = false;
  #waiters: Array<() => void> = [];
  /** Runs started so far. */
  runs = 0;

  constructor(run: () => Promise<void>, options: CoalescerOptions = {}) {
    this.#run = run;
    this.#interval = options.intervalMs ?? 100;
    this.#now = options.now ?? (() => performance.now());
    this.#onError = options.onError ?? (() => {});
  }

  trigger(): void {
    if (this.#stopped) return;
    this.#pending = true;
    if (this.#running) return; // picked up when the run ends
    this.#arm(Math.max(0, this.#lastStart + this.#interval - this.#now()));
  }

  /** A run within `ms` at the latest (retries after errors). */
  retry(ms: number): void {
    if (this.#stopped) return;
    this.#pending = true;
    if (this.#running) return;
    this.#arm(Math.max(ms, this.#lastStart + this.#interval - this.#now()));
  }

  /** Resolves once no run is pending or in progress. */
  idle(): Promise<void> {
    if (!this.#pending && !this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** No more runs; resolves when the current one (if any) ends. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = false;
    await this.#running;
    this.#wake();
  }

  #arm(delay: number): void {
    const at = this.#now() + delay;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#fire(), delay);
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#stopped || this.#running || !this.#pending) return;
    // Timers may fire a little early against this clock: keep the interval.
    const early = this.#lastStart + this.#interval - this.#now();
    if (early > 0.5) return this.#arm(early);
    this.#pending = false;
    this.#lastStart = this.#now();
    this.runs++;
    this.#running = this.#run().catch((err) => this.#onError(err)).finally(() => {
      this.#running = null;
      if (this.#pending && !this.#stopped) this.#arm(Math.max(0, this.#lastStart + this.#interval - this.#now()));
      else this.#wake();
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
