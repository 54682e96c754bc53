/**
 * CiliumLoadBalancerIPPool (cilium.io/v2 and v2alpha1), spec/cilium-api.md §7.
 * PLACEHOLDER written with the foundation; LB-IPAM owns and refines it.
 */
import { z } from "zod";
import { LabelSelector, ObjectMeta } from "./meta.ts";

export const IPBlock = z.object({
  cidr: z.string().optional(),
  start: z.string().optional(),
  stop: z.string().optional(),
});
export type IPBlock = z.infer<typeof IPBlock>;

export const CiliumLoadBalancerIPPool = z.object({
  apiVersion: z.enum(["cilium.io/v2", "cilium.io/v2alpha1"]),
  kind: z.literal("CiliumLoadBalancerIPPool"),
  metadata: ObjectMeta,
  spec: z.object({
    blocks: z.array(IPBlock).optional(),
    serviceSelector: LabelSelector.optional(),
    allowFirstLastIPs: z.enum(["Yes", "No"]).optional(),
    disabled: z.boolean().default(false),
  }),
});
export type CiliumLoadBalancerIPPool = z.infer<typeof CiliumLoadBalancerIPPool>;
