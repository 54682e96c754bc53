/**
 * CiliumNode (cilium.io/v2): the node's Pod CIDRs (E9), the CIDRs multi-pool
 * IPAM allocated to it (E10), its addresses (router ID, C4) and labels (B1).
 *
 * Only these fields are listed. A CiliumNode carries many more (health, ENI,
 * encryption…); like the core kinds, they are ignored without a warning.
 */
import { z } from "zod";
import { ObjectMeta } from "./meta.ts";
import { cidr, str } from "./_common.ts";

export const CiliumNode = z.object({
  apiVersion: z.literal("cilium.io/v2"),
  kind: z.literal("CiliumNode"),
  metadata: ObjectMeta,
  spec: z
    .object({
      addresses: z.array(z.object({ type: z.string().optional(), ip: str(1) })).optional(),
      ipam: z
        .object({
          podCIDRs: z.array(cidr).optional(),
          pools: z
            .object({
              allocated: z.array(z.object({ pool: str(1), cidrs: z.array(cidr).optional() })).optional(),
            })
            .optional(),
        })
        .optional(),
    })
    .default({}),
});
export type CiliumNode = z.infer<typeof CiliumNode>;
