import { describe, expect, it } from "vitest";
import { IPV4_UNICAST, IPV6_UNICAST } from "../../../src/bgp/families.ts";
import { decodeUpdate, encodeUpdate, keyFromText, keyToText, NotificationError, toFourOctetPath, type UpdateDecodeOptions } from "../../../src/bgp/wire/mod.ts";
import { hex, MARKER, toHex } from "../_hex.ts";

const EBGP4: UpdateDecodeOptions = { as4: true, ebgp: true };
const IBGP4: UpdateDecodeOptions = { as4: true, ebgp: false };
const k = (t: string) => keyFromText(t)!;

/** An UPDATE message from its three fields (hex), lengths computed. */
function update(withdrawn: string, attrs: string, nlri = ""): Uint8Array {
  const w = hex(withdrawn), a = hex(attrs), n = hex(nlri);
  const len = 19 + 2 + w.length + 2 + a.length + n.length;
  return hex`${MARKER} ${len.toString(16).padStart(4, "0")} 02 ${w.length.toString(16).padStart(4, "0")} ${toHex(w)} ${a.length.toString(16).padStart(4, "0")} ${toHex(a)} ${toHex(n)}`;
}

const decode = (msg: Uint8Array, o: UpdateDecodeOptions = EBGP4) => decodeUpdate(msg, 19, msg.length, o);

const IPV4_UPDATE = hex`
  ${MARKER}
  0055                         # length 85
  02                           # type UPDATE
  0000                         # withdrawn routes length 0
  0035                         # total path attribute length 53
  40 01 01 00                  # ORIGIN IGP
  40 02 06 02 01 0000fde9      # AS_PATH: AS_SEQUENCE [65001], 4-byte ASNs
  40 03 04 c0000201            # NEXT_HOP 192.0.2.1
  80 04 04 00000064            # MULTI_EXIT_DISC 100
  c0 08 08 fde90063 ffffff01   # COMMUNITIES 65001:99, no-export
  c0 20 0c 00000001 00000002 00000003   # LARGE_COMMUNITY 1:2:3
  18 0a0000                    # NLRI 10.0.0.0/24
  20 0a000001                  # NLRI 10.0.0.1/32
`;

const IPV6_UPDATE = hex`
  ${MARKER}
  0046                         # length 70
  02                           # type UPDATE
  0000                         # withdrawn routes length 0
  002f                         # total path attribute length 47
  80 0e 1e                     # MP_REACH_NLRI, 30 bytes (first, RFC 7606 §5.1)
     0002 01                   #   AFI IPv6, SAFI unicast
     10 fd000000000000000000000000000001   # next hop length 16, fd00::1
     00                        #   reserved
     40 fd00000100000000       #   NLRI fd00:1::/64
  40 01 01 00                  # ORIGIN IGP
  40 02 00                     # AS_PATH empty (iBGP)
  40 05 04 000000c8            # LOCAL_PREF 200
`;

const IPV4_WITHDRAW = hex`${MARKER} 001b 02  0004 18 0a0000  0000   # withdraw 10.0.0.0/24`;
const IPV6_WITHDRAW = hex`
  ${MARKER} 0026 02
  0000                          # withdrawn routes length 0
  000f                          # total path attribute length 15
  80 0f 0c 0002 01 40 fd00000100000000   # MP_UNREACH_NLRI ipv6/unicast fd00:1::/64
`;
const IPV4_EOR = hex`${MARKER} 0017 02 0000 0000`;
const IPV6_EOR = hex`${MARKER} 001d 02 0000 0006 80 0f 03 0002 01`;

