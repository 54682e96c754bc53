/**
 * What LB-IPAM reads from a Service (spec I1, I8, I9, I11 and §9.1): whether
 * it is LB-IPAM's business, which families and addresses it asks for, its
 * sharing annotations, and whether two Services may share an address.
 */
import type { Service } from "../control/schemas/service.ts";
import { externalTrafficPolicy, serviceKey } from "../control/schemas/service.ts";
import { serviceLabels } from "../control/selector.ts";
import type { Labels } from "../control/selector.ts";
import type { IPAddress } from "../net/ip.ts";
import { Incompatible } from "./conditions.ts";
import { parseAddr } from "./range.ts";

/** §9.1: primary keys and the legacy aliases still read. */
export const Annotation = {
  ips: "lbipam.cilium.io/ips",
  ipsAlias: "io.cilium/lb-ipam-ips",
  sharingKey: "lbipam.cilium.io/sharing-key",
  sharingKeyAlias: "io.cilium/lb-ipam-sharing-key",
  crossNamespace: "lbipam.cilium.io/sharing-cross-namespace",
  crossNamespaceAlias: "io.cilium/lb-ipam-sharing-cross-namespace",
  permitDifferentPods: "lbipam.cilium.io/sharing-permit-different-pods",
} as const;

/** §9.2 load-balancer classes. */
export const BGP_CLASS = "io.cilium/bgp-control-plane";
export const L2_CLASS = "io.cilium/l2-announcer";
const WILDCARD_NAMESPACE = "*";

export interface ViewOptions {
  /** Families enabled in the cluster (`enable-ipv4`, `enable-ipv6`; I8). */
  ipv4: boolean;
  ipv6: boolean;
  /** `default-lb-service-ipam`: who serves class-less LoadBalancer Services (I1). */
  defaultLBServiceIPAM: "lbipam" | "nodeipam" | "none";
  /** Classes LB-IPAM serves (I1): BGP class when BGP is on, L2 class when L2 is on. */
  classes: readonly string[];
  /** [newer] ports conflict only with the same protocol ("same port and protocol"). */
  protocolAwareSharing: boolean;
  /** [newer] honour lbipam.cilium.io/sharing-permit-different-pods. */
  permitDifferentPods: boolean;
}

export interface ServiceView {
  key: string;
  namespace: string;
  name: string;
  generation: number | undefined;
  /** Real labels plus the pseudo-labels (§9.3). */
  labels: Labels;
  /**
   * I9: spec.loadBalancerIP then the ips annotation, in order. Only adjacent
   * duplicates collapse (Cilium's CompactFunc): the order decides which
   * failing entry the condition names last.
   */
  requested: IPAddress[];
  /** Entries of spec.loadBalancerIP / the ips annotation that do not parse (skipped). */
  unparsable: string[];
  /** I8. */
  v4: boolean;
  v6: boolean;
  sharingKey: string;
  crossNamespace: string[];
  permitDifferentPods: boolean;
  trafficPolicy: "Cluster" | "Local";
  ports: Array<{ port: number; protocol: string }>;
  selector: Readonly<Record<string, string>>;
}

/** I1: is this Service LB-IPAM's to serve? */
export function isResponsible(svc: Service, o: Pick<ViewOptions, "defaultLBServiceIPAM" | "classes">): boolean {
  if (svc.spec.type !== "LoadBalancer") return false;
  const cls = svc.spec.loadBalancerClass;
  if (cls === undefined || cls === null) return o.defaultLBServiceIPAM === "lbipam";
  return o.classes.includes(cls);
}

/** §9.1 lookup: the primary key if present (even empty), else the alias. */
export function annotation(svc: Service, primary: string, alias?: string): string {
  const a = svc.metadata.annotations ?? {};
  if (Object.hasOwn(a, primary)) return a[primary];
  if (alias !== undefined && Object.hasOwn(a, alias)) return a[alias];
  return "";
}

/** I8: which families a Service without requested IPs wants. */
export function requestedFamilies(svc: Service, o: Pick<ViewOptions, "ipv4" | "ipv6">): { v4: boolean; v6: boolean } {
  const families = svc.spec.ipFamilies ?? [];
  switch (svc.spec.ipFamilyPolicy) {
    case "PreferDualStack":
      if (families.length === 0) return { v4: o.ipv4, v6: o.ipv6 };
      return { v4: families.includes("IPv4") && o.ipv4, v6: families.includes("IPv6") && o.ipv6 };
    case "RequireDualStack":
      // The docs say "unsatisfied when a family is disabled"; the code asks
      // for the enabled families only, and code wins (J2).
      return { v4: o.ipv4, v6: o.ipv6 };
    default: // SingleStack or unset
      if (families.length > 0) return { v4: families[0] === "IPv4", v6: families[0] !== "IPv4" };
      return o.ipv4 ? { v4: true, v6: false } : { v4: false, v6: o.ipv6 };
  }
}

