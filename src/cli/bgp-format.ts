/**
 * The tables of `herald bgp …`, character for character as the Cilium CLIs
 * print them (spec/cilium-cli-and-metrics.md §2–§4), from the API's
 * Cilium-shaped JSON. Pure functions: JSON in, text out.
 *
 * - `formatPeersSummary` / `formatRoutesSummary`: cilium-cli's cluster-wide
 *   tables with the Node column (`cilium bgp peers`, `cilium bgp routes`).
 * - `formatAgentPeers` / `formatAgentRoutes` / `formatRoutePolicies`:
 *   cilium-dbg's agent-local tables (`cilium-dbg bgp …`), used when herald
 *   stands in for the `cilium` binary inside a pod, and for route policies.
 * - `validateRouteArgs`: cilium-cli's argument defaulting and exact error strings.
 *
 * Every table goes through the Go tabwriter port (minwidth 5, padding 3),
 * with Cilium's quirks: header lines written with Println (last cell not
 * padded), family lines ending in a tab (padded, trailing spaces), and
 * continuation lines that skip the session columns with empty cells.
 */
import { nextHopOf, renderAttributes } from "../bgp/render.ts";
import { AFIS, SAFIS } from "../control/schemas/_common.ts";
import { canonicalIP, formatIP, ipFromBytes } from "../net/ip.ts";
import type { BgpPeer, BgpRoute, BgpRoutePolicy } from "../api/schemas.ts";
import { formatDuration, tabwrite } from "./tabwriter.ts";

