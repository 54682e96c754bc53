/**
 * COMMUNITIES (RFC 1997) with the IANA well-known names, and
 * LARGE_COMMUNITY (RFC 8092). A length of zero or not a multiple of the
 * item size is treat-as-withdraw (RFC 7606 §7.8, RFC 8092 §6).
 */
import { UpdateSubcode } from "../errors.ts";
import { type AttrCodec, AttrType, type LargeCommunity, OPTIONAL_TRANSITIVE, putU32, u32 } from "./_codec.ts";

/** IANA "BGP Well-known Communities", names as GoBGP and the Cilium CRDs spell them. */
export const WELL_KNOWN_COMMUNITIES: ReadonlyMap<number, string> = new Map([
  [0x00000000, "internet"],
  [0xffff0000, "planned-shut"],
  [0xffff0001, "accept-own"],
  [0xffff0002, "route-filter-translated-v4"],
  [0xffff0003, "route-filter-v4"],
  [0xffff0004, "route-filter-translated-v6"],
  [0xffff0005, "route-filter-v6"],
  [0xffff0006, "llgr-stale"],
  [0xffff0007, "no-llgr"],
  [0xffff0008, "accept-own-nexthop"],
  [0xffff029a, "blackhole"],
  [0xffffff01, "no-export"],
  [0xffffff02, "no-advertise"],
  [0xffffff03, "no-export-subconfed"],
  [0xffffff04, "no-peer"],
]);
const BY_NAME = new Map([...WELL_KNOWN_COMMUNITIES].map(([v, n]) => [n, v]));
// The names GoBGP does not know ("graceful-shutdown", RFC 8326) still parse.
BY_NAME.set("graceful-shutdown", 0xffff0000);

/** "65000:100", or the well-known name. */
export function formatCommunity(v: number): string {
  return WELL_KNOWN_COMMUNITIES.get(v) ?? `${v >>> 16}:${v & 0xffff}`;
}

/** Parses "65000:100", a well-known name, or a decimal u32; null otherwise. */
export function parseCommunity(text: string): number | null {
  const named = BY_NAME.get(text.trim().toLowerCase());
  if (named !== undefined) return named;
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text.trim());
  if (m) {
    const hi = Number(m[1]);
    const lo = Number(m[2]);
    return hi <= 0xffff && lo <= 0xffff ? ((hi << 16) | lo) >>> 0 : null;
  }
  if (/^\d{1,10}$/.test(text.trim())) {
    const n = Number(text.trim());
    return n <= 0xffffffff ? n : null;
  }
  return null;
}

/** Parses "1:2:3" (three u32); null otherwise. */
export function parseLargeCommunity(text: string): LargeCommunity | null {
  const m = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(text.trim());
  if (!m) return null;
  const v = [Number(m[1]), Number(m[2]), Number(m[3])] as const;
  return v.every((n) => n <= 0xffffffff) ? v : null;
}

export const formatLargeCommunity = (c: LargeCommunity): string => `${c[0]}:${c[1]}:${c[2]}`;

export const communities: AttrCodec<number[]> = {
  code: AttrType.Communities,
  name: "COMMUNITIES",
  flags: OPTIONAL_TRANSITIVE,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx) {
    if (len === 0 || len % 4 !== 0) {
      return void ctx.fail("treat-as-withdraw", UpdateSubcode.OptionalAttributeError, `COMMUNITIES length ${len} is not a non-zero multiple of 4`);
    }
    const out = new Array<number>(len / 4);
    for (let i = 0; i < out.length; i++) out[i] = u32(buf, off + i * 4);
    return out;
  },
  encode(v, out, off) {
    for (let i = 0; i < v.length; i++) putU32(out, off + i * 4, v[i]);
    return v.length * 4;
  },
  render: (v) => `{Communities: ${v.map(formatCommunity).join(", ")}}`,
  get: (a) => a.communities,
  set: (a, v) => void (a.communities = v),
};

export const largeCommunities: AttrCodec<LargeCommunity[]> = {
  code: AttrType.LargeCommunity,
  name: "LARGE_COMMUNITY",
  flags: OPTIONAL_TRANSITIVE,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx) {
    if (len === 0 || len % 12 !== 0) {
      return void ctx.fail("treat-as-withdraw", UpdateSubcode.OptionalAttributeError, `LARGE_COMMUNITY length ${len} is not a non-zero multiple of 12`);
    }
    const out: LargeCommunity[] = [];
    for (let p = off; p < off + len; p += 12) out.push([u32(buf, p), u32(buf, p + 4), u32(buf, p + 8)]);
    return out;
  },
  encode(v, out, off) {
    for (let i = 0; i < v.length; i++) {
      putU32(out, off + i * 12, v[i][0]);
      putU32(out, off + i * 12 + 4, v[i][1]);
      putU32(out, off + i * 12 + 8, v[i][2]);
    }
    return v.length * 12;
  },
  // GoBGP prints a space after "[" and none before "]".
  render: (v) => `{LargeCommunity: [ ${v.map(formatLargeCommunity).join(", ")}]}`,
  get: (a) => a.largeCommunities,
  set: (a, v) => void (a.largeCommunities = v),
};
