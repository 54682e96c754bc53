/**
 * Attributes herald decodes only to show them: ORIGINATOR_ID and
 * CLUSTER_LIST (RFC 4456) and EXTENDED COMMUNITIES (RFC 4360). Malformed
 * lengths are treat-as-withdraw (RFC 7606 §7.9, §7.10, §7.14).
 */
import { UpdateSubcode } from "../errors.ts";
import { type AttrCodec, AttrType, ipv4Text, OPTIONAL_NON_TRANSITIVE, OPTIONAL_TRANSITIVE, putIpv4, u32 } from "./_codec.ts";

export const originatorId: AttrCodec<string> = {
  code: AttrType.OriginatorId,
  name: "ORIGINATOR_ID",
  flags: OPTIONAL_NON_TRANSITIVE,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx) {
    if (len !== 4) return void ctx.fail("treat-as-withdraw", UpdateSubcode.AttributeLengthError, `ORIGINATOR_ID length ${len}, expected 4`);
    return ipv4Text(buf, off);
  },
  encode(v, out, off) {
    putIpv4(out, off, v);
    return 4;
  },
  render: (v) => `{Originator: ${v}}`,
  get: (a) => a.originatorId,
  set: (a, v) => void (a.originatorId = v),
};

export const clusterList: AttrCodec<string[]> = {
  code: AttrType.ClusterList,
  name: "CLUSTER_LIST",
  flags: OPTIONAL_NON_TRANSITIVE,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx) {
    if (len === 0 || len % 4 !== 0) {
      return void ctx.fail("treat-as-withdraw", UpdateSubcode.AttributeLengthError, `CLUSTER_LIST length ${len} is not a non-zero multiple of 4`);
    }
    const out: string[] = [];
    for (let p = off; p < off + len; p += 4) out.push(ipv4Text(buf, p));
    return out;
  },
  encode(v, out, off) {
    v.forEach((id, i) => putIpv4(out, off + i * 4, id));
    return v.length * 4;
  },
  render: (v) => `{ClusterList: [${v.join(" ")}]}`,
  get: (a) => a.clusterList,
  set: (a, v) => void (a.clusterList = v),
};

/** GoBGP-like text of one extended community: route targets "AS:N", others hex. */
export function formatExtendedCommunity(c: Uint8Array): string {
  const type = c[0] & 0x3f; // without the IANA authority and transitive bits
  const sub = c[1];
  const prefix = sub === 0x02 ? "" : sub === 0x03 ? "soo: " : "";
  if (type === 0x00) return `${prefix}${(c[2] << 8) | c[3]}:${u32(c, 4)}`;
  if (type === 0x01) return `${prefix}${ipv4Text(c, 2)}:${(c[6] << 8) | c[7]}`;
  if (type === 0x02) return `${prefix}${u32(c, 2)}:${(c[6] << 8) | c[7]}`;
  return `0x${[...c].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export const extendedCommunities: AttrCodec<Uint8Array[]> = {
  code: AttrType.ExtendedCommunities,
  name: "EXTENDED_COMMUNITIES",
  flags: OPTIONAL_TRANSITIVE,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx) {
    if (len === 0 || len % 8 !== 0) {
      return void ctx.fail("treat-as-withdraw", UpdateSubcode.OptionalAttributeError, `EXTENDED_COMMUNITIES length ${len} is not a non-zero multiple of 8`);
    }
    const out: Uint8Array[] = [];
    for (let p = off; p < off + len; p += 8) out.push(buf.slice(p, p + 8));
    return out;
  },
  encode(v, out, off) {
    v.forEach((c, i) => out.set(c, off + i * 8));
    return v.length * 8;
  },
  render: (v) => `{Extcomms: ${v.map((c) => `[${formatExtendedCommunity(c)}]`).join(", ")}}`,
  get: (a) => a.extendedCommunities,
  set: (a, v) => void (a.extendedCommunities = v),
};
