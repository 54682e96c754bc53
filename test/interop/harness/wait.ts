/**
 * Polling with useful failure messages: when a condition is not met in
 * time, the error shows what the probe last returned (or threw), so a
 * failing interop test says "last seen: state=active, lastError=Received:
 * Bad peer AS" instead of "timeout".
 */

export interface WaitOptions {
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
  /** Pause between probes; default 100 ms. */
  intervalMs?: number;
  /** Names what is awaited in the error: "BIRD n1 to hold 10 routes". */
  what?: string;
  /**
   * Called before each probe, e.g. `bird.poke()`: BIRD 2.0.12 can sit on its
   * last partial batch for ~3 s until a CLI command wakes its event loop.
   */
  poke?: () => Promise<unknown> | unknown;
  /** Extra context appended to a timeout error (e.g. a daemon's log tail). */
  context?: () => string | Promise<string>;
  signal?: AbortSignal;
}

/** Thrown by `waitFor` on timeout; carries the last value seen. */
export class WaitTimeoutError extends Error {
  readonly lastValue: unknown;
  constructor(message: string, lastValue: unknown) {
    super(message);
    this.name = "WaitTimeoutError";
    this.lastValue = lastValue;
  }
}

/** Compact text for a value in an error message. */
export function describeValue(value: unknown, max = 2000): string {
  let text: string;
  if (value instanceof Error) text = `${value.name}: ${value.message}`;
  else if (typeof value === "string") text = JSON.stringify(value);
  else {
    try {
      text = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? text.slice(0, max) + `… (${text.length} chars)` : text;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/**
 * Probes until `predicate(value)` holds and returns that value. A probe
 * that throws counts as "not yet" (daemons refuse queries while starting);
 * the last error is reported on timeout.
 *
 * @example
 * ```ts
 * const peer = await waitFor(() => bird.peer("10.0.0.2"), (p) => p.state === "established",
 *   { what: "BIRD session to herald", timeoutMs: 15_000 });
 * ```
 */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  predicate: (value: T) => boolean = (v) => Boolean(v),
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const started = Date.now();
  let seen = false;
  let last: T | undefined;
  let lastError: unknown;
  let probes = 0;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error("Cannot wait: aborted");
    try {
      if (options.poke) await options.poke();
      const value = await probe();
      probes++;
      seen = true;
      last = value;
      lastError = undefined;
      if (predicate(value)) return value;
    } catch (e) {
      probes++;
      lastError = e;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      const what = options.what ?? "condition";
      const parts = [`Cannot wait for ${what}: not met after ${elapsed} ms (${probes} probes)`];
      if (seen) parts.push(`last seen: ${describeValue(last)}`);
      if (lastError !== undefined) parts.push(`last error: ${describeValue(lastError)}`);
      if (options.context) {
        try {
          parts.push(await options.context());
        } catch { /* context is best effort */ }
      }
      throw new WaitTimeoutError(parts.join("\n"), lastError ?? last);
    }
    await sleep(Math.min(intervalMs, timeoutMs - elapsed), options.signal);
  }
}

/** Waits `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return sleep(ms);
}
