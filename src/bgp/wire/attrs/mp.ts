/**
 * MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4).
 *
 * IPv4 and IPv6 unicast/multicast NLRI are read as packed keys; other
 * families (negotiated from configuration, carrying no routes in herald) are
 * kept opaque. IPv4 NLRI may have an IPv6 next hop where RFC 8950 extended
 * next hop was negotiated.
 *
 * RFC 7606 §7.11: when these attributes are malformed the NLRI cannot be
 * located reliably, so the session resets (Optional Attribute Error; a bad
 * prefix inside is Invalid Network Field).
 */
import { formatIP, ipFromBytes, ipToBytes, mustParseIP } from "../../../net/ip.ts";
import { Afi, type FamilyCode, familyAfi, familyCode, familySafi, gobgpFamilyName, hasPrefixNlri } from "../../families.ts";
import { UpdateSubcode } from "../errors.ts";
import { keyToText, readPrefixes, writeKey } from "../nlri.ts";
import { type AttrCodec, AttrType, ipv4Text, type MpReach, type MpUnreach, OPTIONAL_NON_TRANSITIVE } from "./_codec.ts";

const ipVersion = (f: FamilyCode): 4 | 6 => (familyAfi(f) === Afi.IPv6 ? 6 : 4);
const maxBits = (f: FamilyCode) => (familyAfi(f) === Afi.IPv6 ? 128 : 32);

/** Next hop bytes as text: 4 bytes IPv4, 16 IPv6, 32 IPv6 global + link-local. */
function nextHopText(buf: Uint8Array, off: number, len: number): { nextHop: string; linkLocal?: string } {
  if (len === 4) return { nextHop: ipv4Text(buf, off) };
  if (len === 16 || len === 32) {
    const global = formatIP(ipFromBytes(buf.subarray(off, off + 16)));
    return len === 32 ? { nextHop: global, linkLocal: formatIP(ipFromBytes(buf.subarray(off + 16, off + 32))) } : { nextHop: global };
  }
  return { nextHop: "" };
}

/** Writes an address given as text in its wire form (4 or 16 bytes); returns bytes written. */
export function writeAddress(out: Uint8Array, off: number, text: string): number {
  const b = ipToBytes(mustParseIP(text));
  out.set(b, off);
  return b.length;
}

export const mpReach: AttrCodec<MpReach> = {
  code: AttrType.MpReach,
  name: "MP_REACH_NLRI",
  flags: OPTIONAL_NON_TRANSITIVE,
  malformed: "session-reset",
  decode(buf, off, len, ctx) {
    const end = off + len;
    if (len < 5) return void ctx.fail("session-reset", UpdateSubcode.OptionalAttributeError, `MP_REACH_NLRI length ${len}, at least 5`);
    const family = familyCode((buf[off] << 8) | buf[off + 1], buf[off + 2]);
    const nhLen = buf[off + 3];
    const nh = off + 4;
    if (nh + nhLen + 1 > end) return void ctx.fail("session-reset", UpdateSubcode.OptionalAttributeError, "MP_REACH_NLRI next hop runs past the attribute");
    const reach: MpReach = { family, nextHop: "", nlri: [] };
    if (hasPrefixNlri(family)) {
      const v6 = familyAfi(family) === Afi.IPv6;
      const ok = v6 ? nhLen === 16 || nhLen === 32 : nhLen === 4 || ((nhLen === 16 || nhLen === 32) && ctx.extendedNextHop(family));
      if (!ok) {
        return void ctx.fail("session-reset", UpdateSubcode.OptionalAttributeError, `MP_REACH_NLRI next hop length ${nhLen} for ${gobgpFamilyName(family)}`);
      }
      Object.assign(reach, nextHopText(buf, nh, nhLen));
      // The reserved byte after the next hop (ex-SNPA count) is ignored (RFC 4760 §3).
      readPrefixes(buf, nh + nhLen + 1, end, maxBits(family), reach.nlri);
    } else {
      Object.assign(reach, nextHopText(buf, nh, nhLen));
      reach.opaqueNlri = buf.slice(nh + nhLen + 1, end);
    }
    return reach;
  },
  encode(v, out, off) {
    const afi = familyAfi(v.family);
    out[off] = afi >>> 8;
    out[off + 1] = afi & 0xff;
    out[off + 2] = familySafi(v.family);
    let p = off + 4;
    if (v.nextHop) p += writeAddress(out, p, v.nextHop);
    if (v.linkLocal) p += writeAddress(out, p, v.linkLocal);
    out[off + 3] = p - off - 4;
    out[p++] = 0;
    for (const k of v.nlri) p += writeKey(out, p, k);
    if (v.opaqueNlri) {
      out.set(v.opaqueNlri, p);
      p += v.opaqueNlri.length;
    }
    return p - off;
  },
  render(v) {
    const nlri = hasPrefixNlri(v.family) ? v.nlri.map((k) => keyToText(k, ipVersion(v.family))) : [];
    return `{MpReach(${gobgpFamilyName(v.family)}): {Nexthop: ${v.nextHop || "<nil>"}, NLRIs: [${nlri.join(" ")}]}}`;
  },
  get: (a) => a.mpReach,
  set: (a, v) => void (a.mpReach = v),
};

export const mpUnreach: AttrCodec<MpUnreach> = {
  code: AttrType.MpUnreach,
  name: "MP_UNREACH_NLRI",
  flags: OPTIONAL_NON_TRANSITIVE,
  malformed: "session-reset",
  decode(buf, off, len, ctx) {
    if (len < 3) return void ctx.fail("session-reset", UpdateSubcode.OptionalAttributeError, `MP_UNREACH_NLRI length ${len}, at least 3`);
    const family = familyCode((buf[off] << 8) | buf[off + 1], buf[off + 2]);
    const un: MpUnreach = { family, withdrawn: [] };
    if (hasPrefixNlri(family)) readPrefixes(buf, off + 3, off + len, maxBits(family), un.withdrawn);
    else un.opaqueNlri = buf.slice(off + 3, off + len);
    return un;
  },
  encode(v, out, off) {
    const afi = familyAfi(v.family);
    out[off] = afi >>> 8;
    out[off + 1] = afi & 0xff;
    out[off + 2] = familySafi(v.family);
    let p = off + 3;
    for (const k of v.withdrawn) p += writeKey(out, p, k);
    if (v.opaqueNlri) {
      out.set(v.opaqueNlri, p);
      p += v.opaqueNlri.length;
    }
    return p - off;
  },
  render(v) {
    const nlri = hasPrefixNlri(v.family) ? v.withdrawn.map((k) => keyToText(k, ipVersion(v.family))) : [];
    if (nlri.length === 0 && !v.opaqueNlri?.length) return `{MpUnreach(${gobgpFamilyName(v.family)}): End-of-Rib}`;
    return `{MpUnreach(${gobgpFamilyName(v.family)}): {NLRIs: [${nlri.join(" ")}]}}`;
  },
  get: (a) => a.mpUnreach,
  set: (a, v) => void (a.mpUnreach = v),
};

