/**
 * Peer configuration as the control plane gives it (`PeerOptions`), its
 * validated form with defaults (`PeerConfig`), and the diff that decides
 * whether an update can be applied to a running session or needs a reset.
 *
 * Defaults are Cilium's (spec D5): port 179, timers 120/90/30 s, families
 * ipv6/unicast + ipv4/unicast, graceful restart off (120 s when on),
 * multihop off.
 */
import { canonicalIP, parseIP } from "../net/ip.ts";
import { type FamilyCode, formatFamily, parseFamily } from "./families.ts";

export interface PeerOptions {
  /** Unique within the instance; shown by the CLIs (spec D13). */
  name: string;
  /** The peer's IP address. */
  address: string;
  /** The peer's AS; 0 learns it from the OPEN (spec D2). */
  asn: number;
  /** Default 179. */
  port?: number;
  /** Source address of the session; the kernel chooses when absent (D11). */
  localAddress?: string;
  /** Source port of outgoing connections; ephemeral when absent. */
  localPort?: number;
  timers?: {
    /** Default 120. */
    connectRetrySeconds?: number;
    /** Default 90; 0 disables keepalives and the hold timer. */
    holdTimeSeconds?: number;
    /** Default 30. */
    keepaliveSeconds?: number;
  };
  /** "afi/safi" strings; default ["ipv6/unicast", "ipv4/unicast"] (D6). Other pairs are negotiated but carry no routes. */
  families?: string[];
  /** RFC 4724; default off (D10). */
  gracefulRestart?: { enabled: boolean; restartTimeSeconds?: number };
  /** eBGP TTL; 1 or absent means directly connected (D8). No effect on iBGP. */
  ebgpMultihop?: number;
  /** TCP-MD5 password (RFC 2385, D9). */
  md5Password?: string;
  /** GTSM minimum TTL of received packets (RFC 5082). */
  minTtl?: number;
  /** Never initiate the connection; wait for the peer. */
  passive?: boolean;
  /** Next hops to send instead of the session's local address (e.g. an IPv6 next hop on an IPv4 session). */
  nextHop?: { ipv4?: string; ipv6?: string };
  /** Offer RFC 8654 extended messages (default true). */
  extendedMessage?: boolean;
}

export interface PeerConfig {
  name: string;
  address: string;
  asn: number;
  port: number;
  localAddress?: string;
  localPort?: number;
  connectRetrySeconds: number;
  holdTimeSeconds: number;
  keepaliveSeconds: number;
  families: FamilyCode[];
  gracefulRestart: { enabled: boolean; restartTimeSeconds: number };
  ebgpMultihop: number;
  md5Password?: string;
  minTtl?: number;
  passive: boolean;
  nextHop: { ipv4?: string; ipv6?: string };
  extendedMessage: boolean;
}

export const PEER_DEFAULTS = {
  port: 179,
  connectRetrySeconds: 120,
  holdTimeSeconds: 90,
  keepaliveSeconds: 30,
  families: ["ipv6/unicast", "ipv4/unicast"],
  restartTimeSeconds: 120,
} as const;

function intIn(what: string, v: number | undefined, min: number, max: number, dflt: number, peer: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw new TypeError(`Cannot configure peer "${peer}": ${what} must be an integer from ${min} to ${max}: current value is "${v}"`);
  return v;
}

