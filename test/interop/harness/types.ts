/**
 * The one shape every daemon driver (BIRD 2, GoBGP, FRR bgpd) shares: what a
 * test describes (`DaemonConfig`), and what it reads back (`PeerStatus`,
 * `Route`), normalised across daemons so that a test can run the same
 * assertions against each of them.
 */

export type DaemonKind = "bird" | "gobgp" | "frr";

export type Family = "ipv4-unicast" | "ipv6-unicast";

/**
 * RFC 4271 section 8.2.2 states, lowercase. Daemon-specific states map onto
 * them: BIRD "Down"/"Close", FRR "Clearing"/"Deleted" and GoBGP "unknown"
 * read as "idle".
 */
export type SessionState = "idle" | "connect" | "active" | "opensent" | "openconfirm" | "established";

export type Origin = "igp" | "egp" | "incomplete";

/** One BGP neighbour of the daemon. */
export interface NeighborConfig {
  /** The neighbour's address (herald's, or another daemon's). */
  address: string;
  asn: number;
  /** The neighbour's BGP port; default 179. */
  port?: number;
  /** Source address for the session; the kernel chooses when absent. */
  localAddress?: string;
  /** Never connect; wait for the neighbour. */
  passive?: boolean;
  /** eBGP multihop: TTL of outgoing packets (BIRD, GoBGP, FRR `ebgp-multihop N`). */
  multihop?: number;
  /**
   * GTSM (RFC 5082): send TTL 255 and accept only packets within this many
   * hops (1 = directly connected). Not combinable with `multihop`.
   */
  ttlSecurity?: number;
  /** TCP-MD5 signature password (RFC 2385). */
  md5Password?: string;
  /** Seconds; default 9. */
  holdTime?: number;
  /** Seconds; default holdTime / 3. */
  keepalive?: number;
  /** Seconds between connection attempts; default 1. */
  connectRetry?: number;
  /**
   * Graceful restart (RFC 4724): true = on with the daemon's restart time,
   * an object = on with that restart time, false = off (no capability),
   * absent = the daemon's own default.
   */
  gracefulRestart?: boolean | { restartTime: number };
  /** Address families; default the unicast family of `address`. */
  families?: Family[];
  /** RFC 8950: IPv4 routes with an IPv6 next hop (over an IPv6 session). */
  extendedNextHop?: boolean;
  /**
   * IPv6 on a shared link: send the link-local next hop beside the global
   * one (RFC 2545 section 3). Default true, as BIRD and FRR do; GoBGP never
   * does. FRR without zebra cannot resolve a link-local next hop and
   * withdraws such routes ("sent a v6 LL next-hop and there's no peer
   * interface information"), so BIRD → FRR over IPv6 needs false. Only BIRD
   * honours it (it switches the session to `multihop 1`).
   */
  linkLocalNextHop?: boolean;
}

/** A route the daemon itself originates (to test herald's receiving side). */
export interface OriginatedRoute {
  prefix: string;
  /**
   * NEXT_HOP to send; default the daemon's own session address. GoBGP needs
   * it for IPv6 routes over an IPv4 session, or the receiver drops them.
   */
  nextHop?: string;
  /** AS numbers prepended after the daemon's own AS. */
  asPath?: number[];
  /** Default "igp" (GoBGP's own default, incomplete, is overridden). */
  origin?: Origin;
  med?: number;
  /** Only sent to iBGP neighbours (RFC 4271 5.1.5). */
  localPref?: number;
  /** "65000:100" */
  communities?: string[];
  /** "65000:1:2" */
  largeCommunities?: string[];
}

export interface ListenConfig {
  /** Addresses to listen on; default all (in a namespace) or 127.0.0.1 (root namespace). */
  addresses?: string[];
  /** Default 179 in a namespace, a free port in the root namespace. */
  port?: number;
}

export interface DaemonConfig {
  routerId: string;
  asn: number;
  /** `false`: no listener at all (the daemon only connects out). */
  listen?: ListenConfig | false;
  neighbors: NeighborConfig[];
  /** Originated from the start (more with `announce()`). */
  routes?: OriginatedRoute[];
}

