/**
 * CiliumBGPClusterConfig (cilium.io/v2, v2alpha1): which nodes run BGP and
 * with which instances and peers (spec/cilium-api.md §1).
 *
 * Both served versions parse into the v2 shape. v2alpha1 has no
 * `autoDiscovery` (the registry drops it with a warning) and its
 * `peerConfigRef` carries informational `group`/`kind`, dropped here.
 */
import { z } from "zod";
import { LabelSelector, ObjectMeta } from "./meta.ts";
import { ConditionsStatus, int, ipAddress, oneOf, str, uniqueNames } from "./_common.ts";

export const PeerConfigReference = z
  .object({
    name: str(1),
    // v2alpha1 only; informational (group defaults to cilium.io, kind to CiliumBGPPeerConfig).
    group: z.string().optional(),
    kind: z.string().optional(),
  })
  .transform(({ name }) => ({ name }));
export type PeerConfigReference = z.infer<typeof PeerConfigReference>;

/** `autoDiscovery` (v2): DefaultGateway in the baseline, Unnumbered [newer]. */
export const BGPAutoDiscovery = z
  .object({
    mode: oneOf(["DefaultGateway", "Unnumbered"]),
    defaultGateway: z.object({ addressFamily: oneOf(["ipv4", "ipv6"]) }).optional(),
    unnumbered: z.object({ interface: str(1, 255) }).optional(),
  })
  .superRefine((v, ctx) => {
    // [newer] CEL: the mode needs its matching sub-object.
    if (v.mode === "DefaultGateway" && !v.defaultGateway) {
      ctx.addIssue({ code: "custom", path: ["defaultGateway"], message: "is required when mode is \"DefaultGateway\"" });
    }
    if (v.mode === "Unnumbered" && !v.unnumbered) {
      ctx.addIssue({ code: "custom", path: ["unnumbered"], message: "is required when mode is \"Unnumbered\"" });
    }
  });
export type BGPAutoDiscovery = z.infer<typeof BGPAutoDiscovery>;

export const CiliumBGPPeer = z.object({
  name: str(1, 255),
  peerAddress: ipAddress.optional(),
  // The API server defaults peerASN to 0 ("learn from OPEN", D2).
  peerASN: int(0, 4294967295).default(0),
  autoDiscovery: BGPAutoDiscovery.optional(),
  /** [newer] IPv6 link-local (unnumbered) peering interface. */
  peerInterface: str(1, 255).optional(),
  peerConfigRef: PeerConfigReference.optional(),
});
export type CiliumBGPPeer = z.infer<typeof CiliumBGPPeer>;

export const CiliumBGPInstance = z
  .object({
    name: str(1, 255),
    localASN: int(1, 4294967295).optional(),
    localPort: int(1, 65535).optional(),
    peers: z.array(CiliumBGPPeer).optional(),
  })
  .superRefine((v, ctx) => uniqueNames(v.peers, ctx, ["peers"]));
export type CiliumBGPInstance = z.infer<typeof CiliumBGPInstance>;

export const CiliumBGPClusterConfig = z
  .object({
    apiVersion: oneOf(["cilium.io/v2", "cilium.io/v2alpha1"]),
    kind: z.literal("CiliumBGPClusterConfig"),
    metadata: ObjectMeta,
    spec: z
      .object({
        nodeSelector: LabelSelector.nullish(),
        bgpInstances: z
          .array(CiliumBGPInstance, { error: (i) => i.input === undefined ? "is required" : "must be a list" })
          .min(1, { error: "must have 1 to 16 instances" })
          .max(16, { error: "must have 1 to 16 instances" }),
      })
      .superRefine((v, ctx) => uniqueNames(v.bgpInstances, ctx, ["bgpInstances"])),
    status: ConditionsStatus.optional(),
  })
  .transform((v) => ({ ...v, apiVersion: "cilium.io/v2" as const }));
export type CiliumBGPClusterConfig = z.infer<typeof CiliumBGPClusterConfig>;
