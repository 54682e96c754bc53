/**
 * Equivalence of two BGP views of one node: the same sessions with the same
 * settings, and per peer and family the same prefixes with the same path
 * attributes as they go on the wire (communities, large communities,
 * LOCAL_PREF towards that peer, ORIGIN).
 *
 * Peers are matched by (local AS, peer address), not by name: instance and
 * peer names differ between v1 and v2 and between MetalLB and Cilium, and
 * neither reaches the routers.
 */
import { formatCommunity } from "../control/attributes.ts";
import { wireLocalPreference } from "../control/desired.ts";
import type { DesiredState } from "../control/types.ts";

export interface PeerView {
  /** Session settings that reach the peer, as text (one line per setting). */
  readonly session: ReadonlyMap<string, string>;
  /** "family prefix" → attributes as text. */
  readonly routes: ReadonlyMap<string, string>;
}

/** "localASN peerAddress" → view. */
export type NodeView = ReadonlyMap<string, PeerView>;

export interface WireRoute {
  readonly communities: readonly number[];
  readonly largeCommunities: readonly string[];
  /** As sent to this peer (null: not sent, eBGP). */
  readonly localPreference: number | null;
  readonly origin: "igp" | "incomplete";
}

export function routeText(r: WireRoute): string {
  const parts = [`origin ${r.origin}`];
  if (r.communities.length) parts.push(`communities ${[...r.communities].sort((a, b) => a - b).map(formatCommunity).join(" ")}`);
  if (r.largeCommunities.length) parts.push(`large ${[...r.largeCommunities].sort().join(" ")}`);
  if (r.localPreference !== null) parts.push(`local-pref ${r.localPreference}`);
  return parts.join(", ");
}

export const peerKey = (localASN: number, address: string) => `AS${localASN} peer ${address}`;

/** The view of a desired state; `sessionFields` picks what is compared of each session. */
export function viewOf(state: DesiredState, sessionFields: "all" | "routes-only" = "all"): NodeView {
  const out = new Map<string, PeerView>();
  for (const inst of state.instances) {
    for (const p of inst.peers) {
      const session = new Map<string, string>();
      if (sessionFields === "all") {
        session.set("routerID", inst.routerID);
        session.set("localPort", String(inst.localPort ?? "none"));
        session.set("peerASN", String(p.peerASN));
        session.set("peerPort", String(p.peerPort));
        session.set("timers", `connect ${p.timers.connectRetryTimeSeconds}s hold ${p.timers.holdTimeSeconds}s keepalive ${p.timers.keepAliveTimeSeconds}s`);
        session.set("gracefulRestart", p.gracefulRestart.enabled ? `on, ${p.gracefulRestart.restartTimeSeconds}s` : "off");
        session.set("ebgpMultihop", String(p.ebgpMultihop));
        session.set("families", [...p.families].sort().join(","));
        session.set("password", p.authSecretRef ? `from Secret ${p.authSecretRef}` : "none");
        session.set("localAddress", p.localAddress ?? "kernel's choice");
      }
      const routes = new Map<string, string>();
      for (const [family, table] of p.routes) {
        for (const r of table.values()) {
          routes.set(`${family} ${r.prefix}`, routeText({ ...r, localPreference: wireLocalPreference(r, p) }));
        }
      }
      out.set(peerKey(inst.localASN, p.address), { session, routes });
    }
  }
  return out;
}

/** Every difference between `before` (the old configuration) and `after` (the converted one), as sentences. */
export function compareViews(before: NodeView, after: NodeView, names = { before: "before", after: "after" }): string[] {
  const out: string[] = [];
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(key);
    const b = after.get(key);
    if (!b) {
      out.push(`${key}: session exists with ${names.before} but not with ${names.after}`);
      continue;
    }
    if (!a) {
      out.push(`${key}: session exists with ${names.after} but not with ${names.before}`);
      continue;
    }
    for (const field of new Set([...a.session.keys(), ...b.session.keys()])) {
      if (a.session.get(field) !== b.session.get(field)) {
        out.push(`${key}: ${field} is ${a.session.get(field) ?? "unset"} with ${names.before} but ${b.session.get(field) ?? "unset"} with ${names.after}`);
      }
    }
    for (const route of [...new Set([...a.routes.keys(), ...b.routes.keys()])].sort()) {
      const x = a.routes.get(route);
      const y = b.routes.get(route);
      if (x === y) continue;
      if (y === undefined) out.push(`${key}: ${route} is advertised with ${names.before} (${x}) but not with ${names.after}`);
      else if (x === undefined) out.push(`${key}: ${route} is advertised with ${names.after} (${y}) but not with ${names.before}`);
      else out.push(`${key}: ${route} has ${x} with ${names.before} but ${y} with ${names.after}`);
    }
  }
  return out;
}
