/**
 * ATOMIC_AGGREGATE (RFC 4271 §5.1.6), AGGREGATOR (§5.1.7) and
 * AS4_AGGREGATOR (RFC 6793). herald decodes them and never sends them.
 * All three are discarded when malformed (RFC 7606 §7.6, §7.7), which for
 * the aggregators includes AS 0 (RFC 7607 §2).
 */
import { UpdateSubcode } from "../errors.ts";
import { type Aggregator, type AttrCodec, AttrType, ipv4Text, OPTIONAL_TRANSITIVE, putIpv4, putU32, u32, WELL_KNOWN } from "./_codec.ts";

export const atomicAggregate: AttrCodec<true> = {
  code: AttrType.AtomicAggregate,
  name: "ATOMIC_AGGREGATE",
  flags: WELL_KNOWN,
  malformed: "attribute-discard",
  decode(_buf, _off, len, ctx) {
    if (len !== 0) return void ctx.fail("attribute-discard", UpdateSubcode.AttributeLengthError, `ATOMIC_AGGREGATE length ${len}, expected 0`);
    return true;
  },
  encode: () => 0,
  render: () => "{AtomicAggregate}",
  get: (a) => a.atomicAggregate,
  set: (a, v) => void (a.atomicAggregate = v),
};

export const aggregator: AttrCodec<Aggregator> = {
  code: AttrType.Aggregator,
  name: "AGGREGATOR",
  flags: OPTIONAL_TRANSITIVE,
  malformed: "attribute-discard",
  decode(buf, off, len, ctx) {
    const want = ctx.as4 ? 8 : 6;
    if (len !== want) return void ctx.fail("attribute-discard", UpdateSubcode.AttributeLengthError, `AGGREGATOR length ${len}, expected ${want}`);
    const v = ctx.as4
      ? { asn: u32(buf, off), address: ipv4Text(buf, off + 4) }
      : { asn: (buf[off] << 8) | buf[off + 1], address: ipv4Text(buf, off + 2) };
    if (v.asn === 0) return void ctx.fail("attribute-discard", UpdateSubcode.OptionalAttributeError, "AGGREGATOR with AS 0 (RFC 7607)");
    return v;
  },
  encode(v, out, off, ctx) {
    if (ctx.as4) {
      putU32(out, off, v.asn);
      putIpv4(out, off + 4, v.address);
      return 8;
    }
    out[off] = (v.asn >>> 8) & 0xff;
    out[off + 1] = v.asn & 0xff;
    putIpv4(out, off + 2, v.address);
    return 6;
  },
  render: (v) => `{Aggregate: {AS: ${v.asn}, Address: ${v.address}}}`,
  get: (a) => a.aggregator,
  set: (a, v) => void (a.aggregator = v),
};

export const as4Aggregator: AttrCodec<Aggregator> = {
  code: AttrType.As4Aggregator,
  name: "AS4_AGGREGATOR",
  flags: OPTIONAL_TRANSITIVE,
  malformed: "attribute-discard",
  decode(buf, off, len, ctx) {
    if (ctx.as4) return void ctx.fail("attribute-discard", UpdateSubcode.OptionalAttributeError, "AS4_AGGREGATOR from a 4-octet AS speaker");
    if (len !== 8) return void ctx.fail("attribute-discard", UpdateSubcode.AttributeLengthError, `AS4_AGGREGATOR length ${len}, expected 8`);
    const asn = u32(buf, off);
    if (asn === 0) return void ctx.fail("attribute-discard", UpdateSubcode.OptionalAttributeError, "AS4_AGGREGATOR with AS 0 (RFC 7607)");
    return { asn, address: ipv4Text(buf, off + 4) };
  },
  encode(v, out, off) {
    putU32(out, off, v.asn);
    putIpv4(out, off + 4, v.address);
    return 8;
  },
  render: (v) => `{As4Aggregator: {AS: ${v.asn}, Address: ${v.address}}}`,
  get: (a) => a.as4Aggregator,
  set: (a, v) => void (a.as4Aggregator = v),
};
