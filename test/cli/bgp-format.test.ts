/**
 * `herald bgp` tables against golden strings written by hand from the
 * rules of spec/cilium-cli-and-metrics.md §1–§4 (column width = widest
 * cell + 3, at least 5, per block of lines that have the cell; Println
 * headers leave the last cell unpadded; lines ending in a tab are padded).
 */
import { describe, expect, it } from "vitest";
import type { BgpPeer, BgpRoute, BgpRoutePolicy } from "../../src/api/schemas.ts";
import {
  defaultRouteArgs,
  formatAgentPeers,
  formatAgentRoutes,
  formatPeersSummary,
  formatRoutePolicies,
  formatRoutesSummary,
  validateRouteArgs,
} from "../../src/cli/bgp-format.ts";

const b64 = (...bytes: number[]) => btoa(String.fromCharCode(...bytes));

const peerA: BgpPeer = {
  families: [
    { advertised: 2, afi: "ipv4", received: 2, safi: "unicast" },
    { advertised: 2, afi: "ipv6", received: 2, safi: "unicast" },
  ],
  "local-asn": 65001,
  "local-capabilities": null,
  "peer-address": "fd00:10::1",
  "peer-asn": 65000,
  "peer-port": 179,
  "remote-capabilities": null,
  "session-state": "established",
  "uptime-nanoseconds": 2006_400_000_000, // 33m26.4s → 33m26s
};

const peerB: BgpPeer = {
  families: [{ afi: "ipv4", safi: "unicast" }],
  "local-asn": 65001,
  "local-capabilities": null,
  "peer-address": "10.0.0.1",
  "peer-asn": 65100,
  "peer-port": 1790,
  "remote-capabilities": null,
  "session-state": "active",
};

describe("formatPeersSummary() (cilium bgp peers, spec §2)", () => {
  it("prints the Node column once per node, six empty cells before later families, and pads the Advertised column", () => {
    // Widths: Node 9 ("node-a"+3), Local AS 11, Peer AS 10, Peer Address 15, Session State 16,
    // Uptime 9, Family 15, Received 11; Advertised 5 (only the rows have it as a cell).
    expect(formatPeersSummary({ "node-a": [peerA] })).toBe(
      "Node     Local AS   Peer AS   Peer Address   Session State   Uptime   Family         Received   Advertised\n" +
        "node-a   65001      65000     fd00:10::1     established     33m26s   ipv4/unicast   2          2    \n" +
        "                                                                      ipv6/unicast   2          2    \n",
    );
  });

  it("sorts nodes by name and peers by local AS then address text, with 0s uptime when not established", () => {
    const out = formatPeersSummary({ "node-b": [peerA], "node-a": [peerA, peerB] });
    expect(out).toBe(
      "Node     Local AS   Peer AS   Peer Address   Session State   Uptime   Family         Received   Advertised\n" +
        "node-a   65001      65100     10.0.0.1       active          0s       ipv4/unicast   0          0    \n" +
        "         65001      65000     fd00:10::1     established     33m26s   ipv4/unicast   2          2    \n" +
        "                                                                      ipv6/unicast   2          2    \n" +
        "node-b   65001      65000     fd00:10::1     established     33m26s   ipv4/unicast   2          2    \n" +
        "                                                                      ipv6/unicast   2          2    \n",
    );
  });

  it("continues the line of a peer without families with the next peer (quirk)", () => {
    const bare: BgpPeer = { ...peerB, families: null, "peer-address": "10.0.0.0" };
    // Line 1 holds 15 cells; columns past the header's form their own blocks.
    expect(formatPeersSummary({ n: [bare, peerB] })).toBe(
      "Node   Local AS   Peer AS   Peer Address   Session State   Uptime   Family   Received   Advertised\n" +
        "n      65001      65100     10.0.0.0       active          0s                65001      65100   10.0.0.1   active   0s   ipv4/unicast   0    0    \n",
    );
  });

  it("prints only the header, every cell padded, when the node has no peers", () => {
    expect(formatPeersSummary({ n: [] })).toBe("Node   Local AS   Peer AS   Peer Address   Session State   Uptime   Family   Received   Advertised\n");
  });
});

