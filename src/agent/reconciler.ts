/**
 * The reconciler: makes the speaker run what the control plane wants, and
 * only the difference.
 *
 * One pass walks every desired instance through an ordered list of steps
 * (STYLE §5; spec C8), each reporting errors that are kept per instance
 * (C9) without stopping the others:
 *
 * 1. instance — create, or re-create when local AS, router ID or listen
 *    port changed (the speaker decides, C6); instances no longer desired are
 *    removed first, with Cease to their peers (C7);
 * 2. routes — the route deltas control produced since the last pass, for
 *    peers whose Adj-RIB-Out already matches their table ("synced"); work is
 *    proportional to the change (E20), attribute changes are plain UPDATEs
 *    without any session reset (E7);
 * 3. neighbours — last, as in Cilium, so that routes are in place before a
 *    session can come up and its first burst is complete before End-of-RIB:
 *    a new peer gets its whole table loaded in the same synchronous step
 *    that creates it (its TCP connect cannot finish before the next I/O
 *    turn). Changed peers are updated in place or reset as the speaker's
 *    diff says (identity D1, hold/keepalive D7, anything in the OPEN);
 *    peers no longer desired get Cease.
 *
 * A peer that is not synced (new, or a step failed for it) gets a full
 * table load (`setRoutes`, a diff against its Adj-RIB-Out) instead of
 * deltas, so a failure never leaves the speaker diverged for longer than
 * one pass.
 */
import type { AttrSet, RouteAttributes as SpeakerAttributes } from "../bgp/attr-set.ts";
import type { InstanceOptions, InstanceResult, PeerResult } from "../bgp/speaker.ts";
import type { PeerOptions } from "../bgp/peer-config.ts";
import type { ControlDelta, DesiredInstance, DesiredState, RouteChange, RouteFamily } from "../control/mod.ts";
import type { Logger } from "../log.ts";
import { AttrSets, instanceOptions, peerOptions } from "./translate.ts";

/** What the reconciler needs from the speaker (src/bgp Speaker implements it). */
export interface SpeakerPort {
  setInstance(o: InstanceOptions): Promise<InstanceResult>;
  removeInstance(name: string): Promise<boolean>;
  instances(): string[];
  setPeer(instance: string, o: PeerOptions): PeerResult;
  removePeer(instance: string, name: string): boolean;
  peerNames(instance: string): string[];
  attributes(a: SpeakerAttributes): AttrSet;
  announce(instance: string, peer: string, family: string, prefixes: Iterable<string>, attrs: AttrSet): number;
  withdraw(instance: string, peer: string, family: string, prefixes: Iterable<string>): number;
  setRoutes(instance: string, peer: string, family: string, entries: Iterable<readonly [string, AttrSet]>): { announced: number; withdrawn: number };
}

export interface ReconcilerOptions {
  speaker: SpeakerPort;
  logger: Logger;
  /** Address the listening instances bind (C5). */
  listenAddress?: string;
  /** Instances created by the first pass set the graceful-restart R bit (this start follows a restart). */
  restarting?: boolean;
  /** One failing step (spec §7.1 reconcile_errors_total). */
  onError?: (instance: string) => void;
  /** One instance's pass, in seconds (reconcile_run_duration_seconds). */
  onDuration?: (instance: string, seconds: number) => void;
}

export interface PassResult {
  /** Errors per instance from this pass and from control (C9). */
  errors: ReadonlyMap<string, readonly string[]>;
  /** Route changes applied as deltas, and prefixes loaded by full syncs. */
  routeChanges: number;
  fullSyncs: number;
}

const peerId = (instance: string, peer: string) => `${instance}\u0000${peer}`;

/** The last change per (peer, family, prefix), grouped for the speaker's batch calls. */
interface Grouped {
  announce: Map<AttrSet, string[]>;
  withdraw: string[];
}

