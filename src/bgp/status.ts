/**
 * Snapshots for the API and CLI: one `PeerStatus` per peer (everything
 * Cilium's BgpPeer carries, spec cli §5, plus a little more) and
 * `RouteEntry` for Adj-RIB-Out, loc-rib and Adj-RIB-In listings with each
 * path's attributes in wire form.
 */
import { afiName, type FamilyCode, familyAfi, familySafi, formatFamily, safiName } from "./families.ts";
import type { Reason, State } from "./fsm.ts";
import type { MessageCounters, Session } from "./session.ts";
import { formatRouterId } from "./wire/open.ts";

export interface FamilyStatus {
  /** "ipv4/unicast" */
  family: string;
  afi: string;
  safi: string;
  /** Prefixes in the Adj-RIB-In. */
  received: number;
  /** Prefixes installed: always 0, herald never imports (spec A4). */
  accepted: number;
  /** Prefixes in the Adj-RIB-Out while the family is up. */
  advertised: number;
}

export interface GracefulRestartStatus {
  enabled: boolean;
  restartTimeSeconds: number;
  /** What the peer announced, once an OPEN arrived. */
  remote?: { restartTimeSeconds: number; restarting: boolean; notification: boolean; families: Array<{ family: string; forwarding: boolean }> };
}

export interface PeerStatus {
  instance: string;
  name: string;
  localAsn: number;
  /** Configured AS, or the AS learned from the OPEN when configured 0. */
  peerAsn: number;
  configuredPeerAsn: number;
  peerAddress: string;
  peerPort: number;
  localAddress?: string;
  localPort?: number;
  state: State;
  /** Established since (clock ms); absent otherwise. */
  establishedAt?: number;
  uptimeMs?: number;
  routerId: string;
  remoteRouterId?: string;
  /** Configured families with counts. */
  families: FamilyStatus[];
  negotiatedFamilies: string[];
  /** Applied (negotiated) timers, while a session exists. */
  appliedHoldTimeSeconds?: number;
  appliedKeepaliveSeconds?: number;
  timers: { connectRetrySeconds: number; holdTimeSeconds: number; keepaliveSeconds: number };
  /** 1 when multihop is off (Cilium's ebgp-multihop-ttl). */
  ebgpMultihopTtl: number;
  passive: boolean;
  gracefulRestart: GracefulRestartStatus;
  /** Capability TLVs (code, length, value) as sent and as received. */
  localCapabilities: Uint8Array[];
  remoteCapabilities: Uint8Array[];
  tcpPasswordEnabled: boolean;
  lastError?: { reason: Reason | "transport-unsupported"; message: string; at: number };
  messages: { sent: MessageCounters; received: MessageCounters };
  /** UPDATEs that RFC 7606 handling touched (withdrawn or attribute dropped). */
  malformedUpdates: number;
}

export function familyStatus(f: FamilyCode, received: number, advertised: number): FamilyStatus {
  return { family: formatFamily(f), afi: afiName(familyAfi(f)), safi: safiName(familySafi(f)), received, accepted: 0, advertised };
}

export function peerStatus(instance: string, localAsn: number, routerId: number, s: Session, now: number): PeerStatus {
  const cfg = s.config;
  const neg = s.negotiated;
  const up = s.state === "established";
  const conn = s.connection;
  const out: PeerStatus = {
    instance,
    name: cfg.name,
    localAsn,
    peerAsn: cfg.asn !== 0 ? cfg.asn : neg?.peerAsn ?? 0,
    configuredPeerAsn: cfg.asn,
    peerAddress: cfg.address,
    peerPort: conn?.remotePort || cfg.port,
    state: s.state,
    routerId: formatRouterId(routerId),
    families: cfg.families.map((f) => familyStatus(f, up ? s.ribIn.count(f) : 0, up && s.ribOut.isActive(f) ? s.ribOut.routes(f).size : 0)),
    negotiatedFamilies: up && neg ? neg.families.map(formatFamily) : [],
    timers: { connectRetrySeconds: cfg.connectRetrySeconds, holdTimeSeconds: cfg.holdTimeSeconds, keepaliveSeconds: cfg.keepaliveSeconds },
    ebgpMultihopTtl: cfg.ebgpMultihop,
    passive: cfg.passive,
    gracefulRestart: { enabled: cfg.gracefulRestart.enabled, restartTimeSeconds: cfg.gracefulRestart.restartTimeSeconds },
    localCapabilities: s.localCapabilities,
    remoteCapabilities: neg && s.state !== "idle" ? neg.remote.raw : [],
    tcpPasswordEnabled: cfg.md5Password !== undefined,
    messages: { sent: s.counters.sent, received: s.counters.received },
    malformedUpdates: s.counters.malformedUpdates,
  };
  if (conn) {
    out.localAddress = conn.localAddress;
    out.localPort = conn.localPort;
  } else if (cfg.localAddress) out.localAddress = cfg.localAddress;
  if (up && s.establishedAt !== null) {
    out.establishedAt = s.establishedAt;
    out.uptimeMs = Math.max(0, now - s.establishedAt);
  }
  if (neg && (s.state === "openconfirm" || up)) {
    out.remoteRouterId = formatRouterId(neg.remoteId);
    out.appliedHoldTimeSeconds = neg.holdTime;
    out.appliedKeepaliveSeconds = neg.keepalive;
    const gr = neg.gracefulRestart;
    if (gr) {
      out.gracefulRestart.remote = {
        restartTimeSeconds: gr.time,
        restarting: gr.restarting,
        notification: gr.notification,
        families: gr.families.map((f) => ({ family: formatFamily(f.family), forwarding: f.forwarding })),
      };
    }
  }
  if (s.lastError) out.lastError = { ...s.lastError };
  return out;
}

export interface RouteEntry {
  /** "10.0.0.0/24" */
  prefix: string;
  /** "ipv4/unicast" */
  family: string;
  /** Wire NLRI: length byte and prefix bytes. */
  nlri: Uint8Array;
  /** Each path attribute in wire form (flags, type, length, value). */
  attributes: Uint8Array[];
  /** Next hop as the CLI's NextHop column shows it. */
  nextHop: string;
  ageMs: number;
  best: boolean;
  stale: boolean;
}
