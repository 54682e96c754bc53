/**
 * The speaker the control plane drives: instances (one local AS and router
 * ID each, optionally listening), peers per instance, and routes per peer
 * and family. The caller reconciles desired state into it; every call is
 * applied at once and reports what it did.
 *
 * - Instance: a change of AS, router ID or listen address/port re-creates it
 *   (all sessions reset, routes kept and re-sent; spec C6). Removal sends
 *   Cease to every peer (C7).
 * - Peer: `setPeer` creates, updates in place, or resets (diffPeerConfig),
 *   and says which. Removal sends Cease (Hard Reset where RFC 8538 applies).
 * - Routes: per peer and family, incremental announce/withdraw of prefixes
 *   with interned attribute sets; `setRoutes` diffs for small callers.
 * - `close({ notify: false })` is the agent's shutdown: sockets close
 *   without NOTIFICATION so graceful-restart peers keep the routes (C7);
 *   start the next process with `restarting: true` to set the R bit.
 */
import { canonicalIP } from "../net/ip.ts";
import { type Logger, silentLogger } from "../log.ts";
import { type AttrSet, AttrSetTable, type RouteAttributes } from "./attr-set.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type BgpSocket, plainAddress } from "./connection.ts";
import type { SpeakerEvent, SpeakerListener } from "./events.ts";
import { Afi, type FamilyCode, familyAfi, isRouteFamily, parseFamily } from "./families.ts";
import { advertisedRoutes, locRibRoutes, receivedRoutes } from "./listings.ts";
import { type PeerConfigDiff, type PeerOptions, resolvePeerConfig } from "./peer-config.ts";
import { AdjRibOut } from "./rib-out.ts";
import { Session, type SessionContext } from "./session.ts";
import { peerStatus, type PeerStatus, type RouteEntry } from "./status.ts";
import { type BgpTransport, type Listener, netTransport } from "./transport.ts";
import { CeaseSubcode } from "./wire/errors.ts";
import { isValidKey, keyFromText, type PrefixKey } from "./wire/nlri.ts";
import { parseRouterId } from "./wire/open.ts";

export interface SpeakerOptions {
  logger?: Logger;
  /** How sessions get sockets; node:net by default (no TTL, GTSM or MD5). */
  transport?: BgpTransport;
  clock?: Clock;
  /** For connect-retry jitter; Math.random by default. */
  random?: () => number;
  /** Idle hold time after an error, seconds (spec D7: 5). */
  idleHoldSeconds?: number;
}

export interface InstanceOptions {
  name: string;
  /** Local AS (2- or 4-octet). */
  asn: number;
  /** BGP identifier, dotted quad. */
  routerId: string;
  /** Where to accept connections; absent or null: outgoing only (spec C5). */
  listen?: { address: string; port: number } | null;
  /** Started after a restart: OPENs carry the graceful-restart R bit (RFC 4724 §4.1) until each session is up. */
  restarting?: boolean;
  /**
   * Accept sessions from any address and AS (a route collector); such peers
   * are created on connect with these options and removed when they go down.
   */
  acceptAnyPeer?: Omit<PeerOptions, "name" | "address" | "asn" | "passive"> | boolean;
}

export type InstanceResult = "created" | "unchanged" | "recreated";

export interface PeerResult {
  action: "created" | "unchanged" | "updated" | "reset";
  /** Fields that changed (for "updated" and "reset"). */
  changed: string[];
}

interface Instance {
  opts: InstanceOptions;
  routerId: number;
  listener: Listener | null;
  sessions: Map<string, Session>;
  byAddress: Map<string, Session>;
  dynamic: Set<Session>;
  ctx: SessionContext;
  logger: Logger;
}

const notFound = (what: string) => new RangeError(`Cannot find ${what}`);

export class Speaker {
  readonly #log: Logger;
  readonly #transport: BgpTransport;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #idleHoldMs: number;
  readonly #attrs = new AttrSetTable();
  readonly #instances = new Map<string, Instance>();
  readonly #listeners = new Map<SpeakerListener, { received: boolean }>();
  #receivedListeners = 0;
  #closed = false;