const goLess = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Peers sorted by local AS, then peer address as a string (the well-defined part of Cilium's sort). */
export function sortPeers(peers: readonly BgpPeer[]): BgpPeer[] {
  return [...peers].sort((a, b) => (a["local-asn"] ?? 0) - (b["local-asn"] ?? 0) || goLess(a["peer-address"] ?? "", b["peer-address"] ?? ""));
}

/** Routes sorted by router ASN, neighbour, prefix (strings compared as Go does). */
function sortRoutes(routes: readonly BgpRoute[]): BgpRoute[] {
  return [...routes].sort((a, b) =>
    (a["router-asn"] ?? 0) - (b["router-asn"] ?? 0) || goLess(a.neighbor ?? "", b.neighbor ?? "") || goLess(a.prefix ?? "", b.prefix ?? "")
  );
}

const uptime = (p: BgpPeer) => formatDuration((p["uptime-nanoseconds"] ?? 0) / 1e6);

/** `cilium bgp peers` (cilium-cli): one block per node, nodes sorted by name. */
export function formatPeersSummary(perNode: Readonly<Record<string, readonly BgpPeer[]>>): string {
  let t = "Node\tLocal AS\tPeer AS\tPeer Address\tSession State\tUptime\tFamily\tReceived\tAdvertised\n";
  for (const node of Object.keys(perNode).sort(goLess)) {
    sortPeers(perNode[node]).forEach((p, i) => {
      t += i === 0 ? `${node}\t` : "\t";
      t += `${p["local-asn"] ?? 0}\t${p["peer-asn"] ?? 0}\t${p["peer-address"] ?? ""}\t${p["session-state"] ?? ""}\t${uptime(p)}\t`;
      (p.families ?? []).forEach((f, j) => {
        if (j > 0) t += "\t".repeat(6);
        t += `${f.afi ?? ""}/${f.safi ?? ""}\t${f.received ?? 0}\t${f.advertised ?? 0}\t\n`;
      });
      // Quirk: a peer without families writes no newline; the next peer continues the line.
    });
  }
  return tabwrite(t);
}

/** `cilium-dbg bgp peers`: agent-local, address with port, five tabs before later families. */
export function formatAgentPeers(peers: readonly BgpPeer[]): string {
  let t = "Local AS\tPeer AS\tPeer Address\tSession\tUptime\tFamily\tReceived\tAdvertised\n";
  for (const p of sortPeers(peers)) {
    t += `${p["local-asn"] ?? 0}\t${p["peer-asn"] ?? 0}\t${p["peer-address"] ?? ""}:${p["peer-port"] ?? 0}\t${p["session-state"] ?? ""}\t${uptime(p)}\t`;
    (p.families ?? []).forEach((f, j) => {
      if (j > 0) t += "\t".repeat(5);
      t += `${f.afi ?? ""}/${f.safi ?? ""}\t${f.received ?? 0}\t${f.advertised ?? 0}\n`;
    });
  }
  return tabwrite(t);
}

function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

interface DecodedPath {
  nlri: string;
  nextHop: string;
  age: string;
  attrs: string;
}

/** A path as GoBGP renders it, or null when its NLRI does not decode (printed as an empty line). */
function decodePath(path: NonNullable<BgpRoute["paths"]>[number]): DecodedPath | null {
  try {
    const nlri = fromBase64(path.nlri?.base64 ?? "");
    const afi = path.family?.afi;
    const width = afi === "ipv6" ? 16 : afi === "ipv4" ? 4 : 0;
    const len = nlri[0];
    if (width === 0 || nlri.length < 1 || len > width * 8 || nlri.length !== 1 + Math.ceil(len / 8)) return null;
    const bytes = new Uint8Array(width);
    bytes.set(nlri.subarray(1));
    const attrs = (path["path-attributes"] ?? []).map((a) => fromBase64(a.base64 ?? ""));
    return {
      nlri: `${formatIP(ipFromBytes(bytes))}/${len}`,
      nextHop: nextHopOf(attrs),
      age: formatDuration((path["age-nanoseconds"] ?? 0) / 1e6),
      attrs: renderAttributes(attrs),
    };
  } catch {
    return null;
  }
}

/** `cilium bgp routes` (cilium-cli): Node column; Peer column for `advertised`. */
export function formatRoutesSummary(perNode: Readonly<Record<string, readonly BgpRoute[]>>, printPeer: boolean): string {
  let t = printPeer ? "Node\tVRouter\tPeer\tPrefix\tNextHop\tAge\tAttrs\n" : "Node\tVRouter\tPrefix\tNextHop\tAge\tAttrs\n";
  for (const node of Object.keys(perNode).sort(goLess)) {
    sortRoutes(perNode[node]).forEach((r, i) => {
      t += i === 0 ? `${node}\t` : "\t";
      const paths = (r.paths ?? []).map(decodePath);
      if (paths.some((p) => p === null)) {
        // Quirk: an undecodable route writes only a newline, and only on the node's first row.
        if (i === 0) t += "\n";
        return;
      }
      for (const p of paths as DecodedPath[]) {
        t += `${r["router-asn"] ?? 0}\t${printPeer ? `${r.neighbor ?? ""}\t` : ""}${p.nlri}\t${p.nextHop}\t${p.age}\t${p.attrs}\t\n`;
      }
      if (paths.length === 0) t += "\n";
    });
  }
  return tabwrite(t);
}

/** `cilium-dbg bgp routes`: Peer column only for `advertised` without a peer filter. */
export function formatAgentRoutes(routes: readonly BgpRoute[], printPeer: boolean): string {
  let t = `VRouter\t${printPeer ? "Peer\t" : ""}Prefix\tNextHop\tAge\tAttrs\n`;
  for (const r of sortRoutes(routes)) {
    for (const path of r.paths ?? []) {
      const p = decodePath(path);
      if (!p) continue;
      t += `${r["router-asn"] ?? 0}\t${printPeer ? `${r.neighbor ?? ""}\t` : ""}${p.nlri}\t${p.nextHop}\t${p.age}\t${p.attrs}\n`;
    }
  }
  return tabwrite(t);
}

/** Go's formatStringArray: one item as is, several as "{a} {b}". */
function items(list: readonly string[], type?: string): string {
  if (list.length === 1) return list[0];
  const joined = list.map((s) => `{${s}}`).join(" ");
  return list.length > 1 && type ? `(${type}) ${joined}` : joined;
}

/** `cilium-dbg bgp route-policies`: one line per statement, sorted by router ASN then name. */
export function formatRoutePolicies(policies: readonly BgpRoutePolicy[]): string {
  const sorted = [...policies].sort((a, b) => (a["router-asn"] ?? 0) - (b["router-asn"] ?? 0) || goLess(a.name ?? "", b.name ?? ""));
  let t = "VRouter\tPolicy Name\tType\tMatch Peers\tMatch Families\tMatch Prefixes (Min..Max Len)\tRIB Action\tPath Actions\n";
  for (const p of sorted) {
    t += `${p["router-asn"] ?? 0}\t${p.name ?? ""}\t${p.type ?? ""}\t`;
    const statements = p.statements ?? [];
    statements.forEach((s, i) => {
      if (i > 0) t += "\t".repeat(3);
      const peers = items(s["match-neighbors"]?.neighbors ?? [], s["match-neighbors"]?.type);
      const families = items((s["match-families"] ?? []).map((f) => `${f.afi ?? ""}/${f.safi ?? ""}`));
      const prefixes = items(
        (s["match-prefixes"]?.prefixes ?? []).map((m) => `${m.cidr ?? ""} (${m["prefix-len-min"] ?? 0}..${m["prefix-len-max"] ?? 0})`),
        s["match-prefixes"]?.type,
      );
      const actions: string[] = [];
      const lp = s["set-local-preference"] ?? -1;
      if (lp >= 0) actions.push(`SetLocalPreference: ${lp}`);
      if (s["add-communities"]?.length) actions.push(`AddCommunities: [${s["add-communities"].join(" ")}]`);
      if (s["add-large-communities"]?.length) actions.push(`AddLargeCommunities: [${s["add-large-communities"].join(" ")}]`);
      t += `${peers}\t${families}\t${prefixes}\t${s["route-action"] ?? ""}\t${items(actions)}\n`;
    });
    if (statements.length === 0) t += "\n";
  }
  return tabwrite(t);
}

// ---- argument handling of `bgp routes` (cilium-cli's defaultGetRoutesArgs / validateGetRoutesArgs) ----

export interface RouteArgs {
  table: "available" | "advertised";
  afi: string;
  safi: string;
  vrouter?: number;
  peer?: string;
}

/** Fills missing arguments as cilium-cli does; returns the notes it prints (non-JSON output only). */
export function defaultRouteArgs(args: readonly string[]): { args: string[]; note: string | null } {
  if (args.length < 1) return { args: ["available", "ipv4", "unicast"], note: "(Defaulting to `available ipv4 unicast` routes, please see help for more options)" };
  if (args.length < 2) return { args: [args[0], "ipv4", "unicast"], note: "(Defaulting to `ipv4 unicast` AFI & SAFI, please see help for more options)" };
  if (args.length < 3) return { args: [args[0], args[1], "unicast"], note: "(Defaulting to `unicast` SAFI, please see help for more options)" };
  return { args: [...args], note: null };
}

/** Go's strconv.ParseInt(s, 10, 64) error text, or null when it parses. */
function parseIntError(s: string): string | null {
  if (!/^[+-]?[0-9]+$/.test(s)) return `strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`;
  const v = BigInt(s);
  if (v > 9223372036854775807n || v < -9223372036854775808n) return `strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`;
  return null;
}

/** Go's netip.ParseAddr: null when valid, else its error (the common wording). */
function parseAddrError(s: string): string | null {
  if (s.length === 0) return `ParseAddr(""): unable to parse IP`;
  if (/^[0-9.]+$/.test(s)) {
    const parts = s.split(".");
    if (parts.length !== 4 || parts.some((p) => p === "")) return `ParseAddr(${JSON.stringify(s)}): IPv4 address too short`;
    if (parts.some((p) => Number(p) > 255)) return `ParseAddr(${JSON.stringify(s)}): IPv4 field has value >255`;
    if (parts.some((p) => p.length > 1 && p.startsWith("0"))) return `ParseAddr(${JSON.stringify(s)}): IPv4 field has octet with leading zero`;
    return null;
  }
  return s.includes(":") && canonicalIP(s) !== null ? null : `ParseAddr(${JSON.stringify(s)}): unable to parse IP`;
}

/** Validates defaulted arguments; throws Error with cilium-cli's exact message. */
export function validateRouteArgs(args: readonly string[]): RouteArgs {
  if (args.length < 1) throw new Error("missing argument `available` / `advertised`");
  if (args[0] !== "available" && args[0] !== "advertised") throw new Error(`invalid argument: \`${args[0]}\`, expected \`available\` / \`advertised\``);
  if (args.length < 2) throw new Error("missing AFI value (e.g. `ipv4`)");
  if (!(AFIS as readonly string[]).includes(args[1])) throw new Error(`unknown AFI \`${args[1]}\``);
  if (args.length < 3) throw new Error("missing SAFI value (e.g. `unicast`)");
  if (!(SAFIS as readonly string[]).includes(args[2])) throw new Error(`unknown SAFI \`${args[2]}\``);
  if (args.length > 3 && args[3] !== "vrouter" && args[3] !== "peer" && args[3] !== "neighbor") {
    throw new Error(`invalid argument: \`${args[3]}\`, expected \`vrouter\` / \`peer\``);
  }
  const out: RouteArgs = { table: args[0], afi: args[1], safi: args[2] };
  let rest = args.slice(3);
  if (rest.length > 0 && rest[0] === "vrouter") {
    if (rest.length < 2) throw new Error("missing vrouter ASN value");
    const err = parseIntError(rest[1]);
    if (err) throw new Error(`invalid vrouter ASN: ${err}`);
    out.vrouter = Number(rest[1]);
    rest = rest.slice(2);
  }
  if (args[0] === "advertised" && rest.length > 0) {
    if (rest[0] !== "peer" && rest[0] !== "neighbor") throw new Error("missing `peer` argument");
    if (rest.length < 2) throw new Error("missing peer IP address");
    const err = parseAddrError(rest[1]);
    if (err) throw new Error(`invalid peer IP address: ${err}`);
    out.peer = rest[1];
  }
  return out;
}
