/**
 * Service addresses and which of them this node announces (E12–E18):
 * address kinds, load-balancer class, traffic policy against local
 * endpoints, zero backends, aggregation; and the index that finds the rules
 * whose selector may match a Service without trying every rule.
 */
import { formatIP, formatPrefix, type IPAddress, parseIP, prefixOf } from "../net/ip.ts";
import { selectorMatches, type Labels } from "./selector.ts";
import { BGP_LOAD_BALANCER_CLASS, type ServiceAddressType } from "./schemas/advertisement.ts";
import { type EndpointSlice, isActiveEndpoint, SERVICE_NAME_LABEL } from "./schemas/endpoint-slice.ts";
import { externalTrafficPolicy, internalTrafficPolicy, type Service } from "./schemas/service.ts";
import type { ServiceRule } from "./groups.ts";

/** Backends of one Service as seen from this node (E15, E16). */
export interface EndpointSummary {
  /** Active (ready, not terminating) endpoints anywhere. */
  readonly active: number;
  /** Active endpoints whose nodeName is this node. */
  readonly local: number;
}

export const NO_ENDPOINTS: EndpointSummary = Object.freeze({ active: 0, local: 0 });

/** `namespace/name` of the Service a slice belongs to, or null. */
export function sliceService(slice: EndpointSlice): string | null {
  const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return svc ? `${slice.metadata.namespace}/${svc}` : null;
}

export function sliceSummary(slice: EndpointSlice, nodeName: string): EndpointSummary {
  let active = 0;
  let local = 0;
  for (const ep of slice.endpoints) {
    if (!isActiveEndpoint(ep)) continue;
    active++;
    if (ep.nodeName === nodeName) local++;
  }
  return { active, local };
}

export function addSummaries(items: Iterable<EndpointSummary>): EndpointSummary {
  let active = 0;
  let local = 0;
  for (const s of items) {
    active += s.active;
    local += s.local;
  }
  return active === 0 ? NO_ENDPOINTS : { active, local };
}

export interface AddressOptions {
  readonly noServiceEndpointsRoutable: boolean;
}

export interface ServiceAddresses {
  readonly addressType: ServiceAddressType;
  /** Addresses and their canonical text. */
  readonly ips: ReadonlyArray<{ ip: IPAddress; text: string }>;
  /** The traffic policy this address kind follows (E15). */
  readonly policy: "Cluster" | "Local";
  /** Why none are announced from this node, when that is the case. */
  readonly skipped: { rule: string; reason: string } | null;
  /** Address texts that do not parse. */
  readonly invalid: readonly string[];
}

function raw(svc: Service, type: ServiceAddressType): string[] {
  const spec = svc.spec;
  if (spec.type === "ExternalName") return [];
  switch (type) {
    case "LoadBalancerIP":
      // Cilium makes LoadBalancer frontends only for type LoadBalancer (E13).
      if (spec.type !== "LoadBalancer") return [];
      return (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
    case "ExternalIP":
      return spec.externalIPs ?? [];
    case "ClusterIP":
      return (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [])
        .filter((ip) => ip !== "None" && ip !== "");
  }
}

/** The addresses of one kind this node would announce for `svc`. */
export function serviceAddresses(
  svc: Service,
  type: ServiceAddressType,
  endpoints: EndpointSummary,
  options: AddressOptions,
): ServiceAddresses {
  const policy = type === "ClusterIP" ? internalTrafficPolicy(svc) : externalTrafficPolicy(svc);
  const ips: { ip: IPAddress; text: string }[] = [];
  const invalid: string[] = [];
  const seen = new Set<string>();
  for (const text of raw(svc, type)) {
    const ip = parseIP(text.trim());
    if (ip === null || text.includes("%")) {
      invalid.push(text);
      continue;
    }
    const canonical = formatIP(ip);
    if (seen.has(canonical)) continue;
    seen.add(canonical);
    ips.push({ ip, text: canonical });
  }
  const result = (skipped: ServiceAddresses["skipped"]): ServiceAddresses => ({ addressType: type, ips, policy, skipped, invalid });
  if (type === "LoadBalancerIP") {
    const cls = svc.spec.loadBalancerClass;
    if (cls !== undefined && cls !== BGP_LOAD_BALANCER_CLASS) {
      return result({ rule: "E13", reason: `its loadBalancerClass is "${cls}", not unset or "${BGP_LOAD_BALANCER_CLASS}"` });
    }
    if (svc.spec.type !== "LoadBalancer") {
      return result({ rule: "E13", reason: `it is of type ${svc.spec.type}, and only LoadBalancer Services have LoadBalancer IPs` });
    }
  }
  if (ips.length === 0) {
    const where = type === "LoadBalancerIP"
      ? "status.loadBalancer.ingress has no IP (not assigned yet)"
      : type === "ExternalIP"
      ? "spec.externalIPs is empty"
      : "it has no ClusterIP (headless or ExternalName)";
    return result({ rule: type === "LoadBalancerIP" ? "E13" : "E14", reason: where });
  }
  if (policy === "Local" && endpoints.local === 0) {
    const field = type === "ClusterIP" ? "internalTrafficPolicy" : "externalTrafficPolicy";
    return result({ rule: "E15", reason: `${field} is Local and it has no ready, non-terminating endpoint on this node` });
  }
  if (!options.noServiceEndpointsRoutable && endpoints.active === 0) {
    return result({ rule: "E16", reason: "it has no active backends and enable-no-service-endpoints-routable is false" });
  }
  return result(null);
}

/**
 * The announced prefix (E18): the address masked to the rule's aggregation
 * length, except under a Local traffic policy (always the host route).
 */
export function servicePrefix(
  addr: { ip: IPAddress; text: string },
  rule: Pick<ServiceRule, "aggregationIPv4" | "aggregationIPv6">,
  policy: "Cluster" | "Local",
): string {
  const host = addr.ip.family === 4 ? 32 : 128;
  const agg = policy === "Local" ? null : addr.ip.family === 4 ? rule.aggregationIPv4 : rule.aggregationIPv6;
  if (agg === null || agg === host) return `${addr.text}/${host}`;
  return formatPrefix(prefixOf(addr.ip, agg));
}

/**
 * Finds candidate rules for a label set: rules are filed under their first
 * matchLabels pair; rules without matchLabels are always candidates.
 */
export class RuleIndex {
  readonly #byLabel = new Map<string, ServiceRule[]>();
  readonly #general: ServiceRule[] = [];

  constructor(rules: Iterable<ServiceRule>) {
    for (const rule of rules) {
      const first = Object.entries(rule.selector.matchLabels ?? {})[0];
      if (first === undefined) {
        this.#general.push(rule);
        continue;
      }
      const key = `${first[0]}\u0000${first[1]}`;
      const list = this.#byLabel.get(key);
      if (list) list.push(rule);
      else this.#byLabel.set(key, [rule]);
    }
  }

  /** Rules whose selector matches, in rule-id order. */
  matches(labels: Labels): ServiceRule[] {
    const out: ServiceRule[] = [];
    for (const rule of this.#general) if (selectorMatches(rule.selector, labels)) out.push(rule);
    for (const key in labels) {
      const list = this.#byLabel.get(`${key}\u0000${labels[key]}`);
      if (list) for (const rule of list) if (selectorMatches(rule.selector, labels)) out.push(rule);
    }
    return out.length > 1 ? out.sort((a, b) => a.id - b.id) : out;
  }
}
