/**
 * Pool conflicts (spec I5): ranges of two pools intersect, or ranges inside
 * one pool intersect.
 *
 * Cilium marks the newer pool of an overlapping pair (and a pool that
 * overlaps itself) and keeps marks across events, so the outcome can depend
 * on event order and on Go map order when timestamps tie. herald computes
 * the answer from the current pools alone, so it is the same after every
 * restart and in every order:
 *
 *   - pools are taken oldest first: `creationTimestamp`, then name (a pool
 *     without a timestamp counts as newest); this is also the allocation order (I7);
 *   - a pool conflicts if its own ranges intersect, or if a range of it
 *     intersects a range of an older pool that does not itself conflict;
 *   - conflicting pools never make other pools conflict.
 *
 * One deliberate difference from Cilium follows: when an old pool goes away,
 * the oldest of the pools it kept out is released even if it overlaps a
 * younger one, instead of all of them staying marked until the next change.
 */
import type { IPFamily } from "../net/ip.ts";
import { formatRange } from "./range.ts";

export interface ConflictRange {
  family: IPFamily;
  start: bigint;
  end: bigint;
}

export interface ConflictPool {
  name: string;
  /** Ranges in `blocks` order. */
  ranges: readonly ConflictRange[];
}

export interface Conflict {
  /** This pool's range, the other range and the pool that owns it (itself for an internal overlap). */
  range: string;
  otherRange: string;
  otherPool: string;
}

const intersects = (a: ConflictRange, b: ConflictRange) => a.family === b.family && a.start <= b.end && b.start <= a.end;

interface Accepted {
  range: ConflictRange;
  pool: string;
  /** Position of the pool in age order, then of the range in its blocks. */
  rank: number;
  index: number;
}

/**
 * `pools` must be in age order (oldest first). Returns, for each
 * conflicting pool, the first overlap found, worded as Cilium words it.
 */
export function findConflicts(pools: readonly ConflictPool[]): Map<string, Conflict> {
  const out = new Map<string, Conflict>();
  // Ranges of non-conflicting pools, per family, sorted by start. They never
  // overlap each other, so the ones meeting a query range are contiguous.
  const accepted: Record<IPFamily, Accepted[]> = { 4: [], 6: [] };
  pools.forEach((pool, rank) => {
    const internal = internalOverlap(pool.ranges);
    if (internal !== null) {
      const [a, b] = internal;
      out.set(pool.name, { range: text(a), otherRange: text(b), otherPool: pool.name });
      return;
    }
    for (const r of pool.ranges) {
      const hit = firstOverlap(accepted[r.family], r);
      if (hit !== null) {
        out.set(pool.name, { range: text(r), otherRange: text(hit.range), otherPool: hit.pool });
        return;
      }
    }
    pool.ranges.forEach((range, index) => insertSorted(accepted[range.family], { range, pool: pool.name, rank, index }));
  });
  return out;
}

const text = (r: ConflictRange) => formatRange(r.family, r.start, r.end);

/** Cilium's pair order: the first range that meets any other, and the first one it meets. */
function internalOverlap(ranges: readonly ConflictRange[]): [ConflictRange, ConflictRange] | null {
  if (ranges.length < 2) return null;
  // Quick exit for the usual case: sort a copy and check neighbours.
  const sorted = [...ranges].sort((a, b) => a.family - b.family || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let any = false;
  for (let i = 1; i < sorted.length && !any; i++) any = intersects(sorted[i - 1], sorted[i]);
  if (!any) return null;
  for (let i = 0; i < ranges.length; i++) {
    for (let j = 0; j < ranges.length; j++) {
      if (i !== j && intersects(ranges[i], ranges[j])) return [ranges[i], ranges[j]];
    }
  }
  return null;
}

/** Among accepted ranges meeting `r`, the one of the oldest pool, then first in its blocks. */
function firstOverlap(list: Accepted[], r: ConflictRange): Accepted | null {
  // Last accepted range starting at or before r.end.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].range.start <= r.end) lo = mid + 1;
    else hi = mid;
  }
  let best: Accepted | null = null;
  for (let i = lo - 1; i >= 0 && list[i].range.end >= r.start; i--) {
    const a = list[i];
    if (best === null || a.rank < best.rank || (a.rank === best.rank && a.index < best.index)) best = a;
  }
  return best;
}

function insertSorted(list: Accepted[], a: Accepted): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].range.start < a.range.start) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, a);
}
