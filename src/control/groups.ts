/**
 * Route groups: the peers that receive identical routes. For v2 that is
 * every peer using one CiliumBGPPeerConfig (the advertisement pipeline of
 * E1 depends only on it); for v1, one neighbour of a virtual router (its
 * path attributes are per neighbour, G5).
 *
 * A group holds, per route family, the routes that do not come from
 * Services (computed when the group is built) and the Service rules whose
 * matches the engine adds per Service.
 */
import type { IPPrefix } from "../net/ip.ts";
import type { RouteAttributes } from "./attributes.ts";
import type { LabelSelector } from "./schemas/meta.ts";
import type { ServiceAddressType } from "./schemas/advertisement.ts";
import type { RouteFamily, RouteSource } from "./types.ts";

/** One route as one contributor (an object or a Service) wants it. */
export interface Contribution {
  readonly attributes: RouteAttributes;
  readonly sources: readonly RouteSource[];
}

/** A Service advertisement entry (v2) or a v1 router's serviceSelector. */
export interface ServiceRule {
  readonly id: number;
  /** Stable identity: "<advert>#<index>" or "v1:<policy>:<asn>". */
  readonly key: string;
  readonly selector: LabelSelector;
  readonly addressTypes: readonly ServiceAddressType[];
  readonly aggregationIPv4: number | null;
  readonly aggregationIPv6: number | null;
  readonly attributes: RouteAttributes;
  /** Advertisement (v2) or peering-policy (v1) name, for sources and explanations. */
  readonly advertisement: string;
}

export interface RouteGroup {
  readonly key: string;
  /** Families with routes, in the PeerConfig's order (E1); others negotiated get none. */
  readonly families: readonly RouteFamily[];
  /** Per family: Service rules in advertisement order. */
  readonly serviceRules: ReadonlyMap<RouteFamily, readonly ServiceRule[]>;
  /** Per family: prefix → contributor key → contribution, for PodCIDR, pools, interfaces. */
  readonly staticRoutes: ReadonlyMap<RouteFamily, ReadonlyMap<string, ReadonlyMap<string, Contribution>>>;
  /** v1 only: extra attributes for a Service route by prefix (LB-pool path attributes, G5). */
  readonly servicePrefixAttributes?: (prefix: IPPrefix, attributes: RouteAttributes) => RouteAttributes;
  /** Per family: names of the advertisements selected (for explanations). */
  readonly selected: ReadonlyMap<RouteFamily, readonly string[]>;
  /** Per family: why nothing is advertised, when that is the case (E2). */
  readonly emptyReason: ReadonlyMap<RouteFamily, string>;
}

/** De-duplicates rules that several groups share (one advert selected by many PeerConfigs). */
export class RuleRegistry {
  readonly rules: ServiceRule[] = [];
  readonly #byKey = new Map<string, ServiceRule>();

  get(key: string, make: (id: number) => ServiceRule): ServiceRule {
    let rule = this.#byKey.get(key);
    if (!rule) {
      rule = make(this.rules.length);
      this.#byKey.set(key, rule);
      this.rules.push(rule);
    }
    return rule;
  }
}

/** Adds one contribution to a static-route map, merging sources of the same contributor. */
export function addStatic(
  table: Map<string, Map<string, Contribution>>,
  prefix: string,
  contributor: string,
  contribution: Contribution,
): void {
  let row = table.get(prefix);
  if (!row) table.set(prefix, row = new Map());
  row.set(contributor, contribution);
}