describe("formatAgentPeers() (cilium-dbg bgp peers, spec §4)", () => {
  it("shows address:port, five empty cells before later families and no padding after Advertised", () => {
    expect(formatAgentPeers([peerA, peerB])).toBe(
      "Local AS   Peer AS   Peer Address     Session       Uptime   Family         Received   Advertised\n" +
        "65001      65100     10.0.0.1:1790    active        0s       ipv4/unicast   0          0\n" +
        "65001      65000     fd00:10::1:179   established   33m26s   ipv4/unicast   2          2\n" +
        "                                                             ipv6/unicast   2          2\n",
    );
  });
});

// ORIGIN IGP, AS_PATH [65001], NEXT_HOP 10.0.0.2, COMMUNITIES 65000:99 + NO_EXPORT.
const ATTRS = [
  b64(0x40, 1, 1, 0),
  b64(0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9),
  b64(0x40, 3, 4, 10, 0, 0, 2),
  b64(0xc0, 8, 8, 0xfd, 0xe8, 0, 99, 0xff, 0xff, 0xff, 0x01),
].map((base64) => ({ base64 }));
const ATTRS_TEXT = "[{Origin: i} {AsPath: 65001} {Nexthop: 10.0.0.2} {Communities: 65000:99, no-export}]";

const route = (prefix: string, nlri: number[], neighbor?: string, age = 2_820_000_000_000): BgpRoute => ({
  ...(neighbor ? { neighbor } : {}),
  paths: [{ "age-nanoseconds": age, best: true, family: { afi: "ipv4", safi: "unicast" }, nlri: { base64: b64(...nlri) }, "path-attributes": ATTRS }],
  prefix,
  "router-asn": 65001,
});

describe("formatRoutesSummary() (cilium bgp routes, spec §3)", () => {
  it("prints Node, VRouter, Peer, Prefix, NextHop, Age and GoBGP's attribute rendering, padding the Attrs cell", () => {
    const routes = [route("10.2.0.0/24", [24, 10, 2, 0], "10.0.0.1"), route("10.1.0.0/24", [24, 10, 1, 0], "10.0.0.1")];
    // Widths: Node 9, VRouter 10, Peer 11, Prefix 14, NextHop 11, Age 8, Attrs len+3 (rows only).
    const attrs = ATTRS_TEXT + "   ";
    expect(formatRoutesSummary({ "node-a": routes }, true)).toBe(
      "Node     VRouter   Peer       Prefix        NextHop    Age     Attrs\n" +
        `node-a   65001     10.0.0.1   10.1.0.0/24   10.0.0.2   47m0s   ${attrs}\n` +
        `         65001     10.0.0.1   10.2.0.0/24   10.0.0.2   47m0s   ${attrs}\n`,
    );
  });

  it("leaves the Peer column out for available routes", () => {
    expect(formatRoutesSummary({ n: [route("10.1.0.0/24", [24, 10, 1, 0])] }, false)).toBe(
      "Node   VRouter   Prefix        NextHop    Age     Attrs\n" +
        `n      65001     10.1.0.0/24   10.0.0.2   47m0s   ${ATTRS_TEXT}   \n`,
    );
  });

  it("writes only a newline for an undecodable route on the node's first row (quirk)", () => {
    const bad: BgpRoute = { ...route("x", [40, 1]), prefix: "x" };
    expect(formatRoutesSummary({ n: [bad] }, false)).toBe("Node   VRouter   Prefix   NextHop   Age   Attrs\nn      \n");
  });
});

describe("formatAgentRoutes() (cilium-dbg bgp routes)", () => {
  it("has no Node column and leaves the Attrs cell unpadded", () => {
    expect(formatAgentRoutes([route("10.1.0.0/24", [24, 10, 1, 0], "10.0.0.1", 45_000_000_000)], true)).toBe(
      "VRouter   Peer       Prefix        NextHop    Age   Attrs\n" +
        `65001     10.0.0.1   10.1.0.0/24   10.0.0.2   45s   ${ATTRS_TEXT}\n`,
    );
  });
});

