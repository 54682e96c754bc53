/** core/v1 Node: identity, labels, addresses and Pod CIDRs of a node. */
import { z } from "zod";
import { ObjectMeta } from "./meta.ts";

export const NodeAddress = z.object({
  type: z.enum(["InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS"]),
  address: z.string(),
});
export type NodeAddress = z.infer<typeof NodeAddress>;

export const Node = z.object({
  apiVersion: z.literal("v1"),
  kind: z.literal("Node"),
  metadata: ObjectMeta,
  spec: z.object({ podCIDR: z.string().optional(), podCIDRs: z.array(z.string()).optional() }).default({}),
  status: z.object({ addresses: z.array(NodeAddress).optional() }).optional(),
});
export type Node = z.infer<typeof Node>;
