/**
 * Parsers for `gobgp … -j` output (GoBGP 3.x): neighbours, capabilities (which
 * the CLI prints as protobuf `Any` values in base64) and RIB paths.
 */
import type { Family, Origin, PeerCapabilities, Route, SessionState } from "./types.ts";

// ---- a minimal protobuf reader: enough for GoBGP's capability messages ----

type Field = { no: number; varint?: number; bytes?: Uint8Array };

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error("Cannot decode protobuf: truncated varint");
    const b = buf[pos++];
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, pos];
    mul *= 128;
  }
}

/** Decodes one message level into fields (wire types 0 and 2; others are skipped). */
export function protobufFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let key: number;
    [key, pos] = readVarint(buf, pos);
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      let v: number;
      [v, pos] = readVarint(buf, pos);
      fields.push({ no, varint: v });
    } else if (wire === 2) {
      let len: number;
      [len, pos] = readVarint(buf, pos);
      fields.push({ no, bytes: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 1) {
      pos += 8;
    } else {
      throw new Error(`Cannot decode protobuf: wire type ${wire}`);
    }
  }
  return fields;
}

const num = (fields: Field[], no: number): number => fields.find((f) => f.no === no)?.varint ?? 0;
const msgs = (fields: Field[], no: number): Field[][] => fields.filter((f) => f.no === no && f.bytes).map((f) => protobufFields(f.bytes!));

/** apipb.Family {afi = 1, safi = 2} → Family (unicast only; others undefined). */
function pbFamily(fields: Field[] | undefined): Family | undefined {
  if (!fields) return undefined;
  const afi = num(fields, 1);
  const safi = num(fields, 2);
  if (safi !== 1) return undefined;
  return afi === 1 ? "ipv4-unicast" : afi === 2 ? "ipv6-unicast" : undefined;
}

function base64Bytes(text: string | undefined): Uint8Array {
  return text ? Uint8Array.from(atob(text), (c) => c.charCodeAt(0)) : new Uint8Array(0);
}

export interface GobgpAny {
  type_url: string;
  value?: string;
}

/** GoBGP's `remote_cap` list → PeerCapabilities. */
export function parseGobgpCapabilities(caps: GobgpAny[]): PeerCapabilities {
  const out: PeerCapabilities = {
    multiprotocol: [],
    routeRefresh: false,
    enhancedRouteRefresh: false,
    fourOctetAs: false,
    extendedNextHop: false,
    longLivedGracefulRestart: false,
  };
  for (const cap of caps) {
    const type = cap.type_url.replace(/^.*\./, "");
    const fields = protobufFields(base64Bytes(cap.value));
    switch (type) {
      case "MultiProtocolCapability": {
        const f = pbFamily(msgs(fields, 1)[0]);
        if (f && !out.multiprotocol.includes(f)) out.multiprotocol.push(f);
        break;
      }
      case "RouteRefreshCapability":
        out.routeRefresh = true;
        break;
      case "EnhancedRouteRefreshCapability":
        out.enhancedRouteRefresh = true;
        break;
      case "FourOctetASNCapability":
        out.fourOctetAs = true;
        break;
      case "ExtendedNexthopCapability":
        out.extendedNextHop = true;
        break;
      case "LongLivedGracefulRestartCapability":
        out.longLivedGracefulRestart = true;
        break;
      case "GracefulRestartCapability": {
        // flags: 0x08 restart state (R), 0x04 notification (N); tuple flags 0x80: forwarding preserved (F).
        const tuples = msgs(fields, 3);
        out.gracefulRestart = {
          restartTime: num(fields, 2),
          restarting: (num(fields, 1) & 0x08) !== 0,
          families: tuples.map((t) => pbFamily(msgs(t, 1)[0])).filter((f): f is Family => f !== undefined),
          preserved: tuples.filter((t) => (num(t, 2) & 0x80) !== 0).map((t) => pbFamily(msgs(t, 1)[0])).filter((f): f is Family => f !== undefined),
        };
        break;
      }
    }
  }
  return out;
}

/** apipb.PeerState.SessionState numbers. */
const SESSION_STATES: Record<number, SessionState> = { 1: "idle", 2: "connect", 3: "active", 4: "opensent", 5: "openconfirm", 6: "established" };

export function gobgpState(n: number | undefined): SessionState {
  return SESSION_STATES[n ?? 0] ?? "idle";
}

export interface GobgpNeighbor {
  conf?: { neighbor_address?: string; peer_asn?: number };
  state?: {
    neighbor_address?: string;
    peer_asn?: number;
    session_state?: number;
    router_id?: string;
    remote_cap?: GobgpAny[];
  };
  timers?: { state?: { negotiated_hold_time?: number } };
  afi_safis?: { state?: { family?: { afi?: number; safi?: number }; received?: number; accepted?: number } }[];
}

// ---- RIB paths ----

interface GobgpAttr {
  type: number;
  value?: unknown;
  as_paths?: { segment_type: number; asns?: number[] }[];
  nexthop?: string;
  metric?: number;
  communities?: number[];
  mp_reach?: unknown;
  nexthops?: string[];
}