describe("decodeUpdate() / encodeUpdate()", () => {
  it("decodes an IPv4 UPDATE with every attribute herald sends", () => {
    const u = decode(IPV4_UPDATE);
    expect(u.action).toBe("none");
    expect(u.nlri.map((x) => keyToText(x, 4))).toEqual(["10.0.0.0/24", "10.0.0.1/32"]);
    expect(u.attrs).toEqual({
      origin: 0,
      asPath: [{ type: 2, asns: [65001] }],
      nextHop: "192.0.2.1",
      med: 100,
      communities: [0xfde90063, 0xffffff01],
      largeCommunities: [[1, 2, 3]],
    });
  });

  it("round-trips the IPv4 UPDATE byte for byte", () => {
    const u = decode(IPV4_UPDATE);
    expect(toHex(encodeUpdate(u, { as4: true }))).toBe(toHex(IPV4_UPDATE));
  });

  it("decodes and round-trips an IPv6 UPDATE (MP_REACH first, LOCAL_PREF on iBGP)", () => {
    const u = decode(IPV6_UPDATE, IBGP4);
    expect(u.action).toBe("none");
    expect(u.attrs.mpReach).toEqual({ family: IPV6_UNICAST, nextHop: "fd00::1", nlri: [k("fd00:1::/64")] });
    expect(u.attrs.localPref).toBe(200);
    expect(u.attrs.asPath).toEqual([]);
    expect(toHex(encodeUpdate(u, { as4: true }))).toBe(toHex(IPV6_UPDATE));
  });

  it("round-trips withdraws and End-of-RIB markers and recognises End-of-RIB (RFC 4724 §2)", () => {
    for (const [msg, eor] of [[IPV4_WITHDRAW, undefined], [IPV6_WITHDRAW, undefined], [IPV4_EOR, IPV4_UNICAST], [IPV6_EOR, IPV6_UNICAST]] as const) {
      const u = decode(msg);
      expect(u.endOfRib).toBe(eor);
      expect(toHex(encodeUpdate(u, { as4: true }))).toBe(toHex(msg));
    }
    expect(decode(IPV6_WITHDRAW).attrs.mpUnreach?.withdrawn).toEqual([k("fd00:1::/64")]);
    expect(decode(IPV4_WITHDRAW).withdrawn).toEqual([k("10.0.0.0/24")]);
  });

  it("decodes 2-octet AS_PATH with AS_TRANS and AS4_PATH from an old speaker (RFC 6793)", () => {
    const msg = update("", `
      40 01 01 00
      40 02 04 02 01 5ba0          # AS_PATH [23456] (AS_TRANS), 2-byte ASNs
      40 03 04 c0000201
      c0 11 06 02 01 fa56ea01      # AS4_PATH [4200000001]
    `, "18 0a0000");
    const u = decode(msg, { as4: false, ebgp: true });
    expect(u.attrs.asPath).toEqual([{ type: 2, asns: [23456] }]);
    expect(u.attrs.as4Path).toEqual([{ type: 2, asns: [4200000001] }]);
    expect(toHex(encodeUpdate(u, { as4: false }))).toBe(toHex(msg));
  });

  it("uses the extended length form only when an attribute exceeds 255 bytes", () => {
    const many = Array.from({ length: 70 }, (_, i) => 0xfde90000 + i);
    const msg = encodeUpdate({ withdrawn: [], nlri: [k("10.0.0.0/8")], attrs: { origin: 0, asPath: [], nextHop: "192.0.2.1", communities: many } }, { as4: true });
    const at = msg.indexOf(0x08, 19 + 4 + 4 + 3 + 7); // COMMUNITIES type byte
    expect(msg[at - 1]).toBe(0xd0); // optional transitive + extended length
    expect((msg[at + 1] << 8) | msg[at + 2]).toBe(280);
    expect(decode(msg).attrs.communities).toEqual(many);
    expect(toHex(encodeUpdate(decode(msg), { as4: true }))).toBe(toHex(msg));
  });

  it("keeps unknown optional transitive attributes and marks them Partial", () => {
    const msg = update("", "40 01 01 00  40 02 00  40 03 04 c0000201  c0 63 02 0102  # unknown type 99", "18 0a0000");
    const u = decode(msg, IBGP4);
    expect(u.attrs.unknown).toEqual([{ flags: 0xe0, code: 99, value: hex`0102` }]);
    expect(u.action).toBe("none");
  });

  it("ignores unknown optional non-transitive attributes", () => {
    const u = decode(update("", "40 01 01 00  40 02 00  40 03 04 c0000201  80 63 01 01", "18 0a0000"), IBGP4);
    expect(u.attrs.unknown).toBeUndefined();
    expect(u.action).toBe("none");
  });

  it("keeps each attribute's wire bytes with keepRaw, MP_REACH excluded", () => {
    const u = decodeUpdate(IPV6_UPDATE, 19, IPV6_UPDATE.length, { ...IBGP4, keepRaw: true });
    expect(u.raw?.map(toHex)).toEqual(["40010100", "400200", "4005040000" + "00c8"]);
  });

  it("accepts an IPv4 NLRI with an IPv6 next hop only where extended next hop was negotiated (RFC 8950)", () => {
    const msg = update("", `
      80 0e 19 0001 01 10 fd000000000000000000000000000001 00 18 0a0000   # MP_REACH ipv4/unicast via fd00::1
      40 01 01 00  40 02 06 02 01 0000fde9`, "");
    expect(() => decode(msg)).toThrow(NotificationError);
    const u = decode(msg, { ...EBGP4, extendedNextHop: (f) => f === IPV4_UNICAST });
    expect(u.attrs.mpReach).toEqual({ family: IPV4_UNICAST, nextHop: "fd00::1", nlri: [k("10.0.0.0/24")] });
  });

  it("keeps NLRI of families herald does not parse opaque", () => {
    const u = decode(update("", "80 0e 0c 0019 46 04 c0000201 00 010203  40 01 01 00  40 02 06 02 01 0000fde9", ""));
    expect(u.attrs.mpReach?.opaqueNlri).toEqual(hex`010203`);
    expect(u.action).toBe("none");
  });
});

