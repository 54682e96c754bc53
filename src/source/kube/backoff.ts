/**
 * Exponential backoff with jitter, and an abortable sleep. Every retry loop
 * in the Kubernetes source uses it, so that a restarting API server sees
 * clients spread out instead of a thundering herd.
 *
 * @example
 * ```ts
 * const b = new Backoff({ initialMs: 500, maxMs: 30_000 });
 * await sleep(b.next(), signal); // 400–600 ms, then 800–1200 ms, …
 * b.reset();                      // after a success
 * ```
 */

export interface BackoffOptions {
  /** First delay (default 500 ms). */
  initialMs?: number;
  /** Cap on the delay before jitter (default 30 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Relative spread: each delay is uniform in [d·(1−jitter), d·(1+jitter)] (default 0.2). */
  jitter?: number;
  /** Source of randomness in [0, 1) (tests pin it). */
  random?: () => number;
}

export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 500;
    this.#max = options.maxMs ?? 30_000;
    this.#factor = options.factor ?? 2;
    this.#jitter = options.jitter ?? 0.2;
    this.#random = options.random ?? Math.random;
  }

  /** Consecutive failures so far. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt; grows until reset(). */
  next(): number {
    const base = Math.min(this.#max, this.#initial * this.#factor ** this.#attempt);
    this.#attempt++;
    const spread = base * this.#jitter * (2 * this.#random() - 1);
    return Math.max(0, Math.round(base + spread));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
