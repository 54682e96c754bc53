import { describe, expect, it } from "vitest";
import { Coalescer } from "../../src/agent/coalescer.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Coalescer (E20)", () => {
  it("runs the first trigger at once and folds a burst into one more run at the end of the interval", async () => {
    const starts: number[] = [];
    const t0 = performance.now();
    const c = new Coalescer(() => Promise.resolve(void starts.push(performance.now() - t0)), { intervalMs: 100 });
    c.trigger();
    await sleep(5);
    expect(starts).toHaveLength(1);
    expect(starts[0]).toBeLessThan(20);
    for (let i = 0; i < 20; i++) {
      c.trigger();
      await sleep(2);
    }
    await c.idle();
    expect(starts).toHaveLength(2);
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(99);
    await c.stop();
  });

  it("never overlaps runs: a trigger during a run schedules exactly one more", async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const c = new Coalescer(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      await sleep(30);
      running--;
    }, { intervalMs: 10 });
    c.trigger();
    await sleep(5);
    c.trigger();
    c.trigger();
    await c.idle();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
    await c.stop();
  });

  it("retry(ms) runs no later than asked, and a trigger can run it sooner", async () => {
    const starts: number[] = [];
    const t0 = performance.now();
    const c = new Coalescer(() => Promise.resolve(void starts.push(performance.now() - t0)), { intervalMs: 0 });
    c.retry(60);
    await sleep(20);
    expect(starts).toHaveLength(0);
    c.trigger();
    await c.idle();
    expect(starts).toHaveLength(1);
    expect(starts[0]).toBeLessThan(50);
    await c.stop();
  });

  it("keeps going after a failing run and reports the error", async () => {
    const errors: unknown[] = [];
    let n = 0;
    const c = new Coalescer(() => {
      if (n++ === 0) return Promise.reject(new Error("boom"));
      return Promise.resolve();
    }, { intervalMs: 0, onError: (e) => errors.push(e) });
    c.trigger();
    await c.idle();
    c.trigger();
    await c.idle();
    expect(n).toBe(2);
    expect(errors).toHaveLength(1);
    await c.stop();
  });
});
