/**
 * Export policies as Cilium names and builds them (E6), derived from a
 * desired state, so that `bgp route-policies` can list what herald's
 * per-peer filtering amounts to in Cilium's terms:
 * `<peer>-<afi>-PodCIDR`, `<peer>-<afi>-Interface`,
 * `<peer>-<afi>-CiliumPodIPPool-<pool>`,
 * `<peer>-<afi>-Service-<svc>-<namespace>-<addressType>`.
 * Each statement matches the peer address and exact prefixes (min = max)
 * and sets communities (added) and LOCAL_PREF.
 */
import type { RouteAttributes } from "./attributes.ts";
import type { DesiredState, RouteFamily, RouteSource } from "./types.ts";

export interface PolicyStatement {
  /** Neighbour address the statement matches. */
  readonly peerAddress: string;
  readonly family: RouteFamily;
  /** Exact-length matches: prefix with min = max = its length. */
  readonly prefixes: ReadonlyArray<{ prefix: string; min: number; max: number }>;
  readonly attributes: RouteAttributes;
}

export interface RoutePolicy {
  readonly instance: string;
  readonly localASN: number;
  readonly name: string;
  readonly type: "export";
  readonly statements: readonly PolicyStatement[];
}

export function policyName(peer: string, family: RouteFamily, source: RouteSource): string {
  const afi = family === "ipv4/unicast" ? "ipv4" : "ipv6";
  switch (source.kind) {
    case "PodCIDR":
      return `${peer}-${afi}-PodCIDR`;
    case "Interface":
      return `${peer}-${afi}-Interface`;
    case "CiliumPodIPPool":
      return `${peer}-${afi}-CiliumPodIPPool-${source.name}`;
    case "Service":
      return `${peer}-${afi}-Service-${source.name}-${source.namespace}-${source.addressType}`;
  }
}

/** All export policies of the state, sorted by router ASN then name (as `cilium-dbg bgp route-policies`). */
export function routePolicies(state: DesiredState): RoutePolicy[] {
  const out: RoutePolicy[] = [];
  for (const inst of state.instances) {
    const byName = new Map<string, Map<RouteAttributes, PolicyStatement>>();
    for (const peer of inst.peers) {
      for (const [family, table] of peer.routes) {
        for (const route of table.values()) {
          const len = Number(route.prefix.slice(route.prefix.indexOf("/") + 1));
          for (const src of route.sources) {
            const name = policyName(peer.name, family, src);
            let stmts = byName.get(name);
            if (!stmts) byName.set(name, stmts = new Map());
            let st = stmts.get(src.attributes);
            if (!st) {
              st = { peerAddress: peer.address, family, prefixes: [], attributes: src.attributes };
              stmts.set(src.attributes, st);
            }
            (st.prefixes as { prefix: string; min: number; max: number }[]).push({ prefix: route.prefix, min: len, max: len });
          }
        }
      }
    }
    for (const [name, stmts] of byName) {
      // Longer prefixes first (E19), so a /32 statement beats an aggregate.
      const statements = [...stmts.values()].sort((a, b) => b.prefixes[0].min - a.prefixes[0].min);
      out.push({ instance: inst.name, localASN: inst.localASN, name, type: "export", statements });
    }
  }
  return out.sort((a, b) => a.localASN - b.localASN || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
