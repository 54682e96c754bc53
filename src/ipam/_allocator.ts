/**
 * The allocation steps of LB-IPAM, in Cilium's order (operator/pkg/lbipam):
 * strip allocations that are no longer valid (I10), keep or adopt the
 * addresses already in the Service status (I12), then satisfy what is still
 * missing, from requested addresses (I9) or by family (I7, I8), sharing where
 * the sharing rules allow it (I11).
 *
 * Unlike Cilium, which tries every unsatisfied Service after every event,
 * this keeps track of what each unsatisfied Service waits for (a free
 * address in a full range, a given address, a sharing group) and tries it
 * again only when that changes, so the work per event follows the event.
 */
import { matchesOrEverything } from "../control/selector.ts";
import { formatIP } from "../net/ip.ts";
import type { IPAddress, IPFamily } from "../net/ip.ts";
import type { Logger } from "../log.ts";
import type { Alloc, Op, PoolRec, Range, SvcRec } from "./_types.ts";
import { ipKey, newOp } from "./_types.ts";
import { Waiters } from "./_waiters.ts";
import { Message, Reason, removeCondition, SERVICE_CONDITION, SERVICE_INVALID, setCondition } from "./conditions.ts";
import { parseAddr } from "./range.ts";
import { incompatibility } from "./service-view.ts";
import type { ViewOptions } from "./service-view.ts";

export interface AllocatorOptions {
  view: ViewOptions;
  /** I9 quirk: a reserved first/last address can be requested with a sharing key. */
  reservedSharingQuirk: boolean;
  now: () => Date;
  log: Logger;
}

interface SlotRef {
  range: Range;
  value: bigint;
}

export const enabled = (range: Range): boolean => {
  const p = range.pool;
  return p.spec !== null && p.spec.disabled !== true && p.conflict === null;
};

export const selects = (pool: PoolRec, rec: SvcRec): boolean =>
  pool.spec !== null && matchesOrEverything(pool.spec.serviceSelector, rec.view.labels);

export class Allocator {
  readonly o: AllocatorOptions;
  /** All ranges in allocation order (I7): pools oldest first, then blocks order. */
  ranges: Range[] = [];
  op: Op = newOp();
  /** Unsatisfied Services, in the order they became unsatisfied. */
  readonly unsatisfied = new Map<SvcRec, true>();
  #seq = 0;
  /** Sharing key → addresses held by at least one Service with that key. */
  readonly #sharing = new Map<string, Map<string, SlotRef>>();
  readonly #waiters = new Waiters();
  /**
   * Address → ranges where Services hold it, and ranges that keep it out as a
   * shadow. Ranges overlap only across conflicting pools (I5); the newer
   * pool's holders keep their addresses, and without this the older pool
   * would hand the same address out again (Cilium does).
   */
  readonly #heldIn = new Map<string, Set<Range>>();
  readonly #shadows = new Map<string, Set<Range>>();

  constructor(o: AllocatorOptions) {
    this.o = o;
  }

  // ---- holding and releasing ------------------------------------------------

  #hold(rec: SvcRec, range: Range, value: bigint): void {
    rec.allocs.push({ family: range.family, value, range });
    addTo(this.#heldIn, ipKey(range.family, value), range);
    this.#index(rec.view.sharingKey, range, value);
    this.op.pools.add(range.pool);
  }

  /** Releases one allocation of `rec` (I10); frees the address when its last holder leaves (I11). */
  release(rec: SvcRec, a: Alloc): void {
    const i = rec.allocs.indexOf(a);
    if (i >= 0) rec.allocs.splice(i, 1);
    if (a.range.release(a.value, rec)) this.op.freed.add(a.range);
    if ((a.range.slot(a.value)?.holders.length ?? 0) === 0) this.#letGo(a.range, a.family, a.value);
    this.#unindex(rec.view.sharingKey, a.range, a.value);
    this.op.ips.add(ipKey(a.family, a.value));
    if (rec.view.sharingKey !== "") this.op.keys.add(rec.view.sharingKey);
    this.op.pools.add(a.range.pool);
  }

  releaseAll(rec: SvcRec): void {
    for (const a of [...rec.allocs]) this.release(rec, a);
  }

