/**
 * The shape every path-attribute codec has, and the decoded form of a path
 * attribute list.
 *
 * A codec handles only its own value: the attribute header (flags, type,
 * extended length), duplicates and flag checks are done once in update.ts
 * (RFC 7606 §3 (c), (g)). `malformed` is the RFC 7606 action taken when the
 * value is bad; the decoder reports through `ctx.fail()` and returns
 * undefined. Conflicting flags are treat-as-withdraw (§3 (c)), or session
 * reset where `malformed` is.
 */
import type { FamilyCode } from "../../families.ts";
import type { ErrorAction } from "../errors.ts";
import type { PrefixKey } from "../nlri.ts";

export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

/** Well-known (mandatory or discretionary): transitive, not optional. */
export const WELL_KNOWN = AttrFlag.Transitive;
export const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;
export const OPTIONAL_NON_TRANSITIVE = AttrFlag.Optional;

export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  Med: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  OriginatorId: 9,
  ClusterList: 10,
  MpReach: 14,
  MpUnreach: 15,
  ExtendedCommunities: 16,
  As4Path: 17,
  As4Aggregator: 18,
  LargeCommunity: 32,
} as const;

export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const;

export const AsPathSegmentType = { Set: 1, Sequence: 2, ConfedSequence: 3, ConfedSet: 4 } as const;

export interface AsPathSegment {
  type: number;
  asns: number[];
}

export interface Aggregator {
  asn: number;
  address: string;
}

export type LargeCommunity = readonly [number, number, number];

export interface MpReach {
  family: FamilyCode;
  /** Global next hop as text (IPv4 or IPv6). "" when the length is 0. */
  nextHop: string;
  /** IPv6 link-local next hop (32-byte form), if present. */
  linkLocal?: string;
  /** NLRI as packed keys; empty when the family is not one herald parses. */
  nlri: PrefixKey[];
  /** The raw NLRI bytes when the family is not parsed (kept opaque). */
  opaqueNlri?: Uint8Array;
}

export interface MpUnreach {
  family: FamilyCode;
  withdrawn: PrefixKey[];
  opaqueNlri?: Uint8Array;
}

/** An attribute kept as it came: unknown optional transitive ones are passed with Partial set. */
export interface RawAttribute {
  flags: number;
  code: number;
  value: Uint8Array;
}

/** Decoded path attributes. Absent fields were absent (or discarded). */
export interface PathAttrs {
  origin?: number;
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: true;
  aggregator?: Aggregator;
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  mpReach?: MpReach;
  mpUnreach?: MpUnreach;
  /** 8-byte values. */
  extendedCommunities?: Uint8Array[];
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
  largeCommunities?: LargeCommunity[];
  unknown?: RawAttribute[];
}

/** What a decoder may ask about the session and how it reports problems. */
export interface DecodeContext {
  /** 4-octet AS numbers negotiated: AS_PATH and AGGREGATOR use 4-byte ASNs. */
  readonly as4: boolean;
  readonly ebgp: boolean;
  /** May this family carry a next hop of the other IP family (RFC 8950)? */
  extendedNextHop(family: FamilyCode): boolean;
  /**
   * Records a problem with the current attribute. For "session-reset" it
   * throws a NotificationError (with the attribute as data) and does not return.
   */
  fail(action: Exclude<ErrorAction, "none"> | "session-reset", subcode: number, reason: string): void;
}

export interface EncodeContext {
  /** Write AS numbers in 4 bytes. */
  readonly as4: boolean;
}

export interface AttrCodec<T> {
  code: number;
  /** Name used in logs ("ORIGIN", "AS_PATH"). */
  name: string;
  /** Expected Optional and Transitive bits (RFC 4271 §5). */
  flags: number;
  /** RFC 7606 action when the value is malformed (flag conflicts: see update.ts). */
  malformed: Exclude<ErrorAction, "none"> | "session-reset";
  /** Decodes the value in [off, off+len); undefined after ctx.fail(). */
  decode(buf: Uint8Array, off: number, len: number, ctx: DecodeContext): T | undefined;
  /** Writes the value (not the header) at `off`; returns bytes written. */
  encode(v: T, out: Uint8Array, off: number, ctx: EncodeContext): number;
  /** GoBGP's rendering, e.g. "{Origin: i}". */
  render(v: T): string;
  get(a: PathAttrs): T | undefined;
  set(a: PathAttrs, v: T): void;
}

/**
 * Writes a whole attribute (flags, type, length, value) at `off`, choosing
 * the extended-length form only when the value needs it; returns the bytes
 * written. The value is written first at off+4 and moved down when short.
 */
export function writeAttribute<T>(codec: AttrCodec<T>, v: T, out: Uint8Array, off: number, ctx: EncodeContext): number {
  const len = codec.encode(v, out, off + 4, ctx);
  return writeAttributeHeader(out, off, codec.flags, codec.code, len);
}

/** Puts the header in front of a value already written at off+4 (see writeAttribute). */
export function writeAttributeHeader(out: Uint8Array, off: number, flags: number, code: number, len: number): number {
  if (len > 255) {
    out[off] = flags | AttrFlag.ExtendedLength;
    out[off + 1] = code;
    out[off + 2] = len >>> 8;
    out[off + 3] = len & 0xff;
    return 4 + len;
  }
  out.copyWithin(off + 3, off + 4, off + 4 + len);
  out[off] = flags & ~AttrFlag.ExtendedLength;
  out[off + 1] = code;
  out[off + 2] = len;
  return 3 + len;
}

export const u32 = (buf: Uint8Array, off: number): number => ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;

export function putU32(out: Uint8Array, off: number, v: number): void {
  out[off] = v >>> 24;
  out[off + 1] = (v >>> 16) & 0xff;
  out[off + 2] = (v >>> 8) & 0xff;
  out[off + 3] = v & 0xff;
}

export const ipv4Text = (buf: Uint8Array, off: number): string => `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;

/** Writes a dotted quad; the caller validated it. */
export function putIpv4(out: Uint8Array, off: number, text: string): void {
  const p = text.split(".");
  for (let i = 0; i < 4; i++) out[off + i] = Number(p[i]);
}
