/**
 * Pool blocks as address ranges (spec I3, I4) and the allocation table of one
 * range.
 *
 * A range holds its free blocks (free-blocks.ts) and one slot per address
 * that is not free: the Services holding it (several when shared, I11) and
 * whether it is reserved by `allowFirstLastIPs: No`. Nothing is stored per
 * free address, so cost follows what is allocated, not the range size.
 */
import type { IPBlock } from "../control/schemas/lb-ip-pool.ts";
import { formatIP, parseIP, parsePrefix, prefixRange } from "../net/ip.ts";
import type { IPFamily } from "../net/ip.ts";
import { FreeBlocks } from "./free-blocks.ts";

/** A block turned into an inclusive range. */
export interface RangeSpec {
  family: IPFamily;
  start: bigint;
  end: bigint;
  /** From `cidr` (first/last may be reserved, I4) rather than start/stop. */
  fromCidr: boolean;
}

/** Parses one block; throws a TypeError whose message says what is wrong (I3). */
export function parseBlock(block: IPBlock, index: number, pool: string): RangeSpec {
  const where = `block ${index} of CiliumLoadBalancerIPPool "${pool}"`;
  if (block.cidr !== undefined && block.cidr !== "") {
    const p = parsePrefix(block.cidr);
    if (p === null) throw new TypeError(`Cannot use ${where}: cidr "${block.cidr}" is not an IPv4 or IPv6 prefix`);
    const [start, end] = prefixRange(p);
    return { family: p.family, start, end, fromCidr: true };
  }
  if (block.start === undefined || block.start === "") {
    throw new TypeError(`Cannot use ${where}: one of cidr or start must be set`);
  }
  const start = parseAddr(block.start);
  if (start === null) throw new TypeError(`Cannot use ${where}: start "${block.start}" is not an IP address`);
  if (block.stop === undefined || block.stop === "") return { family: start.family, start: start.value, end: start.value, fromCidr: false };
  const stop = parseAddr(block.stop);
  if (stop === null) throw new TypeError(`Cannot use ${where}: stop "${block.stop}" is not an IP address`);
  if (stop.family !== start.family) {
    throw new TypeError(`Cannot use ${where}: start "${block.start}" and stop "${block.stop}" are of different address families`);
  }
  if (stop.value < start.value) {
    throw new TypeError(`Cannot use ${where}: start "${block.start}" is after stop "${block.stop}"`);
  }
  return { family: start.family, start: start.value, end: stop.value, fromCidr: false };
}

/** Go's netip.ParseAddr minus zones (an LB address with a zone means nothing). */
export function parseAddr(text: string) {
  return text.includes("%") ? null : parseIP(text);
}

/** Parses every block of a pool; all errors are returned, not only the first. */
export function parseBlocks(blocks: readonly IPBlock[], pool: string): { ranges: RangeSpec[]; errors: string[] } {
  const ranges: RangeSpec[] = [];
  const errors: string[] = [];
  blocks.forEach((b, i) => {
    try {
      ranges.push(parseBlock(b, i, pool));
    } catch (e) {
      errors.push((e as Error).message);
    }
  });
  return { ranges, errors };
}

/** "a - b", as Cilium prints a range in the PoolConflict message. */
export function formatRange(family: IPFamily, start: bigint, end: bigint): string {
  return `${formatIP({ family, value: start })} - ${formatIP({ family, value: end })}`;
}

/** Who holds an address. `H` is the engine's per-Service record. */
export interface Slot<H> {
  holders: H[];
  /** Reserved by allowFirstLastIPs: No (I4). Stays reserved when its holders leave. */
  reserved: boolean;
  /**
   * Held through another, overlapping range (a conflicting pool keeps its
   * allocations, I5): not free here either, so no address is handed out twice.
   */
  shadow?: boolean;
}

let nextRangeId = 1;

export class LbRange<H, P = unknown> {
  /** Unique for the process: ranges of one pool edit are new objects (I15). */
  readonly id = nextRangeId++;
  readonly pool: P;
  readonly family: IPFamily;
  readonly start: bigint;
  readonly end: bigint;
  fromCidr: boolean;
  /** Whether first/last are currently reserved (I4). */
  reserving = false;
  readonly #free: FreeBlocks;
  readonly #slots = new Map<bigint, Slot<H>>();