  /** A range goes away (pool edit or delete, I15): its holders lose the address, nothing is freed. */
  dropRange(range: Range, affected: Set<SvcRec>): void {
    for (const [value, slot] of range.slots()) {
      const k = ipKey(range.family, value);
      if (slot.shadow) removeFrom(this.#shadows, k, range);
      for (const rec of slot.holders) {
        rec.allocs = rec.allocs.filter((a) => a.range !== range);
        this.#unindex(rec.view.sharingKey, range, value, true);
        affected.add(rec);
      }
      if (slot.holders.length > 0) this.#letGo(range, range.family, value);
    }
  }

  /** Nobody holds the address through `range` any more: other ranges may hand it out again. */
  #letGo(range: Range, family: IPFamily, value: bigint): void {
    const k = ipKey(family, value);
    removeFrom(this.#heldIn, k, range);
    if (this.#heldIn.has(k)) return;
    for (const r of this.#shadows.get(k) ?? []) {
      if (r.unshadow(value)) this.op.freed.add(r);
      this.op.pools.add(r.pool);
    }
    this.#shadows.delete(k);
  }

  /** A range other than `range` where Services hold `value`, if any. */
  #heldElsewhere(range: Range, family: IPFamily, value: bigint): Range | undefined {
    for (const r of this.#heldIn.get(ipKey(family, value)) ?? []) if (r !== range) return r;
    return undefined;
  }

  /** The Service's sharing key changed: move its addresses to the new key. */
  rekey(rec: SvcRec, oldKey: string): void {
    for (const a of rec.allocs) {
      this.#unindex(oldKey, a.range, a.value);
      this.#index(rec.view.sharingKey, a.range, a.value);
    }
    if (oldKey !== "") this.op.keys.add(oldKey);
  }

  #index(key: string, range: Range, value: bigint): void {
    if (key === "") return;
    let m = this.#sharing.get(key);
    if (m === undefined) this.#sharing.set(key, m = new Map());
    const id = `${range.id}/${value}`;
    if (!m.has(id)) m.set(id, { range, value });
    this.op.keys.add(key);
  }

  #unindex(key: string, range: Range, value: bigint, force = false): void {
    if (key === "") return;
    const m = this.#sharing.get(key);
    if (m === undefined) return;
    if (!force && range.slot(value)?.holders.some((h) => h.view.sharingKey === key)) return;
    m.delete(`${range.id}/${value}`);
    if (m.size === 0) this.#sharing.delete(key);
  }

  // ---- validity and adoption ------------------------------------------------

  /** I10: drops allocations that the Service or its pool no longer allow. */
  stripInvalid(rec: SvcRec): void {
    const v = rec.view;
    for (let i = rec.allocs.length - 1; i >= 0; i--) {
      const a = rec.allocs[i];
      const pool = a.range.pool;
      const valid = pool.ranges.includes(a.range) && selects(pool, rec) &&
        // Per address (Cilium drops every address when any shared one is incompatible).
        (a.range.slot(a.value)?.holders ?? []).every((h) => h === rec || incompatibility(h.view, v, this.o.view) === null) &&
        (v.requested.length > 0 ? v.requested.some((r) => r.family === a.family && r.value === a.value) : (a.family === 4 ? v.v4 : v.v6));
      if (!valid) this.release(rec, a);
    }
  }