const ORIGIN = "40 01 01 00";
const PATH = "40 02 06 02 01 0000fde9";
const NH = "40 03 04 c0000201";
const NLRI = "18 0a0000";

describe("decodeUpdate() RFC 7606 outcomes", () => {
  it.each([
    ["bad ORIGIN length", "treat-as-withdraw", 5, `40 01 02 0000 ${PATH} ${NH}`],
    ["bad ORIGIN value", "treat-as-withdraw", 6, `40 01 01 03 ${PATH} ${NH}`],
    ["ORIGIN flagged optional", "treat-as-withdraw", 4, `c0 01 01 00 ${PATH} ${NH}`],
    ["AS_PATH with unknown segment type", "treat-as-withdraw", 11, `${ORIGIN} 40 02 06 05 01 0000fde9 ${NH}`],
    ["AS_PATH with an empty segment", "treat-as-withdraw", 11, `${ORIGIN} 40 02 02 02 00 ${NH}`],
    ["AS_PATH segment overrun", "treat-as-withdraw", 11, `${ORIGIN} 40 02 06 02 02 0000fde9 ${NH}`],
    ["AS_PATH confederation segment from eBGP", "treat-as-withdraw", 11, `${ORIGIN} 40 02 06 03 01 0000fde9 ${NH}`],
    ["NEXT_HOP length 5", "treat-as-withdraw", 5, `${ORIGIN} ${PATH} 40 03 05 c000020100`],
    ["NEXT_HOP 0.0.0.0", "treat-as-withdraw", 8, `${ORIGIN} ${PATH} 40 03 04 00000000`],
    ["NEXT_HOP multicast", "treat-as-withdraw", 8, `${ORIGIN} ${PATH} 40 03 04 e0000001`],
    ["MED length 3", "treat-as-withdraw", 5, `${ORIGIN} ${PATH} ${NH} 80 04 03 000064`],
    ["LOCAL_PREF from eBGP", "attribute-discard", 1, `${ORIGIN} ${PATH} ${NH} 40 05 04 00000064`],
    ["ATOMIC_AGGREGATE with a value", "attribute-discard", 5, `${ORIGIN} ${PATH} ${NH} 40 06 01 00`],
    ["AGGREGATOR length 7", "attribute-discard", 5, `${ORIGIN} ${PATH} ${NH} c0 07 07 0000fde9c00002`],
    ["COMMUNITIES length 5", "treat-as-withdraw", 9, `${ORIGIN} ${PATH} ${NH} c0 08 05 0000000000`],
    ["COMMUNITIES length 0", "treat-as-withdraw", 9, `${ORIGIN} ${PATH} ${NH} c0 08 00`],
    ["LARGE_COMMUNITY length 8", "treat-as-withdraw", 9, `${ORIGIN} ${PATH} ${NH} c0 20 08 0000000100000002`],
    ["EXTENDED_COMMUNITIES length 7", "treat-as-withdraw", 9, `${ORIGIN} ${PATH} ${NH} c0 10 07 00020000000001`],
    ["CLUSTER_LIST length 3", "treat-as-withdraw", 5, `${ORIGIN} ${PATH} ${NH} 80 0a 03 010203`],
    ["ORIGINATOR_ID length 3", "treat-as-withdraw", 5, `${ORIGIN} ${PATH} ${NH} 80 09 03 010203`],
    ["duplicate ORIGIN", "attribute-discard", 1, `${ORIGIN} ${PATH} ${NH} 40 01 01 02`],
    ["missing ORIGIN", "treat-as-withdraw", 3, `${PATH} ${NH}`],
    ["missing AS_PATH", "treat-as-withdraw", 3, `${ORIGIN} ${NH}`],
    ["missing NEXT_HOP", "treat-as-withdraw", 3, `${ORIGIN} ${PATH}`],
    ["attribute length overrun", "treat-as-withdraw", 5, `${ORIGIN} ${PATH} 40 03 09 c0000201`],
    ["attribute header truncated", "treat-as-withdraw", 5, `${ORIGIN} ${PATH} ${NH} 40 08`],
    ["extended-length header truncated", "treat-as-withdraw", 5, `${ORIGIN} ${PATH} ${NH} d0 08 00`],
    ["bad ORIGIN and a duplicate: the strongest wins", "treat-as-withdraw", 6, `40 01 01 07 ${PATH} ${NH} ${PATH}`],
    // RFC 7607 §2: AS 0 makes AS_PATH malformed (RFC 7606 §7.2) and AGGREGATOR malformed (§7.7)
    ["AS_PATH holding AS 0 (RFC 7607)", "treat-as-withdraw", 11, `${ORIGIN} 40 02 0a 02 02 0000fde9 00000000 ${NH}`],
    ["AGGREGATOR with AS 0 (RFC 7607)", "attribute-discard", 9, `${ORIGIN} ${PATH} ${NH} c0 07 08 00000000 c0000201`],
    // RFC 7606 §3 (c): conflicting Optional/Transitive bits are treat-as-withdraw unless the attribute's rules say otherwise
    ["ATOMIC_AGGREGATE flagged optional (RFC 7606 §3 (c))", "treat-as-withdraw", 4, `${ORIGIN} ${PATH} ${NH} c0 06 00`],
    ["AGGREGATOR flagged well-known (RFC 7606 §3 (c))", "treat-as-withdraw", 4, `${ORIGIN} ${PATH} ${NH} 40 07 08 0000fde9 c0000201`],
  ])("%s → %s (subcode %i)", (_name, action, subcode, attrs) => {
    const u = decode(update("", attrs, NLRI));
    expect(u.action).toBe(action);
    expect(u.issues[0].subcode).toBe(subcode);
    // the prefixes are still found, so treat-as-withdraw can withdraw them
    expect(u.nlri).toEqual([k("10.0.0.0/24")]);
  });

  it("keeps the first of duplicate attributes (RFC 7606 §3 (g))", () => {
    expect(decode(update("", `${ORIGIN} ${PATH} ${NH} 40 01 01 02`, NLRI)).attrs.origin).toBe(0);
  });

  it("drops LOCAL_PREF from eBGP but keeps it from iBGP", () => {
    const msg = update("", `${ORIGIN} ${PATH} ${NH} 40 05 04 00000064`, NLRI);
    expect(decode(msg).attrs.localPref).toBeUndefined();
    expect(decode(msg, IBGP4).attrs.localPref).toBe(100);
  });

  it("discards a malformed AS4_PATH from an old speaker, and any AS4_PATH from a new one", () => {
    const bad = update("", `${ORIGIN} 40 02 04 02 01 5ba0 ${NH} c0 11 03 02 01 00`, NLRI);
    expect(decode(bad, { as4: false, ebgp: true })).toMatchObject({ action: "attribute-discard" });
    expect(decode(bad, { as4: false, ebgp: true }).attrs.as4Path).toBeUndefined();
    const fromNew = update("", `${ORIGIN} ${PATH} ${NH} c0 11 06 02 01 fa56ea01`, NLRI);
    expect(decode(fromNew).action).toBe("attribute-discard");
    expect(decode(fromNew).attrs.as4Path).toBeUndefined();
  });

  it("discards an AS4_PATH or AS4_AGGREGATOR holding AS 0 from an old speaker (RFC 7607 §2, RFC 6793 §6)", () => {
    const path = decode(update("", `${ORIGIN} 40 02 04 02 01 5ba0 ${NH} c0 11 06 02 01 00000000   # AS4_PATH [0]`, NLRI), { as4: false, ebgp: true });
    expect(path).toMatchObject({ action: "attribute-discard", attrs: { asPath: [{ type: 2, asns: [23456] }] } });
    expect(path.attrs.as4Path).toBeUndefined();
    const agg = decode(update("", `${ORIGIN} 40 02 04 02 01 5ba0 ${NH} c0 07 06 5ba0 c0000201 c0 12 08 00000000 c0000201   # AS4_AGGREGATOR AS 0`, NLRI), { as4: false, ebgp: true });
    expect(agg.action).toBe("attribute-discard");
    expect(agg.attrs.as4Aggregator).toBeUndefined();
  });

  it("ignores NEXT_HOP in an UPDATE whose only NLRI is in MP_REACH_NLRI, whatever its value (RFC 4760 §3)", () => {
    const mpOnly = update("", `80 0e 1e 0002 01 10 fd000000000000000000000000000001 00 40 fd00000100000000 ${ORIGIN} ${PATH} 40 03 04 00000000`, "");
    const u = decode(mpOnly);
    expect(u.action).toBe("none");
    expect(u.attrs.mpReach?.nlri).toEqual([k("fd00:1::/64")]);
  });

  it("does not ask for mandatory attributes in a pure withdraw or MP-only UPDATE", () => {
    expect(decode(IPV4_WITHDRAW).action).toBe("none");
    const mpOnly = update("", `80 0e 1e 0002 01 10 fd000000000000000000000000000001 00 40 fd00000100000000 ${ORIGIN} ${PATH}`, "");
    expect(decode(mpOnly).action).toBe("none");
  });

  it.each([
    ["withdrawn routes length past the message", hex`${MARKER} 0019 02 0010 0000`, 3, 1],
    ["total attribute length past the message", hex`${MARKER} 001b 02 0000 0010 40010100`, 3, 1],
    ["NLRI prefix length 33", update("", `${ORIGIN} ${PATH} ${NH}`, "21 0a000000 00"), 3, 10],
    ["NLRI prefix truncated", update("", `${ORIGIN} ${PATH} ${NH}`, "18 0a00"), 3, 10],
    ["withdrawn prefix length 40", update("28 0a00000000", "", ""), 3, 10],
    ["unrecognized well-known attribute", update("", `${ORIGIN} ${PATH} ${NH} 40 63 01 00`, NLRI), 3, 2],
    ["duplicate MP_REACH_NLRI", update("", `80 0e 15 0002 01 10 fd000000000000000000000000000001 00 80 0e 15 0002 01 10 fd000000000000000000000000000001 00 ${ORIGIN} ${PATH}`, ""), 3, 1],
    ["MP_REACH_NLRI shorter than 5", update("", `80 0e 02 0002 ${ORIGIN} ${PATH}`, ""), 3, 9],
    ["MP_REACH_NLRI IPv6 next hop length 5", update("", `80 0e 0a 0002 01 05 0102030405 00 ${ORIGIN} ${PATH}`, ""), 3, 9],
    ["MP_REACH_NLRI next hop past the attribute", update("", `80 0e 05 0002 01 10 00 ${ORIGIN} ${PATH}`, ""), 3, 9],
    ["MP_REACH_NLRI prefix length 129", update("", `80 0e 16 0002 01 10 fd000000000000000000000000000001 00 81 ${ORIGIN} ${PATH}`), 3, 10],
    ["MP_REACH_NLRI flagged transitive", update("", `c0 0e 05 0002 01 00 00 ${ORIGIN} ${PATH}`, ""), 3, 4],
    ["MP_UNREACH_NLRI shorter than 3", update("", `80 0f 02 0002`, ""), 3, 9],
    ["MP_UNREACH_NLRI overrunning the attributes", update("", `80 0f 09 0002 01 40`, ""), 3, 5],
    // RFC 7606 §5.2: treat-as-withdraw needs the NLRI; an UPDATE announcing nothing cannot be trusted to have shown it
    ["a bad ORIGIN in a withdraw-only UPDATE (RFC 7606 §5.2)", update("18 0a0000", "40 01 01 07", ""), 3, 1],
    ["an AS_PATH whose length swallows the MP_REACH_NLRI after it (RFC 7606 §5.2)", update("", `
      ${ORIGIN}
      40 02 27 02 01 0000fde9      # AS_PATH, length 39: its segment plus the 33 bytes of the next attribute
      80 0e 1e 0002 01 10 fd000000000000000000000000000001 00 40 fd00000100000000   # MP_REACH_NLRI fd00:1::/64
    `, ""), 3, 1],
    ["a truncated attribute header after an MP_UNREACH_NLRI (RFC 7606 §5.2)", update("", `80 0f 0c 0002 01 40 fd00000100000000 40 01`, ""), 3, 1],
  ])("resets the session on %s", (_n, msg, code, subcode) => {
    try {
      decode(msg);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NotificationError);
      expect([(e as NotificationError).code, (e as NotificationError).subcode]).toEqual([code, subcode]);
    }
  });

  it("keeps the session for a discarded attribute in an UPDATE without reachable NLRI (RFC 7606 §5.2)", () => {
    const u = decode(update("18 0a0000", "40 06 01 00   # ATOMIC_AGGREGATE with a value", ""));
    expect(u).toMatchObject({ action: "attribute-discard", withdrawn: [k("10.0.0.0/24")] });
  });

  it("sends the unrecognized well-known attribute as NOTIFICATION data (RFC 4271 §6.3)", () => {
    try {
      decode(update("", `${ORIGIN} 40 63 02 abcd`, ""));
      expect.unreachable();
    } catch (e) {
      expect(toHex((e as NotificationError).data)).toBe("406302abcd");
    }
  });
});

