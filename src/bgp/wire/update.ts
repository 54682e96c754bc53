/**
 * UPDATE (RFC 4271 §4.3) decoding with RFC 7606 error handling, and a
 * general encoder (the hot path that packs many prefixes lives in rib-out).
 *
 * Decoding walks the three fields once. Framing errors in the fields
 * themselves (lengths that do not add up, bad prefixes, a repeated or broken
 * MP_REACH/MP_UNREACH, an unknown well-known attribute) throw a
 * NotificationError: the session resets. Everything else is recorded in the
 * result (`action`, `issues`): a discarded attribute is simply absent, and
 * treat-as-withdraw tells the caller to withdraw every prefix the UPDATE
 * announced. Per RFC 7606 §3 the strongest outcome wins.
 *
 * Attribute header, flags and duplicates are handled here, once; each codec
 * in attrs/ checks only its own value.
 */
import { type FamilyCode, hasPrefixNlri, IPV4_UNICAST } from "../families.ts";
import {
  aggregator,
  asPath,
  ATTRIBUTE_CODECS,
  type AttrCodec,
  AttrFlag,
  AttrType,
  type DecodeContext,
  type EncodeContext,
  KNOWN_ATTRIBUTE_CODES,
  mergeAs4Path,
  type PathAttrs,
  type RawAttribute,
  writeAttribute,
} from "./attrs/mod.ts";
import { type ErrorAction, ErrorCode, NotificationError, strongest, type UpdateIssue, UpdateSubcode } from "./errors.ts";
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType, writeHeader } from "./header.ts";
import { type PrefixKey, readPrefixes, writeKey } from "./nlri.ts";
import { isHostAddress } from "./attrs/next-hop.ts";
import { AS_TRANS } from "./open.ts";

export interface UpdateMessage {
  /** IPv4 unicast prefixes in the Withdrawn Routes field. */
  withdrawn: PrefixKey[];
  attrs: PathAttrs;
  /** IPv4 unicast prefixes in the NLRI field. */
  nlri: PrefixKey[];
}

export interface DecodedUpdate extends UpdateMessage {
  /** RFC 7606 outcome: "treat-as-withdraw" means every announced prefix is withdrawn instead. */
  action: ErrorAction;
  issues: UpdateIssue[];
  /** Each attribute's wire bytes except MP_REACH/MP_UNREACH (for the API); only with keepRaw. */
  raw?: Uint8Array[];
  /** Set when the UPDATE is an End-of-RIB marker (RFC 4724 §2). */
  endOfRib?: FamilyCode;
}

export interface UpdateDecodeOptions {
  as4: boolean;
  ebgp: boolean;
  /** Families allowed a next hop of the other IP family (RFC 8950). */
  extendedNextHop?: (family: FamilyCode) => boolean;
  /** Keep each attribute's wire bytes in `raw`. */
  keepRaw?: boolean;
}

const never = () => false;

class Parse implements DecodeContext {
  readonly as4: boolean;
  readonly ebgp: boolean;
  readonly extendedNextHop: (f: FamilyCode) => boolean;
  action: ErrorAction = "none";
  issues: UpdateIssue[] = [];
  /** The attribute being decoded: code and its bytes (for NOTIFICATION data). */
  code = 0;
  attrStart = 0;
  attrEnd = 0;
  buf: Uint8Array;

  constructor(buf: Uint8Array, o: UpdateDecodeOptions) {
    this.buf = buf;
    this.as4 = o.as4;
    this.ebgp = o.ebgp;
    this.extendedNextHop = o.extendedNextHop ?? never;
  }

  fail(action: Exclude<ErrorAction, "none"> | "session-reset", subcode: number, reason: string): void {
    if (action === "session-reset") {
      throw new NotificationError(ErrorCode.Update, subcode, this.buf.slice(this.attrStart, this.attrEnd), reason);
    }
    this.action = strongest(this.action, action);
    this.issues.push({ action, subcode, attribute: this.code || undefined, reason });
  }
}

const malformedList = (why: string) => new NotificationError(ErrorCode.Update, UpdateSubcode.MalformedAttributeList, new Uint8Array(0), why);