export class Reconciler {
  readonly #s: SpeakerPort;
  readonly #log: Logger;
  readonly #listen: string;
  readonly #restarting: boolean;
  /** After a restart: the instances desired at start-up, which peers may hold routes of (null until the first pass). */
  #restartingNames: Set<string> | null = null;
  /** Instances created since this process started (the R bit is for their first creation only). */
  readonly #created = new Set<string>();
  readonly #onError: (instance: string) => void;
  readonly #onDuration: (instance: string, seconds: number) => void;
  readonly #attrs: AttrSets;
  /** Peers whose Adj-RIB-Out equals their desired tables. */
  readonly #synced = new Set<string>();
  /** Route deltas not applied yet, in order. */
  #pending: RouteChange[][] = [];
  #errors = new Map<string, string[]>();

  constructor(o: ReconcilerOptions) {
    this.#s = o.speaker;
    this.#log = o.logger;
    this.#listen = o.listenAddress ?? "0.0.0.0";
    this.#restarting = o.restarting ?? false;
    this.#onError = o.onError ?? (() => {});
    this.#onDuration = o.onDuration ?? (() => {});
    this.#attrs = new AttrSets((a) => o.speaker.attributes(a));
  }

  /** Queues a control delta; its route changes reach synced peers on the next pass. */
  push(delta: ControlDelta): void {
    if (delta.routes.length > 0) this.#pending.push(delta.routes as RouteChange[]);
  }

  /** Errors kept from the last pass, per instance. */
  errors(): ReadonlyMap<string, readonly string[]> {
    return this.#errors;
  }