  /**
   * I12: keeps ingress addresses the Service holds and adopts those it may
   * hold; drops the rest (hostname-only, unparsable, not allowed, taken).
   * Adjacent duplicates collapse.
   */
  stripOrImport(rec: SvcRec): void {
    const v = rec.view;
    const kept: typeof rec.ingress = [];
    const shown: IPAddress[] = [];
    for (const ing of rec.ingress) {
      if (!ing.ip) continue;
      const ip = parseAddr(ing.ip);
      if (ip === null) continue;
      if (!rec.allocs.some((a) => a.family === ip.family && a.value === ip.value)) {
        // With requested IPs the families do not count (I9), as in stripInvalid
        // and satisfy. Cilium's import also checks the family there, so such
        // an address waits for the allocation pass, where another Service
        // (or a disabled pool, I6) could take it from it on a restart.
        if (v.requested.length > 0) {
          if (!v.requested.some((r) => r.family === ip.family && r.value === ip.value)) continue;
        } else if (ip.family === 4 ? !v.v4 : !v.v6) continue;
        if (!this.#adopt(rec, ip)) continue;
      }
      if (kept.length > 0 && kept[kept.length - 1].ip === ing.ip) continue;
      kept.push(ing);
      shown.push(ip);
    }
    rec.ingress = kept;
    // A status rewritten by someone else (or a stale copy) that shows another
    // address of a family in place of one the Service holds: the shown one
    // was adopted, and the hidden one is let go, as a restart would (the
    // state is the status, I12). Cilium keeps both allocated and shows one,
    // so the other is lost to everyone until the Service goes.
    if (v.requested.length === 0) {
      for (const a of [...rec.allocs]) {
        if (shown.some((i) => i.family === a.family && i.value === a.value)) continue;
        if (shown.some((i) => i.family === a.family)) this.release(rec, a);
      }
    }
  }

  #adopt(rec: SvcRec, ip: IPAddress): boolean {
    // Cilium adopts only from enabled ranges. herald also adopts from ranges of
    // disabled or conflicting pools, whose existing allocations are kept
    // (I5, I6), so that a restart never moves an address.
    const range = this.#rangeFor(rec, ip, true) ?? this.#rangeFor(rec, ip, false);
    if (range === null) {
      this.o.log.warn("Current IP does not belong to any matching range, deferring to regular allocation logic", {
        ip: ipText(ip),
        service: rec.view.key,
      });
      return false;
    }
    let target = range;
    let slot = range.slot(ip.value);
    // Nobody holds it here (free, shadowed or only reserved): it may still be
    // held through an overlapping range of a conflicting pool (I5), whose
    // holders count.
    if (slot === undefined || slot.holders.length === 0) {
      const other = this.#heldElsewhere(range, ip.family, ip.value);
      if (other !== undefined) [target, slot] = [other, other.slot(ip.value)];
    }
    if (slot === undefined) {
      range.alloc(ip.value, rec);
    } else if (slot.holders.length === 0 && slot.reserved && !slot.shadow) {
      // A reserved first/last address (I4) in the Service's own status: it
      // held it before allowFirstLastIPs became No (reserving never revokes)
      // or got it through the I9 quirk. Cilium's import fails on the
      // reservation and the Service gets a new address; herald keeps it so
      // that a restart never moves an address. It stays reserved when released.
      slot.holders.push(rec);
    } else if (
      // Already held: join when the sharing rules allow it, so that every
      // holder of a shared address keeps it (Cilium re-shares the key's first
      // compatible address, which may be another one).
      slot.holders.length > 0 && rec.view.sharingKey !== "" &&
      slot.holders.every((h) => incompatibility(h.view, rec.view, this.o.view) === null)
    ) {
      slot.holders.push(rec);
    } else {
      this.o.log.warn("Current IP is already allocated by another service, deferring to regular allocation logic", {
        ip: ipText(ip),
        service: rec.view.key,
      });
      return false;
    }
    this.#hold(rec, target, ip.value);
    return true;
  }

