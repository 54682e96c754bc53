/**
 * Address ranges as MetalLB writes them ("10.0.0.0/24", "10.0.0.10-10.0.0.20")
 * and as Cilium writes them (`blocks[].cidr`, `blocks[].start/stop`), and the
 * arithmetic the migration needs: CIDR summaries (MetalLB checks aggregation
 * lengths against them), the side-by-side split, and MetalLB's
 * `avoidBuggyIPs` (.0 and .255) as explicit segments.
 */
import { familyBits, formatIP, formatPrefix, type IPFamily, type IPPrefix, parseIP, parsePrefix } from "../net/ip.ts";

export interface AddressRange {
  readonly family: IPFamily;
  readonly start: bigint;
  /** Inclusive. */
  readonly stop: bigint;
  /** As written. */
  readonly text: string;
}

/**
 * MetalLB's address syntax (config.ParseCIDR): a CIDR (host bits allowed, the
 * network is meant) or "start-end" with optional spaces around the dash.
 */
export function parseAddress(text: string): AddressRange | { error: string } {
  const t = text.trim();
  if (!t.includes("-")) {
    const p = parsePrefix(t);
    if (!p) return { error: `must be a CIDR such as "10.0.0.0/24" or a range such as "10.0.0.10-10.0.0.20"` };
    const [start, stop] = span(p);
    return { family: p.family, start, stop, text };
  }
  const dash = t.indexOf("-");
  const a = parseIP(t.slice(0, dash).trim());
  const b = parseIP(t.slice(dash + 1).trim());
  if (!a || t.slice(0, dash).includes("%")) return { error: `must be a range "start-end": "${t.slice(0, dash).trim()}" is not an IP address` };
  if (!b || t.slice(dash + 1).includes("%")) return { error: `must be a range "start-end": "${t.slice(dash + 1).trim()}" is not an IP address` };
  if (a.family !== b.family) return { error: `must be a range of one address family: "${t}" mixes IPv4 and IPv6` };
  if (a.value > b.value) return { error: `must be a range "start-end" with start not after end: "${t}"` };
  return { family: a.family, start: a.value, stop: b.value, text };
}

const bits = (f: IPFamily) => BigInt(familyBits(f));

function span(p: IPPrefix): [bigint, bigint] {
  return [p.addr, p.addr + (1n << (bits(p.family) - BigInt(p.len))) - 1n];
}

export const rangeSize = (r: { start: bigint; stop: bigint }): bigint => r.stop - r.start + 1n;

/** The range as one prefix, when it is exactly one. */
export function asPrefix(r: { family: IPFamily; start: bigint; stop: bigint }): IPPrefix | null {
  const n = rangeSize(r);
  if ((n & (n - 1n)) !== 0n || r.start % n !== 0n) return null;
  let len = familyBits(r.family);
  for (let x = n; x > 1n; x >>= 1n) len--;
  return { family: r.family, addr: r.start, len };
}

/** The fewest prefixes covering exactly [start, stop] (Go's ipaddr.Summarize). */
export function summarize(r: { family: IPFamily; start: bigint; stop: bigint }): IPPrefix[] {
  const out: IPPrefix[] = [];
  const width = bits(r.family);
  let cur = r.start;
  while (cur <= r.stop) {
    let size = 1n;
    let len = Number(width);
    while (len > 0 && cur % (size * 2n) === 0n && cur + size * 2n - 1n <= r.stop) {
      size *= 2n;
      len--;
    }
    out.push({ family: r.family, addr: cur, len });
    cur += size;
  }
  return out;
}

const ip = (family: IPFamily, value: bigint) => formatIP({ family, value });

/** A Cilium `blocks[]` entry: `cidr` when the range is one prefix, else `start`/`stop`. */
export function ciliumBlock(r: { family: IPFamily; start: bigint; stop: bigint }): { cidr: string } | { start: string; stop: string } {
  const p = asPrefix(r);
  return p ? { cidr: formatPrefix(p) } : { start: ip(r.family, r.start), stop: ip(r.family, r.stop) };
}

/** MetalLB's text for a range: a CIDR when it is one, else "start-stop". */
export function metallbText(r: { family: IPFamily; start: bigint; stop: bigint }): string {
  const p = asPrefix(r);
  return p ? formatPrefix(p) : `${ip(r.family, r.start)}-${ip(r.family, r.stop)}`;
}

export function rangeText(r: { family: IPFamily; start: bigint; stop: bigint }): string {
  return r.start === r.stop ? ip(r.family, r.start) : `${ip(r.family, r.start)}-${ip(r.family, r.stop)}`;
}

export interface Split {
  /** The lower part, left to MetalLB. */
  readonly metallb: { family: IPFamily; start: bigint; stop: bigint };
  /** The upper part, for the Cilium pool. */
  readonly cilium: { family: IPFamily; start: bigint; stop: bigint };
}

/**
 * Splits a range in two without overlap, at the most aligned boundary near
 * the middle (a /24 gives two /25s, as in the guide). The boundary is the
 * multiple of the largest power of two that still leaves each side at least
 * a quarter of the addresses. A single address cannot be split: null.
 */
export function splitRange(r: { family: IPFamily; start: bigint; stop: bigint }): Split | null {
  const n = rangeSize(r);
  if (n < 2n) return null;
  const mid = r.start + n / 2n;
  const quarter = n / 4n;
  for (let k = bits(r.family); k >= 0n; k--) {
    const unit = 1n << k;
    const m = ((mid + unit / 2n) / unit) * unit; // nearest multiple of 2^k
    if (m <= r.start || m > r.stop) continue;
    if (m - r.start < quarter || r.stop - m + 1n < quarter) continue;
    return { metallb: { family: r.family, start: r.start, stop: m - 1n }, cilium: { family: r.family, start: m, stop: r.stop } };
  }
  return null; // not reached: k = 0 always works for n ≥ 2
}

/**
 * The addresses MetalLB uses with `avoidBuggyIPs: true`: IPv4 addresses
 * ending in .0 or .255 are skipped (IPv6 is unaffected). Returned as
 * segments, each within one /24.
 */
export function withoutBuggyIPs(r: { family: IPFamily; start: bigint; stop: bigint }): Array<{ family: IPFamily; start: bigint; stop: bigint }> {
  if (r.family !== 4) return [r];
  const out: Array<{ family: IPFamily; start: bigint; stop: bigint }> = [];
  let base = (r.start / 256n) * 256n;
  for (; base <= r.stop; base += 256n) {
    const start = r.start > base + 1n ? r.start : base + 1n;
    const stop = r.stop < base + 254n ? r.stop : base + 254n;
    if (start <= stop) out.push({ family: 4, start, stop });
  }
  return out;
}

/** Whether the address lies in the range. */
export function rangeContains(r: { family: IPFamily; start: bigint; stop: bigint }, text: string): boolean {
  const a = parseIP(text.trim());
  return a !== null && a.family === r.family && a.value >= r.start && a.value <= r.stop;
}

/** Whether two ranges share an address. */
export function rangesOverlap(a: { family: IPFamily; start: bigint; stop: bigint }, b: { family: IPFamily; start: bigint; stop: bigint }): boolean {
  return a.family === b.family && a.start <= b.stop && b.start <= a.stop;
}
