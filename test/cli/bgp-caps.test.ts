/**
 * `herald bgp peers -c` against golden strings written by hand from
 * spec/cilium-cli-and-metrics.md §2 (`-c`) and §4 (cilium-dbg's `-c`):
 * raw tabs, capabilities merged and sorted by code, the multiprotocol
 * header, `advertised` / `received` / `advertised and received`, local: and
 * remote: detail blocks, and the one space before graceful-restart and
 * extended-nexthop blocks.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BgpPeer } from "../../src/api/schemas.ts";
import { IPV4_UNICAST, IPV6_UNICAST } from "../../src/bgp/families.ts";
import {
  encodeExtendedMessage,
  encodeExtendedNextHop,
  encodeFourOctetAs,
  encodeGracefulRestart,
  encodeMultiprotocol,
  encodeRouteRefreshCapability,
} from "../../src/bgp/wire/capabilities.ts";
import { formatNodeCapabilities, formatPeersCapabilities } from "../../src/cli/bgp-caps.ts";
import { BGP_USAGE, bgpPeersCommand } from "../../src/cli/bgp.ts";

const b64 = (bytes: Uint8Array | number[]) => ({ capabilities: btoa(String.fromCharCode(...bytes)) });

const peer = (address: string, local: Uint8Array[] | null, remote: Uint8Array[] | null, extra: Partial<BgpPeer> = {}): BgpPeer => ({
  families: [{ afi: "ipv4", safi: "unicast" }],
  "local-asn": 65001,
  "local-capabilities": local && local.map(b64),
  "peer-address": address,
  "peer-asn": 65000,
  "peer-port": 179,
  "remote-capabilities": remote && remote.map(b64),
  "session-state": "established",
  ...extra,
});

const HEAD = "Cilium node: node-a\nBGP neighbor is 10.0.0.1, remote AS 65000\nNeighbor capabilities:\n";

describe("formatPeersCapabilities() (cilium bgp peers -c, spec §2)", () => {
  it("says no node answered, or that a node has no peers, or that a peer has no capabilities (§2 -c)", () => {
    expect(formatPeersCapabilities({})).toBe("No BGP peer sessions found on any node\n");
    expect(formatPeersCapabilities({ "node-b": [], "node-a": [] })).toBe(
      "Cilium node: node-a\nNo BGP peer sessions found on this node\nCilium node: node-b\nNo BGP peer sessions found on this node\n",
    );
    expect(formatPeersCapabilities({ "node-a": [peer("10.0.0.1", null, null, { "session-state": "active" })] })).toBe(HEAD + "No capabilities found\n");
  });

  it("merges both sides sorted by code: multiprotocol header, families, route-refresh, extended-message, 4-octet-as (§2 -c)", () => {
    const local = [encodeMultiprotocol(IPV4_UNICAST), encodeMultiprotocol(IPV6_UNICAST), encodeRouteRefreshCapability(), encodeExtendedMessage(), encodeFourOctetAs(65001)];
    // The peer sends them in another order; the list is still sorted by capability code.
    const remote = [encodeFourOctetAs(65000), encodeExtendedMessage(), encodeRouteRefreshCapability(), encodeMultiprotocol(IPV6_UNICAST), encodeMultiprotocol(IPV4_UNICAST)];
    expect(formatPeersCapabilities({ "node-a": [peer("10.0.0.1", local, remote)] })).toBe(
      HEAD +
        "\tmultiprotocol:\n" +
        "\t\tipv4-unicast: advertised and received\n" +
        "\t\tipv6-unicast: advertised and received\n" +
        "\troute-refresh: advertised and received\n" +
        "\t\tlocal:\n" +
        "\t\t\troute-refresh\n" +
        "\t\tremote:\n" +
        "\t\t\troute-refresh\n" +
        "\textended-message: advertised and received\n" +
        "\t\tlocal:\n" +
        "\t\t\textended-message\n" +
        "\t\tremote:\n" +
        "\t\t\textended-message\n" +
        "\t4-octet-as: advertised and received\n" +
        "\t\tlocal:\n" +
        "\t\t\t4-octet-as\n" +
        "\t\tremote:\n" +
        "\t\t\t4-octet-as\n",
    );
  });

  it("marks a family only one side offered as advertised or received (§2 -c)", () => {
    const out = formatPeersCapabilities({ "node-a": [peer("10.0.0.1", [encodeMultiprotocol(IPV4_UNICAST)], [encodeMultiprotocol(IPV6_UNICAST)])] });
    expect(out).toBe(HEAD + "\tmultiprotocol:\n\t\tipv4-unicast: advertised\n\t\tipv6-unicast: received\n");
  });

  it("prints graceful-restart details per side after one space: time, restart and notification flags, per-family forward flag (§2 -c quirk)", () => {
    const local = encodeGracefulRestart({
      restarting: false,
      notification: false,
      time: 120,
      families: [{ family: IPV4_UNICAST, forwarding: false }, { family: IPV6_UNICAST, forwarding: false }],
    });
    const remote = encodeGracefulRestart({
      restarting: true,
      notification: true,
      time: 90,
      families: [{ family: IPV4_UNICAST, forwarding: true }, { family: IPV6_UNICAST, forwarding: false }],
    });
    expect(formatPeersCapabilities({ "node-a": [peer("10.0.0.1", [local], [remote])] })).toBe(
      HEAD +
        "\tgraceful-restart: advertised and received\n" +
        "\t\tlocal:\n" +
        " \t\t\trestart time: 120 sec\n" +
        "\t\t\tipv4-unicast\n" +
        "\t\t\tipv6-unicast\n" +
        "\t\tremote:\n" +
        " \t\t\trestart time: 90 sec, restart flag set, notification flag set\n" +
        "\t\t\tipv4-unicast, forward flag set\n" +
        "\t\t\tipv6-unicast\n",
    );
  });

  it("prints no restart time for a graceful-restart capability without families, and no block when nothing is set (§2 -c)", () => {
    const flagsOnly = encodeGracefulRestart({ restarting: true, notification: false, time: 120, families: [] });
    const nothing = encodeGracefulRestart({ restarting: false, notification: false, time: 120, families: [] });
    expect(formatPeersCapabilities({ "node-a": [peer("10.0.0.1", [nothing], [flagsOnly])] })).toBe(
      HEAD + "\tgraceful-restart: advertised and received\n\t\tlocal:\n\t\tremote:\n \t\t\trestart flag set\n",
    );
  });

  it("shows a forward flag only when the family's flags octet is exactly 0x80 (§2 -c)", () => {
    // Restart time 60, IPv4 unicast with flags 0xc0 (F plus a reserved bit).
    const gr = [64, 6, 0x00, 60, 0, 1, 1, 0xc0];
    expect(formatPeersCapabilities({ "node-a": [peer("10.0.0.1", null, [new Uint8Array(gr)])] })).toBe(
      HEAD + "\tgraceful-restart: received\n\t\tremote:\n \t\t\trestart time: 60 sec\n\t\t\tipv4-unicast\n",
    );
  });

  it("prints extended-nexthop tuples after one space (§2 -c quirk)", () => {
    const enh = encodeExtendedNextHop([{ family: IPV4_UNICAST, nextHopAfi: 2 }]);
    expect(formatPeersCapabilities({ "node-a": [peer("10.0.0.1", [enh], null)] })).toBe(
      HEAD + "\textended-nexthop: advertised\n\t\tlocal:\n \t\t\tnlri: ipv4-unicast, nexthop: ipv6\n",
    );
  });

  it("names an unknown code UnknownCapability(n) and repeats the name as its detail (§2 -c)", () => {
    const unknown = new Uint8Array([200, 2, 0xab, 0xcd]);
    expect(formatPeersCapabilities({ "node-a": [peer("10.0.0.1", [encodeRouteRefreshCapability()], [unknown])] })).toBe(
      HEAD + "\troute-refresh: advertised\n\t\tlocal:\n\t\t\troute-refresh\n\tUnknownCapability(200): received\n\t\tremote:\n\t\t\tUnknownCapability(200)\n",
    );
  });

  it("lists only advertised capabilities with local: blocks when the peer sent none (§2 -c)", () => {
    const local = [encodeMultiprotocol(IPV4_UNICAST), encodeRouteRefreshCapability(), encodeFourOctetAs(65001)];
    expect(formatPeersCapabilities({ "node-a": [peer("10.0.0.1", local, null, { "session-state": "active" })] })).toBe(
      HEAD +
        "\tmultiprotocol:\n" +
        "\t\tipv4-unicast: advertised\n" +
        "\troute-refresh: advertised\n" +
        "\t\tlocal:\n" +
        "\t\t\troute-refresh\n" +
        "\t4-octet-as: advertised\n" +
        "\t\tlocal:\n" +
        "\t\t\t4-octet-as\n",
    );
  });

  it("prints add-path, fqdn and software-version details (§2 -c)", () => {
    const addPath = new Uint8Array([69, 4, 0, 1, 1, 3]);
    const fqdn = new Uint8Array([73, 10, 4, ...new TextEncoder().encode("tor1"), 4, ...new TextEncoder().encode("dc.x")]);
    const version = new Uint8Array([75, 5, 4, ...new TextEncoder().encode("FRR/")]);
    expect(formatPeersCapabilities({ "node-a": [peer("10.0.0.1", null, [version, fqdn, addPath])] })).toBe(
      HEAD +
        "\tadd-path: received\n\t\tremote:\n\t\t\tipv4-unicast: receive/send\n" +
        "\tfqdn: received\n\t\tremote:\n\t\t\tname: tor1\n\t\t\tdomain: dc.x\n" +
        "\tsoftware-version: received\n\t\tremote:\n\t\t\tFRR/\n",
    );
  });

  it("sorts nodes by name and peers by local AS then address (§2 -c)", () => {
    const rr = [encodeRouteRefreshCapability()];
    const out = formatPeersCapabilities({
      "node-b": [peer("10.0.0.9", null, null)],
      "node-a": [peer("10.0.0.2", null, null, { "local-asn": 65002 }), peer("10.0.0.1", rr, null)],
    });
    expect(out).toBe(
      HEAD +
        "\troute-refresh: advertised\n\t\tlocal:\n\t\t\troute-refresh\n" +
        "BGP neighbor is 10.0.0.2, remote AS 65000\nNeighbor capabilities:\nNo capabilities found\n" +
        "Cilium node: node-b\nBGP neighbor is 10.0.0.9, remote AS 65000\nNeighbor capabilities:\nNo capabilities found\n",
    );
  });

  it("skips a malformed capability and says so as cilium does on stderr", () => {
    const warnings: string[] = [];
    const bad = new Uint8Array([65, 2, 0, 1]); // 4-octet AS with a 2-octet value
    const out = formatNodeCapabilities([peer("10.0.0.1", [encodeRouteRefreshCapability()], [bad])], (m) => warnings.push(m));
    expect(out).toBe("BGP neighbor is 10.0.0.1, remote AS 65000\nNeighbor capabilities:\n\troute-refresh: advertised\n\t\tlocal:\n\t\t\troute-refresh\n");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Could not decode all remote capabilities: could not decode from bytes to capability QQIAAQ==: .*4-octet-as/);
  });
});

describe("herald bgp peers -c (command)", () => {
  let server: Server;
  let api: string;
  const peers = [peer("10.0.0.1", [encodeMultiprotocol(IPV4_UNICAST), encodeRouteRefreshCapability()], [encodeMultiprotocol(IPV4_UNICAST)])];

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== "/v1/peers") {
        res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "x-herald-node": "node-a" }).end(JSON.stringify(peers));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    api = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = async (argv: string[], compat: boolean) => {
    let out = "";
    let err = "";
    const code = await bgpPeersCommand([...argv, "--api", api], { out: (t) => void (out += t), err: (t) => void (err += t) }, compat);
    return { code, out, err };
  };

  const EXPECTED = "Cilium node: node-a\nBGP neighbor is 10.0.0.1, remote AS 65000\nNeighbor capabilities:\n" +
    "\tmultiprotocol:\n\t\tipv4-unicast: advertised and received\n\troute-refresh: advertised\n\t\tlocal:\n\t\t\troute-refresh\n";

  it("prints the capability view with -c and --capabilities, raw tabs, node from the API (§2 -c)", async () => {
    expect(await run(["-c"], false)).toEqual({ code: 0, out: EXPECTED, err: "" });
    expect((await run(["--capabilities"], false)).out).toBe(EXPECTED);
  });

  it("prints the same JSON with or without -c under -o json (§2)", async () => {
    const plain = await run(["-o", "json"], false);
    expect(plain.out.startsWith('{\n "node-a": [\n')).toBe(true);
    expect((await run(["-c", "-o", "json"], false)).out).toBe(plain.out);
  });

  it("writes cilium-dbg's form through the tabwriter in compat mode: no Cilium node line, tabs as padded empty cells (§4)", async () => {
    const { code, out } = await run(["--caps"], true);
    expect(code).toBe(0);
    expect(out).toBe(
      "BGP neighbor is 10.0.0.1, remote AS 65000\nNeighbor capabilities:\n" +
        "     multiprotocol:\n          ipv4-unicast: advertised and received\n     route-refresh: advertised\n          local:\n               route-refresh\n",
    );
  });

  it("lists -c in the usage of herald bgp", () => {
    expect(BGP_USAGE).toMatch(/peers \[-c\] \[-o json\]/);
    expect(BGP_USAGE).toContain("-c, --capabilities");
  });
});
