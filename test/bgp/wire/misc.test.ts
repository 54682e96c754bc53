import { describe, expect, it } from "vitest";
import { formatFamily, gobgpFamilyName, IPV4_UNICAST, IPV6_UNICAST, parseFamily } from "../../../src/bgp/families.ts";
import {
  decodeNotification,
  decodeRouteRefresh,
  describeNotification,
  encodeNotification,
  encodeRouteRefresh,
  Framer,
  isValidKey,
  keyFromText,
  keyToBytes,
  keyToText,
  NotificationError,
  notificationText,
  parseCommunity,
  parseLargeCommunity,
  readPrefixes,
  shutdownCommunication,
} from "../../../src/bgp/wire/mod.ts";
import { hex, MARKER, toHex } from "../_hex.ts";

describe("prefix keys", () => {
  it.each([
    ["10.0.0.0/24", "180a0000"],
    ["10.0.0.7/24", "180a0000"], // host bits cleared
    ["0.0.0.0/0", "00"],
    ["10.1.2.3/32", "200a010203"],
    ["10.128.0.0/9", "090a80"],
    ["fd00:1::/64", "40fd00000100000000"],
    ["::/0", "00"],
    ["2001:db8::1/128", "8020010db8000000000000000000000001"],
  ])("keyFromText(%s) is the NLRI %s", (text, wire) => {
    expect(toHex(keyToBytes(keyFromText(text)!))).toBe(wire);
  });

  it("round-trips to text in Go netip form", () => {
    expect(keyToText(keyFromText("10.0.0.7/24")!, 4)).toBe("10.0.0.0/24");
    expect(keyToText(keyFromText("FD00:0:0:1::/64")!, 6)).toBe("fd00:0:0:1::/64");
  });

  it.each(["10.0.0.0/33", "10.0.0/24", "010.0.0.0/8", "10.0.0.0/08", "bogus", "fd00::/129", "10.0.0.0"])("refuses %s", (t) => {
    expect(keyFromText(t)).toBeNull();
  });

  it("checks key validity per family", () => {
    expect(isValidKey(keyFromText("10.0.0.0/24")!, 4)).toBe(true);
    expect(isValidKey("\x21\x0a\x00\x00\x00\x00", 4)).toBe(false);
    expect(isValidKey("\x18\x0a", 4)).toBe(false);
  });

  it("readPrefixes() clears host bits so one prefix has one key", () => {
    const out: string[] = [];
    readPrefixes(hex`17 0a0000 17 0a0001`, 0, 8, 32, out); // 10.0.0.0/23 and 10.0.1.0/23 (host bit set)
    expect(out[0]).toBe(out[1]);
  });
});

describe("NOTIFICATION and ROUTE-REFRESH", () => {
  it("round-trips a NOTIFICATION with data", () => {
    const msg = encodeNotification(3, 2, hex`406302abcd`);
    expect(msg).toEqual(hex`${MARKER} 001a 03  03 02  406302abcd`);
    expect(decodeNotification(msg, 19, msg.length)).toMatchObject({ code: 3, subcode: 2, data: hex`406302abcd` });
  });

  it("encodeNotification() cuts data that would not fit a 4096-byte message (RFC 4271 §4.1), e.g. a 65535-byte ROUTE-REFRESH sent back", () => {
    const rr = new Uint8Array(65535);
    rr.set(hex`${MARKER} ffff 05 0001 00 01`); // ROUTE-REFRESH of length 65535 (extended messages negotiated)
    let err: NotificationError | undefined;
    try {
      decodeRouteRefresh(rr, 19, rr.length);
    } catch (e) {
      err = e as NotificationError;
    }
    expect(err?.data.length).toBe(65535); // RFC 7313 §5: the data is the whole message
    const msg = encodeNotification(err!.code, err!.subcode, err!.data);
    expect(msg.length).toBe(4096);
    expect((msg[16] << 8) | msg[17]).toBe(4096);
    expect(decodeNotification(msg, 19, msg.length)).toMatchObject({ code: 7, subcode: 1, data: rr.subarray(0, 4096 - 21) });
  });

  it("decodes an RFC 9003 shutdown communication", () => {
    const msg = encodeNotification(6, 2, shutdownCommunication("maintenance"));
    const n = decodeNotification(msg, 19, msg.length);
    expect(n.communication).toBe("maintenance");
    expect(notificationText(n)).toBe('Cease / Administrative Shutdown ("maintenance")');
  });

  it("names codes and subcodes for logs, API and CLI", () => {
    expect(describeNotification(2, 2)).toBe("OPEN Message Error / Bad Peer AS");
    expect(describeNotification(4, 0)).toBe("Hold Timer Expired");
    expect(describeNotification(6, 9)).toBe("Cease / Hard Reset");
    expect(describeNotification(3, 0)).toBe("UPDATE Message Error / Unspecific");
    expect(describeNotification(9, 1)).toBe("Unknown Error Code 9 / Unknown Subcode 1");
    expect(new NotificationError(2, 2, new Uint8Array(0), "as number mismatch expected 1, received 2").message).toBe("OPEN Message Error / Bad Peer AS: as number mismatch expected 1, received 2");
  });

  it("round-trips ROUTE-REFRESH and refuses a bad length with ROUTE-REFRESH Message Error (RFC 7313)", () => {
    const msg = encodeRouteRefresh(IPV6_UNICAST);
    expect(msg).toEqual(hex`${MARKER} 0017 05 0002 00 01`);
    expect(decodeRouteRefresh(msg, 19, msg.length)).toEqual({ family: IPV6_UNICAST, subtype: 0 });
    const long = hex`${MARKER} 0018 05 0001 00 01 00`;
    expect(() => decodeRouteRefresh(long, 19, long.length)).toThrow(expect.objectContaining({ code: 7, subcode: 1 }));
  });
});

describe("Framer", () => {
  it("hands on whole messages across chunks and checks each header early", () => {
    const f = new Framer();
    const got: number[] = [];
    const two = hex`${MARKER} 0013 04 ${MARKER} 0017 02 0000 0000`;
    f.push(two.subarray(0, 10), (t) => got.push(t));
    f.push(two.subarray(10, 30), (t) => got.push(t));
    expect(got).toEqual([4]);
    f.push(two.subarray(30), (t) => got.push(t));
    expect(got).toEqual([4, 2]);
    expect(() => f.push(hex`${MARKER} 0013 09`, () => {})).toThrow(NotificationError);
  });
});

describe("families and communities", () => {
  it("parses and formats afi/safi strings", () => {
    expect(parseFamily("ipv4/unicast")).toBe(IPV4_UNICAST);
    expect(formatFamily(parseFamily("l2vpn/evpn"))).toBe("l2vpn/evpn");
    expect(formatFamily(parseFamily("25/70"))).toBe("l2vpn/evpn");
    expect(gobgpFamilyName(IPV6_UNICAST)).toBe("ipv6-unicast");
    expect(() => parseFamily("ip4/unicast")).toThrow('Cannot parse address family: "ip4/unicast" is not "afi/safi"');
  });

  it("parses communities by value and by well-known name", () => {
    expect(parseCommunity("65000:99")).toBe(0xfde80063);
    expect(parseCommunity("no-export")).toBe(0xffffff01);
    expect(parseCommunity("graceful-shutdown")).toBe(0xffff0000);
    expect(parseCommunity("blackhole")).toBe(0xffff029a);
    expect(parseCommunity("70000:1")).toBeNull();
    expect(parseLargeCommunity("65000:1:2")).toEqual([65000, 1, 2]);
    expect(parseLargeCommunity("1:2")).toBeNull();
  });
});
