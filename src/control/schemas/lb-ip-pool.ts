/**
 * CiliumLoadBalancerIPPool (cilium.io/v2 and the deprecated cilium.io/v2alpha1),
 * spec/cilium-api.md §7. Both versions have the same shape; herald accepts
 * either and works on one type.
 *
 * The schema checks what the Kubernetes API server checks (types, the `cidr`
 * format, the `allowFirstLastIPs` enum, selector operators), so a manifest
 * that a cluster would accept is accepted here. What only LB-IPAM checks
 * (`start`/`stop` parse, same family, not reversed: spec I3) is reported by
 * LB-IPAM on the pool itself (src/ipam/range.ts), exactly where Cilium reports it.
 */
import { z } from "zod";
import { parsePrefix } from "../../net/ip.ts";
import { LabelSelector, ObjectMeta } from "./meta.ts";

/**
 * One address block: `cidr`, or `start` with an optional `stop` (empty ⇒ the
 * single address `start`). Go clients send `cidr: ""` next to start/stop,
 * so an empty cidr means "not set".
 */
export const IPBlock = z.object({
  cidr: z
    .string()
    .refine((s) => s === "" || parsePrefix(s) !== null, {
      message: "cidr must be an IPv4 or IPv6 prefix such as \"10.0.0.0/24\"",
    })
    .optional(),
  start: z.string().optional(),
  stop: z.string().optional(),
});
export type IPBlock = z.infer<typeof IPBlock>;

/** metav1.Condition as LB-IPAM writes it on pools (and reads it back). */
export const PoolCondition = z.object({
  type: z.string().min(1),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type PoolCondition = z.infer<typeof PoolCondition>;

export const CiliumLoadBalancerIPPoolSpec = z.object({
  blocks: z.array(IPBlock).nullish(),
  /** Absent or null ⇒ every Service (an exception to the usual rule, §0.2). */
  serviceSelector: LabelSelector.nullish(),
  /** Empty or absent behaves as "Yes" (since 1.16); only "No" reserves (I4). */
  allowFirstLastIPs: z.enum(["Yes", "No"]).or(z.literal("")).optional(),
  /** No new allocations; existing ones stay (I6). Absent or null ⇒ false. */
  disabled: z.boolean().nullish(),
});
export type CiliumLoadBalancerIPPoolSpec = z.infer<typeof CiliumLoadBalancerIPPoolSpec>;

export const CiliumLoadBalancerIPPool = z.object({
  apiVersion: z.enum(["cilium.io/v2", "cilium.io/v2alpha1"]),
  kind: z.literal("CiliumLoadBalancerIPPool"),
  metadata: ObjectMeta,
  spec: CiliumLoadBalancerIPPoolSpec,
  status: z.object({ conditions: z.array(PoolCondition).nullish() }).nullish(),
});
export type CiliumLoadBalancerIPPool = z.infer<typeof CiliumLoadBalancerIPPool>;
