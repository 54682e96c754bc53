/**
 * The harness's pure parts on captured daemon output (BIRD 2.0.12,
 * gobgp 3.10, FRR 8.4.4), config generation and the MRT writer: fast checks
 * that run without daemons.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseBirdCapabilities, parseBirdProtocols, parseBirdRoutes } from "./harness/bird-parse.ts";
import { birdStaticRoute } from "./harness/bird.ts";
import { frrPeerStatus, parseFrrRoutes } from "./harness/frr-parse.ts";
import { frrRouteMapSets } from "./harness/frr.ts";
import { gobgpLogError, gobgpRoute, parseGobgpCapabilities } from "./harness/gobgp-parse.ts";
import { gobgpRouteArgs } from "./harness/gobgp.ts";
import { linkAddresses, Scope, writeMrtRib } from "./harness/mod.ts";

const BIRD_PROTOCOLS = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     14:02:49.235  
n0         BGP        ---        up     14:02:53.146  Established   
  Description:    10.99.0.2
  BGP state:          Established
    Neighbor address: 10.99.0.2
    Neighbor AS:      65002
    Local AS:         65001
    Neighbor ID:      10.99.0.2
    Local capabilities
      Multiprotocol
        AF announced: ipv4 ipv6
      Graceful restart
        Restart time: 120
        AF supported: ipv4 ipv6
        AF preserved:
      4-octet AS numbers
    Neighbor capabilities
      Multiprotocol
        AF announced: ipv4 ipv6
      Route refresh
      Extended next hop
        IPv6 nexthop: ipv4
      Graceful restart
        Restart time: 30
        Restart recovery
        AF supported: ipv4 ipv6
        AF preserved: ipv4
      4-octet AS numbers
      Hostname: vm
    Session:          external AS4
    Source address:   10.99.0.1
    Hold timer:       2.234/3
    Keepalive timer:  0.880/1
  Channel ipv4
    State:          UP
    Routes:         3 imported, 1 exported, 3 preferred
  Channel ipv6
    State:          UP
    Routes:         2 imported, 0 exported, 2 preferred
n1         BGP        ---        start  2026-11-26 14:03:06  Active        Socket: Connection refused
  Description:    10.99.0.6
  BGP state:          Active
    Neighbor address: 10.99.0.6
    Neighbor AS:      65003
    Local AS:         65001
    Last error:       Received: Bad peer AS
  Channel ipv4
    State:          DOWN
    Routes:         0 imported, 0 exported, 0 preferred
`;

describe("parseBirdProtocols()", () => {
  it("splits blocks, reads fields, neighbour capabilities and imported counts per channel", () => {
    const [device, n0, n1] = parseBirdProtocols(BIRD_PROTOCOLS);
    expect(device).toMatchObject({ name: "device1", proto: "Device", protoState: "up" });
    expect(n0).toMatchObject({ name: "n0", proto: "BGP", protoState: "up", info: "Established" });
    expect(n0.fields.get("BGP state")).toBe("Established");
    expect(n0.fields.get("Hold timer")).toBe("2.234/3");
    expect([...n0.imported]).toEqual([["ipv4", 3], ["ipv6", 2]]);
    expect(n1).toMatchObject({ name: "n1", protoState: "start", info: "Active  Socket: Connection refused" });
    expect(n1.fields.get("Last error")).toBe("Received: Bad peer AS");
    expect(n1.neighborCaps).toBeUndefined();
  });

  it("parseBirdCapabilities() reads the neighbour's side only, with the GR restart and preserve bits", () => {
    const [, n0] = parseBirdProtocols(BIRD_PROTOCOLS);
    expect(parseBirdCapabilities(n0.neighborCaps!)).toEqual({
      multiprotocol: ["ipv4-unicast", "ipv6-unicast"],
      routeRefresh: true,
      enhancedRouteRefresh: false,
      fourOctetAs: true,
      extendedNextHop: true,
      longLivedGracefulRestart: false,
      gracefulRestart: { restartTime: 30, restarting: true, families: ["ipv4-unicast", "ipv6-unicast"], preserved: ["ipv4-unicast"] },
    });
  });
});

describe("parseBirdRoutes()", () => {
  const text = [
    "Table master4:",
    "198.51.100.0/24      unicast [n0 14:03:00.240] * (100) [AS65002i]",
    "\tvia 10.99.0.2 on hb-1-2",
    "\tType: BGP univ",
    "\tBGP.origin: IGP",
    "\tBGP.as_path: 65002 {64512 64513}",
    "\tBGP.next_hop: 10.99.0.2",
    "\tBGP.med: 10",
    "\tBGP.local_pref: 100",
    "\tBGP.community: (65002,1) (65002,2)",
    "\t\t(65002,3)",
    "\tBGP.large_community: (65002, 1, 1)",
    "                     unicast [n1 14:03:01.000] (100) [AS65003?]",
    "\tvia 10.99.0.6 on hb-1-3",
    "\tType: BGP univ",
    "\tBGP.origin: Incomplete",
    "\tBGP.as_path: 65003",
    "\tBGP.next_hop: 10.99.0.6",
    "192.0.2.0/24         blackhole [own4 14:02:49.235] * (200)",
    "\tType: static univ",
    "Table master6:",
    "2001:db8::/48        unicast [n0 14:03:00.240] * (100) [AS65002i]",
    "\tBGP.origin: IGP",
    "\tBGP.as_path: 65002",
    "\tBGP.next_hop: fd48:6572::2 fe80::1",
    "",
  ].join("\n");
  const peers: Record<string, string> = { n0: "10.99.0.2", n1: "10.99.0.6" };

  it("reads every route of every BGP protocol with its attributes, skipping other protocols", () => {
    const routes = parseBirdRoutes(text, (p) => peers[p]);
    expect(routes).toEqual([
      {
        prefix: "198.51.100.0/24",
        family: "ipv4-unicast",
        peer: "10.99.0.2",
        nextHop: "10.99.0.2",
        asPath: [65002, 64512, 64513],
        origin: "igp",
        med: 10,
        localPref: 100,
        communities: ["65002:1", "65002:2", "65002:3"],
        largeCommunities: ["65002:1:1"],
      },
      {
        prefix: "198.51.100.0/24",
        family: "ipv4-unicast",
        peer: "10.99.0.6",
        nextHop: "10.99.0.6",
        asPath: [65003],
        origin: "incomplete",
        communities: [],
        largeCommunities: [],
      },
      {
        prefix: "2001:db8::/48",
        family: "ipv6-unicast",
        peer: "10.99.0.2",
        nextHop: "fd48:6572::2",
        asPath: [65002],
        origin: "igp",
        communities: [],
        largeCommunities: [],
      },
    ]);
  });
});

describe("GoBGP parsing", () => {
  const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));

  it("parseGobgpCapabilities() decodes the protobuf Any values gobgp -j prints", () => {
    const caps = parseGobgpCapabilities([
      { type_url: "type.googleapis.com/apipb.MultiProtocolCapability", value: "CgQIARAB" },
      { type_url: "type.googleapis.com/apipb.MultiProtocolCapability", value: "CgQIAhAB" },
      { type_url: "type.googleapis.com/apipb.RouteRefreshCapability" },
      { type_url: "type.googleapis.com/apipb.GracefulRestartCapability", value: "EB4aBgoECAEQARoGCgQIAhAB" },
      { type_url: "type.googleapis.com/apipb.FourOctetASNCapability", value: "COn7Aw==" },
      { type_url: "type.googleapis.com/apipb.ExtendedNexthopCapability", value: "CgwKBAgBEAESBAgCEAE=" },
      { type_url: "type.googleapis.com/apipb.FqdnCapability", value: "CgJ2bQ==" },
    ]);
    expect(caps).toEqual({
      multiprotocol: ["ipv4-unicast", "ipv6-unicast"],
      routeRefresh: true,
      enhancedRouteRefresh: false,
      fourOctetAs: true,
      extendedNextHop: true,
      longLivedGracefulRestart: false,
      gracefulRestart: { restartTime: 30, restarting: false, families: ["ipv4-unicast", "ipv6-unicast"], preserved: [] },
    });
  });

  it("parseGobgpCapabilities() reads the R bit and per-family F bits of graceful restart", () => {
    // flags = 8 (R), time = 120, tuple {family ipv4/unicast, flags 0x80 (F)}
    const value = b64([0x08, 0x08, 0x10, 0x78, 0x1a, 0x09, 0x0a, 0x04, 0x08, 0x01, 0x10, 0x01, 0x10, 0x80, 0x01]);
    const caps = parseGobgpCapabilities([{ type_url: "type.googleapis.com/apipb.GracefulRestartCapability", value }]);
    expect(caps.gracefulRestart).toEqual({ restartTime: 120, restarting: true, families: ["ipv4-unicast"], preserved: ["ipv4-unicast"] });
  });

  it("gobgpRoute() maps attributes, MP_REACH next hops and packed communities", () => {
    const route = gobgpRoute("2001:db8::/48", {
      attrs: [
        { type: 1, value: 2 },
        { type: 2, as_paths: [{ segment_type: 2, asns: [65001, 65002] }] },
        { type: 4, metric: 7 },
        { type: 5, value: 200 },
        { type: 8, communities: [4259905636] },
        { type: 14, nexthop: "2001:db8::1" },
        { type: 32, value: [{ ASN: 65001, LocalData1: 1, LocalData2: 2 }] },
      ],
      "neighbor-ip": "2001:db8::1",
    });
    expect(route).toEqual({
      prefix: "2001:db8::/48",
      family: "ipv6-unicast",
      peer: "2001:db8::1",
      nextHop: "2001:db8::1",
      asPath: [65001, 65002],
      origin: "incomplete",
      med: 7,
      localPref: 200,
      communities: ["65001:100"],
      largeCommunities: ["65001:1:2"],
    });
  });

  it("gobgpLogError() names NOTIFICATIONs and keeps Peer Down reasons that say more", () => {
    expect(gobgpLogError(`{"Code":4,"Data":null,"Key":"10.0.0.1","Subcode":0,"level":"warning","msg":"sent notification"}`))
      .toEqual(["10.0.0.1", "sent notification: hold timer expired (4/0)"]);
    expect(gobgpLogError(`{"Code":6,"Key":"10.0.0.1","Subcode":2,"msg":"received notification"}`))
      .toEqual(["10.0.0.1", "received notification: cease / administrative shutdown (6/2)"]);
    expect(gobgpLogError(`{"Data":"as number mismatch expected 65009, received 65001","Key":"10.0.0.1","msg":"sent notification"}`))
      .toEqual(["10.0.0.1", "sent notification: as number mismatch expected 65009, received 65001"]);
    expect(gobgpLogError(`{"Key":"10.0.0.1","Reason":"read-failed","msg":"Peer Down"}`)).toEqual(["10.0.0.1", "read-failed"]);
    expect(gobgpLogError(`{"Key":"10.0.0.1","Reason":"hold-timer-expired","msg":"Peer Down"}`)).toBeUndefined();
    expect(gobgpLogError(`{"Key":"10.0.0.1","msg":"Peer Up"}`)).toBeUndefined();
  });
});

describe("FRR parsing", () => {
  it("parseFrrRoutes() reads `json detail`, skipping the prefix header and local paths", () => {
    const json = {
      routes: {
        "10.50.0.0/24": [
          { prefix: "10.50.0.0/24", version: 1, advertisedTo: { "10.99.0.1": {} } },
          {
            aspath: { string: "65001", segments: [{ type: "as-sequence", list: [65001] }], length: 1 },
            origin: "IGP",
            valid: true,
            community: { string: "65001:100", list: ["65001:100"] },
            largeCommunity: { string: "65001:1:2", list: ["65001:1:2"] },
            nexthops: [{ ip: "10.99.0.1", afi: "ipv4", used: true }],
            peer: { peerId: "10.99.0.1", routerId: "10.99.0.1", type: "external" },
          },
        ],
        "10.70.0.0/24": [
          { prefix: "10.70.0.0/24", version: 2 },
          { aspath: { segments: [] }, origin: "IGP", metric: 11, sourced: true, local: true, nexthops: [{ ip: "0.0.0.0" }], peer: { peerId: "0.0.0.0" } },
        ],
      },
    };
    expect(parseFrrRoutes(json, "ipv4-unicast")).toEqual([{
      prefix: "10.50.0.0/24",
      family: "ipv4-unicast",
      peer: "10.99.0.1",
      nextHop: "10.99.0.1",
      asPath: [65001],
      origin: "igp",
      communities: ["65001:100"],
      largeCommunities: ["65001:1:2"],
    }]);
  });

  it("frrPeerStatus() reports a NOTIFICATION, but not the reset reason FRR sets at configuration time", () => {
    const configured = frrPeerStatus("10.0.0.1", { bgpState: "Active", lastResetDueTo: "No AFI/SAFI activated for peer", connectionsDropped: 0 });
    expect(configured.lastError).toBeUndefined();
    const refused = frrPeerStatus("10.0.0.1", {
      bgpState: "Idle",
      lastResetDueTo: "BGP Notification received",
      lastNotificationReason: "OPEN Message Error/Bad Peer AS",
    });
    expect(refused).toMatchObject({ state: "idle", lastError: "BGP Notification received: OPEN Message Error/Bad Peer AS" });
    const up = frrPeerStatus("10.0.0.1", {
      bgpState: "Established",
      bgpTimerHoldTimeMsecs: 9000,
      remoteRouterId: "10.0.0.1",
      addressFamilyInfo: { ipv4Unicast: { acceptedPrefixCounter: 3 }, ipv6Unicast: { acceptedPrefixCounter: 2 } },
      neighborCapabilities: {
        "4byteAs": "advertisedAndReceived",
        routeRefresh: "advertisedAndReceivedNew",
        multiprotocolExtensions: { ipv4Unicast: { advertisedAndReceived: true }, ipv6Unicast: { advertised: true } },
        gracefulRestart: "advertisedAndReceived",
        gracefulRestartRemoteTimerMsecs: 30000,
        addressFamiliesByPeer: { ipv4Unicast: {} },
      },
    });
    expect(up).toMatchObject({ state: "established", holdTime: 9, receivedRoutes: 5, remoteRouterId: "10.0.0.1" });
    expect(up.capabilities).toMatchObject({
      multiprotocol: ["ipv4-unicast"],
      fourOctetAs: true,
      routeRefresh: true,
      gracefulRestart: { restartTime: 30, families: ["ipv4-unicast"] },
    });
  });
});

describe("config generation", () => {
  const route = {
    prefix: "198.51.100.0/24",
    origin: "egp" as const,
    asPath: [64512, 64513],
    med: 5,
    localPref: 200,
    communities: ["65001:1"],
    largeCommunities: ["65001:2:3"],
    nextHop: "192.0.2.1",
  };

  it("birdStaticRoute() sets every attribute in the route's filter block, prepending the path in order", () => {
    expect(birdStaticRoute(route)).toBe(
      "route 198.51.100.0/24 blackhole { bgp_origin = ORIGIN_EGP; bgp_path.prepend(64513); bgp_path.prepend(64512); bgp_med = 5; " +
        "bgp_local_pref = 200; bgp_community.add((65001,1)); bgp_large_community.add((65001,2,3)); bgp_next_hop = 192.0.2.1; };",
    );
    expect(birdStaticRoute({ prefix: "2001:db8::/48" })).toBe("route 2001:db8::/48 blackhole;");
    expect(() => birdStaticRoute({ prefix: "192.0.2.0/24", communities: ["65001"] })).toThrow(/Cannot parse community "65001"/);
  });

  it("gobgpRouteArgs() builds `gobgp global rib add` arguments, origin igp by default", () => {
    expect(gobgpRouteArgs(route)).toEqual([
      "198.51.100.0/24", "origin", "egp", "aspath", "64512,64513", "nexthop", "192.0.2.1", "med", "5", "local-pref", "200",
      "community", "65001:1", "large-community", "65001:2:3", "-a", "ipv4",
    ]);
    expect(gobgpRouteArgs({ prefix: "2001:db8::/48" })).toEqual(["2001:db8::/48", "origin", "igp", "-a", "ipv6"]);
  });

  it("frrRouteMapSets() gives a network its attributes", () => {
    expect(frrRouteMapSets(route)).toEqual([
      "set origin egp",
      "set as-path prepend 64512 64513",
      "set metric 5",
      "set local-preference 200",
      "set community 65001:1",
      "set large-community 65001:2:3",
      "set ip next-hop 192.0.2.1",
    ]);
    expect(frrRouteMapSets({ prefix: "2001:db8::/48", nextHop: "2001:db8::1" })).toEqual(["set ipv6 next-hop global 2001:db8::1"]);
  });
});

describe("names and addresses", () => {
  it("Scope refuses prefixes that would not fit an interface name", () => {
    expect(() => new Scope({ prefix: "toolong" })).toThrow(/prefix must be 1-4 lowercase letters or digits starting with a letter: current value is "toolong"/);
    expect(() => new Scope({ prefix: "9x" })).toThrow(/current value is "9x"/);
  });

  it("linkAddresses() gives each subnet number its own /30 and /64", () => {
    expect(linkAddresses(0)).toEqual({
      ipv4Prefix: "10.0.0.0/30",
      ipv6Prefix: "fd48:6572:0:0::/64",
      a4: "10.0.0.1",
      b4: "10.0.0.2",
      a6: "fd48:6572:0:0::1",
      b6: "fd48:6572:0:0::2",
    });
    const last = linkAddresses((1 << 22) - 1);
    expect(last.ipv4Prefix).toBe("10.255.255.252/30");
    expect(last.ipv6Prefix).toBe("fd48:6572:3f:ffff::/64");
  });
});

describe("writeMrtRib()", () => {
  it("writes a PEER_INDEX_TABLE and one RIB_IPV4_UNICAST / RIB_IPV6_UNICAST record per route (RFC 6396 4.3)", async () => {
    const scope = new Scope({ prefix: "hp" });
    try {
      const file = join(scope.dir, "rib.mrt");
      const count = await writeMrtRib(file, { routerId: "192.0.2.1", address: "192.0.2.1", asn: 65001 }, [
        { prefix: "198.51.100.0/24", nextHop: "192.0.2.1", asPath: [65001] },
        { prefix: "2001:db8::/32", nextHop: "2001:db8::1" },
      ]);
      expect(count).toBe(2);
      const b = new Uint8Array(await readFile(file));
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const records: { subtype: number; body: Uint8Array }[] = [];
      for (let off = 0; off < b.length;) {
        expect(v.getUint16(off + 4)).toBe(13); // TABLE_DUMP_V2
        const len = v.getUint32(off + 8);
        records.push({ subtype: v.getUint16(off + 6), body: b.subarray(off + 12, off + 12 + len) });
        off += 12 + len;
      }
      expect(records.map((r) => r.subtype)).toEqual([1, 2, 4]);
      // PEER_INDEX_TABLE: collector id, view name length 0, 1 peer: type 2 (AS4, IPv4), id, address, AS
      expect([...records[0].body]).toEqual([192, 0, 2, 1, 0, 0, 0, 1, 2, 192, 0, 2, 1, 192, 0, 2, 1, 0, 0, 0xfd, 0xe9]);
      // RIB_IPV4_UNICAST: seq 0, /24, 3 prefix bytes, 1 entry: peer 0, time, attribute length
      const rib = records[1].body;
      expect([...rib.subarray(0, 8)]).toEqual([0, 0, 0, 0, 24, 198, 51, 100]);
      expect([...rib.subarray(8, 12)]).toEqual([0, 1, 0, 0]);
      const attrs = rib.subarray(18);
      expect([...attrs]).toEqual([
        0x40, 1, 1, 0, // ORIGIN IGP
        0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9, // AS_PATH: AS_SEQUENCE [65001], 4-octet
        0x40, 3, 4, 192, 0, 2, 1, // NEXT_HOP
      ]);
      // RIB_IPV6_UNICAST ends with the abbreviated MP_REACH_NLRI: next hop length + next hop
      const v6 = records[2].body;
      expect([...v6.subarray(4, 9)]).toEqual([32, 0x20, 0x01, 0x0d, 0xb8]);
      expect([...v6.subarray(-20, -16)]).toEqual([0x80, 14, 17, 16]);
    } finally {
      await scope.close();
    }
  });
});