describe("toFourOctetPath(): a 2-octet speaker's UPDATE as a 4-octet one (RFC 6793 §4.2.3)", () => {
  const OLD: UpdateDecodeOptions = { as4: false, ebgp: true, keepRaw: true };
  const fromOld = (attrs: string) => toFourOctetPath(decode(update("", `${ORIGIN} ${attrs} ${NH}`, NLRI), OLD));

  it("rebuilds AS_PATH from its leading part and AS4_PATH, and keeps it in 4-octet wire form without AS4_PATH", () => {
    const u = fromOld(`
      40 02 0a 02 04 fdf2 5ba0 5ba0 0064           # AS_PATH [65010 23456 23456 100], 2-byte ASNs
      c0 11 0e 02 03 fa56ea01 fa56ea02 00000064    # AS4_PATH [4200000001 4200000002 100]
    `);
    expect(u.attrs.asPath).toEqual([{ type: 2, asns: [65010, 4200000001, 4200000002, 100] }]);
    expect(u.attrs.as4Path).toBeUndefined();
    expect(u.raw!.map(toHex)).toEqual([
      "40010100",
      "400212" + "0204" + "0000fdf2" + "fa56ea01" + "fa56ea02" + "00000064", // AS_PATH, 4-byte ASNs
      "400304c0000201",
    ]);
  });

  it("counts an AS_SET as one AS and keeps segments whole", () => {
    const u = fromOld(`
      40 02 0c 02 02 fdf2 5ba0 01 02 0064 00c8     # AS_PATH [65010 23456] {100,200}
      c0 11 10 02 01 fa56ea01 01 02 00000064 000000c8   # AS4_PATH [4200000001] {100,200}
    `);
    expect(u.attrs.asPath).toEqual([{ type: 2, asns: [65010, 4200000001] }, { type: 1, asns: [100, 200] }]);
  });

  it("ignores an AS4_PATH longer than AS_PATH", () => {
    const u = fromOld(`40 02 04 02 01 5ba0  c0 11 0a 02 02 fa56ea01 fa56ea02`);
    expect(u.attrs.asPath).toEqual([{ type: 2, asns: [23456] }]);
    expect(u.raw![1]).toEqual(hex`40 02 06 02 01 00005ba0`);
  });

  it("ignores AS4_PATH and AS4_AGGREGATOR when AGGREGATOR holds a 2-octet AS, and widens AGGREGATOR", () => {
    const u = fromOld(`
      40 02 04 02 01 5ba0             # AS_PATH [23456]
      c0 07 06 fdf2 c0000201          # AGGREGATOR 65010, 192.0.2.1
      c0 11 06 02 01 fa56ea01         # AS4_PATH [4200000001]
      c0 12 08 fa56ea02 c0000202      # AS4_AGGREGATOR 4200000002, 192.0.2.2
    `);
    expect(u.attrs).toMatchObject({ asPath: [{ type: 2, asns: [23456] }], aggregator: { asn: 65010, address: "192.0.2.1" } });
    expect(u.attrs.as4Aggregator).toBeUndefined();
    expect(u.raw!.map(toHex)).toEqual(["40010100", "4002060201" + "00005ba0", "c00708" + "0000fdf2c0000201", "400304c0000201"]);
  });

  it("takes the aggregator from AS4_AGGREGATOR when AGGREGATOR holds AS_TRANS", () => {
    const u = fromOld(`
      40 02 04 02 01 5ba0  c0 07 06 5ba0 c0000201  c0 11 06 02 01 fa56ea01  c0 12 08 fa56ea02 c0000202
    `);
    expect(u.attrs).toMatchObject({ asPath: [{ type: 2, asns: [4200000001] }], aggregator: { asn: 4200000002, address: "192.0.2.2" } });
    expect(u.raw!.map(toHex)).toEqual(["40010100", "4002060201" + "fa56ea01", "c00708" + "fa56ea02c0000202", "400304c0000201"]);
  });
});
