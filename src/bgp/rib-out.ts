/**
 * Adj-RIB-Out of one peer: per family, the routes herald wants that peer to
 * have (prefix key → binding to an interned attribute set), and while a
 * session is up, the queue of what still has to go on the wire.
 *
 * Changes are incremental: announce/withdraw touch only the prefixes given,
 * and queue them grouped by attribute set (announces) or together
 * (withdraws). When a session comes up (or the peer asks for a route
 * refresh) the whole family is queued once, grouped by attribute set.
 * `next()` writes one UPDATE per call, so the session decides when to build
 * more (only after the socket drained). Queued entries are checked against
 * the RIB when written, so superseded work costs a lookup, not a message.
 * End-of-RIB follows once a family's initial burst and queue are empty.
 */
import type { AttrSet } from "./attr-set.ts";
import type { FamilyCode } from "./families.ts";
import { type Binding, packAnnounce, packWithdraw, writeEndOfRib } from "./packer.ts";
import type { PrefixKey } from "./wire/nlri.ts";

export type { Binding } from "./packer.ts";

/** How the session wants a family written. */
export interface FamilyEncoder {
  /** Attribute bytes for a set (without MP_REACH; with NEXT_HOP for classic IPv4). Cached by the session. */
  attributes(family: FamilyCode, attrs: AttrSet): Uint8Array;
  /** MP_REACH next hop bytes, or null to use the IPv4 NLRI field. */
  mpNextHop(family: FamilyCode): Uint8Array | null;
}

interface Batch {
  attrs: AttrSet;
  keys: PrefixKey[];
  pos: number;
  /** The family's generation when queued: while unchanged, every key is current. */
  generation: number;
}

class FamilyOut {
  readonly routes = new Map<PrefixKey, Binding>();
  /** A session is up and the family negotiated: changes are queued for sending. */
  active = false;
  readonly pending = new Map<AttrSet, Set<PrefixKey>>();
  /** Withdrawn while active, not yet written. May hold a key twice or one re-announced since: the writer checks. */
  withdrawals: PrefixKey[] = [];
  batches: Batch[] = [];
  wKeys: PrefixKey[] | null = null;
  wPos = 0;
  eorPending = false;
  /** Reused while nothing else was announced in the same millisecond with the same set. */
  lastBinding: Binding | null = null;
  /** Bumped by every change to `routes`. */
  generation = 0;

  hasWork(): boolean {
    return this.eorPending || this.batches.length > 0 || this.pending.size > 0 || this.withdrawals.length > 0 || this.wKeys !== null;
  }

  clearQueue(): void {
    this.pending.clear();
    this.withdrawals = [];
    this.batches = [];
    this.wKeys = null;
    this.wPos = 0;
    this.eorPending = false;
  }

  /** Queues every route, grouped by attribute set (initial burst, route refresh). */
  queueAll(): void {
    const groups = new Map<AttrSet, PrefixKey[]>();
    let lastAttrs: AttrSet | null = null;
    let last: PrefixKey[] = [];
    for (const [key, b] of this.routes) {
      if (b.attrs !== lastAttrs) {
        lastAttrs = b.attrs;
        let g = groups.get(lastAttrs);
        if (!g) groups.set(lastAttrs, g = []);
        last = g;
      }
      last.push(key);
    }
    for (const [attrs, keys] of groups) this.batches.push({ attrs, keys, pos: 0, generation: this.generation });
  }
}

/** What `next()` wrote, for counters and logs. */
export interface SentInfo {
  family: FamilyCode;
  kind: "announce" | "withdraw" | "end-of-rib";
  prefixes: number;
}

export class AdjRibOut {
  #families = new Map<FamilyCode, FamilyOut>();
  /** Called when new work appears while active (the session schedules a send). */
  onWork: () => void = () => {};
  /** Set after next() wrote something. */
  lastSent: SentInfo | null = null;
  /** Prefixes skipped because their attributes leave no room in a message. */
  oversized = 0;

