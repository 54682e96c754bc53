/**
 * What changed between two desired states, classified the way the speaker
 * must apply it: recreate an instance (C6), reset a peer (identity D1, hold
 * or keepalive D7), update a peer in place (D7), and per-prefix route
 * changes (E7: attribute changes only need an outbound soft reset).
 * Pure functions; the reconciler turns them into actions.
 */
import type { DesiredInstance, DesiredPeer, DesiredState, Route, RouteFamily, RouteTable } from "./types.ts";

export interface RouteChange {
  readonly instance: string;
  readonly peer: string;
  readonly family: RouteFamily;
  readonly prefix: string;
  readonly action: "advertise" | "update" | "withdraw";
  /** The route now; null when withdrawn. */
  readonly route: Route | null;
}

export interface InstanceChange {
  readonly instance: string;
  /** recreate: all sessions drop and routes are re-sent (C6). remove: CEASE to peers (C7). */
  readonly action: "create" | "remove" | "recreate";
  readonly reasons: readonly string[];
}

export interface PeerChange {
  readonly instance: string;
  readonly peer: string;
  /** reset: tear the session down and start again (D1, D7). update: push the new settings (D7). */
  readonly action: "create" | "remove" | "reset" | "update";
  readonly reasons: readonly string[];
}

/** Only what changed. Peers of created, removed or recreated instances are not listed. */
export interface ChangePlan {
  readonly instances: readonly InstanceChange[];
  readonly peers: readonly PeerChange[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Peer settings compared for an in-place update (everything but identity and routes). */
const UPDATE_FIELDS = [
  "peerPort",
  "localAddress",
  "peerConfig",
  "ebgpMultihop",
  "families",
  "gracefulRestart",
  "password",
] as const;

function peerChange(instance: string, a: DesiredPeer, b: DesiredPeer): PeerChange | null {
  const identity: string[] = [];
  if (a.address !== b.address) identity.push(`address ${a.address} → ${b.address} (D1)`);
  if (a.peerASN !== b.peerASN) identity.push(`peerASN ${a.peerASN} → ${b.peerASN} (D1)`);
  if (identity.length) return { instance, peer: b.name, action: "reset", reasons: identity };
  const timers: string[] = [];
  if (a.timers.holdTimeSeconds !== b.timers.holdTimeSeconds) {
    timers.push(`holdTimeSeconds ${a.timers.holdTimeSeconds} → ${b.timers.holdTimeSeconds} (D7)`);
  }
  if (a.timers.keepAliveTimeSeconds !== b.timers.keepAliveTimeSeconds) {
    timers.push(`keepAliveTimeSeconds ${a.timers.keepAliveTimeSeconds} → ${b.timers.keepAliveTimeSeconds} (D7)`);
  }
  if (timers.length) return { instance, peer: b.name, action: "reset", reasons: timers };
  const updates: string[] = [];
  if (a.timers.connectRetryTimeSeconds !== b.timers.connectRetryTimeSeconds) updates.push("timers.connectRetryTimeSeconds");
  for (const f of UPDATE_FIELDS) {
    if (!same(a[f], b[f])) updates.push(f === "password" ? "password (TCP-MD5)" : f);
  }
  return updates.length ? { instance, peer: b.name, action: "update", reasons: updates.map((u) => `${u} changed (D7)`) } : null;
}

function instanceRecreate(a: DesiredInstance, b: DesiredInstance): string[] {
  const out: string[] = [];
  if (a.localASN !== b.localASN) out.push(`localASN ${a.localASN} → ${b.localASN} (C6)`);
  if (a.routerID !== b.routerID) out.push(`routerID ${a.routerID} → ${b.routerID} (C6)`);
  if (a.localPort !== b.localPort) out.push(`listen port ${a.localPort ?? "none"} → ${b.localPort ?? "none"} (C6)`);
  return out;
}

export function classifyChanges(prev: DesiredState | undefined, next: DesiredState): ChangePlan {
  const instances: InstanceChange[] = [];
  const peers: PeerChange[] = [];
  const before = new Map((prev?.instances ?? []).map((i) => [i.name, i]));
  const after = new Map(next.instances.map((i) => [i.name, i]));
  for (const name of before.keys()) {
    if (!after.has(name)) instances.push({ instance: name, action: "remove", reasons: ["no longer desired (C7)"] });
  }
  for (const [name, b] of after) {
    const a = before.get(name);
    if (!a) {
      instances.push({ instance: name, action: "create", reasons: ["new instance"] });
      continue;
    }
    const recreate = instanceRecreate(a, b);
    if (recreate.length) {
      instances.push({ instance: name, action: "recreate", reasons: recreate });
      continue;
    }
    const pa = new Map(a.peers.map((p) => [p.name, p]));
    const pb = new Map(b.peers.map((p) => [p.name, p]));
    for (const [peer] of pa) if (!pb.has(peer)) peers.push({ instance: name, peer, action: "remove", reasons: ["no longer desired"] });
    for (const [peer, p] of pb) {
      const old = pa.get(peer);
      if (!old) peers.push({ instance: name, peer, action: "create", reasons: ["new peer"] });
      else {
        const ch = peerChange(name, old, p);
        if (ch) peers.push(ch);
      }
    }
  }
  return { instances, peers };
}

function wireEqual(a: Route, b: Route): boolean {
  return a.origin === b.origin && a.localPreference === b.localPreference &&
    same(a.communities, b.communities) && same(a.largeCommunities, b.largeCommunities);
}

type PrefixChange = { prefix: string; action: RouteChange["action"]; route: Route | null };

function diffTables(a: RouteTable, b: RouteTable): PrefixChange[] {
  if (a === b) return [];
  const out: PrefixChange[] = [];
  for (const prefix of a.keys()) if (!b.has(prefix)) out.push({ prefix, action: "withdraw", route: null });
  for (const [prefix, r] of b) {
    const old = a.get(prefix);
    if (!old) out.push({ prefix, action: "advertise", route: r });
    else if (!wireEqual(old, r)) out.push({ prefix, action: "update", route: r });
  }
  return out;
}

const EMPTY: RouteTable = new Map();

/** Route changes per (instance, peer, family, prefix); tables shared by peers are compared once. */
export function diffRoutes(prev: DesiredState | undefined, next: DesiredState): RouteChange[] {
  const memo = new Map<RouteTable, Map<RouteTable, PrefixChange[]>>();
  const diff = (a: RouteTable, b: RouteTable) => {
    let row = memo.get(a);
    if (!row) memo.set(a, row = new Map());
    let d = row.get(b);
    if (!d) row.set(b, d = diffTables(a, b));
    return d;
  };
  const peersOf = (s: DesiredState | undefined) => {
    const m = new Map<string, DesiredPeer>();
    for (const i of s?.instances ?? []) for (const p of i.peers) m.set(`${i.name}\u0000${p.name}`, p);
    return m;
  };
  const a = peersOf(prev);
  const b = peersOf(next);
  const out: RouteChange[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const [instance, peer] = key.split("\u0000");
    const pa = a.get(key);
    const pb = b.get(key);
    const families = new Set<RouteFamily>([...(pa?.routes.keys() ?? []), ...(pb?.routes.keys() ?? [])]);
    for (const family of families) {
      for (const ch of diff(pa?.routes.get(family) ?? EMPTY, pb?.routes.get(family) ?? EMPTY)) {
        out.push({ instance, peer, family, ...ch });
      }
    }
  }
  return out;
}
