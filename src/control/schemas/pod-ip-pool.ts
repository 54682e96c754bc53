/**
 * CiliumPodIPPool (cilium.io/v2alpha1; the v2 version exists but is not
 * served): multi-pool IPAM pools. BGP reads only names, labels and
 * `maskSize` (E10); the CIDRs given to this node come from its CiliumNode.
 */
import { z } from "zod";
import { LabelSelector, ObjectMeta } from "./meta.ts";
import { bool, cidr, int } from "./_common.ts";

const poolFamily = (maxMask: number) =>
  z.object({
    cidrs: z.array(cidr).min(1, { error: "must have 1 to 32 CIDRs" }).max(32, { error: "must have 1 to 32 CIDRs" }),
    maskSize: int(1, maxMask),
  });

export const CiliumPodIPPool = z.object({
  apiVersion: z.literal("cilium.io/v2alpha1"),
  kind: z.literal("CiliumPodIPPool"),
  metadata: ObjectMeta,
  spec: z.object({
    ipv4: poolFamily(32).optional(),
    ipv6: poolFamily(128).optional(),
    allowFirstIP: bool.optional(),
    allowLastIP: bool.optional(),
    podSelector: LabelSelector.nullish(),
    namespaceSelector: LabelSelector.nullish(),
  }),
});
export type CiliumPodIPPool = z.infer<typeof CiliumPodIPPool>;
