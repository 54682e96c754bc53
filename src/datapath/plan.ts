/**
 * The diff between what the maps hold and what they should hold, as a plan
 * in the order that keeps readers safe (pure: no I/O):
 *
 * 1. `newRanges`: backend lists no range holds yet, written to fresh slots;
 * 2. `flips`: frontends pointed at their (new or shared) range, one atomic
 *    map update each;
 * 3. `deletes`: frontends removed;
 * 4. then (in the applier) ranges no frontend points at any more are freed.
 *
 * So the BPF program never sees a frontend whose slots are missing.
 */
import type { Backend } from "./layout.ts";
import type { DesiredFrontend } from "./desired.ts";

export interface Plan {
  /** Backend lists to write, by content, before any frontend moves to them. */
  readonly newRanges: ReadonlyMap<string, readonly Backend[]>;
  readonly flips: readonly DesiredFrontend[];
  readonly deletes: readonly string[];
  readonly unchanged: number;
}

/**
 * @param running content of each frontend the maps hold, by frontend id
 * @param ranges contents that already have a range of slots
 * @param changes per frontend id, what it should be (null: absent)
 */
export function planChanges(
  running: ReadonlyMap<string, { readonly content: string }>,
  ranges: { has(content: string): boolean },
  changes: Iterable<readonly [string, DesiredFrontend | null]>,
): Plan {
  const newRanges = new Map<string, readonly Backend[]>();
  const flips: DesiredFrontend[] = [];
  const deletes: string[] = [];
  let unchanged = 0;
  for (const [id, want] of changes) {
    const have = running.get(id);
    if (want === null) {
      if (have) deletes.push(id);
      else unchanged++;
      continue;
    }
    if (have?.content === want.content) {
      unchanged++;
      continue;
    }
    if (!ranges.has(want.content) && !newRanges.has(want.content)) newRanges.set(want.content, want.backends);
    flips.push(want);
  }
  return { newRanges, flips, deletes, unchanged };
}
