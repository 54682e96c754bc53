/**
 * What a session offers in its OPEN and what both sides end up with:
 * capability choice, checks of the peer's OPEN against configuration
 * (peer AS, BGP identifier), and negotiation of hold time, keepalive,
 * families, 4-octet AS, extended messages, extended next hop and graceful
 * restart. Pure functions.
 */
import { Afi, type FamilyCode, IPV4_UNICAST } from "./families.ts";
import type { PeerConfig } from "./peer-config.ts";
import {
  type Capabilities,
  encodeLocalCapabilities,
  type ExtendedNextHopEntry,
  type GracefulRestartCapability,
} from "./wire/capabilities.ts";
import { ErrorCode, NotificationError, OpenSubcode } from "./wire/errors.ts";
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from "./wire/header.ts";
import { formatRouterId, type OpenMessage, openAsn } from "./wire/open.ts";

export interface LocalSide {
  asn: number;
  routerId: number;
  /** The instance was started after a restart: set the R bit (RFC 4724 §3). */
  restarting: boolean;
}

/** Extended next hop is offered for IPv4 unicast on IPv6 sessions (RFC 8950, spec D12). */
export function localExtendedNextHop(cfg: PeerConfig): ExtendedNextHopEntry[] {
  return cfg.address.includes(":") && cfg.families.includes(IPV4_UNICAST) ? [{ family: IPV4_UNICAST, nextHopAfi: Afi.IPv6 }] : [];
}

export function localGracefulRestart(cfg: PeerConfig, local: LocalSide): GracefulRestartCapability | undefined {
  if (!cfg.gracefulRestart.enabled) return undefined;
  // Spec D10: restart time, N bit (RFC 8538), R bit after a restart, and every
  // configured family; the datapath keeps forwarding across an agent restart,
  // so F is set exactly when restarting.
  return {
    restarting: local.restarting,
    notification: true,
    time: cfg.gracefulRestart.restartTimeSeconds,
    families: cfg.families.map((family) => ({ family, forwarding: local.restarting })),
  };
}

/** The capability TLVs of this peer's OPEN. */
export function localCapabilities(cfg: PeerConfig, local: LocalSide): Uint8Array[] {
  return encodeLocalCapabilities({
    asn: local.asn,
    families: cfg.families,
    extendedMessage: cfg.extendedMessage,
    extendedNextHop: localExtendedNextHop(cfg),
    gracefulRestart: localGracefulRestart(cfg, local),
  });
}

/**
 * Checks the peer's OPEN against configuration; returns the NOTIFICATION to
 * send, or null. The message text is what operators grep for.
 */
export function checkOpen(open: OpenMessage, cfg: PeerConfig, local: LocalSide): NotificationError | null {
  const asn = openAsn(open);
  // RFC 7607 §2: AS 0 in the OPEN (either field) is Bad Peer AS, also when the AS is learned.
  if (asn === 0 || open.asn === 0) {
    return new NotificationError(ErrorCode.Open, OpenSubcode.BadPeerAs, new Uint8Array(0), `peer AS 0 (my AS ${open.asn}, 4-octet AS ${open.capabilities.as4 ?? "absent"})`);
  }
  if (cfg.asn !== 0 && asn !== cfg.asn) {
    return new NotificationError(ErrorCode.Open, OpenSubcode.BadPeerAs, new Uint8Array(0), `as number mismatch expected ${cfg.asn}, received ${asn}`);
  }
  // RFC 6286 §2.2: identical identifiers are only an error inside one AS.
  if (open.routerId === local.routerId && asn === local.asn) {
    return new NotificationError(
      ErrorCode.Open,
      OpenSubcode.BadBgpIdentifier,
      Uint8Array.of(open.routerId >>> 24, (open.routerId >>> 16) & 255, (open.routerId >>> 8) & 255, open.routerId & 255),
      `BGP identifier ${formatRouterId(open.routerId)} is our own`,
    );
  }
  return null;
}

export interface Negotiated {
  peerAsn: number;
  remoteId: number;
  ebgp: boolean;
  /** Applied hold time (0: no hold timer, no keepalives). */
  holdTime: number;
  keepalive: number;
  /** Families both sides offered (RFC 4760; no MP capability at all means IPv4 unicast). */
  families: FamilyCode[];
  as4: boolean;
  extendedMessage: boolean;
  maxLength: number;
  /** Families sent and accepted with a next hop of the other IP family (RFC 8950). */
  extendedNextHop: FamilyCode[];
  routeRefresh: boolean;
  /** The peer's graceful-restart capability, if it sent one. */
  gracefulRestart?: GracefulRestartCapability;
  /** Both sides set the N bit (RFC 8538): a NOTIFICATION is graceful unless it is a Hard Reset. */
  notificationGr: boolean;
  remote: Capabilities;
}

export function negotiate(open: OpenMessage, cfg: PeerConfig, local: LocalSide): Negotiated {
  const remote = open.capabilities;
  const peerAsn = openAsn(open);
  // RFC 4271 §4.2: the smaller hold time; keepalive stays as configured unless
  // the peer forced a shorter hold time, then one third of it.
  const holdTime = Math.min(cfg.holdTimeSeconds, open.holdTime);
  let keepalive = 0;
  if (holdTime > 0) {
    keepalive = holdTime === cfg.holdTimeSeconds && cfg.keepaliveSeconds > 0 ? cfg.keepaliveSeconds : Math.max(1, Math.floor(holdTime / 3));
  }
  const remoteFamilies = remote.families.length > 0 ? remote.families : [IPV4_UNICAST];
  const families = cfg.families.filter((f) => remoteFamilies.includes(f));
  const extendedMessage = cfg.extendedMessage && remote.extendedMessage;
  const ours = localExtendedNextHop(cfg);
  const extendedNextHop = ours
    .filter((e) => remote.extendedNextHop.some((r) => r.family === e.family && r.nextHopAfi === e.nextHopAfi))
    .map((e) => e.family);
  const localGr = localGracefulRestart(cfg, local);
  return {
    peerAsn,
    remoteId: open.routerId,
    ebgp: peerAsn !== local.asn,
    holdTime,
    keepalive,
    families,
    as4: remote.as4 !== undefined,
    extendedMessage,
    maxLength: extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
    extendedNextHop,
    routeRefresh: remote.routeRefresh,
    gracefulRestart: remote.gracefulRestart,
    notificationGr: (localGr?.notification ?? false) && (remote.gracefulRestart?.notification ?? false),
    remote,
  };
}
