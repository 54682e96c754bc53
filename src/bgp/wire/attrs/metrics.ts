/**
 * MULTI_EXIT_DISC (RFC 4271 §5.1.4) and LOCAL_PREF (§5.1.5): one 32-bit
 * number each. Wrong length: treat-as-withdraw (RFC 7606 §7.4, §7.5).
 * LOCAL_PREF from an external peer is discarded whatever it holds (§7.5).
 */
import { UpdateSubcode } from "../errors.ts";
import { type AttrCodec, AttrType, OPTIONAL_NON_TRANSITIVE, putU32, u32, WELL_KNOWN } from "./_codec.ts";

export const med: AttrCodec<number> = {
  code: AttrType.Med,
  name: "MULTI_EXIT_DISC",
  flags: OPTIONAL_NON_TRANSITIVE,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx) {
    if (len !== 4) return void ctx.fail("treat-as-withdraw", UpdateSubcode.AttributeLengthError, `MULTI_EXIT_DISC length ${len}, expected 4`);
    return u32(buf, off);
  },
  encode(v, out, off) {
    putU32(out, off, v);
    return 4;
  },
  render: (v) => `{Med: ${v}}`,
  get: (a) => a.med,
  set: (a, v) => void (a.med = v),
};

export const localPref: AttrCodec<number> = {
  code: AttrType.LocalPref,
  name: "LOCAL_PREF",
  flags: WELL_KNOWN,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx) {
    if (ctx.ebgp) return void ctx.fail("attribute-discard", UpdateSubcode.MalformedAttributeList, "LOCAL_PREF from an external peer");
    if (len !== 4) return void ctx.fail("treat-as-withdraw", UpdateSubcode.AttributeLengthError, `LOCAL_PREF length ${len}, expected 4`);
    return u32(buf, off);
  },
  encode(v, out, off) {
    putU32(out, off, v);
    return 4;
  },
  render: (v) => `{LocalPref: ${v}}`,
  get: (a) => a.localPref,
  set: (a, v) => void (a.localPref = v),
};
