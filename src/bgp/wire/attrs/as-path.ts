/**
 * AS_PATH (RFC 4271 §5.1.2) and AS4_PATH (RFC 6793 §3).
 *
 * AS_PATH carries 2- or 4-byte AS numbers depending on whether both sides
 * negotiated 4-octet AS; AS4_PATH always carries 4-byte ones. A malformed
 * AS_PATH (unknown segment type, empty segment, overrun, AS 0, confederation
 * segments from an eBGP peer) is treat-as-withdraw (RFC 7606 §7.2, RFC 7607); a
 * malformed AS4_PATH is discarded (RFC 6793 §6, RFC 7606 §7.2).
 */
import { UpdateSubcode } from "../errors.ts";
import { type AsPathSegment, AsPathSegmentType, type AttrCodec, AttrType, type DecodeContext, OPTIONAL_TRANSITIVE, WELL_KNOWN } from "./_codec.ts";

/**
 * Parses segments of `width`-byte ASNs; returns a reason string when
 * malformed, which includes holding AS 0 (RFC 7607 §2).
 */
export function parseSegments(buf: Uint8Array, off: number, len: number, width: 2 | 4, out: AsPathSegment[]): string | null {
  const end = off + len;
  let zero = false;
  while (off < end) {
    if (off + 2 > end) return "segment header truncated";
    const type = buf[off];
    const count = buf[off + 1];
    if (type < AsPathSegmentType.Set || type > AsPathSegmentType.ConfedSet) return `unknown segment type ${type}`;
    if (count === 0) return "empty segment";
    off += 2;
    if (off + count * width > end) return "segment runs past the attribute";
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      asns[i] = width === 4
        ? ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0
        : (buf[off] << 8) | buf[off + 1];
      off += width;
      if (asns[i] === 0) zero = true;
    }
    out.push({ type, asns });
  }
  return zero ? "AS number 0 (RFC 7607)" : null;
}

export function writeSegments(segments: AsPathSegment[], out: Uint8Array, off: number, width: 2 | 4): number {
  const start = off;
  for (const s of segments) {
    // RFC 4271 §9.2.2.1: a segment holds at most 255 ASNs; longer ones are split.
    for (let i = 0; i < s.asns.length; i += 255) {
      const n = Math.min(255, s.asns.length - i);
      out[off++] = s.type;
      out[off++] = n;
      for (let j = i; j < i + n; j++) {
        const asn = s.asns[j];
        if (width === 4) {
          out[off++] = asn >>> 24;
          out[off++] = (asn >>> 16) & 0xff;
        }
        out[off++] = (asn >>> 8) & 0xff;
        out[off++] = asn & 0xff;
      }
    }
  }
  return off - start;
}

/** GoBGP's rendering of one segment: sequences "1 2", sets "{1,2}", confed sequences "(1 2)", confed sets "[1,2]". */
export function renderSegment(s: AsPathSegment): string {
  switch (s.type) {
    case AsPathSegmentType.Set:
      return `{${s.asns.join(",")}}`;
    case AsPathSegmentType.ConfedSequence:
      return `(${s.asns.join(" ")})`;
    case AsPathSegmentType.ConfedSet:
      return `[${s.asns.join(",")}]`;
    default:
      return s.asns.join(" ");
  }
}

const isConfed = (s: AsPathSegment) => s.type === AsPathSegmentType.ConfedSequence || s.type === AsPathSegmentType.ConfedSet;

/** Path length as RFC 6793 §4.2.3 counts it: an AS_SET is one AS, confederation segments none (RFC 4271 §9.1.2.2). */
function pathLength(path: AsPathSegment[]): number {
  let n = 0;
  for (const s of path) n += s.type === AsPathSegmentType.Sequence ? s.asns.length : s.type === AsPathSegmentType.Set ? 1 : 0;
  return n;
}

/**
 * The AS path of a route from a 2-octet AS speaker (RFC 6793 §4.2.3): an
 * AS4_PATH longer than AS_PATH is ignored; otherwise as much of the leading
 * part of AS_PATH is kept (confederation segments there too) as makes the
 * result as long as AS_PATH, and AS4_PATH follows it.
 */
export function mergeAs4Path(asPath: AsPathSegment[], as4Path: AsPathSegment[]): AsPathSegment[] {
  let keep = pathLength(asPath) - pathLength(as4Path);
  if (keep < 0) return asPath;
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    if (isConfed(s)) {
      out.push(s);
      continue;
    }
    if (keep === 0) break;
    const n = s.type === AsPathSegmentType.Set ? s.asns.length : Math.min(keep, s.asns.length);
    out.push(n === s.asns.length ? s : { type: s.type, asns: s.asns.slice(0, n) });
    keep -= s.type === AsPathSegmentType.Set ? 1 : n;
  }
  // One sequence where the kept part meets AS4_PATH, as a 4-octet speaker would have sent it.
  const last = out[out.length - 1];
  const [first, ...rest] = as4Path;
  if (last?.type === AsPathSegmentType.Sequence && first?.type === AsPathSegmentType.Sequence && last.asns.length + first.asns.length <= 255) {
    out[out.length - 1] = { type: AsPathSegmentType.Sequence, asns: [...last.asns, ...first.asns] };
    return [...out, ...rest];
  }
  return [...out, ...as4Path];
}

export const asPath: AttrCodec<AsPathSegment[]> = {
  code: AttrType.AsPath,
  name: "AS_PATH",
  flags: WELL_KNOWN,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx: DecodeContext) {
    const segments: AsPathSegment[] = [];
    const why = parseSegments(buf, off, len, ctx.as4 ? 4 : 2, segments);
    if (why) return void ctx.fail("treat-as-withdraw", UpdateSubcode.MalformedAsPath, `AS_PATH: ${why}`);
    // RFC 7606 §7.2: confederation segments from a peer outside the confederation.
    if (ctx.ebgp && segments.some(isConfed)) {
      return void ctx.fail("treat-as-withdraw", UpdateSubcode.MalformedAsPath, "AS_PATH: confederation segment from an external peer");
    }
    return segments;
  },
  encode: (v, out, off, ctx) => writeSegments(v, out, off, ctx.as4 ? 4 : 2),
  render: (v) => `{AsPath: ${v.map(renderSegment).join(" ")}}`,
  get: (a) => a.asPath,
  set: (a, v) => void (a.asPath = v),
};

export const as4Path: AttrCodec<AsPathSegment[]> = {
  code: AttrType.As4Path,
  name: "AS4_PATH",
  flags: OPTIONAL_TRANSITIVE,
  malformed: "attribute-discard",
  decode(buf, off, len, ctx) {
    // RFC 6793 §4.1: a NEW speaker ignores AS4_PATH from another NEW speaker.
    if (ctx.as4) return void ctx.fail("attribute-discard", UpdateSubcode.OptionalAttributeError, "AS4_PATH from a 4-octet AS speaker");
    const segments: AsPathSegment[] = [];
    const why = parseSegments(buf, off, len, 4, segments);
    if (why) return void ctx.fail("attribute-discard", UpdateSubcode.MalformedAsPath, `AS4_PATH: ${why}`);
    // RFC 6793 §6: confederation segments in AS4_PATH are discarded.
    return segments.filter((s) => !isConfed(s));
  },
  encode: (v, out, off) => writeSegments(v, out, off, 4),
  render: (v) => `{As4Path: ${v.map(renderSegment).join(" ")}}`,
  get: (a) => a.as4Path,
  set: (a, v) => void (a.as4Path = v),
};
