/**
 * IP addresses and prefixes as plain values: a family and a bigint.
 *
 * One representation for the whole program, so that LB-IPAM can do
 * arithmetic on a /64 as easily as on a /24, and the control plane and the
 * speaker agree on text forms. Text output follows Go's net/netip (what
 * Cilium prints): dotted quad for IPv4, RFC 5952 for IPv6.
 *
 * @example
 * ```ts
 * const p = parsePrefix("10.0.0.7/24");   // { family: 4, addr: 10.0.0.0, len: 24 }
 * formatPrefix(p);                        // "10.0.0.0/24"
 * ```
 */

export type IPFamily = 4 | 6;

export interface IPAddress {
  readonly family: IPFamily;
  readonly value: bigint;
}

export interface IPPrefix {
  readonly family: IPFamily;
  /** Network address: host bits are always zero. */
  readonly addr: bigint;
  readonly len: number;
}

export const familyBits = (family: IPFamily): number => family === 4 ? 32 : 128;

const V4_PART = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses a dotted quad. Like Go's netip, leading zeros are refused ("010.0.0.1"). */
function parseV4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!V4_PART.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseV6(text: string): bigint | null {
  if (text.length === 0 || text.length > 45) return null;
  let head = text;
  let tailV4: bigint | null = null;
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.indexOf(".", lastColon) > lastColon) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === null) return null;
    // keep the colon so that "::1.2.3.4" still splits around "::"
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const double = head.indexOf("::");
  if (double !== head.lastIndexOf("::")) return null;
  const splitGroups = (s: string): string[] | null => {
    if (s === "") return [];
    const groups = s.split(":");
    return groups.every((g) => HEX_GROUP.test(g)) ? groups : null;
  };
  let groups: string[];
  if (double >= 0) {
    const left = splitGroups(head.slice(0, double));
    const right = splitGroups(head.slice(double + 2));
    if (left === null || right === null) return null;
    const missing = 8 - left.length - right.length;
    if (missing < 1) return null;
    groups = [...left, ...Array<string>(missing).fill("0"), ...right];
  } else {
    const all = splitGroups(head);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (tailV4 !== null) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

/**
 * Parses an IPv4 or IPv6 address. A `%zone` suffix is accepted and dropped
 * (Cilium's address pattern allows it); returns null for anything else.
 */
export function parseIP(text: string): IPAddress | null {
  const zone = text.indexOf("%");
  const bare = zone >= 0 ? text.slice(0, zone) : text;
  if (zone >= 0 && (zone === text.length - 1 || !bare.includes(":"))) return null;
  if (bare.includes(":")) {
    const value = parseV6(bare);
    return value === null ? null : { family: 6, value };
  }
  const value = parseV4(bare);
  return value === null ? null : { family: 4, value };
}

/** Like parseIP, but throws a TypeError naming the bad text. */
export function mustParseIP(text: string): IPAddress {
  const ip = parseIP(text);
  if (ip === null) throw new TypeError(`Cannot parse IP address: "${text}" is not an IPv4 or IPv6 address`);
  return ip;
}

function formatV4(value: bigint): string {
  const n = Number(value);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function formatV6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // IPv4-mapped addresses print with a dotted quad, as Go does.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatV4(value & 0xffffffffn)}`;
  }
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first on ties.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function formatIP(ip: IPAddress): string {
  return ip.family === 4 ? formatV4(ip.value) : formatV6(ip.value);
}

/** Canonical text of an address given as text; null if it does not parse. */
export function canonicalIP(text: string): string | null {
  const ip = parseIP(text);
  return ip === null ? null : formatIP(ip);
}

export function hostMask(family: IPFamily, len: number): bigint {
  return (1n << BigInt(familyBits(family) - len)) - 1n;
}

/**
 * Parses "addr/len" as Go's net.ParseCIDR does: host bits may be set in the
 * text; the result holds the network address. Returns null when malformed.
 */
export function parsePrefix(text: string): IPPrefix | null {
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const ip = parseIP(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === null || text.includes("%") || !/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return null;
  const len = Number(lenText);
  if (len > familyBits(ip.family)) return null;
  return { family: ip.family, addr: ip.value & ~hostMask(ip.family, len), len };
}

export function mustParsePrefix(text: string): IPPrefix {
  const p = parsePrefix(text);
  if (p === null) throw new TypeError(`Cannot parse prefix: "${text}" is not in the form address/length`);
  return p;
}

export function formatPrefix(p: IPPrefix): string {
  return `${formatIP({ family: p.family, value: p.addr })}/${p.len}`;
}

/** The prefix of length `len` that holds `ip` (aggregation, host routes). */
export function prefixOf(ip: IPAddress, len: number): IPPrefix {
  return { family: ip.family, addr: ip.value & ~hostMask(ip.family, len), len };
}

export function prefixContains(p: IPPrefix, ip: IPAddress): boolean {
  return p.family === ip.family && (ip.value & ~hostMask(p.family, p.len)) === p.addr;
}

/** First and last address of a prefix, inclusive. */
export function prefixRange(p: IPPrefix): [bigint, bigint] {
  return [p.addr, p.addr | hostMask(p.family, p.len)];
}

/** Network-order bytes of an address: 4 for IPv4, 16 for IPv6. */
export function ipToBytes(ip: IPAddress): Uint8Array {
  const n = ip.family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function ipFromBytes(bytes: Uint8Array): IPAddress {
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new RangeError(`Cannot read IP address: expected 4 or 16 bytes, got ${bytes.length}`);
  }
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return { family: bytes.length === 4 ? 4 : 6, value };
}

export function compareIP(a: IPAddress, b: IPAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
