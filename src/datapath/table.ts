/**
 * The service table herald holds: every frontend it has written, the backend
 * lists (ranges of slots) they point at with reference counts, and the slot
 * allocator. It applies plans (plan.ts) through a `MapWriter` in the order
 * that keeps the BPF program safe, and records what actually ran even when a
 * write fails halfway. No BPF here: the writer is the kernel maps in
 * production and a recorder in tests.
 */
import { backendSortKey, frontendId } from "./layout.ts";
import type { Backend, Frontend, SlotRange } from "./layout.ts";
import type { DesiredFrontend } from "./desired.ts";
import { planChanges } from "./plan.ts";
import { SlotAllocator } from "./slots.ts";

/** Where the table's writes go, one map element at a time. */
export interface MapWriter {
  putBackend(slot: number, backend: Backend): void;
  deleteBackend(slot: number): void;
  /** One atomic update: the frontend now points at `range`. */
  putFrontend(frontend: Frontend, range: SlotRange): void;
  deleteFrontend(frontend: Frontend): void;
}

export interface ApplyOutcome {
  /** Frontends written (added or moved to another backend list). */
  upserted: number;
  deleted: number;
  unchanged: number;
  /** Frontends left as they were because a write failed, and why. */
  failed: { frontend: string; error: string }[];
}

interface Range extends SlotRange {
  content: string;
  backends: readonly Backend[];
  refs: number;
  /** Whether this range's slots are the table's to delete and reuse. */
  owned: boolean;
}

interface Held {
  frontend: Frontend;
  content: string;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class ServiceTable {
  readonly slotCount: number;
  #writer: MapWriter;
  #held = new Map<string, Held>();
  #ranges = new Map<string, Range>();
  #slots: SlotAllocator;

  constructor(writer: MapWriter, slotCount: number) {
    this.#writer = writer;
    this.slotCount = slotCount;
    this.#slots = new SlotAllocator(slotCount);
  }

  /**
   * Takes over what the maps already hold (agent restart). Frontends
   * pointing at the same slots share one range; a range whose slots are
   * missing, out of order or a duplicate gets a content no desired list can
   * equal, so the first sync rewrites it. Slots no frontend points at are
   * deleted. Returns how many were.
   */
  adopt(frontends: Iterable<[Frontend, SlotRange]>, slots: ReadonlyMap<number, Backend>): number {
    const byLocation = new Map<string, Range>();
    for (const [frontend, { first, count }] of frontends) {
      const location = `${first}:${count}`;
      let range = byLocation.get(location);
      if (!range) {
        const backends: Backend[] = [];
        for (let i = 0; i < count && slots.has(first + i); i++) backends.push(slots.get(first + i)!);
        const keys = backends.map(backendSortKey);
        const sorted = keys.every((key, i) => i === 0 || keys[i - 1] < key);
        let content = backends.length === count && sorted ? keys.join("") : `stale:${location}`;
        if (this.#ranges.has(content)) content = `stale:${location}`;
        const owned = count > 0 && this.#slots.reserve(first, count);
        range = { content, first, count, backends, refs: 0, owned };
        byLocation.set(location, range);
        this.#ranges.set(content, range);
      }
      range.refs++;
      this.#held.set(frontendId(frontend), { frontend, content: range.content });
    }
    let orphans = 0;
    for (const slot of slots.keys()) {
      if (!this.#slots.reserve(slot, 1)) continue; // part of an adopted range
      this.#slots.release(slot, 1);
      this.#writer.deleteBackend(slot);
      orphans++;
    }
    return orphans;
  }

  /** Ids of the frontends held. */
  ids(): IterableIterator<string> {
    return this.#held.keys();
  }

  /**
   * Applies the changes in the safe order: new backend lists into fresh
   * slots, then each frontend flipped in one update, then deletions, and
   * only then the slots nothing points at any more are freed.
   */
  apply(changes: Iterable<readonly [string, DesiredFrontend | null]>): ApplyOutcome {
    const plan = planChanges(this.#held, this.#ranges, changes);
    const out: ApplyOutcome = { upserted: 0, deleted: 0, unchanged: plan.unchanged, failed: [] };
    const broken = new Map<string, string>();
    const maybeFree = new Set<string>();

    for (const [content, backends] of plan.newRanges) {
      try {
        this.#ranges.set(content, this.#writeRange(content, backends));
        maybeFree.add(content); // in case no flip ends up using it
      } catch (err) {
        broken.set(content, message(err));
      }
    }
    for (const want of plan.flips) {
      const reason = broken.get(want.content);
      if (reason !== undefined) {
        out.failed.push({ frontend: want.id, error: reason });
        continue;
      }
      const range = this.#ranges.get(want.content)!;
      try {
        this.#writer.putFrontend(want.frontend, range);
      } catch (err) {
        out.failed.push({ frontend: want.id, error: message(err) });
        continue;
      }
      range.refs++;
      const old = this.#held.get(want.id);
      if (old) this.#unref(old.content, maybeFree);
      this.#held.set(want.id, { frontend: want.frontend, content: want.content });
      out.upserted++;
    }
    for (const id of plan.deletes) {
      const old = this.#held.get(id)!;
      try {
        this.#writer.deleteFrontend(old.frontend);
      } catch (err) {
        out.failed.push({ frontend: id, error: message(err) });
        continue;
      }
      this.#held.delete(id);
      this.#unref(old.content, maybeFree);
      out.deleted++;
    }
    for (const content of maybeFree) {
      const range = this.#ranges.get(content);
      if (range && range.refs === 0) this.#freeRange(range);
    }
    return out;
  }

  #unref(content: string, maybeFree: Set<string>): void {
    const range = this.#ranges.get(content);
    if (!range) return;
    range.refs--;
    if (range.refs <= 0) maybeFree.add(content);
  }

  #writeRange(content: string, backends: readonly Backend[]): Range {
    if (backends.length === 0) return { content, first: 0, count: 0, backends, refs: 0, owned: false };
    const first = this.#slots.allocate(backends.length);
    if (first === undefined) {
      throw new Error(
        `Cannot store ${backends.length} backends: the backends map has ${this.#slots.freeSlots} free slots of ${this.slotCount} in one piece or less`,
      );
    }
    let written = 0;
    try {
      for (; written < backends.length; written++) this.#writer.putBackend(first + written, backends[written]);
    } catch (err) {
      for (let i = 0; i < written; i++) this.#writer.deleteBackend(first + i);
      this.#slots.release(first, backends.length);
      throw err;
    }
    return { content, first, count: backends.length, backends, refs: 0, owned: true };
  }

  #freeRange(range: Range): void {
    this.#ranges.delete(range.content);
    if (!range.owned) return;
    for (let i = 0; i < range.count; i++) this.#writer.deleteBackend(range.first + i);
    this.#slots.release(range.first, range.count);
  }

  /** Every frontend held with its backends, unsorted. */
  *entries(): IterableIterator<{ frontend: Frontend; backends: Backend[] }> {
    for (const { frontend, content } of this.#held.values()) {
      yield { frontend, backends: [...(this.#ranges.get(content)?.backends ?? [])] };
    }
  }

  stats(): { frontends: number; backendLists: number; slotsUsed: number; slotsFree: number } {
    return {
      frontends: this.#held.size,
      backendLists: this.#ranges.size,
      slotsUsed: this.slotCount - this.#slots.freeSlots,
      slotsFree: this.#slots.freeSlots,
    };
  }
}
