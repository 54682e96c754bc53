import { describe, expect, it } from "vitest";
import { formatPrefix } from "../../src/net/ip.ts";
import { asPrefix, ciliumBlock, metallbText, parseAddress, rangeText, splitRange, summarize, withoutBuggyIPs, type AddressRange } from "../../src/migrate/ranges.ts";

const range = (text: string) => {
  const r = parseAddress(text);
  if ("error" in r) throw new Error(r.error);
  return r as AddressRange;
};

describe("parseAddress()", () => {
  it("reads MetalLB's CIDR and start-end forms (spaces around the dash allowed)", () => {
    expect(rangeText(range("10.0.0.7/24"))).toBe("10.0.0.0-10.0.0.255");
    expect(rangeText(range("10.0.0.10 - 10.0.0.20"))).toBe("10.0.0.10-10.0.0.20");
    expect(rangeText(range("fd00::1-fd00::ff"))).toBe("fd00::1-fd00::ff");
  });

  it("says what is wrong with a bad address", () => {
    expect(parseAddress("10.0.0.300/24")).toEqual({ error: `must be a CIDR such as "10.0.0.0/24" or a range such as "10.0.0.10-10.0.0.20"` });
    expect(parseAddress("10.0.0.20-10.0.0.10")).toEqual({ error: `must be a range "start-end" with start not after end: "10.0.0.20-10.0.0.10"` });
    expect(parseAddress("10.0.0.1-fd00::1")).toEqual({ error: `must be a range of one address family: "10.0.0.1-fd00::1" mixes IPv4 and IPv6` });
  });
});

describe("ranges", () => {
  it("summarize() covers a range with the fewest prefixes", () => {
    expect(summarize(range("10.0.0.10-10.0.0.20")).map(formatPrefix)).toEqual(["10.0.0.10/31", "10.0.0.12/30", "10.0.0.16/30", "10.0.0.20/32"]);
    expect(summarize(range("10.0.0.0/23")).map(formatPrefix)).toEqual(["10.0.0.0/23"]);
  });

  it("ciliumBlock() writes a cidr when the range is one prefix, else start/stop", () => {
    expect(ciliumBlock(range("10.0.0.0-10.0.0.127"))).toEqual({ cidr: "10.0.0.0/25" });
    expect(ciliumBlock(range("10.0.0.1-10.0.0.127"))).toEqual({ start: "10.0.0.1", stop: "10.0.0.127" });
    expect(asPrefix(range("10.0.0.4-10.0.0.5"))).not.toBeNull();
  });
});

describe("splitRange()", () => {
  it("splits the guide's /24 into two /25s, MetalLB keeping the lower one", () => {
    const s = splitRange(range("10.100.0.0/24"))!;
    expect(metallbText(s.metallb)).toBe("10.100.0.0/25");
    expect(metallbText(s.cilium)).toBe("10.100.0.128/25");
  });

  it("splits ranges at the most aligned boundary that leaves each side a quarter", () => {
    const s = splitRange(range("10.0.0.0-10.0.0.130"))!;
    expect([metallbText(s.metallb), metallbText(s.cilium)]).toEqual(["10.0.0.0/26", "10.0.0.64-10.0.0.130"]);
    const t = splitRange(range("10.0.0.250-10.0.1.5"))!;
    expect([metallbText(t.metallb), metallbText(t.cilium)]).toEqual(["10.0.0.250-10.0.0.255", "10.0.1.0-10.0.1.5"]);
    const v6 = splitRange(range("fd00::/64"))!;
    expect([metallbText(v6.metallb), metallbText(v6.cilium)]).toEqual(["fd00::/65", "fd00::8000:0:0:0/65"]);
  });

  it("never overlaps and covers the whole range", () => {
    for (const text of ["10.0.0.5-10.0.0.6", "10.0.0.1-10.0.0.200", "10.0.0.0/31", "192.0.2.7-192.0.2.99"]) {
      const r = range(text);
      const s = splitRange(r)!;
      expect(s.metallb.start).toBe(r.start);
      expect(s.cilium.stop).toBe(r.stop);
      expect(s.cilium.start).toBe(s.metallb.stop + 1n);
    }
  });

  it("cannot split a single address", () => {
    expect(splitRange(range("10.0.0.9/32"))).toBeNull();
    expect(splitRange(range("10.0.0.9-10.0.0.9"))).toBeNull();
  });
});

describe("withoutBuggyIPs()", () => {
  it("drops IPv4 addresses ending in .0 and .255 (MetalLB avoidBuggyIPs), leaves IPv6 alone", () => {
    expect(withoutBuggyIPs(range("10.0.0.0/23")).map(rangeText)).toEqual(["10.0.0.1-10.0.0.254", "10.0.1.1-10.0.1.254"]);
    expect(withoutBuggyIPs(range("10.0.0.128/25")).map(rangeText)).toEqual(["10.0.0.128-10.0.0.254"]);
    expect(withoutBuggyIPs(range("fd00::/120")).map(rangeText)).toEqual(["fd00::-fd00::ff"]);
  });
});
