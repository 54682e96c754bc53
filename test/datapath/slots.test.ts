/** SlotAllocator: contiguous backend slot ranges, first fit, coalesced on release. */
import { describe, expect, it } from "vitest";
import { SlotAllocator } from "../../src/datapath/slots.ts";

describe("SlotAllocator", () => {
  it("allocate() hands out contiguous runs first-fit and undefined when none fits", () => {
    const a = new SlotAllocator(10);
    expect(a.allocate(4)).toBe(0);
    expect(a.allocate(4)).toBe(4);
    expect(a.allocate(3)).toBeUndefined();
    expect(a.allocate(2)).toBe(8);
    expect(a.freeSlots).toBe(0);
  });

  it("release() coalesces with both neighbours so a long run fits again", () => {
    const a = new SlotAllocator(9);
    const [x, y, z] = [a.allocate(3)!, a.allocate(3)!, a.allocate(3)!];
    a.release(x, 3);
    a.release(z, 3);
    expect(a.allocate(6)).toBeUndefined();
    a.release(y, 3);
    expect(a.allocate(9)).toBe(0);
  });

  it("reuses the first hole that fits", () => {
    const a = new SlotAllocator(20);
    const r = [a.allocate(2)!, a.allocate(5)!, a.allocate(2)!, a.allocate(5)!];
    a.release(r[0], 2);
    a.release(r[2], 2);
    expect(a.allocate(2)).toBe(0);
    expect(a.allocate(2)).toBe(7);
    expect(a.allocate(3)).toBe(14);
  });

  it("reserve() takes a given run only when it is all free (restart adoption)", () => {
    const a = new SlotAllocator(10);
    expect(a.reserve(3, 4)).toBe(true);
    expect(a.reserve(5, 1)).toBe(false);
    expect(a.reserve(6, 2)).toBe(false);
    expect(a.freeSlots).toBe(6);
    expect(a.allocate(3)).toBe(0);
    expect(a.allocate(3)).toBe(7);
  });

  it("release() refuses double frees and slots outside the map", () => {
    const a = new SlotAllocator(8);
    const x = a.allocate(4)!;
    a.release(x, 4);
    expect(() => a.release(x, 4)).toThrow("Cannot release backend slots 0..3: some are already free");
    expect(() => a.release(6, 4)).toThrow("Cannot release backend slots 6..9: outside 0..7");
  });

  it("stays consistent over many random allocations and releases", () => {
    const a = new SlotAllocator(1000);
    const held: [number, number][] = [];
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 5000; i++) {
      if (held.length && rnd(2) === 0) {
        const [first, count] = held.splice(rnd(held.length), 1)[0];
        a.release(first, count);
      } else {
        const count = 1 + rnd(20);
        const first = a.allocate(count);
        if (first !== undefined) held.push([first, count]);
      }
      // No two held runs overlap, and the free count adds up.
      const used = held.reduce((n, [, c]) => n + c, 0);
      expect(a.freeSlots).toBe(1000 - used);
    }
    const taken = new Set<number>();
    for (const [first, count] of held) {
      for (let s = first; s < first + count; s++) {
        expect(taken.has(s)).toBe(false);
        taken.add(s);
      }
    }
  });
});