  /** First range (in order) that holds `ip` and whose pool selects the Service. */
  #rangeFor(rec: SvcRec, ip: IPAddress, wantEnabled: boolean): Range | null {
    for (const r of this.ranges) {
      if (enabled(r) === wantEnabled && r.contains(ip.family, ip.value) && selects(r.pool, rec)) return r;
    }
    return null;
  }

  isSatisfied(rec: SvcRec): boolean {
    const ips = rec.ingress.map((i) => (i.ip ? parseAddr(i.ip) : null)).filter((i) => i !== null);
    const v = rec.view;
    if (v.requested.length > 0) return v.requested.every((r) => ips.some((i) => i.family === r.family && i.value === r.value));
    return !(v.v4 && !ips.some((i) => i.family === 4)) && !(v.v6 && !ips.some((i) => i.family === 6));
  }

  // ---- satisfying -----------------------------------------------------------

  #fail(rec: SvcRec, reason: string, message: string): void {
    setCondition(rec.conditions, {
      type: SERVICE_CONDITION,
      status: "False",
      reason,
      message,
      observedGeneration: rec.view.generation,
    }, this.o.now);
  }

  /** Tries to get every missing address, then mirrors allocations into the ingress list (I13). */
  satisfy(rec: SvcRec): void {
    this.#waiters.clear(rec);
    if (rec.view.requested.length > 0) this.#satisfyRequested(rec);
    else {
      if (rec.view.v4 && !rec.allocs.some((a) => a.family === 4)) this.#satisfyFamily(rec, 4);
      if (rec.view.v6 && !rec.allocs.some((a) => a.family === 6)) this.#satisfyFamily(rec, 6);
    }
    for (const a of rec.allocs) {
      if (!rec.ingress.some((i) => i.ip !== undefined && sameIP(i.ip, a))) rec.ingress.push({ ip: ipText(a) });
    }
  }

  /** I9: each requested address in turn; the condition keeps the last failure. */
  #satisfyRequested(rec: SvcRec): void {
    const v = rec.view;
    for (const req of v.requested) {
      if (rec.allocs.some((a) => a.family === req.family && a.value === req.value)) continue;
      let range: Range | null = null;
      let found = false;
      for (const r of this.ranges) {
        if (!enabled(r) || !r.contains(req.family, req.value)) continue;
        found = true;
        if (selects(r.pool, rec)) {
          range = r;
          break;
        }
      }
      if (range === null) {
        if (found) this.#fail(rec, Reason.poolSelectorMismatch, Message.poolSelectorMismatch(req));
        else this.#fail(rec, Reason.noPool, Message.noPoolForIP(req));
        continue;
      }
      let target: Range = range;
      let slot = range.slot(req.value);
      if (slot === undefined || slot.holders.length === 0) {
        // Free, shadowed or only reserved here, but maybe held through an
        // overlapping range of a conflicting pool: those holders count.
        const other = this.#heldElsewhere(range, req.family, req.value);
        if (other !== undefined) [target, slot] = [other, other.slot(req.value)];
      }
      if (slot !== undefined) {
        if (v.sharingKey === "") {
          this.#fail(rec, Reason.alreadyAllocated, Message.alreadyAllocated(req));
          this.#waiters.waitIp(rec, req);
          continue;
        }
        let why: string | null = null;
        for (const h of slot.holders) if ((why = incompatibility(h.view, v, this.o.view)) !== null) break;
        if (why !== null) {
          this.#fail(rec, Reason.alreadyAllocatedIncompatible, Message.alreadyAllocatedIncompatible(req, why));
          this.#waiters.waitIp(rec, req);
          continue;
        }
        if (slot.holders.length === 0 && !this.o.reservedSharingQuirk) {
          // Reserved first/last address (I4): refused like any taken address.
          this.#fail(rec, Reason.alreadyAllocated, Message.alreadyAllocated(req));
          continue;
        }
        // Quirk (I9): a reserved address has no holders to be incompatible
        // with, so a Service with a sharing key gets it.
        slot.holders.push(rec);
      } else {
        range.alloc(req.value, rec);
      }
      this.#hold(rec, target, req.value);
    }
  }

  /** I7/I11: an address of one family, shared from the key's group if possible. */
  #satisfyFamily(rec: SvcRec, family: IPFamily): void {
    const v = rec.view;
    if (v.sharingKey !== "") {
      // Sharing does not check the pool selector (I11); revalidation may drop it later.
      for (const ref of this.#sharing.get(v.sharingKey)?.values() ?? []) {
        if (ref.range.family !== family) continue;
        const slot = ref.range.slot(ref.value);
        if (slot === undefined || slot.holders.length === 0) continue;
        if (!slot.holders.every((h) => incompatibility(h.view, v, this.o.view) === null)) continue;
        slot.holders.push(rec);
        this.#hold(rec, ref.range, ref.value);
        return;
      }
    }
    let full = false;
    let lastPool: PoolRec | null = null;
    let lastMatch = false;
    for (const r of this.ranges) {
      if (r.family !== family || !enabled(r)) continue;
      if (r.pool !== lastPool) [lastPool, lastMatch] = [r.pool, selects(r.pool, rec)];
      if (!lastMatch) continue;
      let ip = r.allocAny(rec);
      while (ip !== null && this.#heldElsewhere(r, family, ip) !== undefined) {
        r.markShadow(ip);
        addTo(this.#shadows, ipKey(family, ip), r);
        ip = r.allocAny(rec);
      }
      if (ip === null) {
        full = true;
        continue;
      }
      this.#hold(rec, r, ip);
      return;
    }
    if (full) {
      this.#fail(rec, Reason.outOfIPs, Message.outOfIPs);
      rec.waitCapacity = true;
    } else {
      this.#fail(rec, Reason.noPool, Message.noPoolGeneric);
    }
  }

  /**
   * Ends a pass over one Service: the satisfied condition (observedGeneration
   * follows the Service even when nothing else changed), herald's
   * invalid-request condition, and its place in the unsatisfied queue.
   */
  finish(rec: SvcRec): void {
    const ok = this.isSatisfied(rec);
    if (ok) {
      setCondition(rec.conditions, {
        type: SERVICE_CONDITION,
        status: "True",
        reason: Reason.satisfied,
        message: "",
        observedGeneration: rec.view.generation,
      }, this.o.now);
    }
    const bad = rec.view.unparsable;
    if (bad.length > 0) {
      const message = `Cannot use requested IPs: ${bad.join("; ")}`;
      setCondition(rec.conditions, { type: SERVICE_INVALID, status: "True", reason: Reason.unparsableIP, message, observedGeneration: rec.view.generation }, this.o.now);
      if (rec.logged !== message) {
        this.o.log.error("Unable to parse requested IPs, skipping them", { service: rec.view.key, error: message });
        rec.logged = message;
      }
    } else {
      removeCondition(rec.conditions, SERVICE_INVALID);
      rec.logged = "";
    }
    this.#place(rec, ok);
    this.op.touched.add(rec);
  }

  #place(rec: SvcRec, satisfied: boolean): void {
    if (satisfied) {
      this.#waiters.clear(rec);
      this.unsatisfied.delete(rec);
      rec.seq = 0;
      this.#waiters.waitKey(rec, false);
      return;
    }
    if (!this.unsatisfied.has(rec)) {
      this.unsatisfied.set(rec, true);
      rec.seq = ++this.#seq;
    }
    this.#waiters.waitKey(rec, true);
  }

  /** The Service leaves LB-IPAM (deleted, or no longer its business, I2). */
  forget(rec: SvcRec): void {
    this.releaseAll(rec);
    this.#waiters.clear(rec);
    this.#waiters.waitKey(rec, false);
    this.unsatisfied.delete(rec);
    this.op.touched.delete(rec);
  }

  /**
   * Tries unsatisfied Services again, until nothing they wait for changes
   * (a new shared address can let another keyed Service in, and so on).
   */
  retryWaiting(): void {
    for (let round = 0; round < 1000; round++) {
      const op = this.op;
      if (!op.all && op.freed.size === 0 && op.ips.size === 0 && op.keys.size === 0) return;
      let list: SvcRec[];
      const capacity = [...op.freed].filter(enabled);
      if (op.all) {
        list = [...this.unsatisfied.keys()];
      } else {
        list = this.#waiters.waitingFor(op.ips, op.keys);
      }
      op.all = false;
      op.ips.clear();
      op.keys.clear();
      op.freed.clear();
      if (list.length === 0 && capacity.length === 0) return;
      for (const rec of list) this.#retry(rec);
      if (capacity.length > 0) {
        // Only ranges that gained room can help a Service that found its ranges full.
        // Deleting the current entry while iterating a Map is safe.
        for (const rec of this.unsatisfied.keys()) {
          if (!capacity.some((r) => r.available > 0n)) break;
          if (rec.waitCapacity) this.#retry(rec);
        }
      }
    }
    this.o.log.error("Cannot settle LB-IPAM retries: gave up after 1000 rounds");
  }

  #retry(rec: SvcRec): void {
    if (!this.unsatisfied.has(rec)) return;
    this.satisfy(rec);
    this.finish(rec);
  }
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let set = m.get(k);
  if (set === undefined) m.set(k, set = new Set());
  set.add(v);
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const set = m.get(k);
  if (set?.delete(v) && set.size === 0) m.delete(k);
}

const ipText = (ip: { family: IPFamily; value: bigint }) => formatIP(ip);

function sameIP(text: string, a: Alloc): boolean {
  const ip = parseAddr(text);
  return ip !== null && ip.family === a.family && ip.value === a.value;
}
