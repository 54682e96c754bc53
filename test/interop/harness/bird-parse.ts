/**
 * Parsers for birdc text output (BIRD 2.0.x): `show protocols all` and
 * `show route … all`. Pure functions, so they can be tested on captured text.
 */
import type { Family, Origin, PeerCapabilities, Route, SessionState } from "./types.ts";

const BIRD_STATES: Record<string, SessionState> = {
  idle: "idle",
  connect: "connect",
  active: "active",
  opensent: "opensent",
  openconfirm: "openconfirm",
  established: "established",
};

/** BIRD's BGP state word → SessionState ("Down", "Close" and unknown → "idle"). */
export function birdState(word: string): SessionState {
  return BIRD_STATES[word.trim().split(/\s+/)[0].toLowerCase()] ?? "idle";
}

/** One protocol block of `show protocols all`. */
export interface BirdProtocol {
  name: string;
  proto: string;
  /** up, down, start, … */
  protoState: string;
  /** The Info column (e.g. "Established", "Active        Socket: Connection refused"). */
  info: string;
  /** Indented "Key: value" lines, by key (first occurrence). */
  fields: Map<string, string>;
  /** Lines of the "Neighbor capabilities" section, trimmed. */
  neighborCaps: string[] | undefined;
  /** Imported routes per channel ("ipv4" → 12). */
  imported: Map<string, number>;
  raw: string;
}

/** Splits `show protocols all` output into blocks. */
export function parseBirdProtocols(text: string): BirdProtocol[] {
  const lines = text.split("\n").filter((l) => !/^BIRD [\d.]+ ready\.$/.test(l) && !/^Name\s+Proto\s+Table/.test(l));
  const out: BirdProtocol[] = [];
  let cur: BirdProtocol | undefined;
  let rawLines: string[] = [];
  let section: "none" | "neighborCaps" | "localCaps" = "none";
  let capsIndent = 0;
  let channel: string | undefined;
  const finish = () => {
    if (cur) {
      cur.raw = rawLines.join("\n");
      out.push(cur);
    }
  };
  for (const line of lines) {
    if (line.trim() === "") continue;
    if (!/^\s/.test(line)) {
      finish();
      rawLines = [line];
      section = "none";
      channel = undefined;
      // Columns are padded with 2+ spaces; "Since" may contain one space.
      const cols = line.trim().split(/\s{2,}/);
      cur = {
        name: cols[0],
        proto: cols[1] ?? "",
        protoState: cols[3] ?? "",
        info: cols.slice(5).join("  "),
        fields: new Map(),
        neighborCaps: undefined,
        imported: new Map(),
        raw: "",
      };
      continue;
    }
    if (!cur) continue;
    rawLines.push(line);
    const indent = line.length - line.trimStart().length;
    const trimmed = line.trim();
    if (section !== "none" && indent > capsIndent) {
      if (section === "neighborCaps") cur.neighborCaps!.push(trimmed);
      continue;
    }
    section = "none";
    if (trimmed === "Neighbor capabilities") {
      section = "neighborCaps";
      capsIndent = indent;
      cur.neighborCaps = [];
      continue;
    }
    if (trimmed === "Local capabilities") {
      section = "localCaps";
      capsIndent = indent;
      continue;
    }
    const ch = /^Channel (\S+)$/.exec(trimmed);
    if (ch) {
      channel = ch[1];
      continue;
    }
    const kv = /^([^:]+):\s*(.*)$/.exec(trimmed);
    if (!kv) continue;
    const [, key, value] = kv;
    if (channel && key === "Routes") {
      const n = /(\d+) imported/.exec(value);
      if (n) cur.imported.set(channel, Number(n[1]));
      continue;
    }
    const k = channel ? `${channel}.${key}` : key;
    if (!cur.fields.has(k)) cur.fields.set(k, value);
  }
  finish();
  return out;
}

const BIRD_FAMILY: Record<string, Family> = { ipv4: "ipv4-unicast", ipv6: "ipv6-unicast" };

function birdFamilies(list: string | undefined): Family[] {
  return (list ?? "").split(/\s+/).map((w) => BIRD_FAMILY[w]).filter((f): f is Family => f !== undefined);
}

