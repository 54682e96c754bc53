/**
 * Service addresses and which of them this node announces (E12–E18):
 * address kinds, load-balancer class, traffic policy against local
 * endpoints, zero backends, aggregation; and the index that finds the rules
 * whose selector may match a Service without trying every rule.
 */
import { formatIP, formatPrefix, parseIP, prefixOf } from "../net/ip.ts";
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

/** One Service address: canonical text and family; IPv4 also as a u32 for fast masking. */
export interface ServiceAddress {
  readonly text: string;
  readonly family: 4 | 6;
  /** IPv4 value (u32), or -1 for IPv6. */
  readonly v4: number;
  /** The host route: "<text>/32" or "<text>/128". */
  readonly host: string;
}

export interface ServiceAddresses {
  readonly addressType: ServiceAddressType;
  readonly ips: readonly ServiceAddress[];
  /** The traffic policy this address kind follows (E15). */
  readonly policy: "Cluster" | "Local";
  /** Why none are announced from this node, when that is the case. */
  readonly skipped: { rule: string; reason: string } | null;
  /** Address texts that do not parse. */
  readonly invalid: readonly string[];
}

/**
 * Dotted quad → u32 without allocating, or -1. Same rules as net/ip.ts
 * (no leading zeros), so the text is already canonical when this succeeds.
 */
function fastV4(text: string): number {
  let value = 0;
  let part = -1;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (part < 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = -1;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part < 0 ? c - 48 : part * 10 + c - 48;
      if (++digits > 3 || part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || part < 0) return -1;
  return value * 256 + part;
}

/** Parses an address as written in a Service; null when it is not one. */
export function serviceAddress(raw: string): ServiceAddress | null {
  const text = raw.trim();
  const v4 = fastV4(text);
  if (v4 >= 0) return { text, family: 4, v4, host: `${text}/32` };
  if (text.includes("%")) return null;
  const ip = parseIP(text);
  if (ip === null) return null;
  const canonical = formatIP(ip);
  return ip.family === 4
    ? { text: canonical, family: 4, v4: Number(ip.value), host: `${canonical}/32` }
    : { text: canonical, family: 6, v4: -1, host: `${canonical}/128` };
}

/** Cilium makes no frontends at all for a headless Service: clusterIP "None" (any case) or the headless label. */
export function isHeadless(svc: Service): boolean {
  return Object.hasOwn(svc.metadata.labels ?? {}, "service.kubernetes.io/headless") || svc.spec.clusterIP?.toLowerCase() === "none";
}

function raw(svc: Service, type: ServiceAddressType): string[] {
  const spec = svc.spec;
  if (spec.type === "ExternalName" || isHeadless(svc)) return [];
  switch (type) {
    case "LoadBalancerIP": {
      // Cilium makes LoadBalancer frontends only for type LoadBalancer (E13),
      // and only for ingress entries in VIP mode (KEP-1860: "Proxy" is skipped).
      if (spec.type !== "LoadBalancer") return [];
      const out: string[] = [];
      for (const i of svc.status?.loadBalancer?.ingress ?? []) if (i.ip && (i.ipMode === undefined || i.ipMode === "VIP")) out.push(i.ip);
      return out;
    }
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
  const ips: ServiceAddress[] = [];
  let invalid: string[] | undefined;
  for (const text of raw(svc, type)) {
    const a = serviceAddress(text);
    if (a === null) (invalid ??= []).push(text);
    else if (!ips.some((x) => x.text === a.text)) ips.push(a);
  }
  const result = (skipped: ServiceAddresses["skipped"]): ServiceAddresses => ({ addressType: type, ips, policy, skipped, invalid: invalid ?? [] });
  if (isHeadless(svc) && svc.spec.type !== "ExternalName") {
    return result({ rule: "E12", reason: "it is headless (clusterIP None or label service.kubernetes.io/headless), so Cilium makes no frontends for it" });
  }
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
  addr: ServiceAddress,
  rule: Pick<ServiceRule, "aggregationIPv4" | "aggregationIPv6">,
  policy: "Cluster" | "Local",
): string {
  const agg = policy === "Local" ? null : addr.family === 4 ? rule.aggregationIPv4 : rule.aggregationIPv6;
  if (agg === null) return addr.host;
  if (addr.family === 4) {
    const masked = agg === 0 ? 0 : addr.v4 - (addr.v4 % 2 ** (32 - agg));
    return `${Math.floor(masked / 16777216)}.${Math.floor(masked / 65536) % 256}.${Math.floor(masked / 256) % 256}.${masked % 256}/${agg}`;
  }
  return formatPrefix(prefixOf(parseIP(addr.text)!, agg));
}

/**
 * Finds candidate rules for a label set: rules are filed under their first
 * matchLabels pair; rules without matchLabels are always candidates.
 */
export class RuleIndex {
  readonly #byLabel = new Map<string, ServiceRule[]>();
  readonly #general: ServiceRule[] = [];

  constructor(rules: Iterable<ServiceRule>) {
    const file = (key: string, rule: ServiceRule) => {
      const list = this.#byLabel.get(key);
      if (list) list.push(rule);
      else this.#byLabel.set(key, [rule]);
    };
    for (const rule of rules) {
      const first = Object.entries(rule.selector.matchLabels ?? {})[0];
      if (first !== undefined) {
        file(`${first[0]}\u0000${first[1]}`, rule);
        continue;
      }
      // An `In` requirement also pins the key to a few values.
      const inReq = rule.selector.matchExpressions?.find((e) => e.operator === "In");
      if (inReq) {
        for (const v of new Set(inReq.values)) file(`${inReq.key}\u0000${v}`, rule);
        continue;
      }
      this.#general.push(rule);
    }
  }

  /** Rules whose selector matches, in rule-id order. */
  matches(labels: Labels): ServiceRule[] {
    const out: ServiceRule[] = [];
    for (const rule of this.#general) if (selectorMatches(rule.selector, labels)) out.push(rule);
    for (const key in labels) {
      const list = this.#byLabel.get(`${key}\u0000${labels[key]}`);
      if (list) for (const rule of list) if (!out.includes(rule) && selectorMatches(rule.selector, labels)) out.push(rule);
    }
    return out.length > 1 ? out.sort((a, b) => a.id - b.id) : out;
  }
}
