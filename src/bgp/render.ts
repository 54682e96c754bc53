/**
 * Path attributes as GoBGP prints them — the `Attrs` column of
 * `cilium bgp routes` (spec cli §1): `[{Origin: i} {AsPath: 65001}
 * {Communities: 65000:99, no-export} {MpReach(ipv6-unicast): {Nexthop:
 * fd00::2, NLRIs: [fd00:1::/64]}}]`, and the NextHop column rule.
 *
 * Works from wire attributes (what the API carries base64), decoding each
 * with the same codec table as the speaker.
 */
import { ATTRIBUTE_CODECS, AttrFlag, AttrType, type DecodeContext } from "./wire/attrs/mod.ts";
import type { ErrorAction } from "./wire/errors.ts";

export interface RenderOptions {
  /** AS numbers in AS_PATH/AGGREGATOR are 4 bytes (default true: the API always uses 4). */
  as4?: boolean;
}

interface SplitAttribute {
  flags: number;
  code: number;
  value: Uint8Array;
}

/** Splits one full wire attribute (flags, type, length, value). */
export function splitAttribute(attr: Uint8Array): SplitAttribute | null {
  if (attr.length < 3) return null;
  const ext = (attr[0] & AttrFlag.ExtendedLength) !== 0;
  const hdr = ext ? 4 : 3;
  if (attr.length < hdr) return null;
  const len = ext ? (attr[2] << 8) | attr[3] : attr[2];
  if (attr.length < hdr + len) return null;
  return { flags: attr[0], code: attr[1], value: attr.subarray(hdr, hdr + len) };
}

/** GoBGP's BGPAttrFlag.String(). */
function flagNames(f: number): string {
  const out: string[] = [];
  if (f & AttrFlag.ExtendedLength) out.push("EXTENDED_LENGTH");
  if (f & AttrFlag.Partial) out.push("PARTIAL");
  if (f & AttrFlag.Transitive) out.push("TRANSITIVE");
  if (f & AttrFlag.Optional) out.push("OPTIONAL");
  return out.join("|");
}

function decodeValue(a: SplitAttribute, as4: boolean): unknown {
  const codec = ATTRIBUTE_CODECS[a.code];
  if (!codec) return undefined;
  // Shown as decoded even when a receiver would withdraw it (e.g. NEXT_HOP 0.0.0.0 in loc-rib).
  const ctx: DecodeContext = { as4, ebgp: false, extendedNextHop: () => true, fail: (_a: Exclude<ErrorAction, "none"> | "session-reset") => {} };
  try {
    return codec.decode(a.value, 0, a.value.length, ctx);
  } catch {
    return undefined;
  }
}

/** One attribute, e.g. "{Origin: i}"; undecodable ones as GoBGP prints unknown attributes. */
export function renderAttribute(attr: Uint8Array, o: RenderOptions = {}): string {
  const a = splitAttribute(attr);
  if (!a) return `{Malformed: ${[...attr].map((b) => b.toString(16).padStart(2, "0")).join("")}}`;
  const v = decodeValue(a, o.as4 ?? true);
  const codec = ATTRIBUTE_CODECS[a.code];
  if (codec && v !== undefined) return codec.render(v);
  const hex = [...a.value].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `{Flags: ${flagNames(a.flags)}, Type: BGPAttrType(${a.code}), Value: ${hex ? "0x" + hex : ""}}`;
}

/** The whole list as Go prints a slice with %s: "[" + items joined by one space + "]". */
export function renderAttributes(attrs: readonly Uint8Array[], o: RenderOptions = {}): string {
  return `[${attrs.map((a) => renderAttribute(a, o)).join(" ")}]`;
}

/** The NextHop column: NEXT_HOP, else the MP_REACH next hop, else "0.0.0.0" (spec cli §1). */
export function nextHopOf(attrs: readonly Uint8Array[], o: RenderOptions = {}): string {
  let mp: string | undefined;
  for (const attr of attrs) {
    const a = splitAttribute(attr);
    if (!a) continue;
    if (a.code === AttrType.NextHop) {
      const v = decodeValue(a, o.as4 ?? true);
      if (typeof v === "string") return v;
    }
    if (a.code === AttrType.MpReach && mp === undefined) {
      const v = decodeValue(a, o.as4 ?? true) as { nextHop?: string } | undefined;
      if (v?.nextHop) mp = v.nextHop;
    }
  }
  return mp ?? "0.0.0.0";
}