  constructor(pool: P, spec: RangeSpec) {
    this.pool = pool;
    this.family = spec.family;
    this.start = spec.start;
    this.end = spec.end;
    this.fromCidr = spec.fromCidr;
    this.#free = new FreeBlocks(spec.start, spec.end);
  }

  get size(): bigint {
    return this.end - this.start + 1n;
  }

  /** Addresses not free: held or reserved (Cilium counts reserved ones as used, I4 quirk). */
  get used(): number {
    return this.#slots.size;
  }

  get available(): bigint {
    return this.#free.free;
  }

  get text(): string {
    return formatRange(this.family, this.start, this.end);
  }

  get fragments(): number {
    return this.#free.blocks;
  }

  contains(family: IPFamily, ip: bigint): boolean {
    return family === this.family && ip >= this.start && ip <= this.end;
  }

  slot(ip: bigint): Slot<H> | undefined {
    return this.#slots.get(ip);
  }

  /** Allocates the first free address of the smallest free block to `holder`. */
  allocAny(holder: H): bigint | null {
    const ip = this.#free.takeAny();
    if (ip === null) return null;
    this.#slots.set(ip, { holders: [holder], reserved: false });
    return ip;
  }

  /** Allocates `ip` to `holder`; false if it is not free. */
  alloc(ip: bigint, holder: H): boolean {
    if (!this.#free.take(ip)) return false;
    this.#slots.set(ip, { holders: [holder], reserved: false });
    return true;
  }

  /** The address just handed out is in use through another range: keep it out of this one. */
  markShadow(ip: bigint): void {
    const slot = this.#slots.get(ip);
    if (slot !== undefined) [slot.holders, slot.shadow] = [[], true];
  }

  /** Takes a free address out of this range as a shadow; false if it is not free. */
  shadowFree(ip: bigint): boolean {
    if (!this.#free.take(ip)) return false;
    this.#slots.set(ip, { holders: [], reserved: false, shadow: true });
    return true;
  }

  /** The other range let go of the address: free it here (unless reserved). True if freed. */
  unshadow(ip: bigint): boolean {
    const slot = this.#slots.get(ip);
    if (slot === undefined || !slot.shadow || slot.holders.length > 0) return false;
    slot.shadow = false;
    if (slot.reserved) return false;
    this.#slots.delete(ip);
    this.#free.put(ip);
    return true;
  }

  /**
   * Removes `holder` from `ip`. Returns true when the address became free
   * (last holder gone and not reserved).
   */
  release(ip: bigint, holder: H): boolean {
    const slot = this.#slots.get(ip);
    if (slot === undefined) return false;
    const i = slot.holders.indexOf(holder);
    if (i >= 0) slot.holders.splice(i, 1);
    if (slot.holders.length > 0 || slot.reserved) return false;
    this.#slots.delete(ip);
    this.#free.put(ip);
    return true;
  }

  /** First and last address of a cidr block of ≥ 3 addresses (I4); [] otherwise. */
  reservable(): bigint[] {
    return this.fromCidr && this.end - this.start >= 2n ? [this.start, this.end] : [];
  }

  /**
   * Reserves or unreserves the first and last address (I4). Reserving never
   * takes an address away from a Service; unreserving frees it only if
   * nobody holds it. Returns the addresses that became free.
   */
  setReserved(on: boolean): bigint[] {
    const freed: bigint[] = [];
    this.reserving = on;
    for (const ip of this.reservable()) {
      const slot = this.#slots.get(ip);
      if (on) {
        if (slot !== undefined) slot.reserved = true;
        else if (this.#free.take(ip)) this.#slots.set(ip, { holders: [], reserved: true });
      } else if (slot?.reserved) {
        slot.reserved = false;
        if (slot.holders.length === 0 && !slot.shadow) {
          this.#slots.delete(ip);
          this.#free.put(ip);
          freed.push(ip);
        }
      }
    }
    return freed;
  }

  /** Every address with holders (not the bare reservations). */
  *held(): IterableIterator<[bigint, Slot<H>]> {
    for (const entry of this.#slots) if (entry[1].holders.length > 0) yield entry;
  }

  /** Every address not free: held, reserved or shadowed. */
  slots(): IterableIterator<[bigint, Slot<H>]> {
    return this.#slots.entries();
  }
}
