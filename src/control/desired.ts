/**
 * `desiredState()`: the pure, from-scratch function from (resources, node
 * identity, host facts, options) to this node's desired BGP state. No I/O,
 * no clocks. The same inputs always give the same state, whatever the order
 * of the resource lists.
 */
import { ControlEngine } from "./engine.ts";
import type { ControlInput, DesiredInstance, DesiredPeer, DesiredState, Route, RouteFamily } from "./types.ts";

export function desiredState(input: ControlInput): DesiredState {
  return new ControlEngine(input).state();
}

/**
 * The LOCAL_PREF that goes on the wire towards `peer` (E8): the policy value
 * (or the speaker's default 100) on iBGP, nothing on eBGP. With peerASN 0 the
 * session type is unknown until OPEN; the policy value is reported then.
 */
export function wireLocalPreference(route: Route, peer: Pick<DesiredPeer, "sessionType">): number | null {
  if (peer.sessionType === "ebgp") return null;
  if (peer.sessionType === "ibgp") return route.localPreference ?? 100;
  return route.localPreference;
}

/** The instance RIB (E3): each prefix once per family, if any peer wants it. */
export function availableRoutes(instance: DesiredInstance): Map<RouteFamily, Set<string>> {
  const out = new Map<RouteFamily, Set<string>>();
  for (const peer of instance.peers) {
    for (const [family, table] of peer.routes) {
      let set = out.get(family);
      if (!set) out.set(family, set = new Set());
      for (const prefix of table.keys()) set.add(prefix);
    }
  }
  return out;
}

/** A plain-JSON view of a state (route tables as objects keyed by prefix), for APIs and logs. */
export function stateToJSON(state: DesiredState): unknown {
  return JSON.parse(JSON.stringify(state, (_k, v) => v instanceof Map ? Object.fromEntries(v) : v));
}
