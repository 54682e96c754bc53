/**
 * CiliumBGPAdvertisement (cilium.io/v2, v2alpha1): what to announce and with
 * which path attributes (spec/cilium-api.md §3). Its labels are what a
 * PeerConfig family's `advertisements` selector matches (E1).
 *
 * The CEL rules are checked here: `service` exactly with type Service,
 * `interface` exactly with type Interface, no `selector` on PodCIDR (the last
 * three are v2 only; v2alpha1 has only the first and no Interface type).
 */
import { z } from "zod";
import { LabelSelector, ObjectMeta } from "./meta.ts";
import { Communities, int, int64, oneOf, str } from "./_common.ts";

export const BGP_LOAD_BALANCER_CLASS = "io.cilium/bgp-control-plane";

export const ADVERTISEMENT_TYPES = ["PodCIDR", "CiliumPodIPPool", "Service", "Interface"] as const;
export type AdvertisementType = (typeof ADVERTISEMENT_TYPES)[number];
export const SERVICE_ADDRESS_TYPES = ["LoadBalancerIP", "ClusterIP", "ExternalIP"] as const;
export type ServiceAddressType = (typeof SERVICE_ADDRESS_TYPES)[number];

export const BGPServiceOptions = z.object({
  addresses: z
    .array(oneOf(SERVICE_ADDRESS_TYPES), { error: (i) => i.input === undefined ? "is required" : "must be a list" })
    .min(1, { error: "must list at least one of \"LoadBalancerIP\", \"ClusterIP\", \"ExternalIP\"" }),
  aggregationLengthIPv4: int(0, 31).optional(),
  aggregationLengthIPv6: int(0, 127).optional(),
});
export type BGPServiceOptions = z.infer<typeof BGPServiceOptions>;

export const BGPAttributes = z.object({
  communities: Communities.optional(),
  localPreference: int64.optional(),
});
export type BGPAttributes = z.infer<typeof BGPAttributes>;

export const BGPAdvertisement = z.object({
  advertisementType: oneOf(ADVERTISEMENT_TYPES),
  service: BGPServiceOptions.optional(),
  interface: z.object({ name: str(1) }).optional(),
  /** null ⇒ nothing selected (E10, E12). */
  selector: LabelSelector.nullish(),
  attributes: BGPAttributes.optional(),
});
export type BGPAdvertisement = z.infer<typeof BGPAdvertisement>;

export const CiliumBGPAdvertisement = z
  .object({
    apiVersion: z.enum(["cilium.io/v2", "cilium.io/v2alpha1"]),
    kind: z.literal("CiliumBGPAdvertisement"),
    metadata: ObjectMeta,
    spec: z.object({
      advertisements: z.array(BGPAdvertisement, { error: (i) => i.input === undefined ? "is required" : "must be a list" }),
    }),
  })
  .superRefine((v, ctx) => {
    const v2 = v.apiVersion === "cilium.io/v2";
    v.spec.advertisements.forEach((a, i) => {
      const at = (field: string, message: string) =>
        ctx.addIssue({ code: "custom", path: ["spec", "advertisements", i, field], message });
      const type = a.advertisementType;
      if (type === "Interface" && !v2) {
        at("advertisementType", "\"Interface\" needs apiVersion cilium.io/v2 (v2alpha1 has only \"PodCIDR\", \"CiliumPodIPPool\", \"Service\")");
      }
      if (type === "Service" && !a.service) at("service", "is required when advertisementType is \"Service\"");
      if (!v2) return;
      if (type !== "Service" && a.service) at("service", "is only allowed when advertisementType is \"Service\"");
      if (type === "Interface" && !a.interface) at("interface", "is required when advertisementType is \"Interface\"");
      if (type !== "Interface" && a.interface) at("interface", "is only allowed when advertisementType is \"Interface\"");
      if (type === "PodCIDR" && a.selector != null) at("selector", "is not allowed when advertisementType is \"PodCIDR\"");
    });
  })
  .transform((v) => ({ ...v, apiVersion: "cilium.io/v2" as const }));
export type CiliumBGPAdvertisement = z.infer<typeof CiliumBGPAdvertisement>;
