/**
 * Parsers for FRR bgpd's vtysh JSON (8.x): `show bgp neighbors json` and
 * `show bgp <afi> unicast json detail` (the table view without `detail`
 * omits communities).
 */
import type { Family, Origin, PeerCapabilities, PeerStatus, Route, SessionState } from "./types.ts";

const FRR_STATES: Record<string, SessionState> = {
  Idle: "idle",
  Connect: "connect",
  Active: "active",
  OpenSent: "opensent",
  OpenConfirm: "openconfirm",
  Established: "established",
};

/** FRR bgpState → SessionState ("Clearing", "Deleted" → "idle"). */
export function frrState(word: string | undefined): SessionState {
  return FRR_STATES[word ?? ""] ?? "idle";
}

const FRR_FAMILY: Record<string, Family> = { ipv4Unicast: "ipv4-unicast", ipv6Unicast: "ipv6-unicast" };

/** "received" or "advertisedAndReceived…": the neighbour sent it. */
const peerSent = (v: unknown): boolean => typeof v === "string" && /received/i.test(v);

export interface FrrNeighbor {
  remoteAs?: number;
  remoteRouterId?: string;
  bgpState?: string;
  bgpTimerHoldTimeMsecs?: number;
  neighborCapabilities?: Record<string, unknown>;
  gracefulRestartInfo?: { rBit?: boolean; timers?: { receivedRestartTimer?: number } };
  addressFamilyInfo?: Record<string, { acceptedPrefixCounter?: number }>;
  lastResetDueTo?: string;
  lastNotificationReason?: string;
  connectionsDropped?: number;
}

/** neighborCapabilities → PeerCapabilities (only what the neighbour sent). */
export function parseFrrCapabilities(n: FrrNeighbor): PeerCapabilities | undefined {
  const c = n.neighborCapabilities;
  if (!c) return undefined;
  const mp = (c.multiprotocolExtensions ?? {}) as Record<string, Record<string, boolean>>;
  const caps: PeerCapabilities = {
    multiprotocol: Object.entries(mp)
      .filter(([, v]) => v.received || v.advertisedAndReceived)
      .map(([k]) => FRR_FAMILY[k])
      .filter((f): f is Family => f !== undefined),
    routeRefresh: peerSent(c.routeRefresh),
    enhancedRouteRefresh: peerSent(c.enhancedRouteRefresh),
    fourOctetAs: peerSent(c["4byteAs"]),
    extendedNextHop: peerSent(c.extendedNexthop),
    longLivedGracefulRestart: peerSent(c.longLivedGracefulRestart),
  };
  if (peerSent(c.gracefulRestart)) {
    const byPeer = (c.addressFamiliesByPeer ?? {}) as Record<string, Record<string, unknown>>;
    const families = Object.keys(byPeer).map((k) => FRR_FAMILY[k]).filter((f): f is Family => f !== undefined);
    caps.gracefulRestart = {
      restartTime: Math.round(Number(c.gracefulRestartRemoteTimerMsecs ?? 0) / 1000),
      restarting: n.gracefulRestartInfo?.rBit ?? false,
      families,
      // FRR marks families whose F bit was set as "preserved" in addressFamiliesByPeer.
      preserved: Object.entries(byPeer)
        .filter(([, v]) => JSON.stringify(v).toLowerCase().includes('"preserved"'))
        .map(([k]) => FRR_FAMILY[k])
        .filter((f): f is Family => f !== undefined),
    };
  }
  return caps;
}

/** One `show bgp neighbors json` entry → PeerStatus. */
export function frrPeerStatus(address: string, n: FrrNeighbor): PeerStatus {
  const state = frrState(n.bgpState);
  // lastResetDueTo is set at configuration time too ("No AFI/SAFI activated
  // for peer"): report it only once a session dropped or a NOTIFICATION came.
  let lastError: string | undefined;
  if (n.lastNotificationReason) lastError = `${n.lastResetDueTo ?? "Notification"}: ${n.lastNotificationReason}`;
  else if ((n.connectionsDropped ?? 0) > 0) lastError = n.lastResetDueTo;
  return {
    address,
    state,
    remoteAs: n.remoteAs,
    remoteRouterId: n.remoteRouterId && n.remoteRouterId !== "0.0.0.0" ? n.remoteRouterId : undefined,
    holdTime: state === "established" && n.bgpTimerHoldTimeMsecs !== undefined ? Math.round(n.bgpTimerHoldTimeMsecs / 1000) : undefined,
    capabilities: state === "established" ? parseFrrCapabilities(n) : undefined,
    lastError,
    receivedRoutes: Object.values(n.addressFamilyInfo ?? {}).reduce((s, a) => s + (a.acceptedPrefixCounter ?? 0), 0),
    raw: JSON.stringify(n),
  };
}

interface FrrPath {
  aspath?: { segments?: { list?: number[] }[] };
  origin?: string;
  metric?: number;
  locPrf?: number;
  community?: { list?: string[] };
  largeCommunity?: { list?: string[] };
  nexthops?: { ip?: string; scope?: string }[];
  peer?: { peerId?: string };
}

const ORIGINS: Record<string, Origin> = { IGP: "igp", EGP: "egp", incomplete: "incomplete", "?": "incomplete" };

/**
 * `show bgp <afi> unicast json detail` → routes learnt from neighbours.
 * Each prefix maps to an array whose first element describes the prefix
 * (advertisedTo) and the rest are paths; local paths have no peer address.
 */
export function parseFrrRoutes(json: { routes?: Record<string, unknown[]> }, family: Family): Route[] {
  const out: Route[] = [];
  for (const [prefix, entries] of Object.entries(json.routes ?? {})) {
    for (const e of entries as FrrPath[]) {
      const peer = e.peer?.peerId;
      if (!peer || peer === "0.0.0.0" || peer === "::" || !("origin" in e)) continue;
      const r: Route = {
        prefix,
        family,
        peer,
        nextHop: e.nexthops?.find((h) => h.scope !== "link-local")?.ip ?? e.nexthops?.[0]?.ip ?? "",
        asPath: (e.aspath?.segments ?? []).flatMap((s) => s.list ?? []),
        origin: ORIGINS[e.origin ?? ""] ?? "incomplete",
        communities: e.community?.list ?? [],
        largeCommunities: e.largeCommunity?.list ?? [],
      };
      if (e.metric !== undefined) r.med = e.metric;
      if (e.locPrf !== undefined) r.localPref = e.locPrf;
      out.push(r);
    }
  }
  return out;
}