  /** One pass: the speaker is made to run `state`. Never throws; failures are per instance. */
  async run(state: DesiredState): Promise<PassResult> {
    const pending = this.#pending;
    this.#pending = [];
    this.#restartingNames ??= new Set(this.#restarting ? state.instances.map((i) => i.name) : []);
    const errors = new Map<string, string[]>();
    const fail = (instance: string, what: string, err: unknown) => {
      const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
      (errors.get(instance) ?? errors.set(instance, []).get(instance)!).push(message);
      this.#onError(instance);
      this.#log.error("BGP reconcile error", { instance, error: message });
    };
    let routeChanges = 0;
    let fullSyncs = 0;

    // Instances no longer desired: Cease to their peers (C7).
    const desired = new Set(state.instances.map((i) => i.name));
    for (const name of this.#s.instances()) {
      if (desired.has(name)) continue;
      for (const id of [...this.#synced]) if (id.startsWith(`${name}\u0000`)) this.#synced.delete(id);
      try {
        await this.#s.removeInstance(name);
      } catch (err) {
        fail(name, "Cannot remove instance", err);
      }
    }

    const byInstance = groupByInstance(pending);
    for (const inst of state.instances) {
      const started = performance.now();
      if (inst.errors.length > 0) errors.set(inst.name, [...inst.errors]);
      const r = await this.#instance(inst, fail);
      if (r) {
        routeChanges += this.#routes(inst, byInstance.get(inst.name), fail);
        fullSyncs += this.#neighbours(inst, fail);
      }
      this.#onDuration(inst.name, (performance.now() - started) / 1000);
    }
    this.#errors = errors;
    return { errors, routeChanges, fullSyncs };
  }

  async #instance(inst: DesiredInstance, fail: (i: string, what: string, e: unknown) => void): Promise<boolean> {
    if (!Number.isInteger(inst.localASN) || inst.localASN < 1) {
      // C3: the instance does not start; control reports why.
      if (this.#s.instances().includes(inst.name)) await this.#s.removeInstance(inst.name).catch(() => false);
      return false;
    }
    try {
      // RFC 4724 §4.1: R only in the OPENs that follow this process's start.
      const restarting = this.#restartingNames!.has(inst.name) && !this.#created.has(inst.name);
      const r = await this.#s.setInstance(instanceOptions(inst, this.#listen, restarting));
      if (r === "created") {
        this.#created.add(inst.name);
        for (const id of [...this.#synced]) if (id.startsWith(`${inst.name}\u0000`)) this.#synced.delete(id);
      }
      return true;
    } catch (err) {
      fail(inst.name, `Cannot ${this.#s.instances().includes(inst.name) ? "update" : "start"} instance (C6)`, err);
      return false;
    }
  }

  /** Applies queued route deltas to synced peers; returns how many changes went out. */
  #routes(inst: DesiredInstance, changes: RouteChange[] | undefined, fail: (i: string, what: string, e: unknown) => void): number {
    if (!changes || changes.length === 0) return 0;
    // The last change per (peer, family, prefix) wins; group per attribute set.
    const last = new Map<string, Map<RouteFamily, Map<string, RouteChange>>>();
    for (const ch of changes) {
      if (!this.#synced.has(peerId(inst.name, ch.peer))) continue; // a full sync will cover it
      let fams = last.get(ch.peer);
      if (!fams) last.set(ch.peer, fams = new Map());
      let m = fams.get(ch.family);
      if (!m) fams.set(ch.family, m = new Map());
      m.set(ch.prefix, ch);
    }
    let n = 0;
    for (const [peer, fams] of last) {
      try {
        for (const [family, m] of fams) {
          const g: Grouped = { announce: new Map(), withdraw: [] };
          for (const ch of m.values()) {
            if (ch.route === null) g.withdraw.push(ch.prefix);
            else {
              const set = this.#attrs.of(ch.route);
              let list = g.announce.get(set);
              if (!list) g.announce.set(set, list = []);
              list.push(ch.prefix);
            }
          }
          if (g.withdraw.length) n += this.#s.withdraw(inst.name, peer, family, g.withdraw);
          for (const [set, prefixes] of g.announce) n += this.#s.announce(inst.name, peer, family, prefixes, set);
        }
      } catch (err) {
        this.#synced.delete(peerId(inst.name, peer));
        fail(inst.name, `Cannot update routes of peer "${peer}"`, err);
      }
    }
    return n;
  }

  /** Creates, updates, resets and removes peers; new or unsynced peers get their whole tables. */
  #neighbours(inst: DesiredInstance, fail: (i: string, what: string, e: unknown) => void): number {
    let full = 0;
    const wanted = new Set(inst.peers.map((p) => p.name));
    for (const name of this.#s.peerNames(inst.name)) {
      if (wanted.has(name)) continue;
      this.#synced.delete(peerId(inst.name, name));
      this.#s.removePeer(inst.name, name); // Cease (speaker logs "Removing peer")
    }
    for (const peer of inst.peers) {
      const id = peerId(inst.name, peer.name);
      try {
        const r = this.#s.setPeer(inst.name, peerOptions(peer));
        if (r.action === "updated" || r.action === "reset") {
          this.#log.info("Updating peer", { instance: inst.name, peer: peer.address, name: peer.name, reset: r.action === "reset", changed: r.changed.join(",") });
        }
        if (r.action === "created") this.#synced.delete(id);
      } catch (err) {
        this.#synced.delete(id);
        fail(inst.name, `Cannot configure peer "${peer.name}"`, err);
        continue;
      }
      if (this.#synced.has(id)) continue;
      try {
        for (const [family, table] of peer.routes) {
          const entries: Array<readonly [string, AttrSet]> = [];
          for (const [prefix, route] of table) entries.push([prefix, this.#attrs.of(route)]);
          this.#s.setRoutes(inst.name, peer.name, family, entries);
          full += entries.length;
        }
        this.#synced.add(id);
      } catch (err) {
        fail(inst.name, `Cannot load routes of peer "${peer.name}"`, err);
      }
    }
    return full;
  }
}

function groupByInstance(pending: RouteChange[][]): Map<string, RouteChange[]> {
  const out = new Map<string, RouteChange[]>();
  for (const list of pending) {
    for (const ch of list) {
      let l = out.get(ch.instance);
      if (!l) out.set(ch.instance, l = []);
      l.push(ch);
    }
  }
  return out;
}
