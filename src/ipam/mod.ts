/**
 * LB-IPAM: CiliumLoadBalancerIPPool + Services → LoadBalancer IP allocations
 * (spec/cilium-behaviour.md section I).
 *
 * STUB: the contract `herald plan` relies on. The allocator replaces the
 * body; the types stay.
 */
import type { Service } from "../control/schemas/service.ts";

export interface PlanService {
  namespace: string;
  name: string;
  ips: string[];
  condition: { status: "True" | "False"; reason: string; message: string } | null;
}

export interface PlanPool {
  name: string;
  total: number;
  available: number;
  used: number;
  conflict: boolean;
}

export interface IpamPlanOptions {
  /** Families enabled in the cluster (spec I8). */
  ipv4: boolean;
  ipv6: boolean;
}

export interface IpamPlanResult {
  services: PlanService[];
  pools: PlanPool[];
  /** The input services with status.loadBalancer.ingress as LB-IPAM leaves it. */
  servicesWithStatus: Service[];
  warnings: string[];
  errors: string[];
}

/**
 * Offline allocation for `herald plan`: starts from the IPs already in each
 * Service's status (adoption, I12) and allocates the rest.
 * `pools` are raw documents of kind CiliumLoadBalancerIPPool, already
 * validated by the schema registry.
 */
export function planAllocations(_pools: unknown[], services: Service[], _options: IpamPlanOptions): IpamPlanResult {
  return { services: [], pools: [], servicesWithStatus: services, warnings: [], errors: [] };
}
