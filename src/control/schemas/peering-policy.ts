/**
 * CiliumBGPPeeringPolicy (cilium.io/v2alpha1 only): the legacy v1 API,
 * one resource per node group with routers, neighbours and what to announce
 * (spec/cilium-api.md §6, behaviour G).
 *
 * `neighbors[].peerAddress` is a CIDR (`10.0.0.1/32`); only its address is
 * used (G3). The guide's `pathAttributes` is not a Cilium field; the registry
 * renames it to `advertisedPathAttributes` with a warning before parsing.
 * keepalive ≤ hold is an agent-side check in v1 (G3), made in control/legacy.ts.
 */
import { z } from "zod";
import { LabelSelector, ObjectMeta } from "./meta.ts";
import { afi, bool, cidr, Communities, int, oneOf, safi } from "./_common.ts";

export const CiliumBGPPathAttributes = z.object({
  selectorType: oneOf(["PodCIDR", "CiliumLoadBalancerIPPool", "CiliumPodIPPool"]),
  /** null ⇒ every object of the selector type (G5). */
  selector: LabelSelector.nullish(),
  communities: Communities.optional(),
  localPreference: int(0, 4294967295).optional(),
});
export type CiliumBGPPathAttributes = z.infer<typeof CiliumBGPPathAttributes>;

export const CiliumBGPNeighbor = z.object({
  peerAddress: cidr,
  peerPort: int(1, 65535).default(179),
  peerASN: int(0, 4294967295),
  authSecretRef: z.string().optional(),
  eBGPMultihopTTL: int(1, 255).default(1),
  connectRetryTimeSeconds: int(1, 2147483647).default(120),
  holdTimeSeconds: int(3, 65535).default(90),
  keepAliveTimeSeconds: int(1, 65535).default(30),
  gracefulRestart: z
    .object({ enabled: bool, restartTimeSeconds: int(1, 4095).default(120) })
    .optional(),
  families: z.array(z.object({ afi, safi })).optional(),
  advertisedPathAttributes: z.array(CiliumBGPPathAttributes).optional(),
});
export type CiliumBGPNeighbor = z.infer<typeof CiliumBGPNeighbor>;

export const CiliumBGPVirtualRouter = z.object({
  localASN: int(0, 4294967295),
  exportPodCIDR: bool.default(false),
  podIPPoolSelector: LabelSelector.nullish(),
  serviceSelector: LabelSelector.nullish(),
  serviceAdvertisements: z.array(oneOf(["LoadBalancerIP", "ClusterIP", "ExternalIP"])).optional(),
  neighbors: z
    .array(CiliumBGPNeighbor, { error: (i) => i.input === undefined ? "is required" : "must be a list" })
    .min(1, { error: "must have at least 1 neighbor" }),
});
export type CiliumBGPVirtualRouter = z.infer<typeof CiliumBGPVirtualRouter>;

export const CiliumBGPPeeringPolicy = z.object({
  apiVersion: z.literal("cilium.io/v2alpha1"),
  kind: z.literal("CiliumBGPPeeringPolicy"),
  metadata: ObjectMeta,
  spec: z.object({
    /** null ⇒ every node (G1). */
    nodeSelector: LabelSelector.nullish(),
    virtualRouters: z
      .array(CiliumBGPVirtualRouter, { error: (i) => i.input === undefined ? "is required" : "must be a list" })
      .min(1, { error: "must have at least 1 virtual router" }),
  }),
});
export type CiliumBGPPeeringPolicy = z.infer<typeof CiliumBGPPeeringPolicy>;

