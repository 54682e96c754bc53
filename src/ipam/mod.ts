/**
 * LB-IPAM: CiliumLoadBalancerIPPool + Services → LoadBalancer IP allocations
 * (spec/cilium-behaviour.md section I).
 *
 * - `LbIpam` (engine.ts): the incremental allocator; returns the statuses to write.
 * - `planAllocations`: the offline result `herald plan` prints.
 * - `loadState`/`saveState` (state-store.ts: snapshot state-file.ts plus
 *   journal state-journal.ts) and `FileModeLbIpam` (file-mode.ts): how file
 *   mode (no Kubernetes) keeps allocations across restarts.
 *
 * @example
 * ```ts
 * const plan = planAllocations(poolDocs, services, { ipv4: true, ipv6: false });
 * plan.services[0].ips; // ["10.0.0.0"]
 * ```
 */
import { CiliumLoadBalancerIPPool } from "../control/schemas/lb-ip-pool.ts";
import type { Service } from "../control/schemas/service.ts";
import { serviceKey } from "../control/schemas/service.ts";
import { SERVICE_CONDITION, SERVICE_INVALID } from "./conditions.ts";
import { LbIpam } from "./engine.ts";

export { LbIpam } from "./engine.ts";
export type {
  IpamChanges,
  LbIpamOptions,
  PoolStatus,
  PoolStatusUpdate,
  PoolSummary,
  ServiceStatus,
  ServiceStatusUpdate,
  ServiceSummary,
} from "./engine.ts";
export { parseBlocks } from "./range.ts";
export { FileModeLbIpam } from "./file-mode.ts";
export type { FileModeOptions } from "./file-mode.ts";
export { decodeState, encodeState, STATE_FILE, StateFileError } from "./state-file.ts";
export { loadState, saveState } from "./state-store.ts";
export { JOURNAL_FILE } from "./state-journal.ts";
export type { LbIpamState } from "./state-file.ts";
export { POOL_CONFLICT, POOL_INVALID, POOL_IPS_AVAILABLE, POOL_IPS_TOTAL, POOL_IPS_USED, SERVICE_CONDITION, SERVICE_INVALID } from "./conditions.ts";
export type { Condition } from "./conditions.ts";

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
 * `pools` are raw documents of kind CiliumLoadBalancerIPPool; each is
 * validated here, and an invalid one is reported in `errors` without
 * stopping the others (I3). Pure and reentrant: every call has its own engine.
 *
 * `services` lists every Service of type LoadBalancer; `condition` is null
 * for those LB-IPAM does not serve (I1) or when no pool exists (A3).
 * Counts above 2^53 (IPv6 pools) lose precision in `pools`.
 */
export function planAllocations(pools: unknown[], services: Service[], options: IpamPlanOptions): IpamPlanResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const valid: CiliumLoadBalancerIPPool[] = [];
  const seen = new Set<string>();
  pools.forEach((doc, i) => {
    const name = nameOf(doc) ?? `#${i}`;
    const parsed = CiliumLoadBalancerIPPool.safeParse(doc);
    if (!parsed.success) {
      const why = parsed.error.issues.map((is) => `${is.path.length > 0 ? is.path.join(".") + ": " : ""}${is.message}`).join("; ");
      errors.push(`Cannot load CiliumLoadBalancerIPPool "${name}": ${why}`);
      return;
    }
    if (seen.has(parsed.data.metadata.name)) {
      errors.push(`Cannot load CiliumLoadBalancerIPPool "${name}": a pool of that name was given before`);
      return;
    }
    seen.add(parsed.data.metadata.name);
    valid.push(parsed.data);
  });

  const ipam = new LbIpam({ now: () => new Date(), ipv4: options.ipv4, ipv6: options.ipv6 });
  ipam.load(valid, services);

  const planPools: PlanPool[] = ipam.pools().map((p) => {
    errors.push(...p.errors);
    if (p.conflict !== null) {
      warnings.push(
        `CiliumLoadBalancerIPPool "${p.name}" allocates nothing new: range '${p.conflict.range}' overlaps range '${p.conflict.otherRange}' from IP Pool '${p.conflict.otherPool}'`,
      );
    }
    return { name: p.name, total: Number(p.total), available: Number(p.available), used: p.used, conflict: p.conflict !== null };
  });

  const planServices: PlanService[] = [];
  const servicesWithStatus = services.map((svc) => {
    const status = ipam.serviceStatus(serviceKey(svc));
    const out: Service = status === undefined ? svc : { ...svc, status: { ...svc.status, ...status } };
    if (svc.spec.type !== "LoadBalancer") return out;
    const cond = status?.conditions?.find((c) => c.type === SERVICE_CONDITION);
    const bad = status?.conditions?.find((c) => c.type === SERVICE_INVALID);
    if (bad !== undefined) warnings.push(`Service "${serviceKey(svc)}": ${bad.message}`);
    planServices.push({
      namespace: svc.metadata.namespace ?? "default",
      name: svc.metadata.name,
      ips: (out.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
      condition: cond === undefined || cond.status === "Unknown"
        ? null
        : { status: cond.status, reason: cond.reason, message: cond.message },
    });
    return out;
  });

  return { services: planServices, pools: planPools, servicesWithStatus, warnings, errors };
}

function nameOf(doc: unknown): string | undefined {
  const name = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === "string" ? name : undefined;
}
