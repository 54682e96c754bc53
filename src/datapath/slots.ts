/**
 * Backend slot ranges: each distinct backend list occupies a contiguous run
 * of slots in the backends map, [first, first + count). A first-fit
 * allocator over free extents, kept sorted and coalesced.
 */
export class SlotAllocator {
  readonly size: number;
  // Free extents, sorted by start, never adjacent (coalesced).
  #starts: number[] = [];
  #lengths: number[] = [];
  #free: number;

  constructor(size: number) {
    this.size = size;
    this.#free = size;
    if (size > 0) {
      this.#starts.push(0);
      this.#lengths.push(size);
    }
  }

  get freeSlots(): number {
    return this.#free;
  }

  /** The first slot of a free run of `count` slots, or undefined when none is long enough. */
  allocate(count: number): number | undefined {
    if (count <= 0) throw new RangeError(`Cannot allocate ${count} backend slots`);
    for (let i = 0; i < this.#starts.length; i++) {
      if (this.#lengths[i] < count) continue;
      const first = this.#starts[i];
      if (this.#lengths[i] === count) {
        this.#starts.splice(i, 1);
        this.#lengths.splice(i, 1);
      } else {
        this.#starts[i] += count;
        this.#lengths[i] -= count;
      }
      this.#free -= count;
      return first;
    }
    return undefined;
  }

  /** Index of the last extent starting at or before `slot`, or -1. */
  #floor(slot: number): number {
    let lo = 0;
    let hi = this.#starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#starts[mid] <= slot) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Marks [first, first + count) used; false (and no change) unless it was all free. */
  reserve(first: number, count: number): boolean {
    if (count <= 0) return true;
    const i = this.#floor(first);
    if (i < 0) return false;
    const start = this.#starts[i];
    const end = start + this.#lengths[i];
    if (first + count > end) return false;
    const before = first - start;
    const after = end - (first + count);
    const parts: [number, number][] = [];
    if (before > 0) parts.push([start, before]);
    if (after > 0) parts.push([first + count, after]);
    this.#starts.splice(i, 1, ...parts.map((p) => p[0]));
    this.#lengths.splice(i, 1, ...parts.map((p) => p[1]));
    this.#free -= count;
    return true;
  }

  /** Returns [first, first + count) to the free extents. */
  release(first: number, count: number): void {
    if (count <= 0) return;
    if (first < 0 || first + count > this.size) {
      throw new RangeError(`Cannot release backend slots ${first}..${first + count - 1}: outside 0..${this.size - 1}`);
    }
    const i = this.#floor(first); // the extent before, if any
    const prevEnd = i >= 0 ? this.#starts[i] + this.#lengths[i] : -1;
    const next = i + 1;
    if (prevEnd > first || (next < this.#starts.length && this.#starts[next] < first + count)) {
      throw new RangeError(`Cannot release backend slots ${first}..${first + count - 1}: some are already free`);
    }
    const joinPrev = i >= 0 && prevEnd === first;
    const joinNext = next < this.#starts.length && this.#starts[next] === first + count;
    if (joinPrev && joinNext) {
      this.#lengths[i] += count + this.#lengths[next];
      this.#starts.splice(next, 1);
      this.#lengths.splice(next, 1);
    } else if (joinPrev) {
      this.#lengths[i] += count;
    } else if (joinNext) {
      this.#starts[next] = first;
      this.#lengths[next] += count;
    } else {
      this.#starts.splice(next, 0, first);
      this.#lengths.splice(next, 0, count);
    }
    this.#free += count;
  }
}