export interface GobgpPath {
  nlri?: { prefix?: string };
  attrs?: GobgpAttr[];
  "neighbor-ip"?: string;
  best?: boolean;
}

const ORIGINS: Origin[] = ["igp", "egp", "incomplete"];

/** One JSON path → Route (peer as GoBGP reports it). */
export function gobgpRoute(prefix: string, path: GobgpPath): Route {
  const r: Route = {
    prefix,
    family: prefix.includes(":") ? "ipv6-unicast" : "ipv4-unicast",
    peer: path["neighbor-ip"] ?? "",
    nextHop: "",
    asPath: [],
    origin: "igp",
    communities: [],
    largeCommunities: [],
  };
  for (const a of path.attrs ?? []) {
    switch (a.type) {
      case 1:
        r.origin = ORIGINS[Number(a.value)] ?? "incomplete";
        break;
      case 2:
        r.asPath = (a.as_paths ?? []).flatMap((s) => s.asns ?? []);
        break;
      case 3:
        r.nextHop = a.nexthop ?? "";
        break;
      case 4:
        r.med = a.metric ?? 0;
        break;
      case 5:
        r.localPref = Number(a.value ?? 0);
        break;
      case 8:
        r.communities = (a.communities ?? []).map((c) => `${Math.floor(c / 65536)}:${c % 65536}`);
        break;
      case 14:
        // MP_REACH_NLRI: the (first) next hop is the global one.
        if (!r.nextHop) r.nextHop = a.nexthop ?? a.nexthops?.[0] ?? "";
        break;
      case 32:
        r.largeCommunities = ((a.value ?? []) as { ASN: number; LocalData1: number; LocalData2: number }[])
          .map((l) => `${l.ASN}:${l.LocalData1}:${l.LocalData2}`);
        break;
    }
  }
  return r;
}

/** NOTIFICATION names (RFC 4271 section 4.5, RFC 4486, RFC 5492, RFC 8538) for messages. */
const NOTIFICATION_CODES: Record<number, [string, Record<number, string>]> = {
  1: ["message header error", { 1: "connection not synchronized", 2: "bad message length", 3: "bad message type" }],
  2: ["OPEN message error", {
    1: "unsupported version number",
    2: "bad peer AS",
    3: "bad BGP identifier",
    4: "unsupported optional parameter",
    6: "unacceptable hold time",
    7: "unsupported capability",
  }],
  3: ["UPDATE message error", {
    1: "malformed attribute list",
    2: "unrecognized well-known attribute",
    3: "missing well-known attribute",
    4: "attribute flags error",
    5: "attribute length error",
    6: "invalid ORIGIN attribute",
    8: "invalid NEXT_HOP attribute",
    9: "optional attribute error",
    10: "invalid network field",
    11: "malformed AS_PATH",
  }],
  4: ["hold timer expired", {}],
  5: ["finite state machine error", {}],
  6: ["cease", {
    1: "maximum number of prefixes reached",
    2: "administrative shutdown",
    3: "peer de-configured",
    4: "administrative reset",
    5: "connection rejected",
    6: "other configuration change",
    7: "connection collision resolution",
    8: "out of resources",
    9: "hard reset",
  }],
};

/** "open message error / bad peer AS (2/2)". */
export function notificationText(code: number, subcode: number): string {
  const [name, subs] = NOTIFICATION_CODES[code] ?? [`code ${code}`, {}];
  const sub = subcode === 0 ? "" : ` / ${subs[subcode] ?? `subcode ${subcode}`}`;
  return `${name}${sub} (${code}/${subcode})`;
}

/** Down reasons that a more precise log line (notification, hold timer) already explained. */
const EXPLAINED = new Set(["notification-sent", "notification-received", "hold-timer-expired", "graceful-restart", "dying"]);

/**
 * Reads one line of gobgpd's JSON log; returns [neighbour, error text] when
 * it tells why a session went (or is going) down:
 * "received notification: OPEN message error / bad peer AS (2/2)",
 * "sent notification: hold timer expired (4/0)", "sent notification: as
 * number mismatch expected 65009, received 65001" (OPEN errors come with
 * text only), or a "Peer Down" reason.
 */
export function gobgpLogError(line: string): [string, string] | undefined {
  if (!line.startsWith("{")) return undefined;
  let e: { msg?: string; Key?: string; Reason?: string; Code?: number; Subcode?: number; Data?: unknown };
  try {
    e = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!e.Key) return undefined;
  switch (e.msg) {
    case "received notification":
    case "sent notification":
      // OPEN errors are logged with only a Data text ("as number mismatch expected 65009, received 65001").
      if (e.Code === undefined) return [e.Key, `${e.msg}: ${typeof e.Data === "string" ? e.Data : "unknown error"}`];
      return [e.Key, `${e.msg}: ${notificationText(e.Code, e.Subcode ?? 0)}`];
    case "Peer Down":
      return e.Reason && !EXPLAINED.has(e.Reason) ? [e.Key, e.Reason] : undefined;
  }
  return undefined;
}
