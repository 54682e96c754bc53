/**
 * NEXT_HOP (RFC 4271 §5.1.3): four bytes, IPv4 only (MP_REACH carries the
 * others). Length other than 4: treat-as-withdraw (RFC 7606 §7.3); so is a
 * next hop that cannot be a host (0.0.0.0, class D/E, broadcast; RFC 4271
 * §6.3 Invalid NEXT_HOP). Loopback is allowed: tests peer on 127.0.0.0/8.
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
    const first = buf[off];
    const text = ipv4Text(buf, off);
    // Semantic problem: the routes are withdrawn, but the value is still shown (loc-rib has 0.0.0.0).
    if (first >= 224 || (first === 0 && buf[off + 1] === 0 && buf[off + 2] === 0 && buf[off + 3] === 0)) {
      ctx.fail("treat-as-withdraw", UpdateSubcode.InvalidNextHop, `NEXT_HOP ${text} is not a host address`);
    }
    return text;
  },
  encode(v, out, off) {
    putIpv4(out, off, v);
    return 4;
  },
  render: (v) => `{Nexthop: ${v}}`,
  get: (a) => a.nextHop,
  set: (a, v) => void (a.nextHop = v),
};
