/**
 * The free addresses of one range as a set of disjoint blocks [start, end].
 *
 * Memory and time depend on how fragmented the range is, never on its size:
 * a fresh IPv4 /8 or IPv6 /64 is a single block. Two views of the same
 * blocks are kept: an array sorted by start (binary search to take or return
 * a given address and merge neighbours) and a min-heap ordered by
 * (size, start) for "any address".
 *
 * "Any address" is the first address of the smallest free block, which is
 * what Cilium's allocator returns (spec I7, pkg/ipalloc): taking from the
 * smallest block fills holes before cutting into big blocks, and taking its
 * first address shrinks the block instead of splitting it. Cilium breaks
 * size ties by heap position (arbitrary); herald takes the lowest address,
 * so on a fresh range the result is always the lowest address.
 */

interface Block {
  start: bigint;
  end: bigint;
  /** Position in the heap, kept up to date by the heap operations. */
  heapIndex: number;
}

const size = (b: Block): bigint => b.end - b.start;

/** Heap order: smaller blocks first, then lower addresses. */
const before = (a: Block, b: Block): boolean => {
  const sa = size(a);
  const sb = size(b);
  return sa < sb || (sa === sb && a.start < b.start);
};

export class FreeBlocks {
  readonly #byStart: Block[] = [];
  readonly #heap: Block[] = [];
  #free: bigint;

  /** All addresses from `start` to `end` (inclusive) are free. */
  constructor(start: bigint, end: bigint) {
    if (end < start) throw new RangeError(`Cannot create free list: end ${end} is before start ${start}`);
    const block: Block = { start, end, heapIndex: 0 };
    this.#byStart.push(block);
    this.#heap.push(block);
    this.#free = end - start + 1n;
  }

  /** Number of free addresses. */
  get free(): bigint {
    return this.#free;
  }

  /** Number of blocks: the fragmentation, which bounds the cost of take/put. */
  get blocks(): number {
    return this.#byStart.length;
  }

  has(ip: bigint): boolean {
    const i = this.#indexOf(ip);
    return i >= 0;
  }

  /** Takes the first address of the smallest block; null when nothing is free. */
  takeAny(): bigint | null {
    const block = this.#heap[0];
    if (block === undefined) return null;
    const ip = block.start;
    this.#takeFrom(this.#indexOf(ip), ip);
    return ip;
  }

  /** Takes `ip`; false if it is not free. */
  take(ip: bigint): boolean {
    const i = this.#indexOf(ip);
    if (i < 0) return false;
    this.#takeFrom(i, ip);
    return true;
  }

  /** Returns `ip` to the free set, merging with adjacent blocks. False if it was already free. */
  put(ip: bigint): boolean {
    const i = this.#upperBound(ip); // first block starting after ip
    const left = i > 0 ? this.#byStart[i - 1] : undefined;
    const right = this.#byStart[i];
    if (left !== undefined && left.end >= ip) return false;
    const joinsLeft = left !== undefined && left.end + 1n === ip;
    const joinsRight = right !== undefined && ip + 1n === right.start;
    this.#free += 1n;
    if (joinsLeft && joinsRight) {
      left.end = right.end;
      this.#byStart.splice(i, 1);
      this.#heapRemove(right);
      this.#heapFix(left);
    } else if (joinsLeft) {
      left.end = ip;
      this.#heapFix(left);
    } else if (joinsRight) {
      right.start = ip;
      this.#heapFix(right);
    } else {
      const block: Block = { start: ip, end: ip, heapIndex: this.#heap.length };
      this.#byStart.splice(i, 0, block);
      this.#heap.push(block);
      this.#siftUp(block.heapIndex);
    }
    return true;
  }

  /** The free blocks in address order (tests, debugging). */
  list(): Array<[bigint, bigint]> {
    return this.#byStart.map((b) => [b.start, b.end]);
  }

  #takeFrom(i: number, ip: bigint): void {
    const block = this.#byStart[i];
    this.#free -= 1n;
    if (block.start === block.end) {
      this.#byStart.splice(i, 1);
      this.#heapRemove(block);
    } else if (ip === block.start) {
      block.start += 1n;
      this.#heapFix(block);
    } else if (ip === block.end) {
      block.end -= 1n;
      this.#heapFix(block);
    } else {
      const right: Block = { start: ip + 1n, end: block.end, heapIndex: this.#heap.length };
      block.end = ip - 1n;
      this.#heapFix(block);
      this.#byStart.splice(i + 1, 0, right);
      this.#heap.push(right);
      this.#siftUp(right.heapIndex);
    }
  }

  /** Index in #byStart of the block holding `ip`, or -1. */
  #indexOf(ip: bigint): number {
    const i = this.#upperBound(ip) - 1;
    return i >= 0 && this.#byStart[i].end >= ip ? i : -1;
  }

  /** Index of the first block whose start is greater than `ip`. */
  #upperBound(ip: bigint): number {
    let lo = 0;
    let hi = this.#byStart.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#byStart[mid].start <= ip) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #heapRemove(block: Block): void {
    const last = this.#heap.pop()!;
    if (last === block) return;
    last.heapIndex = block.heapIndex;
    this.#heap[last.heapIndex] = last;
    this.#heapFix(last);
  }

  #heapFix(block: Block): void {
    this.#siftUp(block.heapIndex);
    this.#siftDown(block.heapIndex);
  }

  #siftUp(i: number): void {
    const heap = this.#heap;
    const block = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(block, heap[parent])) break;
      heap[i] = heap[parent];
      heap[i].heapIndex = i;
      i = parent;
    }
    heap[i] = block;
    block.heapIndex = i;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const block = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(heap[r], heap[l]) ? r : l;
      if (!before(heap[child], block)) break;
      heap[i] = heap[child];
      heap[i].heapIndex = i;
      i = child;
    }
    heap[i] = block;
    block.heapIndex = i;
  }
}
