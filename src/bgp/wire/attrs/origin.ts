/**
 * ORIGIN (RFC 4271 §5.1.1): one byte, IGP / EGP / INCOMPLETE.
 * Malformed (length not 1, value above 2): treat-as-withdraw (RFC 7606 §7.1).
 */
import { UpdateSubcode } from "../errors.ts";
import { type AttrCodec, AttrType, WELL_KNOWN } from "./_codec.ts";

const LETTERS = ["i", "e", "?"];

export const origin: AttrCodec<number> = {
  code: AttrType.Origin,
  name: "ORIGIN",
  flags: WELL_KNOWN,
  malformed: "treat-as-withdraw",
  decode(buf, off, len, ctx) {
    if (len !== 1) return void ctx.fail("treat-as-withdraw", UpdateSubcode.AttributeLengthError, `ORIGIN length ${len}, expected 1`);
    const v = buf[off];
    if (v > 2) return void ctx.fail("treat-as-withdraw", UpdateSubcode.InvalidOrigin, `ORIGIN value ${v}`);
    return v;
  },
  encode(v, out, off) {
    out[off] = v;
    return 1;
  },
  render: (v) => `{Origin: ${LETTERS[v] ?? "-"}}`,
  get: (a) => a.origin,
  set: (a, v) => void (a.origin = v),
};
