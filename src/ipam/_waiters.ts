/**
 * What each unsatisfied Service waits for, so that it is tried again only
 * when that changes: a given address it requested (held by someone else),
 * or its sharing key's group. Waiting for a free address in a full range is
 * a flag on the record (`waitCapacity`); the allocator scans for those in
 * queue order when a range gains room.
 */
import type { IPAddress } from "../net/ip.ts";
import type { SvcRec } from "./_types.ts";
import { ipKey } from "./_types.ts";

export class Waiters {
  readonly #byIp = new Map<string, Set<SvcRec>>();
  readonly #byKey = new Map<string, Set<SvcRec>>();

  /** `rec` found `ip` taken (already_allocated, or incompatible holders). */
  waitIp(rec: SvcRec, ip: IPAddress): void {
    const k = ipKey(ip.family, ip.value);
    rec.waitIps.push(k);
    add(this.#byIp, k, rec);
  }

  /** Files `rec` under its sharing key while unsatisfied (on), or takes it out (off). */
  waitKey(rec: SvcRec, on: boolean): void {
    const key = on ? rec.view.sharingKey : "";
    if (rec.waitKey === key) return;
    remove(this.#byKey, rec.waitKey, rec);
    rec.waitKey = key;
    if (key !== "") add(this.#byKey, key, rec);
  }

  /** Forgets what `rec` waited for in its last attempt (not its key). */
  clear(rec: SvcRec): void {
    rec.waitCapacity = false;
    for (const k of rec.waitIps) remove(this.#byIp, k, rec);
    rec.waitIps = [];
  }

  /** Services waiting for any of these addresses or sharing keys, in queue order. */
  waitingFor(ips: Iterable<string>, keys: Iterable<string>): SvcRec[] {
    const set = new Set<SvcRec>();
    for (const k of ips) for (const r of this.#byIp.get(k) ?? []) set.add(r);
    for (const k of keys) for (const r of this.#byKey.get(k) ?? []) set.add(r);
    return [...set].sort((a, b) => a.seq - b.seq);
  }
}

function add(m: Map<string, Set<SvcRec>>, k: string, rec: SvcRec): void {
  let set = m.get(k);
  if (set === undefined) m.set(k, set = new Set());
  set.add(rec);
}

function remove(m: Map<string, Set<SvcRec>>, k: string, rec: SvcRec): void {
  const set = m.get(k);
  if (set?.delete(rec) && set.size === 0) m.delete(k);
}
