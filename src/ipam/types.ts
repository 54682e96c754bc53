/**
 * The public shapes of LB-IPAM: engine options, the statuses it hands out,
 * and the summaries it answers queries with.
 */
import type { LoadBalancerIngress } from "../control/schemas/service.ts";
import type { Logger } from "../log.ts";
import type { Condition } from "./conditions.ts";
import type { Conflict } from "./conflicts.ts";

export interface LbIpamOptions {
  /** Clock for lastTransitionTime (the engine reads no other clock). */
  now: () => Date;
  /** `enable-ipv4` / `enable-ipv6` (I8). Default: IPv4 only, as Cilium's Helm chart. */
  ipv4?: boolean;
  ipv6?: boolean;
  /** `default-lb-service-ipam` (I1). Default "lbipam". */
  defaultLBServiceIPAM?: "lbipam" | "nodeipam" | "none";
  /** BGP control plane on: serve class `io.cilium/bgp-control-plane` (I1). Default true: herald is a BGP agent. */
  bgpControlPlane?: boolean;
  /** L2 announcements on: serve class `io.cilium/l2-announcer` (I1). Default false. */
  l2Announcements?: boolean;
  /** [newer] ports clash only with the same protocol. Default false (baseline). */
  protocolAwareSharing?: boolean;
  /** [newer] honour `lbipam.cilium.io/sharing-permit-different-pods: "true"`. Default false (baseline). */
  permitDifferentPods?: boolean;
  /** I9 quirk: a reserved first/last address may be requested with a sharing key. Default true (as Cilium). */
  reservedSharingQuirk?: boolean;
  logger?: Logger;
}

/** The Service status LB-IPAM owns, as written with `replace /status`. */
export interface ServiceStatus {
  loadBalancer: { ingress?: LoadBalancerIngress[] };
  conditions?: Condition[];
}

export interface PoolStatus {
  conditions?: Condition[];
}

export interface ServiceStatusUpdate {
  /** `namespace/name`. */
  key: string;
  namespace: string;
  name: string;
  status: ServiceStatus;
}

export interface PoolStatusUpdate {
  name: string;
  status: PoolStatus;
}

/** What one call changed: statuses to write, in the order they were decided. */
export interface IpamChanges {
  services: ServiceStatusUpdate[];
  pools: PoolStatusUpdate[];
}

export interface PoolSummary {
  name: string;
  total: bigint;
  available: bigint;
  /** Held and reserved addresses (I4, I14). */
  used: number;
  disabled: boolean;
  conflict: Conflict | null;
  errors: string[];
  /** Per block: `fragments` is the number of free blocks, what memory and time depend on. */
  ranges: Array<{ range: string; total: bigint; available: bigint; used: number; enabled: boolean; fragments: number }>;
}

export interface ServiceSummary {
  key: string;
  namespace: string;
  name: string;
  ips: string[];
  satisfied: boolean;
  condition: Condition | undefined;
}
