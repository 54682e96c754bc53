import { describe, expect, it } from "vitest";
import {
  canonicalIP,
  formatPrefix,
  ipFromBytes,
  ipToBytes,
  mustParseIP,
  parseIP,
  parsePrefix,
  prefixContains,
  prefixOf,
  prefixRange,
} from "../../src/net/ip.ts";

describe("parseIP()", () => {
  it.each([
    ["10.0.0.1", "10.0.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
    ["fd00:10::1", "fd00:10::1"],
    ["FD00:0010:0000:0000:0000:0000:0000:0001", "fd00:10::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["::ffff:10.1.2.3", "::ffff:10.1.2.3"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["fe80::1%eth0", "fe80::1"],
  ])("reads %s as %s", (text, canonical) => {
    expect(canonicalIP(text)).toBe(canonical);
  });

  it.each(["", "10.0.0", "10.0.0.256", "010.0.0.1", "1.2.3.4%eth0", "1:2:3:4:5:6:7:8:9", "1::2::3", "fe80::1%", "g::1", " 10.0.0.1", "10.0.0.1/32"])(
    "refuses %j",
    (text) => {
      expect(parseIP(text)).toBeNull();
    },
  );

  it("mustParseIP() names the bad text", () => {
    expect(() => mustParseIP("nope")).toThrow(/"nope"/);
  });

  it("round-trips bytes", () => {
    for (const t of ["192.0.2.1", "2001:db8::ff"]) {
      const ip = mustParseIP(t);
      expect(ipFromBytes(ipToBytes(ip))).toEqual(ip);
    }
    expect([...ipToBytes(mustParseIP("10.1.2.3"))]).toEqual([10, 1, 2, 3]);
  });
});

describe("parsePrefix()", () => {
  it("masks host bits like Go's net.ParseCIDR", () => {
    expect(formatPrefix(parsePrefix("10.0.0.7/24")!)).toBe("10.0.0.0/24");
    expect(formatPrefix(parsePrefix("fd00::1/64")!)).toBe("fd00::/64");
  });
  it.each(["10.0.0.0", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/08", "x/8"])("refuses %j", (t) => {
    expect(parsePrefix(t)).toBeNull();
  });
  it("computes containment, ranges and aggregates", () => {
    const p = parsePrefix("10.100.0.0/24")!;
    expect(prefixContains(p, mustParseIP("10.100.0.255"))).toBe(true);
    expect(prefixContains(p, mustParseIP("10.100.1.0"))).toBe(false);
    expect(prefixRange(p)).toEqual([mustParseIP("10.100.0.0").value, mustParseIP("10.100.0.255").value]);
    expect(formatPrefix(prefixOf(mustParseIP("10.100.3.77"), 16))).toBe("10.100.0.0/16");
  });
});
