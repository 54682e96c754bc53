import { describe, expect, it } from "vitest";
import { encodeKeepalive, NotificationError, readHeader } from "../../../src/bgp/wire/mod.ts";
import { hex, MARKER } from "../_hex.ts";

describe("readHeader()", () => {
  it("reads length and type of a KEEPALIVE", () => {
    const k = hex`${MARKER} 0013 04`;
    expect(readHeader(k, 0, 4096)).toEqual({ length: 19, type: 4 });
  });

  it("encodeKeepalive() round-trips byte for byte", () => {
    expect(encodeKeepalive()).toEqual(hex`${MARKER} 0013 04`);
  });

  it.each([
    ["marker not all ones", hex`fffffffffffffffffffffffffffffffe 0013 04`, 1, 1, ""],
    ["length below 19", hex`${MARKER} 0012 04`, 1, 2, "0012"],
    ["length above 4096", hex`${MARKER} 1001 02`, 1, 2, "1001"],
    ["KEEPALIVE longer than 19", hex`${MARKER} 0014 04`, 1, 2, "0014"],
    ["OPEN shorter than 29", hex`${MARKER} 001c 01`, 1, 2, "001c"],
    ["UPDATE shorter than 23", hex`${MARKER} 0016 02`, 1, 2, "0016"],
    ["NOTIFICATION shorter than 21", hex`${MARKER} 0014 03`, 1, 2, "0014"],
    ["ROUTE-REFRESH shorter than 23", hex`${MARKER} 0016 05`, 1, 2, "0016"],
    ["unknown type 6", hex`${MARKER} 0013 06`, 1, 3, "06"],
    ["type 0", hex`${MARKER} 0013 00`, 1, 3, "00"],
  ])("rejects %s with the right NOTIFICATION", (_name, msg, code, subcode, data) => {
    try {
      readHeader(msg, 0, 4096);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NotificationError);
      const n = e as NotificationError;
      expect([n.code, n.subcode, Buffer.from(n.data).toString("hex")]).toEqual([code, subcode, data]);
    }
  });

  it("accepts a 65535-byte UPDATE only with extended messages (RFC 8654)", () => {
    const h = hex`${MARKER} ffff 02`;
    expect(() => readHeader(h, 0, 4096)).toThrow(NotificationError);
    expect(readHeader(h, 0, 65535).length).toBe(65535);
  });

  it("never accepts an extended OPEN (RFC 8654 §3)", () => {
    expect(() => readHeader(hex`${MARKER} 1001 01`, 0, 65535)).toThrow(/Bad Message Length/);
  });
});
