import { describe, expect, it } from "vitest";
import { IPV4_UNICAST, IPV6_UNICAST, parseFamily } from "../../../src/bgp/families.ts";
import {
  AS_TRANS,
  capabilityName,
  decodeOpen,
  encodeLocalCapabilities,
  encodeOpen,
  NotificationError,
  openAsn,
  parseRouterId,
} from "../../../src/bgp/wire/mod.ts";
import { hex, MARKER } from "../_hex.ts";

const OPEN = hex`
  ${MARKER}
  0043        # length 67
  01          # type OPEN
  04          # version 4
  fde9        # my AS 65001
  005a        # hold time 90
  0a000001    # BGP identifier 10.0.0.1
  26          # optional parameters length 38
  02 06 01 04 0001 00 01     # capability: MP ipv4/unicast
  02 06 01 04 0002 00 01     # capability: MP ipv6/unicast
  02 02 02 00                # capability: route refresh
  02 08 40 06 40 78 0001 01 80   # capability: graceful restart, N bit, 120 s, ipv4/unicast F
  02 06 41 04 0000fde9       # capability: 4-octet AS 65001
`;

describe("encodeOpen() / decodeOpen()", () => {
  const caps = encodeLocalCapabilities({
    asn: 65001,
    families: [IPV4_UNICAST, IPV6_UNICAST],
    extendedMessage: false,
    extendedNextHop: [],
    gracefulRestart: { restarting: false, notification: true, time: 120, families: [{ family: IPV4_UNICAST, forwarding: true }] },
  });

  it("encodes herald's OPEN byte for byte", () => {
    expect(encodeOpen({ asn: 65001, holdTime: 90, routerId: parseRouterId("10.0.0.1")!, capabilities: caps })).toEqual(OPEN);
  });

  it("decodes every field and keeps each capability TLV raw", () => {
    const o = decodeOpen(OPEN, 19, OPEN.length);
    expect(o).toMatchObject({ version: 4, asn: 65001, holdTime: 90, routerId: 0x0a000001 });
    expect(o.capabilities).toMatchObject({
      families: [IPV4_UNICAST, IPV6_UNICAST],
      routeRefresh: true,
      as4: 65001,
      extendedMessage: false,
      gracefulRestart: { restarting: false, notification: true, time: 120, families: [{ family: IPV4_UNICAST, forwarding: true }] },
    });
    expect(o.capabilities.raw).toEqual(caps);
    expect(openAsn(o)).toBe(65001);
  });

  it("puts AS_TRANS in the 2-octet field for a 4-octet AS (RFC 6793 §4.1)", () => {
    const msg = encodeOpen({ asn: 4200000001, holdTime: 0, routerId: 1, capabilities: encodeLocalCapabilities({ asn: 4200000001, families: [IPV4_UNICAST], extendedMessage: true, extendedNextHop: [] }) });
    const o = decodeOpen(msg, 19, msg.length);
    expect(o.asn).toBe(AS_TRANS);
    expect(openAsn(o)).toBe(4200000001);
    expect(o.capabilities.extendedMessage).toBe(true);
  });

  it("uses RFC 9072 extended optional parameters when they exceed 255 bytes", () => {
    const many = Array.from({ length: 40 }, (_, i) => parseFamily(`${i + 3}/1`));
    const capabilities = encodeLocalCapabilities({ asn: 65001, families: many, extendedMessage: false, extendedNextHop: [] });
    const msg = encodeOpen({ asn: 65001, holdTime: 90, routerId: 1, capabilities });
    expect(msg[19 + 9]).toBe(255); // Non-Ext OP Len
    expect(msg[19 + 10]).toBe(255); // Non-Ext OP Type
    const o = decodeOpen(msg, 19, msg.length);
    expect(o.capabilities.families).toEqual(many);
    expect(o.capabilities.raw).toEqual(capabilities);
  });

  it("keeps unknown capabilities raw and ignores them", () => {
    const msg = hex`${MARKER} 0023 01 04 fde9 005a 0a000001 06  02 04 49 02 6869  # FQDN-ish capability 73`;
    const o = decodeOpen(msg, 19, msg.length);
    expect(o.capabilities.raw).toEqual([hex`49 02 6869`]);
    expect(capabilityName(73)).toBe("fqdn");
    expect(capabilityName(99)).toBe("UnknownCapability(99)");
  });

  it.each([
    ["version 3", hex`03 fde9 005a 0a000001 00`, 2, 1, "0004"],
    ["hold time 1", hex`04 fde9 0001 0a000001 00`, 2, 6, ""],
    ["hold time 2", hex`04 fde9 0002 0a000001 00`, 2, 6, ""],
    ["BGP identifier 0", hex`04 fde9 005a 00000000 00`, 2, 3, "00000000"],
    ["optional parameter type 1 (authentication)", hex`04 fde9 005a 0a000001 04 01 02 0000`, 2, 4, ""],
    ["parameters longer than the message", hex`04 fde9 005a 0a000001 08 02 02 0200`, 1, 2, "0021"],
    ["parameter length past the parameters", hex`04 fde9 005a 0a000001 04 02 05 0200`, 2, 0, ""],
    ["MP capability of length 3", hex`04 fde9 005a 0a000001 07 02 05 01 03 000100`, 2, 0, ""],
    ["4-octet AS capability of length 2", hex`04 fde9 005a 0a000001 06 02 04 41 02 fde9`, 2, 0, ""],
    ["graceful restart capability of length 3", hex`04 fde9 005a 0a000001 07 02 05 40 03 007800`, 2, 0, ""],
    ["capability past its parameter", hex`04 fde9 005a 0a000001 04 02 02 41 04`, 2, 0, ""],
  ])("rejects %s", (_n, body, code, subcode, data) => {
    const msg = new Uint8Array(19 + body.length);
    msg.set(body, 19);
    try {
      decodeOpen(msg, 19, msg.length);
      expect.unreachable();
    } catch (e) {
      const n = e as NotificationError;
      expect(n).toBeInstanceOf(NotificationError);
      expect([n.code, n.subcode, Buffer.from(n.data).toString("hex")]).toEqual([code, subcode, data]);
    }
  });

  it("accepts hold time 0 (no keepalives) and 3", () => {
    for (const hold of ["0000", "0003"]) {
      const msg = hex`${MARKER} 001d 01 04 fde9 ${hold} 0a000001 00`;
      expect(decodeOpen(msg, 19, msg.length).holdTime).toBe(parseInt(hold, 16));
    }
  });
});

describe("parseRouterId()", () => {
  it("parses dotted quads and refuses 0.0.0.0", () => {
    expect(parseRouterId("192.0.2.1")).toBe(0xc0000201);
    expect(parseRouterId("0.0.0.0")).toBeNull();
    expect(parseRouterId("256.0.0.1")).toBeNull();
  });
});
