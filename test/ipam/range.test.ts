import { describe, expect, it } from "vitest";
import { LbRange, parseBlock, parseBlocks } from "../../src/ipam/range.ts";

describe("parseBlock() (I3)", () => {
  it.each([
    [{ cidr: "10.0.0.0/24" }, 4, 0x0a000000n, 0x0a0000ffn, true],
    [{ cidr: "10.0.0.7/30" }, 4, 0x0a000004n, 0x0a000007n, true], // host bits allowed, as net.ParseCIDR
    [{ cidr: "2001:db8::/126" }, 6, 0x20010db8000000000000000000000000n, 0x20010db8000000000000000000000003n, true],
    [{ start: "10.0.0.5", stop: "10.0.0.9" }, 4, 0x0a000005n, 0x0a000009n, false],
    [{ start: "10.0.0.5" }, 4, 0x0a000005n, 0x0a000005n, false], // stop empty ⇒ one address
    [{ start: "10.0.0.5", stop: "" }, 4, 0x0a000005n, 0x0a000005n, false],
    [{ cidr: "", start: "10.0.0.5", stop: "10.0.0.6" }, 4, 0x0a000005n, 0x0a000006n, false], // Go clients send cidr: ""
  ])("%j", (block, family, start, end, fromCidr) => {
    expect(parseBlock(block, 0, "p")).toEqual({ family, start, end, fromCidr });
  });

  it.each([
    [{ start: "10.0.0.9", stop: "10.0.0.1" }, `Cannot use block 0 of CiliumLoadBalancerIPPool "p": start "10.0.0.9" is after stop "10.0.0.1"`],
    [{ start: "10.0.0.1", stop: "2001:db8::1" }, `Cannot use block 0 of CiliumLoadBalancerIPPool "p": start "10.0.0.1" and stop "2001:db8::1" are of different address families`],
    [{ start: "10.0.0.256" }, `Cannot use block 0 of CiliumLoadBalancerIPPool "p": start "10.0.0.256" is not an IP address`],
    [{ start: "10.0.0.1", stop: "nope" }, `Cannot use block 0 of CiliumLoadBalancerIPPool "p": stop "nope" is not an IP address`],
    [{ start: "fe80::1%eth0" }, `Cannot use block 0 of CiliumLoadBalancerIPPool "p": start "fe80::1%eth0" is not an IP address`],
    [{ cidr: "10.0.0.0/33" }, `Cannot use block 0 of CiliumLoadBalancerIPPool "p": cidr "10.0.0.0/33" is not an IPv4 or IPv6 prefix`],
    [{}, `Cannot use block 0 of CiliumLoadBalancerIPPool "p": one of cidr or start must be set`],
  ])("refuses %j", (block, message) => {
    expect(() => parseBlock(block, 0, "p")).toThrow(message);
  });

  it("parseBlocks() reports every bad block, not only the first", () => {
    const { ranges, errors } = parseBlocks([{ cidr: "10.0.0.0/30" }, { start: "x" }, { start: "y" }], "p");
    expect(ranges).toHaveLength(1);
    expect(errors).toEqual([
      `Cannot use block 1 of CiliumLoadBalancerIPPool "p": start "x" is not an IP address`,
      `Cannot use block 2 of CiliumLoadBalancerIPPool "p": start "y" is not an IP address`,
    ]);
  });
});

describe("LbRange", () => {
  const mk = (block: { cidr?: string; start?: string; stop?: string }) => new LbRange<string>(null, parseBlock(block, 0, "p"));

  it("reserves first and last of a cidr block of 3+ addresses only (I4)", () => {
    expect(mk({ cidr: "10.0.0.0/30" }).reservable()).toEqual([0x0a000000n, 0x0a000003n]);
    expect(mk({ cidr: "10.0.0.0/31" }).reservable()).toEqual([]);
    expect(mk({ cidr: "10.0.0.0/32" }).reservable()).toEqual([]);
    expect(mk({ cidr: "2001:db8::/127" }).reservable()).toEqual([]);
    expect(mk({ cidr: "2001:db8::/128" }).reservable()).toEqual([]);
    expect(mk({ start: "10.0.0.0", stop: "10.0.0.9" }).reservable()).toEqual([]); // ranges never
  });

  it("counts reserved addresses as used (I4 quirk) and frees them when unreserved", () => {
    const r = mk({ cidr: "10.0.0.0/30" });
    r.setReserved(true);
    expect([r.size, r.available, r.used]).toEqual([4n, 2n, 2]);
    expect(r.allocAny("a")).toBe(0x0a000001n);
    expect(r.setReserved(false)).toEqual([0x0a000000n, 0x0a000003n]);
    expect([r.available, r.used]).toEqual([3n, 1]);
  });

  it("never revokes a held address when reserving, and keeps it reserved after release (I4)", () => {
    const r = mk({ cidr: "10.0.0.0/30" });
    expect(r.alloc(0x0a000000n, "a")).toBe(true);
    r.setReserved(true);
    expect(r.slot(0x0a000000n)).toEqual({ holders: ["a"], reserved: true });
    expect(r.release(0x0a000000n, "a")).toBe(false); // stays reserved, not freed
    expect(r.slot(0x0a000000n)).toEqual({ holders: [], reserved: true });
    expect(r.available).toBe(2n);
  });

  it("frees a shared address only when its last holder leaves (I11)", () => {
    const r = mk({ cidr: "10.0.0.0/30" });
    const ip = r.allocAny("a")!;
    r.slot(ip)!.holders.push("b");
    expect(r.release(ip, "a")).toBe(false);
    expect(r.release(ip, "b")).toBe(true);
    expect(r.available).toBe(4n);
  });
});
