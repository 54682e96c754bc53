/**
 * LbIpam cost follows what is allocated, not pool size: a /8 and an IPv6 /64
 * are one free block each, allocate in constant time, and report their
 * (bigint) counts exactly (I14).
 */
import { describe, expect, it } from "vitest";
import { engine, pool, svc } from "./_fixtures.ts";

const D = "default/";

describe("huge pools", () => {
  it("allocates from an IPv4 /8 at once, as one free block", () => {
    const { ipam } = engine();
    const t0 = performance.now();
    ipam.upsertPool(pool("big", ["10.0.0.0/8"]));
    for (let n = 0; n < 2000; n++) ipam.upsertService(svc(`s${n}`));
    const ms = performance.now() - t0;
    expect(ipam.serviceStatus(D + "s1999")?.loadBalancer.ingress).toEqual([{ ip: "10.0.7.207" }]);
    const [p] = ipam.pools();
    expect(p.ranges[0].fragments).toBe(1);
    expect([p.total, p.available, p.used]).toEqual([16777216n, 16777216n - 2000n, 2000]);
    expect(ms).toBeLessThan(2000); // typically ~50 ms; generous for slow CI
  });

  it("allocates from an IPv6 /64 at once and counts 2^64 exactly", () => {
    const { ipam } = engine({ ipv4: false, ipv6: true });
    ipam.upsertPool(pool("v6", ["2001:db8::/64"]));
    for (let n = 0; n < 1000; n++) ipam.upsertService(svc(`s${n}`));
    expect(ipam.serviceStatus(D + "s999")?.loadBalancer.ingress).toEqual([{ ip: "2001:db8::3e7" }]);
    const conds = ipam.poolStatus("v6")?.conditions ?? [];
    const msg = (t: string) => conds.find((c) => c.type === t)?.message;
    expect(msg("cilium.io/IPsTotal")).toBe("18446744073709551616");
    expect(msg("cilium.io/IPsAvailable")).toBe("18446744073709550616");
    expect(msg("cilium.io/IPsUsed")).toBe("1000");
    expect(ipam.pools()[0].ranges[0].fragments).toBe(1);
  });

  it("keeps fragmentation bounded under churn: holes are refilled smallest first", () => {
    const { ipam } = engine();
    ipam.upsertPool(pool("big", ["10.0.0.0/8"]));
    for (let n = 0; n < 1000; n++) ipam.upsertService(svc(`s${n}`));
    for (let n = 0; n < 1000; n += 3) ipam.deleteService(`${D}s${n}`);
    const holes = ipam.pools()[0].ranges[0].fragments;
    expect(holes).toBe(334); // 333 single holes + the tail (s999's address joined it)
    for (let n = 0; n < 333; n++) ipam.upsertService(svc(`t${n}`));
    expect(ipam.pools()[0].ranges[0].fragments).toBe(1);
  });
});