  constructor(o: SpeakerOptions = {}) {
    this.#log = (o.logger ?? silentLogger).child({ subsys: "bgp-control-plane" });
    this.#transport = o.transport ?? netTransport;
    this.#clock = o.clock ?? systemClock;
    this.#random = o.random ?? Math.random;
    this.#idleHoldMs = (o.idleHoldSeconds ?? 5) * 1000;
  }

  // ---- events ---------------------------------------------------------------------------

  /**
   * Calls `listener` for state changes and End-of-RIB; with `received: true`
   * also for every received UPDATE (the collector). Returns an unsubscribe function.
   */
  subscribe(listener: SpeakerListener, o: { received?: boolean } = {}): () => void {
    const received = o.received ?? false;
    this.#listeners.set(listener, { received });
    if (received) this.#receivedListeners++;
    return () => {
      if (this.#listeners.delete(listener) && received) this.#receivedListeners--;
    };
  }

  #emit(e: SpeakerEvent): void {
    for (const [l, o] of this.#listeners) {
      if (e.type === "received" && !o.received) continue;
      try {
        l(e);
      } catch (err) {
        this.#log.error("Speaker event listener failed", { error: err as Error });
      }
    }
  }

  // ---- instances ------------------------------------------------------------------------

  /**
   * Creates an instance, or applies new options to an existing one
   * (re-creating it when AS, router ID or listen address change; spec C6).
   * Rejects when the router ID is malformed or the listen port cannot be bound.
   */
  async setInstance(o: InstanceOptions): Promise<InstanceResult> {
    if (this.#closed) throw new Error(`Cannot set instance "${o.name}": the speaker is closed`);
    const routerId = parseRouterId(o.routerId);
    if (routerId === null) throw new TypeError(`Cannot set instance "${o.name}": routerId must be a non-zero dotted quad: current value is "${o.routerId}"`);
    if (!Number.isInteger(o.asn) || o.asn < 1 || o.asn > 0xffffffff) {
      throw new TypeError(`Cannot set instance "${o.name}": asn must be an integer from 1 to 4294967295: current value is "${o.asn}"`);
    }
    const old = this.#instances.get(o.name);
    if (old) {
      const same = old.opts.asn === o.asn && old.routerId === routerId && JSON.stringify(old.opts.listen ?? null) === JSON.stringify(o.listen ?? null);
      if (same) {
        old.opts = { ...o, restarting: old.opts.restarting };
        return "unchanged";
      }
      this.#log.info("Re-creating BGP instance", { instance: o.name, asn: o.asn, router_id: o.routerId });
      const carried = [...old.sessions.values()].filter((s) => !old.dynamic.has(s)).map((s) => ({ cfg: s.config, rib: s.ribOut }));
      await this.#teardown(old, { subcode: CeaseSubcode.OtherConfigurationChange });
      const inst = await this.#create(o, routerId);
      for (const { cfg, rib } of carried) this.#addSession(inst, cfg, rib);
      return "recreated";
    }
    this.#log.info("Registering BGP instance", { instance: o.name, asn: o.asn, router_id: o.routerId, listen_port: o.listen?.port });
    await this.#create(o, routerId);
    return "created";
  }

  async #create(o: InstanceOptions, routerId: number): Promise<Instance> {
    const logger = this.#log.child({ instance: o.name, asn: o.asn });
    const inst: Instance = {
      opts: o,
      routerId,
      listener: null,
      sessions: new Map(),
      byAddress: new Map(),
      dynamic: new Set(),
      logger,
      ctx: {
        instance: o.name,
        local: { asn: o.asn, routerId, restarting: o.restarting ?? false },
        transport: this.#transport,
        clock: this.#clock,
        random: this.#random,
        logger,
        idleHoldMs: this.#idleHoldMs,
        emit: (e) => this.#onSessionEvent(inst, e),
        wantsReceived: () => this.#receivedListeners > 0,
      },
    };
    if (o.listen) {
      inst.listener = await this.#transport.listen(
        { address: o.listen.address, port: o.listen.port, md5Passwords: new Map() },
        (socket) => this.#onIncoming(inst, socket as unknown as BgpSocket),
      );
    }
    this.#instances.set(o.name, inst);
    return inst;
  }

  /** Removes an instance: Cease to every peer, listener closed (spec C7). */
  async removeInstance(name: string): Promise<boolean> {
    const inst = this.#instances.get(name);
    if (!inst) return false;
    this.#log.info("Removed BGP instance", { instance: name });
    await this.#teardown(inst, { subcode: CeaseSubcode.AdministrativeShutdown, hard: true });
    return true;
  }

  async #teardown(inst: Instance, stop: { subcode?: number; hard?: boolean; silent?: boolean }): Promise<void> {
    this.#instances.delete(inst.opts.name);
    for (const s of inst.sessions.values()) s.stop(stop);
    await inst.listener?.close();
  }

  /** The port an instance listens on (useful with port 0), or null. */
  listenPort(instance: string): number | null {
    return this.#instance(instance).listener?.port ?? null;
  }

  instances(): string[] {
    return [...this.#instances.keys()];
  }

  #instance(name: string): Instance {
    const inst = this.#instances.get(name);
    if (!inst) throw notFound(`instance "${name}"`);
    return inst;
  }

  // ---- peers ----------------------------------------------------------------------------

  /**
   * Adds or updates a peer. Changes of identity, hold/keepalive time, or
   * anything in the OPEN or on the socket reset the session (spec D1, D7);
   * the rest applies in place. Throws a TypeError for invalid options.
   */
  setPeer(instance: string, o: PeerOptions): PeerResult {
    const inst = this.#instance(instance);
    const cfg = resolvePeerConfig(o);
    const existing = inst.sessions.get(cfg.name);
    const clash = inst.byAddress.get(cfg.address);
    if (clash && clash !== existing && !inst.dynamic.has(clash)) {
      throw new TypeError(`Cannot set peer "${cfg.name}": address "${cfg.address}" is already used by peer "${clash.config.name}"`);
    }
    if (clash && inst.dynamic.has(clash)) this.#dropSession(inst, clash, { subcode: CeaseSubcode.OtherConfigurationChange });
    if (!existing) {
      inst.logger.info("Adding peer", { peer: cfg.address, name: cfg.name, peer_asn: cfg.asn });
      this.#addSession(inst, cfg, new AdjRibOut());
      return { action: "created", changed: [] };
    }
    const oldAddress = existing.config.address;
    const diff: PeerConfigDiff = existing.update(cfg);
    if (oldAddress !== cfg.address) {
      inst.byAddress.delete(oldAddress);
      inst.byAddress.set(cfg.address, existing);
    }
    this.#syncMd5(inst);
    if (diff.changed.length === 0) return { action: "unchanged", changed: [] };
    return { action: diff.reset ? "reset" : "updated", changed: diff.changed };
  }

  #addSession(inst: Instance, cfg: ReturnType<typeof resolvePeerConfig>, rib: AdjRibOut): Session {
    const s = new Session(cfg, inst.ctx, rib);
    inst.sessions.set(cfg.name, s);
    inst.byAddress.set(cfg.address, s);
    this.#syncMd5(inst);
    s.start();
    return s;
  }

  /** Removes a peer: Cease / Peer De-configured (Hard Reset where RFC 8538 applies), routes dropped. */
  removePeer(instance: string, name: string): boolean {
    const inst = this.#instance(instance);
    const s = inst.sessions.get(name);
    if (!s) return false;
    inst.logger.info("Removing peer", { peer: s.config.address, name });
    this.#dropSession(inst, s, { subcode: CeaseSubcode.PeerDeconfigured, hard: true });
    return true;
  }

  #dropSession(inst: Instance, s: Session, stop: { subcode?: number; hard?: boolean; silent?: boolean }): void {
    s.stop(stop);
    s.ribOut.clear();
    inst.sessions.delete(s.config.name);
    if (inst.byAddress.get(s.config.address) === s) inst.byAddress.delete(s.config.address);
    inst.dynamic.delete(s);
    this.#syncMd5(inst);
  }

  #syncMd5(inst: Instance): void {
    if (!inst.listener?.setMd5Passwords) return;
    const m = new Map<string, string>();
    for (const s of inst.sessions.values()) if (s.config.md5Password) m.set(s.config.address, s.config.md5Password);
    inst.listener.setMd5Passwords(m);
  }

  peerNames(instance: string): string[] {
    return [...this.#instance(instance).sessions.keys()];
  }

  #onIncoming(inst: Instance, socket: BgpSocket): void {
    if (this.#instances.get(inst.opts.name) !== inst) {
      socket.destroy();
      return;
    }
    const address = canonicalIP(plainAddress(socket.remoteAddress)) ?? "";
    let s = inst.byAddress.get(address);
    if (!s && inst.opts.acceptAnyPeer && address) {
      const extra = inst.opts.acceptAnyPeer === true ? {} : inst.opts.acceptAnyPeer;
      const cfg = resolvePeerConfig({ ...extra, name: address, address, asn: 0, passive: true });
      inst.logger.info("Accepting dynamic peer", { peer: address });
      s = this.#addSession(inst, cfg, new AdjRibOut());
      inst.dynamic.add(s);
    }
    if (!s) {
      inst.logger.debug("Refusing connection from an unknown peer", { peer: address });
      socket.destroy();
      return;
    }
    s.acceptIncoming(socket);
  }

  #onSessionEvent(inst: Instance, e: SpeakerEvent): void {
    this.#emit(e);
    // Dynamic peers live as long as their session.
    if (e.type === "state" && e.state === "idle" && e.previous !== "idle") {
      const s = inst.sessions.get(e.peer);
      if (s && inst.dynamic.has(s)) queueMicrotask(() => inst.sessions.get(e.peer) === s && this.#dropSession(inst, s, { silent: true }));
    }
  }

  // ---- routes ---------------------------------------------------------------------------

  /** The interned attribute set for `a`; pass it to announce() to share it between calls. */
  attributes(a: RouteAttributes | AttrSet = {}): AttrSet {
    return this.#attrs.intern(a);
  }

  #routeTarget(instance: string, peer: string, family: string): { s: Session; f: FamilyCode; v: 4 | 6 } {
    const s = this.#instance(instance).sessions.get(peer);
    if (!s) throw notFound(`peer "${peer}" in instance "${instance}"`);
    const f = parseFamily(family);
    if (!isRouteFamily(f)) throw new TypeError(`Cannot use family "${family}" for routes: herald carries routes for ipv4/unicast and ipv6/unicast only`);
    return { s, f, v: familyAfi(f) === Afi.IPv6 ? 6 : 4 };
  }

  /** Peer and family for listings: any family parses; those without routes list nothing. */
  #listTarget(instance: string, peer: string, family: string): { s: Session; f: FamilyCode } {
    const s = this.#instance(instance).sessions.get(peer);
    if (!s) throw notFound(`peer "${peer}" in instance "${instance}"`);
    return { s, f: parseFamily(family) };
  }

  /**
   * Announces prefixes (text, "10.0.0.0/24") to one peer with one attribute
   * set; prefixes already announced with the same set are left alone.
   * Returns how many changed. Throws a TypeError for a malformed prefix or one
   * of the other family.
   */
  announce(instance: string, peer: string, family: string, prefixes: Iterable<string>, attrs: RouteAttributes | AttrSet = {}): number {
    const { s, f, v } = this.#routeTarget(instance, peer, family);
    return s.ribOut.announce(f, textKeys(prefixes, v, family), this.attributes(attrs), this.#clock.now());
  }

  /** Withdraws prefixes (text); returns how many were announced. */
  withdraw(instance: string, peer: string, family: string, prefixes: Iterable<string>): number {
    const { s, f, v } = this.#routeTarget(instance, peer, family);
    return s.ribOut.withdraw(f, textKeys(prefixes, v, family));
  }

  /** announce() with packed keys (see keyFromText), the fast path for large tables. */
  announceKeys(instance: string, peer: string, family: string, keys: Iterable<PrefixKey>, attrs: RouteAttributes | AttrSet = {}): number {
    const { s, f, v } = this.#routeTarget(instance, peer, family);
    return s.ribOut.announce(f, checkedKeys(keys, v, family), this.attributes(attrs), this.#clock.now());
  }

  withdrawKeys(instance: string, peer: string, family: string, keys: Iterable<PrefixKey>): number {
    const { s, f } = this.#routeTarget(instance, peer, family);
    return s.ribOut.withdraw(f, keys);
  }

  /** Makes the peer's family hold exactly these routes (a diff against what it holds). */
  setRoutes(instance: string, peer: string, family: string, entries: Iterable<readonly [string, RouteAttributes | AttrSet]>): { announced: number; withdrawn: number } {
    const { s, f, v } = this.#routeTarget(instance, peer, family);
    const list: Array<[PrefixKey, AttrSet]> = [];
    for (const [text, a] of entries) list.push([textKey(text, v, family), this.attributes(a)]);
    return s.ribOut.replace(f, list, this.#clock.now());
  }

  // ---- status and RIB listings ----------------------------------------------------------

  /** A snapshot of every peer (of one instance, or all). */
  peers(instance?: string): PeerStatus[] {
    const now = this.#clock.now();
    const out: PeerStatus[] = [];
    for (const inst of this.#instances.values()) {
      if (instance !== undefined && inst.opts.name !== instance) continue;
      for (const s of inst.sessions.values()) out.push(peerStatus(inst.opts.name, inst.opts.asn, inst.routerId, s, now));
    }
    return out;
  }

  peer(instance: string, name: string): PeerStatus | undefined {
    const inst = this.#instances.get(instance);
    const s = inst?.sessions.get(name);
    return inst && s ? peerStatus(inst.opts.name, inst.opts.asn, inst.routerId, s, this.#clock.now()) : undefined;
  }

  /**
   * The peer's Adj-RIB-Out for a family as sent (own AS prepended on eBGP,
   * next hop set, LOCAL_PREF on iBGP); empty while the family is not up.
   */
  advertised(instance: string, peer: string, family: string): Generator<RouteEntry> {
    const { s, f } = this.#listTarget(instance, peer, family);
    return advertisedRoutes(s, f, this.#instance(instance).opts.asn, this.#clock.now());
  }

  /**
   * Locally originated paths of an instance (Cilium's loc-rib): every prefix
   * announced to any of its peers, once, with ORIGIN and an unresolved next
   * hop (0.0.0.0 / ::).
   */
  locRib(instance: string, family: string): Generator<RouteEntry> {
    const inst = this.#instance(instance);
    // Families that carry no routes in herald simply list nothing.
    return locRibRoutes(inst.sessions.values(), parseFamily(family), this.#clock.now());
  }

  /** What the peer announced (Adj-RIB-In), never installed. */
  received(instance: string, peer: string, family: string): Generator<RouteEntry> {
    const { s, f } = this.#listTarget(instance, peer, family);
    return receivedRoutes(s, f, this.#clock.now());
  }

  // ---- shutdown -------------------------------------------------------------------------

  /**
   * Stops everything. `notify: true` (default) sends Cease to every peer;
   * `notify: false` closes the sockets without NOTIFICATION, so
   * graceful-restart peers keep the routes while the agent restarts (spec C7).
   */
  async close(o: { notify?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const notify = o.notify ?? true;
    const all = [...this.#instances.values()];
    await Promise.all(all.map((inst) => this.#teardown(inst, notify ? { subcode: CeaseSubcode.AdministrativeShutdown, hard: true } : { silent: true })));
  }
}

function textKey(text: string, v: 4 | 6, family: string): PrefixKey {
  const k = keyFromText(text);
  if (k === null) throw new TypeError(`Cannot use prefix "${text}": not an address/length prefix`);
  if (text.includes(":") !== (v === 6)) throw new TypeError(`Cannot use prefix "${text}" in family "${family}": wrong address family`);
  return k;
}

/** All keys, or a TypeError before anything changed. */
function textKeys(prefixes: Iterable<string>, v: 4 | 6, family: string): PrefixKey[] {
  const out: PrefixKey[] = [];
  for (const p of prefixes) out.push(textKey(p, v, family));
  return out;
}

function checkedKeys(keys: Iterable<PrefixKey>, v: 4 | 6, family: string): Iterable<PrefixKey> {
  const list = Array.isArray(keys) ? keys as PrefixKey[] : [...keys];
  for (const k of list) {
    if (!isValidKey(k, v)) throw new TypeError(`Cannot use prefix key of ${k.length} bytes in family "${family}": not a valid NLRI`);
  }
  return list;
}
