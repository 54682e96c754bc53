/**
 * Internal records of the LB-IPAM engine, shared by engine.ts and
 * _allocator.ts. Nothing here is exported from the package.
 */
import type { CiliumLoadBalancerIPPoolSpec } from "../control/schemas/lb-ip-pool.ts";
import type { LoadBalancerIngress } from "../control/schemas/service.ts";
import type { IPFamily } from "../net/ip.ts";
import type { Condition } from "./conditions.ts";
import type { Conflict } from "./conflicts.ts";
import type { LbRange } from "./range.ts";
import type { ServiceView } from "./service-view.ts";

export type Range = LbRange<SvcRec, PoolRec>;

/** An address a Service holds, and the range it came from. */
export interface Alloc {
  family: IPFamily;
  value: bigint;
  range: Range;
}

export interface SvcRec {
  view: ServiceView;
  allocs: Alloc[];
  /** Working copy of status.loadBalancer.ingress (entries kept as they came). */
  ingress: LoadBalancerIngress[];
  /** Working copy of status.conditions (other controllers' conditions kept as they came). */
  conditions: Condition[];
  /** stableJson of the status last seen on the object or last handed out. */
  known: string;
  /** Position in the unsatisfied queue; 0 while satisfied. */
  seq: number;
  /** Last attempt failed on a full range (out_of_ips). */
  waitCapacity: boolean;
  /** Requested addresses the last attempt found taken (ipKey). */
  waitIps: string[];
  /** Sharing key under which it waits in the keyed-waiter index ("" if none). */
  waitKey: string;
  /** The unparsable-entry text last logged, to log each problem once. */
  logged: string;
}

export interface PoolRec {
  name: string;
  /** The spec in force: the last valid one (null if none was ever valid). */
  spec: CiliumLoadBalancerIPPoolSpec | null;
  generation: number | undefined;
  /** Age order (I5, I7): creationTimestamp in ms (+Infinity if absent), then name. */
  created: number;
  ranges: Range[];
  conflict: Conflict | null;
  /** Problems with the latest version (bad blocks, bad manifest); [] when fine. */
  errors: string[];
  /** Reason of herald's invalid-spec condition while `errors` is not empty. */
  errorReason: string;
  conditions: Condition[];
  known: string;
}

export const ipKey = (family: IPFamily, value: bigint) => `${family}/${value}`;

/** What one engine call changed, gathered as it runs. */
export interface Op {
  /** Services whose status may have changed. */
  touched: Set<SvcRec>;
  /** Pools whose counts, conflict or validity may have changed. */
  pools: Set<PoolRec>;
  /** Ranges that gained a free address (capacity waiters may now fit). */
  freed: Set<Range>;
  /** Addresses whose holders shrank (requested-IP waiters may now fit). */
  ips: Set<string>;
  /** Sharing keys whose groups changed (keyed waiters may now share). */
  keys: Set<string>;
  /** Pools changed: every unsatisfied Service is tried again. */
  all: boolean;
}

export const newOp = (): Op => ({
  touched: new Set(),
  pools: new Set(),
  freed: new Set(),
  ips: new Set(),
  keys: new Set(),
  all: false,
});
