import { describe, expect, it } from "vitest";
import { FreeBlocks } from "../../src/ipam/free-blocks.ts";

describe("FreeBlocks", () => {
  it("takeAny() returns the lowest address of a fresh range, then the next ones (I7)", () => {
    const f = new FreeBlocks(10n, 13n);
    expect([f.takeAny(), f.takeAny(), f.takeAny(), f.takeAny(), f.takeAny()]).toEqual([10n, 11n, 12n, 13n, null]);
    expect(f.free).toBe(0n);
  });

  it("takeAny() takes the first address of the smallest free block (I7)", () => {
    const f = new FreeBlocks(0n, 99n);
    for (let i = 0; i < 20; i++) f.takeAny();
    f.put(9n); // block [9]
    f.put(3n); // block [3]
    f.put(4n); // joins 3: block [3,4]
    expect(f.list()).toEqual([[3n, 4n], [9n, 9n], [20n, 99n]]);
    expect(f.takeAny()).toBe(9n); // size 1 beats size 2 and the big tail
    expect(f.takeAny()).toBe(3n); // then the two-address hole, from its start
    expect(f.takeAny()).toBe(4n);
    expect(f.takeAny()).toBe(20n);
  });

  it("breaks size ties by the lowest address (herald's deterministic choice)", () => {
    const f = new FreeBlocks(0n, 9n);
    for (let i = 0; i < 10; i++) f.takeAny();
    f.put(7n);
    f.put(2n);
    f.put(5n);
    expect([f.takeAny(), f.takeAny(), f.takeAny()]).toEqual([2n, 5n, 7n]);
  });

  it("take() splits a block and put() merges both neighbours back", () => {
    const f = new FreeBlocks(0n, 9n);
    expect(f.take(5n)).toBe(true);
    expect(f.list()).toEqual([[0n, 4n], [6n, 9n]]);
    expect(f.take(5n)).toBe(false);
    expect(f.has(5n)).toBe(false);
    expect(f.put(5n)).toBe(true);
    expect(f.list()).toEqual([[0n, 9n]]);
    expect(f.blocks).toBe(1);
    expect(f.put(5n)).toBe(false); // already free
  });

  it("take() at either edge shrinks the block", () => {
    const f = new FreeBlocks(0n, 9n);
    f.take(0n);
    f.take(9n);
    expect(f.list()).toEqual([[1n, 8n]]);
    expect(f.take(42n)).toBe(false);
  });

  it("holds an IPv6 /64 as one block whatever is taken from its start", () => {
    const start = 0x20010db8000000000000000000000000n;
    const f = new FreeBlocks(start, start + (1n << 64n) - 1n);
    for (let i = 0n; i < 1000n; i++) expect(f.takeAny()).toBe(start + i);
    expect(f.blocks).toBe(1);
    expect(f.free).toBe((1n << 64n) - 1000n);
  });

  it("agrees with a naive model over random take/put/takeAny sequences", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const N = 64;
    const f = new FreeBlocks(0n, BigInt(N - 1));
    const free = new Set<number>(Array.from({ length: N }, (_, i) => i));
    const modelAny = (): number | null => {
      // Blocks of consecutive free addresses; smallest first, then lowest.
      const blocks: Array<[number, number]> = [];
      for (let i = 0; i < N; i++) {
        if (!free.has(i)) continue;
        if (blocks.length > 0 && blocks[blocks.length - 1][1] === i - 1) blocks[blocks.length - 1][1] = i;
        else blocks.push([i, i]);
      }
      if (blocks.length === 0) return null;
      blocks.sort((a, b) => (a[1] - a[0]) - (b[1] - b[0]) || a[0] - b[0]);
      return blocks[0][0];
    };
    for (let step = 0; step < 5000; step++) {
      const op = rand(3);
      const ip = rand(N);
      if (op === 0) {
        expect(f.take(BigInt(ip))).toBe(free.delete(ip));
      } else if (op === 1) {
        const was = free.has(ip);
        free.add(ip);
        expect(f.put(BigInt(ip))).toBe(!was);
      } else {
        const want = modelAny();
        const got = f.takeAny();
        expect(got === null ? null : Number(got)).toBe(want);
        if (want !== null) free.delete(want);
      }
      expect(f.free).toBe(BigInt(free.size));
    }
  });
});