  #family(f: FamilyCode): FamilyOut {
    let fam = this.#families.get(f);
    if (!fam) this.#families.set(f, fam = new FamilyOut());
    return fam;
  }

  /** The routes of a family (read-only view). */
  routes(f: FamilyCode): ReadonlyMap<PrefixKey, Binding> {
    return this.#families.get(f)?.routes ?? new Map();
  }

  families(): FamilyCode[] {
    return [...this.#families.keys()];
  }

  /**
   * Sets `keys` to `attrs`; returns how many changed. Keys already bound to
   * the same set keep their binding (and age).
   */
  announce(f: FamilyCode, keys: Iterable<PrefixKey>, attrs: AttrSet, now: number): number {
    const fam = this.#family(f);
    let binding = fam.lastBinding;
    if (!binding || binding.attrs !== attrs || binding.since !== now) binding = fam.lastBinding = { attrs, since: now };
    const { routes, active } = fam;
    let queue: Set<PrefixKey> | undefined;
    let changed = 0;
    for (const key of keys) {
      const old = routes.get(key);
      if (old !== undefined && old.attrs === attrs) continue;
      routes.set(key, binding);
      changed++;
      if (!active) continue;
      if (old !== undefined && fam.pending.size > 0) fam.pending.get(old.attrs)?.delete(key);
      if (!queue) {
        queue = fam.pending.get(attrs);
        if (!queue) fam.pending.set(attrs, queue = new Set());
      }
      queue.add(key);
    }
    if (changed > 0) {
      fam.generation++;
      if (active) this.onWork();
    }
    return changed;
  }

  /** Removes `keys`; returns how many were there. */
  withdraw(f: FamilyCode, keys: Iterable<PrefixKey>): number {
    const fam = this.#families.get(f);
    if (!fam) return 0;
    let changed = 0;
    const { routes, active, pending, withdrawals } = fam;
    for (const key of keys) {
      if (pending.size === 0) {
        // one hash lookup when nothing is queued (the common case, and bulk withdraws)
        if (!routes.delete(key)) continue;
      } else {
        const old = routes.get(key);
        if (old === undefined) continue;
        routes.delete(key);
        pending.get(old.attrs)?.delete(key);
      }
      changed++;
      if (active) withdrawals.push(key);
    }
    if (changed > 0) {
      fam.generation++;
      if (fam.active) this.onWork();
    }
    return changed;
  }

  /** Makes the family hold exactly `entries`; work is proportional to the table (for small users). */
  replace(f: FamilyCode, entries: Iterable<readonly [PrefixKey, AttrSet]>, now: number): { announced: number; withdrawn: number } {
    const fam = this.#family(f);
    const wanted = new Map(entries);
    const gone: PrefixKey[] = [];
    for (const key of fam.routes.keys()) if (!wanted.has(key)) gone.push(key);
    const byAttrs = new Map<AttrSet, PrefixKey[]>();
    for (const [key, attrs] of wanted) {
      if (fam.routes.get(key)?.attrs === attrs) continue;
      let g = byAttrs.get(attrs);
      if (!g) byAttrs.set(attrs, g = []);
      g.push(key);
    }
    const withdrawn = this.withdraw(f, gone);
    let announced = 0;
    for (const [attrs, keys] of byAttrs) announced += this.announce(f, keys, attrs, now);
    return { announced, withdrawn };
  }

  /** Removes every route of every family (peer removed). */
  clear(): void {
    this.#families.clear();
  }

  /**
   * A session is up with these families negotiated: queue everything,
   * End-of-RIB after. `withheld` families send End-of-RIB only (no usable
   * next hop for them on this session).
   */
  activate(negotiated: readonly FamilyCode[], withheld: readonly FamilyCode[] = []): void {
    for (const f of negotiated) {
      if (withheld.includes(f)) continue;
      const fam = this.#family(f);
      fam.clearQueue();
      fam.active = true;
      fam.queueAll();
      fam.eorPending = true;
    }
    this.#eorOnly = [...withheld];
    this.onWork();
  }

  /** Families that get only an End-of-RIB in this session. */
  #eorOnly: FamilyCode[] = [];

  /** The session went down: forget what was queued; the routes stay. */
  deactivate(): void {
    this.#eorOnly = [];
    for (const fam of this.#families.values()) {
      fam.active = false;
      fam.clearQueue();
    }
  }

  isActive(f: FamilyCode): boolean {
    return this.#families.get(f)?.active ?? false;
  }

  /** RFC 2918: the peer asked for the family again; re-send all of it. */
  refresh(f: FamilyCode): void {
    const fam = this.#families.get(f);
    if (!fam?.active) return;
    fam.queueAll();
    this.onWork();
  }

  hasWork(): boolean {
    if (this.#eorOnly.length > 0) return true;
    for (const fam of this.#families.values()) if (fam.active && fam.hasWork()) return true;
    return false;
  }

  /**
   * Writes the next UPDATE at `off` (withdraws first, then queued
   * announcements by attribute set, then End-of-RIB); returns its length,
   * 0 when there is nothing to send. `max` is the negotiated message size.
   */
  next(out: Uint8Array, off: number, max: number, enc: FamilyEncoder): number {
    for (const [f, fam] of this.#families) {
      if (!fam.active) continue;
      while (true) {
        if (fam.wKeys === null && fam.withdrawals.length > 0) {
          fam.wKeys = fam.withdrawals;
          fam.wPos = 0;
          fam.withdrawals = [];
        }
        if (fam.wKeys !== null) {
          const r = packWithdraw(out, off, max, f, fam.wKeys, fam.wPos, fam.routes);
          fam.wPos = r.pos;
          if (r.pos >= fam.wKeys.length) fam.wKeys = null;
          if (r.written > 0) return this.#sent(f, "withdraw", r.count, r.written);
          continue;
        }
        const batch = fam.batches[0];
        if (batch) {
          const check = batch.generation !== fam.generation;
          const r = packAnnounce(out, off, max, f, enc.mpNextHop(f), enc.attributes(f, batch.attrs), batch.keys, batch.pos, fam.routes, batch.attrs, check);
          if (r.written === 0 && r.pos < batch.keys.length) {
            // Attributes so large that not even one prefix fits: skip the set.
            this.oversized += batch.keys.length - r.pos;
            r.pos = batch.keys.length;
          }
          batch.pos = r.pos;
          if (batch.pos >= batch.keys.length) fam.batches.shift();
          if (r.written > 0) return this.#sent(f, "announce", r.count, r.written);
          continue;
        }
        const first = fam.pending.entries().next();
        if (!first.done) {
          const [attrs, keys] = first.value;
          fam.pending.delete(attrs);
          fam.batches.push({ attrs, keys: [...keys], pos: 0, generation: fam.generation });
          continue;
        }
        if (fam.eorPending) {
          fam.eorPending = false;
          return this.#sent(f, "end-of-rib", 0, writeEndOfRib(out, off, f));
        }
        break;
      }
    }
    const f = this.#eorOnly.shift();
    if (f !== undefined) return this.#sent(f, "end-of-rib", 0, writeEndOfRib(out, off, f));
    this.lastSent = null;
    return 0;
  }

  #sent(family: FamilyCode, kind: SentInfo["kind"], prefixes: number, written: number): number {
    this.lastSent = { family, kind, prefixes };
    return written;
  }
}