/** The "Neighbor capabilities" lines → PeerCapabilities. */
export function parseBirdCapabilities(lines: string[]): PeerCapabilities {
  const caps: PeerCapabilities = {
    multiprotocol: [],
    routeRefresh: false,
    enhancedRouteRefresh: false,
    fourOctetAs: false,
    extendedNextHop: false,
    longLivedGracefulRestart: false,
  };
  let inGr = false;
  for (const line of lines) {
    const [key, value] = line.includes(":") ? [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()] : [line, ""];
    switch (key) {
      case "AF announced":
        if (!inGr) caps.multiprotocol = birdFamilies(value);
        continue;
      case "Route refresh":
        caps.routeRefresh = true;
        break;
      case "Enhanced refresh":
        caps.enhancedRouteRefresh = true;
        break;
      case "4-octet AS numbers":
        caps.fourOctetAs = true;
        break;
      case "Extended next hop":
        caps.extendedNextHop = true;
        break;
      case "Long-lived graceful restart":
        caps.longLivedGracefulRestart = true;
        break;
      case "Graceful restart":
        caps.gracefulRestart = { restartTime: 0, restarting: false, families: [], preserved: [] };
        inGr = true;
        continue;
      case "Restart time":
        if (inGr && caps.gracefulRestart) caps.gracefulRestart.restartTime = Number(value);
        continue;
      case "Restart recovery":
        if (inGr && caps.gracefulRestart) caps.gracefulRestart.restarting = true;
        continue;
      case "AF supported":
        if (inGr && caps.gracefulRestart) caps.gracefulRestart.families = birdFamilies(value);
        continue;
      case "AF preserved":
        if (inGr && caps.gracefulRestart) caps.gracefulRestart.preserved = birdFamilies(value);
        continue;
      default:
        // "IPv6 nexthop: ipv4", "Hostname: …", add-path lines belong to the block above.
        continue;
    }
    inGr = false;
  }
  return caps;
}

const ORIGINS: Record<string, Origin> = { IGP: "igp", EGP: "egp", Incomplete: "incomplete" };

/** "(65000,1) (65000,2)" → ["65000:1", "65000:2"]; "(1, 2, 3)" → ["1:2:3"]. */
function birdCommunityList(value: string): string[] {
  return [...value.matchAll(/\(([^)]*)\)/g)].map((m) => m[1].split(",").map((s) => s.trim()).join(":"));
}

/** "65001 {65002 65003} 65004" → [65001, 65002, 65003, 65004]. */
function birdAsPath(value: string): number[] {
  return value.split(/[\s{}]+/).filter((w) => /^\d+$/.test(w)).map(Number);
}

/**
 * Parses `show route … all`. `peerOf` maps a BGP protocol name to the
 * neighbour address; routes of other protocols (static, direct) are skipped.
 */
export function parseBirdRoutes(text: string, peerOf: (protocol: string) => string | undefined): Route[] {
  const routes: Route[] = [];
  let prefix = "";
  let family: Family = "ipv4-unicast";
  let cur: Route | undefined;
  let lastAttr = "";
  const push = () => {
    if (cur) routes.push(cur);
    cur = undefined;
  };
  for (const line of text.split("\n")) {
    if (line.startsWith("Table ")) {
      push();
      family = /master6|6\b/.test(line) ? "ipv6-unicast" : "ipv4-unicast";
      continue;
    }
    // A route line: "PREFIX  unicast [proto time] * (100) [AS65002i]" or, for
    // another route to the same prefix, the same without PREFIX.
    const routeLine = /^(\S+)?\s+(unicast|unreachable|blackhole|prohibited|multipath)\s+\[(\S+)[\s\]]/.exec(line);
    if (routeLine && !line.startsWith("\t")) {
      push();
      if (routeLine[1]) prefix = routeLine[1];
      const peer = peerOf(routeLine[3]);
      if (peer === undefined) continue;
      cur = {
        prefix,
        family: prefix.includes(":") ? "ipv6-unicast" : family,
        peer,
        nextHop: "",
        asPath: [],
        origin: "igp",
        communities: [],
        largeCommunities: [],
      };
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    // Long attribute values wrap onto lines indented with two tabs.
    if (line.startsWith("\t\t") && lastAttr) {
      if (lastAttr === "BGP.community") cur.communities.push(...birdCommunityList(t));
      else if (lastAttr === "BGP.large_community") cur.largeCommunities.push(...birdCommunityList(t));
      else if (lastAttr === "BGP.as_path") cur.asPath.push(...birdAsPath(t));
      continue;
    }
    const kv = /^(BGP\.\w+):\s*(.*)$/.exec(t);
    if (!kv) {
      lastAttr = "";
      continue;
    }
    const [, key, value] = kv;
    lastAttr = key;
    switch (key) {
      case "BGP.origin":
        cur.origin = ORIGINS[value] ?? "incomplete";
        break;
      case "BGP.as_path":
        cur.asPath = birdAsPath(value);
        break;
      case "BGP.next_hop":
        // IPv6: "global [link-local]"; the global one is the next hop.
        cur.nextHop = value.split(/\s+/)[0];
        break;
      case "BGP.med":
        cur.med = Number(value);
        break;
      case "BGP.local_pref":
        cur.localPref = Number(value);
        break;
      case "BGP.community":
        cur.communities = birdCommunityList(value);
        break;
      case "BGP.large_community":
        cur.largeCommunities = birdCommunityList(value);
        break;
    }
  }
  push();
  return routes;
}
