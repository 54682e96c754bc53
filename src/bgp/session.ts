/**
 * One peer's session: runs the pure FSM (fsm.ts) against real sockets and
 * timers, owns the peer's Adj-RIB-In and Adj-RIB-Out, and keeps the numbers
 * the status API shows.
 *
 * - Connections: at most a primary one (driving the FSM) and a second one
 *   during a collision (RFC 4271 §6.8): the OPEN of whichever arrives second
 *   decides by BGP identifier which survives. A new connection while
 *   Established is refused unless the peer does graceful restart, in which
 *   case it means the peer restarted (RFC 4724 §4.2).
 * - Timers run on the injected Clock. Connect retry waits [T, 2T), the idle
 *   hold time after an error is 5 s (spec D7).
 * - Sending: sender.ts (UPDATEs built only after the socket drained).
 * - Stopping: with a Cease (removal: Hard Reset when RFC 8538 N bits were
 *   exchanged, so the peer flushes the routes), or silently (agent shutdown:
 *   sockets close without NOTIFICATION, graceful-restart peers keep the
 *   routes, spec C7).
 */
import type { Logger } from "../log.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { type BgpSocket, Connection, type Direction } from "./connection.ts";
import type { SpeakerEvent } from "./events.ts";
import { type FamilyCode, formatFamily } from "./families.ts";
import { type Action, type Event, type FsmState, type Reason, REASON_TEXT, type State, type Timer, transition } from "./fsm.ts";
import { checkOpen, type LocalSide, localCapabilities, type Negotiated, negotiate } from "./negotiate.ts";
import { diffPeerConfig, type PeerConfig, type PeerConfigDiff } from "./peer-config.ts";
import { AdjRibIn } from "./rib-in.ts";
import { AdjRibOut } from "./rib-out.ts";
import { UpdateSender } from "./sender.ts";
import type { BgpTransport } from "./transport.ts";
import { CeaseSubcode, describeNotification, ErrorCode, NotificationError } from "./wire/errors.ts";
import { encodeKeepalive, HEADER_LENGTH, MessageType, messageTypeName } from "./wire/header.ts";
import { decodeNotification, decodeRouteRefresh, encodeNotification, notificationText, RefreshSubtype } from "./wire/notification.ts";
import { decodeOpen, encodeOpen, formatRouterId, openAsn } from "./wire/open.ts";
import { decodeUpdate, toFourOctetPath } from "./wire/update.ts";

/** RFC 4271 §8.2.2: the hold timer "large value" while waiting for the OPEN. */
const OPEN_HOLD_MS = 240_000;

export interface SessionContext {
  instance: string;
  local: LocalSide;
  transport: BgpTransport;
  clock: Clock;
  random: () => number;
  logger: Logger;
  /** Idle hold time after errors (spec D7: 5 s). */
  idleHoldMs: number;
  emit(e: SpeakerEvent): void;
  /** Does any subscriber want received routes? */
  wantsReceived(): boolean;
}

export interface LastError {
  reason: Reason | "transport-unsupported";
  message: string;
  at: number;
}

export interface MessageCounters {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
}

const zeroCounters = (): MessageCounters => ({ open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 });
const COUNTER: Record<number, keyof MessageCounters> = { 1: "open", 2: "update", 3: "notification", 4: "keepalive", 5: "routeRefresh" };

export interface StopOptions {
  /** Cease subcode (default Administrative Shutdown). */
  subcode?: number;
  /** Close without NOTIFICATION (graceful-restart peers keep the routes). */
  silent?: boolean;
  /** Make the peer drop the routes even where RFC 8538 would keep them (Hard Reset). */
  hard?: boolean;
}

export class Session {
  readonly ribOut: AdjRibOut;
  readonly ribIn = new AdjRibIn();
  #cfg: PeerConfig;
  readonly #ctx: SessionContext;
  readonly #log: Logger;
  #fsm: FsmState;
  #conn: Connection | null = null;
  #second: Connection | null = null;
  #secondTimer: TimerHandle | null = null;
  #connecting: AbortController | null = null;
  #timers = new Map<Timer, TimerHandle>();
  #neg: Negotiated | null = null;
  readonly #sender: UpdateSender;
  /** Administratively down: no connections accepted or made. */
  #stopped = true;
  #restarting: boolean;
  #establishedAt: number | null = null;
  #lastError: LastError | null = null;
  #localCaps: Uint8Array[] = [];
  #sent = zeroCounters();
  #received = zeroCounters();
  #prefixesSent = 0;
  #malformedUpdates = 0;
  #unsupported: string | null = null;
  #lastConnectError = "";
  /** Families without a usable next hop in this session (End-of-RIB only). */
  #withheld: FamilyCode[] = [];