/** Decodes the UPDATE body in [off, end) (after the header). */
export function decodeUpdate(buf: Uint8Array, off: number, end: number, o: UpdateDecodeOptions): DecodedUpdate {
  // RFC 4271 §6.3: lengths that exceed the message are Malformed Attribute List.
  if (end - off < 4) throw malformedList("UPDATE body shorter than 4 bytes");
  const withdrawnLen = (buf[off] << 8) | buf[off + 1];
  const wStart = off + 2;
  const wEnd = wStart + withdrawnLen;
  if (wEnd + 2 > end) throw malformedList(`withdrawn routes length ${withdrawnLen} exceeds the message`);
  const withdrawn: PrefixKey[] = [];
  readPrefixes(buf, wStart, wEnd, 32, withdrawn);
  const attrLen = (buf[wEnd] << 8) | buf[wEnd + 1];
  const aStart = wEnd + 2;
  const aEnd = aStart + attrLen;
  if (aEnd > end) throw malformedList(`total path attribute length ${attrLen} exceeds the message`);

  const ctx = new Parse(buf, o);
  const attrs: PathAttrs = {};
  const raw: Uint8Array[] | undefined = o.keepRaw ? [] : undefined;
  const seen = new Set<number>();
  let p = aStart;
  while (p < aEnd) {
    ctx.code = 0;
    // RFC 7606 §4: a header or value that overruns the attribute field cannot be
    // trusted, nor anything after it; what was announced is withdrawn instead.
    if (aEnd - p < 3) {
      ctx.fail("treat-as-withdraw", UpdateSubcode.AttributeLengthError, "attribute header truncated");
      break;
    }
    const flags = buf[p];
    const code = buf[p + 1];
    const ext = (flags & AttrFlag.ExtendedLength) !== 0;
    const hdr = ext ? 4 : 3;
    if (p + hdr > aEnd) {
      ctx.fail("treat-as-withdraw", UpdateSubcode.AttributeLengthError, "attribute header truncated");
      break;
    }
    const len = ext ? (buf[p + 2] << 8) | buf[p + 3] : buf[p + 2];
    const v = p + hdr;
    ctx.code = code;
    ctx.attrStart = p;
    ctx.attrEnd = Math.min(v + len, aEnd);
    if (v + len > aEnd) {
      if (code === AttrType.MpReach || code === AttrType.MpUnreach) {
        ctx.fail("session-reset", UpdateSubcode.AttributeLengthError, `attribute ${code} length ${len} overruns the attribute field`);
      }
      ctx.fail("treat-as-withdraw", UpdateSubcode.AttributeLengthError, `attribute ${code} length ${len} overruns the attribute field`);
      break;
    }
    p = v + len;
    // RFC 7606 §3 (g): a repeated MP_REACH/MP_UNREACH resets; other repeats are dropped.
    if (seen.has(code)) {
      if (code === AttrType.MpReach || code === AttrType.MpUnreach) {
        throw new NotificationError(ErrorCode.Update, UpdateSubcode.MalformedAttributeList, new Uint8Array(0), `attribute ${code} appears twice`);
      }
      ctx.fail("attribute-discard", UpdateSubcode.MalformedAttributeList, `attribute ${code} appears twice`);
      continue;
    }
    seen.add(code);
    const codec = ATTRIBUTE_CODECS[code];
    if (!codec) {
      if ((flags & AttrFlag.Optional) === 0) {
        // RFC 4271 §6.3: data is the unrecognized attribute.
        throw new NotificationError(ErrorCode.Update, UpdateSubcode.UnrecognizedWellKnownAttribute, buf.slice(ctx.attrStart, p), `well-known attribute ${code}`);
      }
      if (flags & AttrFlag.Transitive) {
        // RFC 4271 §5: kept and, when passed on, marked Partial.
        (attrs.unknown ??= []).push({ flags: (flags | AttrFlag.Partial) & ~AttrFlag.ExtendedLength, code, value: buf.slice(v, p) });
        raw?.push(buf.slice(ctx.attrStart, p));
      }
      // unknown optional non-transitive: quietly ignored (RFC 4271 §9)
      continue;
    }
    // RFC 7606 §3 (c): Optional/Transitive bits in conflict make the attribute malformed and the
    // UPDATE treat-as-withdraw, even where a bad value would only be discarded (AGGREGATOR);
    // MP_REACH/MP_UNREACH still reset, as their NLRI cannot be withdrawn unparsed.
    if ((flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== codec.flags) {
      ctx.fail(codec.malformed === "session-reset" ? "session-reset" : "treat-as-withdraw", UpdateSubcode.AttributeFlagsError, `${codec.name} flags 0x${flags.toString(16)}`);
      continue;
    }
    const value = codec.decode(buf, v, len, ctx);
    if (value !== undefined) {
      codec.set(attrs, value);
      if (raw && code !== AttrType.MpReach && code !== AttrType.MpUnreach) raw.push(buf.slice(ctx.attrStart, p));
    }
  }
  ctx.code = 0;
  const nlri: PrefixKey[] = [];
  readPrefixes(buf, aEnd, end, 32, nlri);

  // RFC 4760 §3: NEXT_HOP serves the NLRI field only; beside MP_REACH alone it is ignored, so its
  // semantic check (RFC 4271 §6.3: not 0.0.0.0, multicast or class E) applies only here.
  if (nlri.length > 0 && attrs.nextHop !== undefined && !isHostAddress(attrs.nextHop)) {
    ctx.code = AttrType.NextHop;
    ctx.fail("treat-as-withdraw", UpdateSubcode.InvalidNextHop, `NEXT_HOP ${attrs.nextHop} is not a host address`);
    ctx.code = 0;
  }

  // RFC 7606 §3 (d): missing well-known mandatory attributes are treat-as-withdraw.
  const announces = nlri.length > 0 || (attrs.mpReach !== undefined && (attrs.mpReach.nlri.length > 0 || (attrs.mpReach.opaqueNlri?.length ?? 0) > 0));
  if (announces && ctx.action !== "treat-as-withdraw") {
    const missing: string[] = [];
    if (attrs.origin === undefined && !seen.has(AttrType.Origin)) missing.push("ORIGIN");
    if (attrs.asPath === undefined && !seen.has(AttrType.AsPath)) missing.push("AS_PATH");
    if (nlri.length > 0 && attrs.nextHop === undefined && !seen.has(AttrType.NextHop)) missing.push("NEXT_HOP");
    if (missing.length > 0) ctx.fail("treat-as-withdraw", UpdateSubcode.MissingWellKnownAttribute, `missing ${missing.join(", ")}`);
  }
  // RFC 7606 §5.2: an UPDATE that announces nothing yet has a treat-as-withdraw error may hide its
  // NLRI behind the broken attribute (an unparsed MP_REACH_NLRI): the session resets.
  if (ctx.action === "treat-as-withdraw" && !announces) {
    const first = ctx.issues.find((i) => i.action === "treat-as-withdraw")!;
    throw malformedList(`${first.reason} in an UPDATE without reachable NLRI`);
  }
  const out: DecodedUpdate = { withdrawn, attrs, nlri, action: ctx.action, issues: ctx.issues };
  if (raw) out.raw = raw;
  if (withdrawnLen === 0 && attrLen === 0 && end === aEnd) out.endOfRib = IPV4_UNICAST;
  else if (withdrawn.length === 0 && nlri.length === 0 && seen.size === 1 && attrs.mpUnreach && attrs.mpUnreach.withdrawn.length === 0 && !attrs.mpUnreach.opaqueNlri?.length) {
    out.endOfRib = attrs.mpUnreach.family;
  }
  return out;
}

/**
 * An UPDATE from a 2-octet AS speaker as herald keeps every received path
 * (RFC 6793 §4.2.3): AGGREGATOR taken from AS4_AGGREGATOR when it holds
 * AS_TRANS (any other AS there means both AS4_* attributes are ignored),
 * AS_PATH rebuilt with AS4_PATH, and `raw` carrying AS_PATH and AGGREGATOR
 * with 4-octet ASNs and no AS4_* attributes, the form the API shows.
 */
export function toFourOctetPath(u: DecodedUpdate): DecodedUpdate {
  const { as4Path, as4Aggregator, ...attrs } = u.attrs;
  let useAs4 = true;
  if (attrs.aggregator) {
    if (attrs.aggregator.asn !== AS_TRANS) useAs4 = false;
    else if (as4Aggregator) attrs.aggregator = as4Aggregator;
  }
  if (useAs4 && as4Path && attrs.asPath) attrs.asPath = mergeAs4Path(attrs.asPath, as4Path);
  const out: DecodedUpdate = { ...u, attrs };
  if (!u.raw) return out;
  out.raw = [];
  for (const r of u.raw) {
    const code = r[1];
    if (code === AttrType.As4Path || code === AttrType.As4Aggregator) continue;
    if (code === AttrType.AsPath && attrs.asPath) {
      // each segment: a 2-byte header per 255 ASNs, 4 bytes per ASN
      const room = attrs.asPath.reduce((n, s) => n + 2 * Math.ceil(s.asns.length / 255) + 4 * s.asns.length, 0);
      out.raw.push(wideAttribute(asPath, attrs.asPath, room));
    } else if (code === AttrType.Aggregator && attrs.aggregator) out.raw.push(wideAttribute(aggregator, attrs.aggregator, 8));
    else out.raw.push(r);
  }
  return out;
}

/** One attribute in wire form with 4-octet ASNs; `room` bounds its value's size. */
function wideAttribute<T>(codec: AttrCodec<T>, v: T, room: number): Uint8Array {
  const buf = new Uint8Array(4 + room);
  return buf.slice(0, writeAttribute(codec, v, buf, 0, { as4: true }));
}

/** The prefixes an UPDATE announces, per family (IPv4 NLRI field and MP_REACH). */
export function announcedFamilies(u: UpdateMessage): Array<[FamilyCode, PrefixKey[]]> {
  const out: Array<[FamilyCode, PrefixKey[]]> = [];
  if (u.nlri.length > 0) out.push([IPV4_UNICAST, u.nlri]);
  const r = u.attrs.mpReach;
  if (r && hasPrefixNlri(r.family) && r.nlri.length > 0) out.push([r.family, r.nlri]);
  return out;
}

/** The prefixes an UPDATE withdraws, per family. */
export function withdrawnFamilies(u: UpdateMessage): Array<[FamilyCode, PrefixKey[]]> {
  const out: Array<[FamilyCode, PrefixKey[]]> = [];
  if (u.withdrawn.length > 0) out.push([IPV4_UNICAST, u.withdrawn]);
  const w = u.attrs.mpUnreach;
  if (w && hasPrefixNlri(w.family) && w.withdrawn.length > 0) out.push([w.family, w.withdrawn]);
  return out;
}

/**
 * Encodes the attributes in a stable order: MP_REACH and MP_UNREACH first
 * (RFC 7606 §5.1 asks senders to), then ascending type code, then unknown
 * attributes as kept. Returns the bytes written at `off`.
 */
export function encodeAttributes(attrs: PathAttrs, out: Uint8Array, off: number, ctx: EncodeContext): number {
  let p = off;
  for (const code of [AttrType.MpReach, AttrType.MpUnreach, ...KNOWN_ATTRIBUTE_CODES.filter((c) => c !== AttrType.MpReach && c !== AttrType.MpUnreach)]) {
    const codec = ATTRIBUTE_CODECS[code]!;
    const v = codec.get(attrs);
    if (v !== undefined) p += writeAttribute(codec, v, out, p, ctx);
  }
  for (const u of attrs.unknown ?? []) p += writeRawAttribute(u, out, p);
  return p - off;
}

export function writeRawAttribute(a: RawAttribute, out: Uint8Array, off: number): number {
  const ext = a.value.length > 255;
  out[off] = ext ? a.flags | AttrFlag.ExtendedLength : a.flags & ~AttrFlag.ExtendedLength;
  out[off + 1] = a.code;
  if (ext) {
    out[off + 2] = a.value.length >>> 8;
    out[off + 3] = a.value.length & 0xff;
  } else out[off + 2] = a.value.length;
  out.set(a.value, off + (ext ? 4 : 3));
  return (ext ? 4 : 3) + a.value.length;
}

/**
 * A whole UPDATE message. Throws a RangeError when it does not fit
 * `maxLength` (4096, or 65535 with extended messages).
 */
export function encodeUpdate(u: UpdateMessage, ctx: EncodeContext, maxLength = MAX_MESSAGE_LENGTH): Uint8Array {
  const scratch = new Uint8Array(65535 + 64 * 1024);
  let p = HEADER_LENGTH + 2;
  for (const k of u.withdrawn) p += writeKey(scratch, p, k);
  const wLen = p - HEADER_LENGTH - 2;
  const aLenAt = p;
  p += 2;
  const aLen = encodeAttributes(u.attrs, scratch, p, ctx);
  p += aLen;
  for (const k of u.nlri) p += writeKey(scratch, p, k);
  if (p > maxLength) throw new RangeError(`Cannot encode UPDATE: ${p} bytes exceed the maximum message length ${maxLength}`);
  scratch[HEADER_LENGTH] = wLen >>> 8;
  scratch[HEADER_LENGTH + 1] = wLen & 0xff;
  scratch[aLenAt] = aLen >>> 8;
  scratch[aLenAt + 1] = aLen & 0xff;
  writeHeader(scratch, 0, p, MessageType.Update);
  return scratch.slice(0, p);
}