describe("formatRoutePolicies() (cilium-dbg bgp route-policies, spec §4)", () => {
  it("prints one line per statement, three empty cells before later statements, actions as Go's formatStringArray", () => {
    const policies: BgpRoutePolicy[] = [
      {
        name: "tor-ipv4-PodCIDR",
        "router-asn": 65001,
        statements: [
          {
            "add-communities": ["65001:100"],
            "add-large-communities": null,
            "match-families": [{ afi: "ipv4", safi: "unicast" }],
            "match-neighbors": { neighbors: ["10.0.0.1"], type: "any" },
            "match-prefixes": { prefixes: [{ cidr: "10.244.0.0/24", "prefix-len-max": 24, "prefix-len-min": 24 }], type: "any" },
            "route-action": "accept",
            "set-local-preference": 150,
          },
          {
            "add-communities": null,
            "add-large-communities": null,
            "match-families": [{ afi: "ipv4", safi: "unicast" }],
            "match-neighbors": { neighbors: ["10.0.0.1", "10.0.0.2"], type: "any" },
            "match-prefixes": { prefixes: [{ cidr: "10.9.0.0/16", "prefix-len-max": 16, "prefix-len-min": 16 }], type: "any" },
            "route-action": "accept",
            "set-local-preference": -1,
          },
        ],
        type: "export",
      },
      {
        name: "allow-local",
        "router-asn": 65001,
        statements: [{ "add-communities": null, "add-large-communities": null, "match-families": null, "route-action": "accept", "set-local-preference": -1 }],
        type: "import",
      },
    ];
    expect(formatRoutePolicies(policies)).toBe(
      "VRouter   Policy Name        Type     Match Peers                   Match Families   Match Prefixes (Min..Max Len)   RIB Action   Path Actions\n" +
        "65001     allow-local        import                                                                                  accept       \n" +
        "65001     tor-ipv4-PodCIDR   export   10.0.0.1                      ipv4/unicast     10.244.0.0/24 (24..24)          accept       {SetLocalPreference: 150} {AddCommunities: [65001:100]}\n" +
        "                                      (any) {10.0.0.1} {10.0.0.2}   ipv4/unicast     10.9.0.0/16 (16..16)            accept       \n",
    );
  });
});

describe("bgp routes arguments (cilium-cli defaultGetRoutesArgs / validateGetRoutesArgs)", () => {
  it("defaults missing arguments with cilium-cli's notes", () => {
    expect(defaultRouteArgs([])).toEqual({ args: ["available", "ipv4", "unicast"], note: "(Defaulting to `available ipv4 unicast` routes, please see help for more options)" });
    expect(defaultRouteArgs(["advertised"])).toEqual({ args: ["advertised", "ipv4", "unicast"], note: "(Defaulting to `ipv4 unicast` AFI & SAFI, please see help for more options)" });
    expect(defaultRouteArgs(["advertised", "ipv6"])).toEqual({ args: ["advertised", "ipv6", "unicast"], note: "(Defaulting to `unicast` SAFI, please see help for more options)" });
    expect(defaultRouteArgs(["advertised", "ipv6", "unicast"]).note).toBeNull();
  });

  it.each([
    [["adv", "ipv4", "unicast"], "invalid argument: `adv`, expected `available` / `advertised`"],
    [["available", "ip4", "unicast"], "unknown AFI `ip4`"],
    [["available", "ipv4", "uni"], "unknown SAFI `uni`"],
    [["available", "ipv4", "unicast", "router", "1"], "invalid argument: `router`, expected `vrouter` / `peer`"],
    [["available", "ipv4", "unicast", "vrouter"], "missing vrouter ASN value"],
    [["available", "ipv4", "unicast", "vrouter", "x1"], 'invalid vrouter ASN: strconv.ParseInt: parsing "x1": invalid syntax'],
    [["advertised", "ipv4", "unicast", "vrouter", "65001", "vrouter"], "missing `peer` argument"],
    [["advertised", "ipv4", "unicast", "peer"], "missing peer IP address"],
    [["advertised", "ipv4", "unicast", "peer", "10.0.0.300"], 'invalid peer IP address: ParseAddr("10.0.0.300"): IPv4 field has value >255'],
    [["advertised", "ipv4", "unicast", "neighbor", "tor"], 'invalid peer IP address: ParseAddr("tor"): unable to parse IP'],
  ])("validateRouteArgs(%j) fails with cilium-cli's message", (args, message) => {
    expect(() => validateRouteArgs(args)).toThrow(message);
  });

  it("accepts vrouter and peer, in that order", () => {
    expect(validateRouteArgs(["advertised", "ipv6", "unicast", "vrouter", "65001", "neighbor", "fd00::1"])).toEqual({
      table: "advertised",
      afi: "ipv6",
      safi: "unicast",
      vrouter: 65001,
      peer: "fd00::1",
    });
  });
});
