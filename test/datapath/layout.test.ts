/** The map layouts, byte for byte, as bpf/herald_lb.c and the README ("Map layout") describe them. */
import { describe, expect, it } from "vitest";
import {
  backendSortKey,
  decodeBackend,
  decodeFrontendKey,
  decodeFrontendValue,
  encodeBackend,
  encodeFrontendKey,
  encodeFrontendValue,
  encodeSlot,
  parseCanonicalV4,
} from "../../src/datapath/layout.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

describe("layout", () => {
  it("encodeFrontendKey() writes IPv4 as ::ffff:a.b.c.d, the port big-endian, then the protocol", () => {
    const key = encodeFrontendKey({ address: "192.0.2.10", port: 443, protocol: "UDP" });
    expect(hex(key)).toBe("00000000000000000000ffff" + "c000020a" + "01bb" + "11" + "00");
    expect(decodeFrontendKey(key)).toEqual({ address: "192.0.2.10", port: 443, protocol: "UDP" });
  });

  it("encodeFrontendKey() writes IPv6 addresses as they are", () => {
    const key = encodeFrontendKey({ address: "2001:db8::1", port: 80, protocol: "TCP" });
    expect(hex(key)).toBe("20010db8000000000000000000000001" + "0050" + "06" + "00");
    expect(decodeFrontendKey(key).address).toBe("2001:db8::1");
  });

  it("frontend values and slot keys are host (little-endian) u32s", () => {
    expect(hex(encodeFrontendValue({ first: 258, count: 3 }))).toBe("02010000" + "03000000");
    expect(decodeFrontendValue(encodeFrontendValue({ first: 70000, count: 12 }))).toEqual({ first: 70000, count: 12 });
    expect(hex(encodeSlot(0x01020304))).toBe("04030201");
  });

  it("encodeBackend() is the address, the port big-endian and two bytes of padding", () => {
    const be = encodeBackend({ address: "10.0.0.7", port: 8080 });
    expect(hex(be)).toBe("00000000000000000000ffff0a000007" + "1f90" + "0000");
    expect(decodeBackend(be)).toEqual({ address: "10.0.0.7", port: 8080 });
  });

  it("backendSortKey() orders by the 16-byte address, then the port, numerically", () => {
    const keys = [
      { address: "10.0.0.10", port: 1 },
      { address: "10.0.0.9", port: 2 },
      { address: "10.0.0.9", port: 10 },
      { address: "::1", port: 1 },
      { address: "fd00::1", port: 1 },
    ].map(backendSortKey);
    expect([...keys].sort()).toEqual([keys[3], keys[1], keys[2], keys[0], keys[4]]);
  });
});

describe("parseCanonicalV4()", () => {
  it("accepts canonical dotted quads only, as net/ip.ts does", () => {
    expect(parseCanonicalV4("10.0.0.1")).toBe(0x0a000001);
    expect(parseCanonicalV4("255.255.255.255")).toBe(0xffffffff);
    expect(parseCanonicalV4("0.0.0.0")).toBe(0);
    for (const bad of ["010.0.0.1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "1.2.3.", "a.b.c.d", "::1", ""]) {
      expect(parseCanonicalV4(bad)).toBeUndefined();
    }
  });
});
