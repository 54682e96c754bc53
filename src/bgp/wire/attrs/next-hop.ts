/**
 * NEXT_HOP (RFC 4271 §5.1.3): four bytes, IPv4 only (MP_REACH carries the
 * others). Length other than 4: treat-as-withdraw (RFC 7606 §7.3). A next
 * hop that cannot be a host (0.0.0.0, class D/E, broadcast; RFC 4271 §6.3
 * Invalid NEXT_HOP) withdraws the NLRI field's routes; update.ts checks it
 * there, because beside MP_REACH alone NEXT_HOP is ignored (RFC 4760 §3).
 * Loopback is allowed: tests peer on 127.0.0.0/8.
 */
import { UpdateSubcode } from "../errors.ts";
import { type AttrCodec, AttrType, ipv4Text, putIpv4, WELL_KNOWN } from "./_codec.ts";

export const nextHop: AttrCodec<string> = {
  code: AttrType.NextHop,
  name: "NEXT_HOP",
  flags: WELL_KNOWN,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx) {
    if (len !== 4) return void ctx.fail("treat-as-withdraw", UpdateSubcode.AttributeLengthError, `NEXT_HOP length ${len}, expected 4`);
    return ipv4Text(buf, off);
  },
  encode(v, out, off) {
    putIpv4(out, off, v);
    return 4;
  },
  render: (v) => `{Nexthop: ${v}}`,
  get: (a) => a.nextHop,
  set: (a, v) => void (a.nextHop = v),
};

/** Whether a dotted quad can be a next hop: not 0.0.0.0, not multicast or class E (RFC 4271 §6.3). */
export function isHostAddress(text: string): boolean {
  return text !== "0.0.0.0" && Number(text.slice(0, text.indexOf("."))) < 224;
}