export function buildView(svc: Service, o: ViewOptions): ServiceView {
  const namespace = svc.metadata.namespace ?? "default";
  const name = svc.metadata.name;
  const requested: IPAddress[] = [];
  const unparsable: string[] = [];
  const add = (text: string, where: string) => {
    const ip = parseAddr(text);
    if (ip === null) unparsable.push(`${where} entry "${text}" is not an IP address`);
    else {
      const last = requested[requested.length - 1];
      if (last === undefined || last.family !== ip.family || last.value !== ip.value) requested.push(ip);
    }
  };
  const lbIP = svc.spec.loadBalancerIP;
  if (lbIP !== undefined && lbIP !== "") add(lbIP, "spec.loadBalancerIP");
  const ipsKey = Object.hasOwn(svc.metadata.annotations ?? {}, Annotation.ips) ? Annotation.ips : Annotation.ipsAlias;
  const ips = annotation(svc, Annotation.ips, Annotation.ipsAlias);
  // Each entry is trimmed; unparsable ones (an empty one included) are skipped (§9.1).
  if (ips !== "") for (const part of ips.split(",")) add(part.trim(), `annotation ${ipsKey}`);

  const crossNamespace = annotation(svc, Annotation.crossNamespace, Annotation.crossNamespaceAlias);
  const fam = requestedFamilies(svc, o);
  return {
    key: serviceKey(svc),
    namespace,
    name,
    generation: svc.metadata.generation,
    labels: serviceLabels(svc.metadata.labels, name, namespace),
    requested,
    unparsable,
    v4: fam.v4,
    v6: fam.v6,
    sharingKey: annotation(svc, Annotation.sharingKey, Annotation.sharingKeyAlias),
    // Split only, no trimming (§9.1 quirk): "a, b" permits "a" and " b".
    crossNamespace: crossNamespace === "" ? [] : crossNamespace.split(","),
    permitDifferentPods: o.permitDifferentPods &&
      annotation(svc, Annotation.permitDifferentPods).trim().toLowerCase() === "true",
    trafficPolicy: externalTrafficPolicy(svc),
    ports: (svc.spec.ports ?? []).map((p) => ({ port: p.port, protocol: p.protocol ?? "TCP" })),
    selector: svc.spec.selector ?? {},
  };
}

const permits = (list: readonly string[], namespace: string) => list.includes(namespace) || list.includes(WILDCARD_NAMESPACE);

/**
 * I11: may `b` share an address that `a` holds? Returns null when compatible,
 * else Cilium's reason. Checks run in Cilium's order, so the first failing
 * one is the reason reported.
 */
export function incompatibility(a: ServiceView, b: ServiceView, o: Pick<ViewOptions, "protocolAwareSharing" | "permitDifferentPods">): string | null {
  if (a.sharingKey !== b.sharingKey) return Incompatible.sharingKey;
  if (a.namespace !== b.namespace && (!permits(a.crossNamespace, b.namespace) || !permits(b.crossNamespace, a.namespace))) {
    return Incompatible.namespace;
  }
  for (const p of a.ports) {
    for (const q of b.ports) {
      if (p.port !== q.port) continue;
      // Baseline: the datapath cannot tell protocols apart, so any common port conflicts.
      if (!o.protocolAwareSharing) return Incompatible.port;
      if (p.protocol === q.protocol) return Incompatible.portAndProtocol;
    }
  }
  if (a.trafficPolicy !== b.trafficPolicy) return Incompatible.trafficPolicy;
  if (a.trafficPolicy === "Local") {
    const emptyA = Object.keys(a.selector).length === 0;
    const emptyB = Object.keys(b.selector).length === 0;
    if (!o.permitDifferentPods) {
      if (emptyA || emptyB || !sameMap(a.selector, b.selector)) return Incompatible.localSelector;
    } else {
      if (emptyA || emptyB) return Incompatible.localNoSelector;
      if (!sameMap(a.selector, b.selector) && !(a.permitDifferentPods && b.permitDifferentPods)) {
        return Incompatible.localDifferentPods;
      }
    }
  }
  return null;
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
