import { describe, expect, it } from "vitest";
import { AttrSetTable, localPathAttributes } from "../../src/bgp/attr-set.ts";
import { IPV4_UNICAST, IPV6_UNICAST } from "../../src/bgp/families.ts";
import { nextHopOf, renderAttribute, renderAttributes } from "../../src/bgp/render.ts";
import { keyFromText } from "../../src/bgp/wire/mod.ts";
import { hex } from "./_hex.ts";

describe("renderAttribute() in GoBGP's format (spec cli §1)", () => {
  it.each([
    ["ORIGIN IGP", "40 01 01 00", "{Origin: i}"],
    ["ORIGIN EGP", "40 01 01 01", "{Origin: e}"],
    ["ORIGIN INCOMPLETE", "40 01 01 02", "{Origin: ?}"],
    ["AS_PATH sequence", "40 02 0a 02 02 0000fde9 0000fde8", "{AsPath: 65001 65000}"],
    ["AS_PATH empty", "40 02 00", "{AsPath: }"],
    ["AS_PATH with a set", "40 02 10 02 01 0000fde9 01 02 00000001 00000002", "{AsPath: 65001 {1,2}}"],
    ["NEXT_HOP", "40 03 04 0a000002", "{Nexthop: 10.0.0.2}"],
    ["MED", "80 04 04 0000000a", "{Med: 10}"],
    ["LOCAL_PREF", "40 05 04 00000064", "{LocalPref: 100}"],
    ["ATOMIC_AGGREGATE", "40 06 00", "{AtomicAggregate}"],
    ["AGGREGATOR", "c0 07 08 00003417 0a220650", "{Aggregate: {AS: 13335, Address: 10.34.6.80}}"],
    ["COMMUNITIES with a well-known name", "c0 08 08 fde80063 ffffff01", "{Communities: 65000:99, no-export}"],
    ["every well-known community", "c0 08 1c 00000000 ffff0000 ffff0006 ffff029a ffffff02 ffffff03 ffffff04", "{Communities: internet, planned-shut, llgr-stale, blackhole, no-advertise, no-export-subconfed, no-peer}"],
    ["LARGE_COMMUNITY", "c0 20 18 00000001 00000002 00000003 00000004 00000005 00000006", "{LargeCommunity: [ 1:2:3, 4:5:6]}"],
    ["EXTENDED_COMMUNITIES route target", "c0 10 08 0002fdea00000064", "{Extcomms: [65002:100]}"],
    ["ORIGINATOR_ID", "80 09 04 01020304", "{Originator: 1.2.3.4}"],
    ["CLUSTER_LIST", "80 0a 08 01010101 02020202", "{ClusterList: [1.1.1.1 2.2.2.2]}"],
    ["MP_REACH_NLRI IPv6", "80 0e 1e 0002 01 10 fd000000000000000000000000000002 00 40 fd00000100000000", "{MpReach(ipv6-unicast): {Nexthop: fd00::2, NLRIs: [fd00:1::/64]}}"],
    ["MP_REACH_NLRI IPv4 via IPv6", "80 0e 19 0001 01 10 fd0000100000000100000000000000002 00 18 0a0100".replace("fd0000100000000100000000000000002", "fd000010000000010000000000000002"), "{MpReach(ipv4-unicast): {Nexthop: fd00:10:0:1::2, NLRIs: [10.1.0.0/24]}}"],
    ["MP_UNREACH_NLRI End-of-RIB", "80 0f 03 0002 01", "{MpUnreach(ipv6-unicast): End-of-Rib}"],
    ["unknown attribute", "c0 23 02 0102", "{Flags: TRANSITIVE|OPTIONAL, Type: BGPAttrType(35), Value: 0x0102}"],
  ])("%s", (_n, wire, text) => {
    expect(renderAttribute(hex(wire))).toBe(text);
  });

  it("renders a whole list as Go prints a slice", () => {
    expect(renderAttributes([hex`40 01 01 00`, hex`40 02 06 02 01 0000fde9`, hex`c0 08 04 fde80063`])).toBe("[{Origin: i} {AsPath: 65001} {Communities: 65000:99}]");
    expect(renderAttributes([])).toBe("[]");
  });

  it("shows loc-rib paths with the unresolved next hop, as `cilium bgp routes available` does", () => {
    const set = new AttrSetTable().intern({});
    const v4 = localPathAttributes(set, IPV4_UNICAST, keyFromText("10.0.0.0/24")!);
    expect(renderAttributes(v4)).toBe("[{Origin: i} {Nexthop: 0.0.0.0}]");
    expect(nextHopOf(v4)).toBe("0.0.0.0");
    const v6 = localPathAttributes(set, IPV6_UNICAST, keyFromText("fd00::/64")!);
    expect(renderAttributes(v6)).toBe("[{Origin: i} {MpReach(ipv6-unicast): {Nexthop: ::, NLRIs: [fd00::/64]}}]");
    expect(nextHopOf(v6)).toBe("::");
  });

  it("takes NEXT_HOP first, then the MP_REACH next hop, else 0.0.0.0 for the NextHop column", () => {
    expect(nextHopOf([hex`80 0e 1e 0002 01 10 fd000000000000000000000000000002 00 40 fd00000100000000`, hex`40 03 04 0a000002`])).toBe("10.0.0.2");
    expect(nextHopOf([hex`80 0e 1e 0002 01 10 fd000000000000000000000000000002 00 40 fd00000100000000`])).toBe("fd00::2");
    expect(nextHopOf([hex`40 01 01 00`])).toBe("0.0.0.0");
  });
});
