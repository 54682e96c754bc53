/**
 * Builds UPDATE messages straight into an output buffer: many prefixes that
 * share one attribute set per message, as many as the message size allows
 * (RFC 4271 §4.3, 4096 bytes; 65535 with RFC 8654), so packing is copying
 * the packed keys' bytes after attribute bytes that were encoded once.
 *
 * IPv4 unicast goes in the NLRI field with NEXT_HOP among the attributes;
 * everything else (IPv6, IPv4 with an IPv6 next hop per RFC 8950) goes in
 * MP_REACH_NLRI, written first (RFC 7606 §5.1) with the extended-length flag
 * so its length can be filled in after packing.
 *
 * A prefix is written only if the RIB still maps it to the same attribute
 * set (or, for withdraws, no longer has it): queued work may be stale.
 */
import type { AttrSet } from "./attr-set.ts";
import { type FamilyCode, familyAfi, familySafi, IPV4_UNICAST } from "./families.ts";
import { AttrFlag, AttrType } from "./wire/attrs/_codec.ts";
import { HEADER_LENGTH, MessageType, writeHeader } from "./wire/header.ts";
import type { PrefixKey } from "./wire/nlri.ts";

/** What a RIB entry points at: the attribute set and when it was announced (shared by a batch). */
export interface Binding {
  readonly attrs: AttrSet;
  /** Clock time (ms) of the announce call. */
  readonly since: number;
}

export interface PackResult {
  /** Bytes written (0: nothing written). */
  written: number;
  /** Next position in the key list. */
  pos: number;
  /** Prefixes in the message. */
  count: number;
}

const MP_HEADER = 4; // flags, type, 2-byte length

function writeMpPrefix(out: Uint8Array, p: number, family: FamilyCode): number {
  const afi = familyAfi(family);
  out[p] = afi >>> 8;
  out[p + 1] = afi & 0xff;
  out[p + 2] = familySafi(family);
  return 3;
}

/**
 * One UPDATE announcing keys[pos…] that still map to `attrs`. `mpNextHop` is
 * null for IPv4 unicast in the NLRI field (then `attrBytes` holds NEXT_HOP),
 * else the MP_REACH next hop bytes (4, 16 or 32).
 */
export function packAnnounce(
  out: Uint8Array,
  off: number,
  max: number,
  family: FamilyCode,
  mpNextHop: Uint8Array | null,
  attrBytes: Uint8Array,
  keys: readonly PrefixKey[],
  pos: number,
  routes: ReadonlyMap<PrefixKey, Binding>,
  attrs: AttrSet,
  /** false when nothing changed since the keys were queued (initial burst): skip the lookups. */
  check = true,
): PackResult {
  let p = off + HEADER_LENGTH;
  out[p++] = 0; // withdrawn routes length
  out[p++] = 0;
  const attrLenAt = p;
  p += 2;
  let mpLenAt = -1;
  let limit = off + max;
  if (mpNextHop) {
    out[p++] = AttrFlag.Optional | AttrFlag.ExtendedLength;
    out[p++] = AttrType.MpReach;
    mpLenAt = p;
    p += 2;
    p += writeMpPrefix(out, p, family);
    out[p++] = mpNextHop.length;
    out.set(mpNextHop, p);
    p += mpNextHop.length;
    out[p++] = 0; // reserved
    limit -= attrBytes.length;
  } else {
    out.set(attrBytes, p);
    p += attrBytes.length;
  }
  let count = 0;
  const n = keys.length;
  while (pos < n) {
    const key = keys[pos];
    if (check && routes.get(key)?.attrs !== attrs) {
      pos++;
      continue;
    }
    const len = key.length;
    if (p + len > limit) break;
    for (let i = 0; i < len; i++) out[p + i] = key.charCodeAt(i);
    p += len;
    pos++;
    count++;
  }
  if (count === 0) return { written: 0, pos, count };
  if (mpNextHop) {
    const mpLen = p - mpLenAt - 2;
    out[mpLenAt] = mpLen >>> 8;
    out[mpLenAt + 1] = mpLen & 0xff;
    out.set(attrBytes, p);
    p += attrBytes.length;
  }
  const attrLen = mpNextHop ? p - attrLenAt - 2 : attrBytes.length;
  out[attrLenAt] = attrLen >>> 8;
  out[attrLenAt + 1] = attrLen & 0xff;
  writeHeader(out, off, p - off, MessageType.Update);
  return { written: p - off, pos, count };
}

/** One UPDATE withdrawing keys[pos…] the RIB no longer has. */
export function packWithdraw(
  out: Uint8Array,
  off: number,
  max: number,
  family: FamilyCode,
  keys: readonly PrefixKey[],
  pos: number,
  routes: ReadonlyMap<PrefixKey, Binding>,
): PackResult {
  const classic = family === IPV4_UNICAST;
  let p = off + HEADER_LENGTH;
  const wLenAt = p;
  p += 2;
  let mpLenAt = -1;
  // IPv4: the Withdrawn Routes field, then an empty attribute field (2 bytes reserved at the end).
  let limit = off + max - (classic ? 2 : 0);
  if (!classic) {
    out[wLenAt] = 0; // no withdrawn routes field: MP_UNREACH_NLRI carries them
    out[wLenAt + 1] = 0;
    p += 2; // total path attribute length, filled below (at wLenAt + 2)
    out[p++] = AttrFlag.Optional | AttrFlag.ExtendedLength;
    out[p++] = AttrType.MpUnreach;
    mpLenAt = p;
    p += 2;
    p += writeMpPrefix(out, p, family);
    limit = off + max;
  }
  let count = 0;
  const n = keys.length;
  while (pos < n) {
    const key = keys[pos];
    if (routes.has(key)) {
      pos++;
      continue;
    }
    const len = key.length;
    if (p + len > limit) break;
    for (let i = 0; i < len; i++) out[p + i] = key.charCodeAt(i);
    p += len;
    pos++;
    count++;
  }
  if (count === 0) return { written: 0, pos, count };
  if (classic) {
    const wLen = p - wLenAt - 2;
    out[wLenAt] = wLen >>> 8;
    out[wLenAt + 1] = wLen & 0xff;
    out[p++] = 0;
    out[p++] = 0;
  } else {
    const mpLen = p - mpLenAt - 2;
    out[mpLenAt] = mpLen >>> 8;
    out[mpLenAt + 1] = mpLen & 0xff;
    const attrLen = mpLen + MP_HEADER;
    out[wLenAt + 2] = attrLen >>> 8;
    out[wLenAt + 3] = attrLen & 0xff;
  }
  writeHeader(out, off, p - off, MessageType.Update);
  return { written: p - off, pos, count };
}

/** End-of-RIB (RFC 4724 §2): an empty UPDATE for IPv4 unicast, an empty MP_UNREACH_NLRI otherwise. */
export function writeEndOfRib(out: Uint8Array, off: number, family: FamilyCode): number {
  out.fill(0, off + HEADER_LENGTH, off + HEADER_LENGTH + 4);
  if (family === IPV4_UNICAST) {
    writeHeader(out, off, HEADER_LENGTH + 4, MessageType.Update);
    return HEADER_LENGTH + 4;
  }
  let p = off + HEADER_LENGTH + 2;
  out[p++] = 0;
  out[p++] = 6;
  out[p++] = AttrFlag.Optional;
  out[p++] = AttrType.MpUnreach;
  out[p++] = 3;
  p += writeMpPrefix(out, p, family);
  writeHeader(out, off, p - off, MessageType.Update);
  return p - off;
}