  /** `ribOut` carries the routes over when a session is re-created (instance reset). */
  constructor(cfg: PeerConfig, ctx: SessionContext, ribOut: AdjRibOut = new AdjRibOut()) {
    this.ribOut = ribOut;
    this.#cfg = cfg;
    this.#ctx = ctx;
    this.#restarting = ctx.local.restarting;
    this.#log = ctx.logger.child({ peer: cfg.address, name: cfg.name });
    this.#fsm = { state: "idle", passive: cfg.passive };
    this.#sender = new UpdateSender(this.ribOut, {
      write: (bytes) => this.#conn?.write(bytes) ?? null,
      maxLength: () => (this.#fsm.state === "established" && this.#conn && this.#neg ? this.#neg.maxLength : 0),
      sent: (info) => {
        this.#sent.update++;
        this.#prefixesSent += info.prefixes;
        if (info.kind === "end-of-rib") {
          this.#log.debug("End-of-RIB sent", { family: formatFamily(info.family) });
          this.#ctx.emit({ type: "end-of-rib", instance: this.#ctx.instance, peer: this.#cfg.name, address: this.#cfg.address, family: info.family, direction: "sent" });
        }
      },
      burst: () => {
        if (this.#fsm.state === "established") this.#dispatch({ type: "update-sent" });
      },
    }, this.#log);
  }

  get config(): PeerConfig {
    return this.#cfg;
  }

  get state(): State {
    return this.#fsm.state;
  }

  get negotiated(): Negotiated | null {
    return this.#neg;
  }

  get establishedAt(): number | null {
    return this.#establishedAt;
  }

  get lastError(): LastError | null {
    return this.#lastError;
  }

  get localCapabilities(): Uint8Array[] {
    return this.#localCaps.length > 0 ? this.#localCaps : localCapabilities(this.#cfg, this.#local());
  }

  get counters(): { sent: MessageCounters; received: MessageCounters; prefixesSent: number; malformedUpdates: number } {
    return { sent: { ...this.#sent }, received: { ...this.#received }, prefixesSent: this.#prefixesSent, malformedUpdates: this.#malformedUpdates };
  }

  get connection(): { localAddress: string; localPort: number; remotePort: number } | null {
    const c = this.#conn;
    return c ? { localAddress: c.localAddress, localPort: c.localPort, remotePort: c.remotePort } : null;
  }

  /** Whether the session would refuse to run because the transport lacks a configured feature. */
  get unsupported(): string | null {
    return this.#unsupported;
  }

  #local(): LocalSide {
    return { ...this.#ctx.local, restarting: this.#restarting };
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** ManualStart. Refuses (stays Idle, records the error) when the transport lacks a needed feature. */
  start(): void {
    this.#unsupported = this.#missingFeature();
    if (this.#unsupported) {
      this.#stopped = true;
      this.#setError("transport-unsupported", `Cannot connect to peer "${this.#cfg.name}": the transport cannot set ${this.#unsupported}`);
      this.#log.error(this.#lastError!.message);
      return;
    }
    this.#stopped = false;
    this.#dispatch({ type: "start" });
  }

  /** ManualStop; idempotent. */
  stop(o: StopOptions = {}): void {
    this.#stopped = true;
    let subcode = o.subcode ?? CeaseSubcode.AdministrativeShutdown;
    let data: Uint8Array | undefined;
    // RFC 8538 §3: with N bits exchanged a plain Cease is graceful; removal must be a Hard Reset.
    if (!o.silent && o.hard && this.#neg?.notificationGr && this.#fsm.state === "established") {
      data = Uint8Array.of(ErrorCode.Cease, subcode);
      subcode = CeaseSubcode.HardReset;
    }
    this.#dropSecond(o.silent ? undefined : CeaseSubcode.AdministrativeShutdown);
    this.#abortConnect();
    this.#dispatch({ type: "stop", subcode, data, silent: o.silent });
    for (const t of [...this.#timers.keys()]) this.#stopTimer(t);
  }

  /** Applies new configuration; resets the session when the OPEN or the socket changes. */
  update(cfg: PeerConfig): PeerConfigDiff {
    const diff = diffPeerConfig(this.#cfg, cfg);
    const was = this.#cfg;
    this.#cfg = cfg;
    this.#fsm.passive = cfg.passive;
    if (diff.changed.length === 0) return diff;
    this.#log.info("Updating peer", { changed: diff.changed.join(","), reset: diff.reset });
    if (diff.reset) {
      // Running, or refused for a transport feature the new configuration may no longer need.
      if (!this.#stopped || this.#unsupported !== null) {
        this.stop({ subcode: CeaseSubcode.OtherConfigurationChange });
        this.start();
      }
    } else if (diff.resend && this.#fsm.state === "established" && this.#neg) {
      const withheld = this.#sender.prepare(this.#neg, cfg, this.#ctx.local.asn, this.#conn!.localAddress);
      if (withheld.join() !== this.#withheld.join()) {
        // A family gains or loses its only usable next hop: re-sending would either skip it or send
        // its routes without one (no NEXT_HOP); a new session starts it (or its withdrawal) cleanly.
        this.stop({ subcode: CeaseSubcode.OtherConfigurationChange });
        this.start();
        return { ...diff, reset: true };
      }
      for (const f of this.#neg.families) this.ribOut.refresh(f);
    } else if (was.connectRetrySeconds !== cfg.connectRetrySeconds && this.#timers.has("connect-retry")) {
      this.#startTimer("connect-retry");
    }
    return diff;
  }

  /** The transport features this peer needs that the transport does not have, or null. */
  #missingFeature(): string | null {
    const un = this.#ctx.transport.unsupported;
    if (this.#cfg.md5Password && un.has("md5")) return "TCP-MD5 signatures (RFC 2385) for its password";
    if (this.#cfg.minTtl !== undefined && un.has("minTtl")) return "a minimum TTL (GTSM, RFC 5082)";
    if (this.#cfg.ebgpMultihop > 1 && this.#cfg.asn !== this.#ctx.local.asn && un.has("ttl")) return `TTL ${this.#cfg.ebgpMultihop} for eBGP multihop`;
    return null;
  }

  /** TTL to set: 1 for directly connected eBGP, ebgpMultihop otherwise; iBGP and learned AS leave the default (as GoBGP). */
  #ttl(): number | undefined {
    if (this.#cfg.asn === this.#ctx.local.asn) return undefined;
    if (this.#cfg.ebgpMultihop > 1) return this.#cfg.ebgpMultihop;
    if (this.#cfg.asn === 0 || this.#ctx.transport.unsupported.has("ttl")) return undefined;
    return 1;
  }

  // ---- connections -------------------------------------------------------------------------

  /** A connection accepted by the instance's listener for this peer's address. */
  acceptIncoming(socket: BgpSocket): void {
    if (this.#stopped) {
      socket.destroy();
      return;
    }
    const ttl = this.#ttl();
    this.#ctx.transport.configureAccepted?.(socket as never, { ttl, minTtl: this.#cfg.minTtl });
    this.#adopt(socket, "incoming");
  }

  #adopt(socket: BgpSocket, direction: Direction): void {
    const s = this.#fsm.state;
    if (this.#stopped || s === "idle") {
      // RFC 4271 §8.2.2 Idle: refuse.
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, direction, {
      message: (c, type, buf, off, len) => this.#onMessage(c, type, buf, off, len),
      error: (c, e) => this.#onConnError(c, e),
      closed: (c) => this.#onClosed(c),
      drain: (c) => {
        if (c === this.#conn) this.#sender.drained();
      },
    });
    if (s === "connect" || s === "active") {
      if (this.#conn) this.#conn.close(undefined, true);
      this.#conn = conn;
      this.#dispatch({ type: "tcp-connected" });
      return;
    }
    // A second connection: send our OPEN on it and let the OPENs decide (RFC 4271 §6.8).
    this.#dropSecond();
    this.#second = conn;
    conn.write(this.#openMessage());
    this.#sent.open++;
    this.#secondTimer = this.#ctx.clock.setTimeout(() => this.#dropSecond(), OPEN_HOLD_MS);
  }

  #connect(): void {
    this.#abortConnect();
    const ac = new AbortController();
    this.#connecting = ac;
    const cfg = this.#cfg;
    this.#ctx.transport.connect({
      remoteAddress: cfg.address,
      remotePort: cfg.port,
      localAddress: cfg.localAddress,
      localPort: cfg.localPort,
      ttl: this.#ttl(),
      minTtl: cfg.minTtl,
      md5Password: cfg.md5Password,
      signal: ac.signal,
    }).then(
      (socket) => {
        if (this.#connecting === ac) this.#connecting = null;
        if (ac.signal.aborted || this.#stopped) {
          socket.destroy();
          return;
        }
        if (!this.#conn && (this.#fsm.state === "connect" || this.#fsm.state === "active")) this.#adopt(socket, "outgoing");
        else if (this.#conn && !this.#second && this.#fsm.state !== "established") this.#adopt(socket, "outgoing");
        else socket.destroy();
      },
      (err: Error & { code?: string }) => {
        if (this.#connecting === ac) this.#connecting = null;
        if (ac.signal.aborted || this.#stopped) return;
        const text = err.code === "ECONNREFUSED" ? "connection refused" : err.message;
        // Info once per distinct error ("connection refused" is what operators grep for), then debug.
        if (text !== this.#lastConnectError) this.#log.info("Cannot connect to peer", { error: text, retry_s: this.#cfg.connectRetrySeconds });
        else this.#log.debug("Cannot connect to peer", { error: text });
        this.#lastConnectError = text;
        this.#setError("connection-failed", text);
        if (!this.#conn) this.#dispatch({ type: "tcp-failed", closed: false });
      },
    );
  }

  #abortConnect(): void {
    this.#connecting?.abort();
    this.#connecting = null;
  }

  #dropSecond(ceaseSubcode?: number): void {
    if (this.#secondTimer !== null) this.#ctx.clock.clearTimeout(this.#secondTimer);
    this.#secondTimer = null;
    const c = this.#second;
    this.#second = null;
    if (c) c.close(ceaseSubcode === undefined ? undefined : encodeNotification(ErrorCode.Cease, ceaseSubcode), ceaseSubcode === undefined);
  }

  /** Makes the second connection the primary one (the primary lost or went away). */
  #promoteSecond(): void {
    const c = this.#second!;
    if (this.#secondTimer !== null) this.#ctx.clock.clearTimeout(this.#secondTimer);
    this.#second = null;
    this.#secondTimer = null;
    this.#conn = c;
    this.#setState("opensent");
    this.#stopTimer("connect-retry");
    this.#stopTimer("idle-hold");
    this.#startTimer("hold", "open");
    if (c.open) this.#acceptOpen(c);
  }

  #onConnError(c: Connection, e: Error): void {
    if (e instanceof NotificationError) {
      this.#messageError(c, e, e.code === ErrorCode.MessageHeader ? "header-error" : "fsm-error");
      return;
    }
    this.#log.debug("Connection error", { error: e.message });
    if (c === this.#conn) this.#setError("connection-closed", e.message);
  }

  #onClosed(c: Connection): void {
    if (c === this.#second) {
      this.#dropSecond();
      return;
    }
    if (c !== this.#conn) return;
    this.#conn = null;
    this.#setError("connection-closed", "connection closed by peer");
    this.#dispatch({ type: "tcp-failed", closed: true });
    if (this.#second && (this.#fsm.state === "active" || this.#fsm.state === "connect")) this.#promoteSecond();
  }

  // ---- messages ----------------------------------------------------------------------------

  #onMessage(c: Connection, type: MessageType, buf: Uint8Array, off: number, len: number): void {
    this.#received[COUNTER[type]]++;
    const body = off + HEADER_LENGTH;
    const end = off + len;
    if (c === this.#second) return this.#onSecondMessage(c, type, buf, body, end);
    if (c !== this.#conn) return;
    switch (type) {
      case MessageType.Open:
        // An OPEN after OpenSent is an FSM error whatever it holds (RFC 6608).
        if (this.#fsm.state !== "opensent") return this.#dispatch({ type: "open-received" });
        try {
          c.open = decodeOpen(buf, body, end);
        } catch (e) {
          return this.#messageError(c, e as NotificationError, (e as NotificationError).code === ErrorCode.MessageHeader ? "header-error" : "open-error");
        }
        return this.#onOpen(c);
      case MessageType.Keepalive:
        return this.#dispatch({ type: "keepalive-received" });
      case MessageType.Notification: {
        const n = decodeNotification(buf, body, end);
        const text = notificationText(n);
        this.#log.warn("Received NOTIFICATION", { code: n.code, subcode: n.subcode, reason: text });
        this.#setError("notification-received", `received ${text}`);
        return this.#dispatch({ type: "notification-received", code: n.code, subcode: n.subcode });
      }
      case MessageType.RouteRefresh:
        return this.#onRouteRefresh(c, buf, body, end);
      case MessageType.Update:
        return this.#onUpdate(c, buf, body, end);
    }
  }

  #messageError(c: Connection, e: NotificationError, reason: Reason): void {
    if (!(e instanceof NotificationError)) throw e;
    this.#log.warn("Sending NOTIFICATION", { code: e.code, subcode: e.subcode, reason: e.message });
    if (c === this.#second) {
      this.#second = null;
      c.close(encodeNotification(e.code, e.subcode, e.data));
      return;
    }
    this.#setError(reason, e.message);
    this.#dispatch({ type: "message-error", notification: { code: e.code, subcode: e.subcode, data: e.data }, reason });
  }

  /** OPEN on the primary connection in OpenSent. */
  #onOpen(c: Connection): void {
    const open = c.open!;
    const bad = checkOpen(open, this.#cfg, this.#local());
    if (bad) return this.#messageError(c, bad, "open-error");
    if (this.#second?.open) return this.#resolveCollision(this.#second);
    this.#acceptOpen(c);
  }

  #acceptOpen(c: Connection): void {
    this.#neg = negotiate(c.open!, this.#cfg, this.#local());
    c.framer.maxLength = this.#neg.maxLength;
    this.#dispatch({ type: "open-received" });
  }

  /**
   * RFC 4271 §6.8, with the primary in OpenSent or OpenConfirm and an OPEN
   * on the second connection: the connection initiated by the side with the
   * higher BGP identifier survives, or with equal identifiers (eBGP) the
   * side with the larger AS (RFC 6286 §2.3); of two in the same direction,
   * the newer (the second). The loser gets Cease / Connection Collision Resolution.
   */
  #resolveCollision(second: Connection): void {
    const primary = this.#conn!;
    const remoteId = second.open!.routerId;
    const localId = this.#ctx.local.routerId;
    const keepIncoming = localId < remoteId || (localId === remoteId && this.#ctx.local.asn < openAsn(second.open!));
    const secondWins = second.direction === primary.direction || (second.direction === "incoming") === keepIncoming;
    this.#log.info("Connection collision", {
      local_id: formatRouterId(localId),
      remote_id: formatRouterId(remoteId),
      kept: secondWins ? second.direction : primary.direction,
    });
    if (!secondWins) {
      this.#dropSecond(CeaseSubcode.ConnectionCollisionResolution);
      if (primary.open && this.#fsm.state === "opensent") this.#acceptOpen(primary);
      return;
    }
    this.#dispatch({ type: "collision-dump" });
    this.#promoteSecond();
  }

  /** Messages on the second connection: only its OPEN matters. */
  #onSecondMessage(c: Connection, type: MessageType, buf: Uint8Array, body: number, end: number): void {
    if (type === MessageType.Notification) {
      // The peer gave this connection up (typically its own collision resolution): close it; a
      // NOTIFICATION is never answered with one (RFC 4271 §6.4, §8.2.2).
      this.#log.info("Colliding connection closed by the peer", { reason: notificationText(decodeNotification(buf, body, end)) });
      return this.#dropSecond();
    }
    if (type !== MessageType.Open || c.open) {
      if (type === MessageType.Keepalive && c.open) return; // its KEEPALIVE after our OPEN: wait for the decision
      return this.#messageError(c, new NotificationError(ErrorCode.Fsm, 1, new Uint8Array(0), `${messageTypeName(type)} before OPEN`), "fsm-error");
    }
    try {
      c.open = decodeOpen(buf, body, end);
    } catch (e) {
      return this.#messageError(c, e as NotificationError, "open-error");
    }
    const bad = checkOpen(c.open, this.#cfg, this.#local());
    if (bad) return this.#messageError(c, bad, "open-error");
    const s = this.#fsm.state;
    if (s === "established") {
      // RFC 4724 §4.2: a peer that does graceful restart and opens a new connection has restarted.
      if (this.#neg?.gracefulRestart) {
        this.#log.info("Peer restarted: taking the new connection");
        this.#setError("peer-restarted", REASON_TEXT["peer-restarted"]);
        this.#dispatch({ type: "tcp-failed", closed: true });
      } else this.#dropSecond(CeaseSubcode.ConnectionCollisionResolution);
      return;
    }
    if (s === "opensent" || s === "openconfirm") return this.#resolveCollision(c);
    // connect/active/idle: the primary is gone; this connection takes over.
    this.#promoteSecond();
  }

  #onRouteRefresh(c: Connection, buf: Uint8Array, body: number, end: number): void {
    let family: FamilyCode;
    let subtype: number;
    try {
      ({ family, subtype } = decodeRouteRefresh(buf, body, end));
    } catch (e) {
      return this.#messageError(c, e as NotificationError, "route-refresh-error");
    }
    this.#dispatch({ type: "route-refresh-received" });
    if (this.#fsm.state !== "established" || !this.#neg) return;
    // Only subtype 0 asks for the routes; herald offers no enhanced route refresh, so
    // Beginning/End-of-RIB-Refresh mean nothing to it and other values are ignored (RFC 7313 §5).
    if (subtype !== RefreshSubtype.Normal) return this.#log.debug("Ignoring ROUTE-REFRESH", { family: formatFamily(family), subtype });
    // RFC 2918 §4: a family that was not negotiated is ignored.
    if (!this.#neg.families.includes(family)) return;
    this.#log.info("Route refresh requested", { family: formatFamily(family) });
    this.ribOut.refresh(family);
  }

  #onUpdate(c: Connection, buf: Uint8Array, body: number, end: number): void {
    this.#dispatch({ type: "update-received" });
    const neg = this.#neg;
    if (this.#fsm.state !== "established" || !neg || c !== this.#conn) return;
    let u;
    try {
      u = decodeUpdate(buf, body, end, { as4: neg.as4, ebgp: neg.ebgp, extendedNextHop: (f) => neg.extendedNextHop.includes(f), keepRaw: true });
    } catch (e) {
      return this.#messageError(c, e as NotificationError, "update-error");
    }
    if (!neg.as4) u = toFourOctetPath(u); // RFC 6793 §4.2.3: paths are kept and shown with 4-octet ASNs
    let malformed: string | undefined;
    if (u.issues.length > 0) {
      this.#malformedUpdates++;
      const first = u.issues[0];
      malformed = `${u.action}: ${first.reason} (${describeNotification(ErrorCode.Update, first.subcode)})`;
      this.#log.warn("Malformed UPDATE", { action: u.action, reason: first.reason, issues: u.issues.length });
    }
    const now = this.#ctx.clock.now();
    const changes = this.ribIn.apply(u, now, (f) => neg.families.includes(f));
    const ref = { instance: this.#ctx.instance, peer: this.#cfg.name, address: this.#cfg.address };
    if (this.#ctx.wantsReceived()) {
      for (const ch of changes) this.#ctx.emit({ type: "received", ...ref, ...ch, malformed });
    }
    if (u.endOfRib !== undefined) {
      this.#log.debug("End-of-RIB received", { family: formatFamily(u.endOfRib) });
      this.#ctx.emit({ type: "end-of-rib", ...ref, family: u.endOfRib, direction: "received" });
    }
  }

  // ---- FSM plumbing ------------------------------------------------------------------------

  #dispatch(e: Event): void {
    const from = this.#fsm.state;
    const t = transition(this.#fsm, e);
    for (const a of t.actions) this.#run(a);
    this.#setState(t.state, t.reason);
    if (t.state === "idle" && from !== "idle" && this.#second && !this.#stopped && t.reason !== "collision") {
      this.#promoteSecond();
    }
  }

  #setState(s: State, reason?: Reason): void {
    const previous = this.#fsm.state;
    this.#fsm.state = s;
    if (s === previous) return;
    const fields: Record<string, unknown> = { from: previous, to: s };
    if (reason) fields.reason = REASON_TEXT[reason];
    if (s === "established") this.#log.info("BGP session established", { asn: this.#neg?.peerAsn, hold: this.#neg?.holdTime });
    else if (previous === "established") this.#log.info("BGP session down", { reason: reason ? REASON_TEXT[reason] : undefined, error: this.#lastError?.message });
    else this.#log.debug("BGP state change", fields);
    this.#ctx.emit({
      type: "state",
      instance: this.#ctx.instance,
      peer: this.#cfg.name,
      address: this.#cfg.address,
      state: s,
      previous,
      reason,
      message: reason && reason !== "admin-stop" ? this.#lastError?.message : undefined,
    });
  }

  #run(a: Action): void {
    switch (a.type) {
      case "connect":
        return this.#connect();
      case "send-open":
        this.#conn?.write(this.#openMessage());
        this.#sent.open++;
        return;
      case "send-keepalive":
        if (this.#conn?.write(KEEPALIVE) === false) this.#sender.markBlocked();
        this.#sent.keepalive++;
        return;
      case "send-notification": {
        const n = a.notification;
        if (n.code === ErrorCode.HoldTimerExpired) {
          this.#setError("hold-timer-expired", "hold timer expired");
          this.#log.warn("hold timer expired", { hold: this.#neg?.holdTime });
        }
        this.#sender.flush();
        this.#conn?.write(encodeNotification(n.code, n.subcode, n.data));
        this.#sent.notification++;
        return;
      }
      case "drop-connection":
        this.#abortConnect();
        this.#conn?.close();
        this.#conn = null;
        return;
      case "start-timer":
        return this.#startTimer(a.timer, a.value);
      case "stop-timer":
        return this.#stopTimer(a.timer);
      case "established":
        return this.#established();
      case "session-down":
        return this.#down();
    }
  }

  #openMessage(): Uint8Array {
    this.#localCaps = localCapabilities(this.#cfg, this.#local());
    return encodeOpen({ asn: this.#ctx.local.asn, holdTime: this.#cfg.holdTimeSeconds, routerId: this.#ctx.local.routerId, capabilities: this.#localCaps });
  }

  #startTimer(t: Timer, value?: "open"): void {
    this.#stopTimer(t);
    let ms: number;
    switch (t) {
      case "connect-retry":
        // Spec D7: jitter in [T, 2T).
        ms = this.#cfg.connectRetrySeconds * 1000 * (1 + this.#ctx.random());
        break;
      case "idle-hold":
        if (this.#stopped) return;
        ms = this.#ctx.idleHoldMs;
        break;
      case "hold":
        ms = value === "open" ? OPEN_HOLD_MS : (this.#neg?.holdTime ?? 0) * 1000;
        break;
      case "keepalive":
        ms = (this.#neg?.keepalive ?? 0) * 1000;
        break;
    }
    if (ms <= 0) return; // hold time 0: no hold timer, no keepalives (RFC 4271 §4.4)
    const event: Event = { type: t === "connect-retry" ? "connect-retry-expired" : t === "idle-hold" ? "idle-hold-expired" : t === "hold" ? "hold-expired" : "keepalive-expired" };
    this.#timers.set(t, this.#ctx.clock.setTimeout(() => {
      this.#timers.delete(t);
      this.#dispatch(event);
    }, ms));
  }

  #stopTimer(t: Timer): void {
    const h = this.#timers.get(t);
    if (h !== undefined) {
      this.#ctx.clock.clearTimeout(h);
      this.#timers.delete(t);
    }
  }

  #setError(reason: LastError["reason"], message: string): void {
    this.#lastError = { reason, message, at: this.#ctx.clock.now() };
  }

  // ---- Established ------------------------------------------------------------------------

  #established(): void {
    const neg = this.#neg!;
    const conn = this.#conn!;
    this.#establishedAt = this.#ctx.clock.now();
    this.#lastConnectError = "";
    this.#restarting = false; // the R bit is for the first session after a restart only
    const withheld = this.#sender.prepare(neg, this.#cfg, this.#ctx.local.asn, conn.localAddress);
    this.#withheld = withheld;
    this.ribOut.activate(neg.families, withheld);
  }

  #down(): void {
    this.ribOut.deactivate();
    this.ribIn.clear();
    this.#establishedAt = null;
    this.#sender.reset();
  }
}

const KEEPALIVE = encodeKeepalive();