/** Validates and fills defaults; throws a TypeError naming the field. */
export function resolvePeerConfig(o: PeerOptions): PeerConfig {
  const name = o.name;
  if (typeof name !== "string" || name === "") throw new TypeError(`Cannot configure peer: name must be a non-empty string: current value is "${name}"`);
  const address = canonicalIP(o.address ?? "");
  if (address === null) throw new TypeError(`Cannot configure peer "${name}": address must be an IP address: current value is "${o.address}"`);
  const localAddress = o.localAddress === undefined ? undefined : canonicalIP(o.localAddress);
  if (localAddress === null) throw new TypeError(`Cannot configure peer "${name}": localAddress must be an IP address: current value is "${o.localAddress}"`);
  const hold = intIn("timers.holdTimeSeconds", o.timers?.holdTimeSeconds, 0, 65535, PEER_DEFAULTS.holdTimeSeconds, name);
  if (hold === 1 || hold === 2) throw new TypeError(`Cannot configure peer "${name}": timers.holdTimeSeconds must be 0 or at least 3 (RFC 4271 §4.2): current value is "${hold}"`);
  const keepalive = intIn("timers.keepaliveSeconds", o.timers?.keepaliveSeconds, 0, 65535, PEER_DEFAULTS.keepaliveSeconds, name);
  if (hold > 0 && keepalive > hold) {
    throw new TypeError(`Cannot configure peer "${name}": timers.keepaliveSeconds must not exceed timers.holdTimeSeconds "${hold}": current value is "${keepalive}"`);
  }
  const families = (o.families && o.families.length > 0 ? o.families : PEER_DEFAULTS.families).map((f) => {
    try {
      return parseFamily(f);
    } catch (e) {
      throw new TypeError(`Cannot configure peer "${name}": ${(e as Error).message.replace(/^Cannot parse address family: /, "families: ")}`);
    }
  });
  const nextHop: PeerConfig["nextHop"] = {};
  for (const fam of ["ipv4", "ipv6"] as const) {
    const text = o.nextHop?.[fam];
    if (text === undefined) continue;
    const ip = parseIP(text);
    if (!ip || ip.family !== (fam === "ipv4" ? 4 : 6)) throw new TypeError(`Cannot configure peer "${name}": nextHop.${fam} must be an ${fam === "ipv4" ? "IPv4" : "IPv6"} address: current value is "${text}"`);
    nextHop[fam] = canonicalIP(text)!;
  }
  return {
    name,
    address,
    asn: intIn("asn", o.asn, 0, 0xffffffff, 0, name),
    port: intIn("port", o.port, 1, 65535, PEER_DEFAULTS.port, name),
    localAddress,
    localPort: o.localPort === undefined ? undefined : intIn("localPort", o.localPort, 1, 65535, 0, name),
    connectRetrySeconds: intIn("timers.connectRetrySeconds", o.timers?.connectRetrySeconds, 1, 65535, PEER_DEFAULTS.connectRetrySeconds, name),
    holdTimeSeconds: hold,
    keepaliveSeconds: keepalive,
    families: [...new Set(families)],
    gracefulRestart: {
      enabled: o.gracefulRestart?.enabled ?? false,
      restartTimeSeconds: intIn("gracefulRestart.restartTimeSeconds", o.gracefulRestart?.restartTimeSeconds, 1, 4095, PEER_DEFAULTS.restartTimeSeconds, name),
    },
    ebgpMultihop: intIn("ebgpMultihop", o.ebgpMultihop, 1, 255, 1, name),
    md5Password: o.md5Password === "" ? undefined : o.md5Password,
    minTtl: o.minTtl === undefined ? undefined : intIn("minTtl", o.minTtl, 1, 255, 1, name),
    passive: o.passive ?? false,
    nextHop,
    extendedMessage: o.extendedMessage ?? true,
  };
}

export interface PeerConfigDiff {
  /** The session must be reset (its OPEN, socket or identity changes). */
  reset: boolean;
  /** Adj-RIB-Out must be re-sent (next hop changed) without a reset. */
  resend: boolean;
  /** Names of the fields that changed. */
  changed: string[];
}

/**
 * Which changes need a hard reset: identity (address, AS; spec D1), hold and
 * keepalive (D7), and anything carried in the OPEN or set on the socket
 * (families, graceful restart, extended message, password, addresses,
 * ports, TTL). Connect-retry time and passive mode apply in place; a new
 * next hop re-sends the routes.
 */
export function diffPeerConfig(a: PeerConfig, b: PeerConfig): PeerConfigDiff {
  const changed: string[] = [];
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  const check = (field: string, x: unknown, y: unknown) => {
    if (!same(x, y)) changed.push(field);
  };
  check("address", a.address, b.address);
  check("asn", a.asn, b.asn);
  check("port", a.port, b.port);
  check("localAddress", a.localAddress, b.localAddress);
  check("localPort", a.localPort, b.localPort);
  check("timers.holdTimeSeconds", a.holdTimeSeconds, b.holdTimeSeconds);
  check("timers.keepaliveSeconds", a.keepaliveSeconds, b.keepaliveSeconds);
  check("families", a.families.map(formatFamily), b.families.map(formatFamily));
  check("gracefulRestart", a.gracefulRestart, b.gracefulRestart);
  check("ebgpMultihop", a.ebgpMultihop, b.ebgpMultihop);
  check("md5Password", a.md5Password, b.md5Password);
  check("minTtl", a.minTtl, b.minTtl);
  check("extendedMessage", a.extendedMessage, b.extendedMessage);
  const resetFields = changed.length;
  check("timers.connectRetrySeconds", a.connectRetrySeconds, b.connectRetrySeconds);
  check("passive", a.passive, b.passive);
  check("name", a.name, b.name);
  const before = changed.length;
  check("nextHop", a.nextHop, b.nextHop);
  return { reset: resetFields > 0, resend: changed.length > before, changed };
}