/** Capabilities the neighbour advertised in its OPEN, as the daemon reports them. */
export interface PeerCapabilities {
  multiprotocol: Family[];
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  fourOctetAs: boolean;
  /** RFC 8950 extended next hop (IPv4 NLRI with IPv6 next hop) advertised. */
  extendedNextHop: boolean;
  /** RFC 4724; absent when not advertised. */
  gracefulRestart?: {
    restartTime: number;
    /** The R bit: the neighbour says it has just restarted. */
    restarting: boolean;
    /** Families listed in the capability (the neighbour can preserve them). */
    families: Family[];
    /** Families with the F bit: forwarding state was preserved. */
    preserved: Family[];
  };
  longLivedGracefulRestart: boolean;
}

export interface PeerStatus {
  address: string;
  state: SessionState;
  remoteAs?: number;
  remoteRouterId?: string;
  /** Negotiated hold time, seconds (while established). */
  holdTime?: number;
  /** From the neighbour's last OPEN; absent before any OPEN arrived. */
  capabilities?: PeerCapabilities;
  /**
   * Why the session last went down, in the daemon's words. BIRD (from its
   * log or `Last error`): "Received: Bad peer AS", "Bad peer AS: 65003",
   * "Hold timer expired". FRR: "BGP Notification received: OPEN Message
   * Error/Bad Peer AS". GoBGP (from its log): "sent notification: hold timer
   * expired (4/0)", "sent notification: as number mismatch expected 65009,
   * received 65001". Undefined until something went wrong.
   */
  lastError?: string;
  /** Routes received and accepted from this neighbour (all families). */
  receivedRoutes: number;
  /** The daemon output this was parsed from, for failure messages. */
  raw: string;
}

/** A route as the daemon holds it after receiving it from a neighbour. */
export interface Route {
  prefix: string;
  family: Family;
  /** Neighbour the route came from. */
  peer: string;
  nextHop: string;
  /** AS_PATH flattened (AS_SET members in order). */
  asPath: number[];
  origin: Origin;
  med?: number;
  localPref?: number;
  /** "65000:100", in received order. */
  communities: string[];
  /** "65000:1:2", in received order. */
  largeCommunities: string[];
}

export interface RouteQuery {
  /** Only routes from this neighbour. */
  peer?: string;
  /** Only this family; default both. */
  family?: Family;
}

/** The common driver shape. See `daemon.ts` for the shared implementation. */
export interface BgpDaemon {
  readonly kind: DaemonKind;
  /** Unique name `<prefix>-<pid>-<n>`. */
  readonly name: string;
  readonly config: DaemonConfig;
  /** The namespace name; undefined for the root namespace. */
  readonly netns: string | undefined;
  /** The BGP port it listens on; undefined with `listen: false`. */
  readonly port: number | undefined;
  /** Its private directory (config, sockets, pid file). */
  readonly dir: string;
  /** PID of the running daemon. */
  readonly pid: number | undefined;
  readonly running: boolean;

  start(): Promise<void>;
  /** SIGTERM (or `hard`: SIGKILL, no NOTIFICATION: the neighbour's graceful restart applies). */
  stop(options?: { hard?: boolean }): Promise<void>;
  restart(options?: { hard?: boolean }): Promise<void>;
  /** SIGSTOP: sockets stay open, nothing is answered (the neighbour's hold timer runs out). */
  freeze(): void;
  thaw(): void;
  /** Wakes the daemon's event loop (BIRD batches); no-op for others. */
  poke(): Promise<void>;

  peers(): Promise<PeerStatus[]>;
  peer(address: string): Promise<PeerStatus>;
  /** Routes received from neighbours, with attributes. Cheap for hundreds, not for a million. */
  routes(query?: RouteQuery): Promise<Route[]>;
  /** Count of routes received from neighbours (from counters: cheap at any size). */
  routeCount(query?: RouteQuery): Promise<number>;
  /** Originates routes (or replaces their attributes). */
  announce(routes: OriginatedRoute[]): Promise<void>;
  /** Stops originating these prefixes. */
  withdraw(prefixes: string[]): Promise<void>;

  /** Waits until the neighbour's session is in `state` (default established). */
  waitForPeer(address: string, state?: SessionState | ((p: PeerStatus) => boolean), timeoutMs?: number): Promise<PeerStatus>;
  /** Waits until `routeCount(query)` equals `count`. */
  waitForRouteCount(count: number, query?: RouteQuery, timeoutMs?: number): Promise<number>;
  /** The kept tail of the daemon's own log (stdout+stderr). */
  log(maxChars?: number): string;
}
