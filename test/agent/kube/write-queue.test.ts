/** WriteQueue: one job per key, bounded concurrency, rerun after a run, backoff per key (spec I16, B8). */
import { describe, expect, it } from "vitest";
import { WriteQueue } from "../../../src/agent/kube/write-queue.ts";

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe("WriteQueue", () => {
  it("runs at most `concurrency` jobs at once and each waiting key once", async () => {
    const q = new WriteQueue({ concurrency: 3 });
    let running = 0;
    let peak = 0;
    const runs: string[] = [];
    const job = (k: string) => async () => {
      running++;
      peak = Math.max(peak, running);
      runs.push(k);
      await tick(5);
      running--;
    };
    for (let i = 0; i < 10; i++) q.add(`k${i}`, job(`k${i}`));
    // k0–k2 run already: each runs once more; k3–k9 wait already: no second run.
    for (let i = 0; i < 10; i++) q.add(`k${i}`, job(`k${i}`));
    await q.idle();
    expect(peak).toBe(3);
    expect(runs.sort()).toEqual(["k0", "k0", "k1", "k1", "k2", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"]);
  });

  it("a key added while its job runs runs once more, with the newest job", async () => {
    const q = new WriteQueue();
    const seen: number[] = [];
    let release!: () => void;
    q.add("k", () => new Promise<void>((r) => (release = () => {
      seen.push(1);
      r();
    })));
    await tick();
    q.add("k", () => Promise.resolve(void seen.push(2)));
    q.add("k", () => Promise.resolve(void seen.push(3)));
    release();
    await q.idle();
    expect(seen).toEqual([1, 3]);
  });

  it("retries a failing key from 250 ms, doubling (I16), without holding up other keys", async () => {
    const q = new WriteQueue({ random: () => 0.5 });
    const times: number[] = [];
    const t0 = Date.now();
    let other = -1;
    q.add("bad", () => {
      times.push(Date.now() - t0);
      return times.length < 3 ? Promise.reject(new Error("Cannot write: HTTP 500")) : Promise.resolve();
    });
    q.add("good", () => Promise.resolve(void (other = Date.now() - t0)));
    await q.idle();
    expect(times).toHaveLength(3);
    expect(other).toBeLessThan(100);
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(240);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(490);
  });

  it("clear() drops waiting and backing-off jobs; a key added afterwards runs", async () => {
    const q = new WriteQueue({ concurrency: 1 });
    const seen: string[] = [];
    q.add("a", async () => {
      await tick(10);
      seen.push("a");
    });
    q.add("b", () => Promise.resolve(void seen.push("b")));
    q.add("c", () => Promise.reject(new Error("x")));
    await tick();
    q.clear();
    q.add("a", () => Promise.resolve(void seen.push("a2")));
    await q.idle();
    expect(seen).toEqual(["a", "a2"]);
  });
});
