/**
 * CiliumBGPNodeConfigOverride (cilium.io/v2, v2alpha1), named after the node
 * it applies to (B3, spec/cilium-api.md §5). `peers[].localPort` is accepted
 * and has no effect, as in Cilium.
 */
import { z } from "zod";
import { ObjectMeta } from "./meta.ts";
import { int, ipAddress, ipv4Address, str, uniqueNames } from "./_common.ts";

export const CiliumBGPNodeConfigPeerOverride = z.object({
  name: str(1, 255),
  localAddress: ipAddress.optional(),
  /** Accepted but not propagated to the NodeConfig (B3). */
  localPort: z.number().int({ error: "must be an integer" }).optional(),
});
export type CiliumBGPNodeConfigPeerOverride = z.infer<typeof CiliumBGPNodeConfigPeerOverride>;

export const CiliumBGPNodeConfigInstanceOverride = z
  .object({
    name: str(1, 255),
    routerID: ipv4Address.optional(),
    localPort: z.number().int({ error: "must be an integer" }).optional(),
    localASN: int(1, 4294967295).optional(),
    peers: z.array(CiliumBGPNodeConfigPeerOverride).optional(),
  })
  .superRefine((v, ctx) => uniqueNames(v.peers, ctx, ["peers"]));
export type CiliumBGPNodeConfigInstanceOverride = z.infer<typeof CiliumBGPNodeConfigInstanceOverride>;

export const CiliumBGPNodeConfigOverride = z
  .object({
    apiVersion: z.enum(["cilium.io/v2", "cilium.io/v2alpha1"]),
    kind: z.literal("CiliumBGPNodeConfigOverride"),
    metadata: ObjectMeta,
    spec: z
      .object({
        bgpInstances: z
          .array(CiliumBGPNodeConfigInstanceOverride, {
            error: (i) => i.input === undefined ? "is required" : "must be a list",
          })
          .min(1, { error: "must have at least 1 instance" }),
      })
      .superRefine((v, ctx) => uniqueNames(v.bgpInstances, ctx, ["bgpInstances"])),
  })
  .transform((v) => ({ ...v, apiVersion: "cilium.io/v2" as const }));
export type CiliumBGPNodeConfigOverride = z.infer<typeof CiliumBGPNodeConfigOverride>;
