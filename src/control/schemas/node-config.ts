/**
 * CiliumBGPNodeConfig (cilium.io/v2, v2alpha1): the per-node configuration
 * the operator derives from a cluster config (B2) and the agent runs (C1);
 * its status is what the agent reports (F2). spec/cilium-api.md §4.
 *
 * `peerASN` is optional here on purpose: a hand-written NodeConfig may omit
 * it, and the agent then fails that instance's peer reconcile (D2).
 */
import { z } from "zod";
import { ObjectMeta } from "./meta.ts";
import { BGPAutoDiscovery, PeerConfigReference } from "./cluster-config.ts";
import { Condition, int, ipAddress, ipv4Address, oneOf, str, uniqueNames } from "./_common.ts";

export const CiliumBGPNodePeer = z.object({
  name: str(1, 255),
  peerAddress: ipAddress.optional(),
  peerASN: int(0, 4294967295).optional(),
  autoDiscovery: BGPAutoDiscovery.optional(),
  peerInterface: str(1, 255).optional(),
  localAddress: ipAddress.optional(),
  peerConfigRef: PeerConfigReference.optional(),
});
export type CiliumBGPNodePeer = z.infer<typeof CiliumBGPNodePeer>;

export const CiliumBGPNodeInstance = z
  .object({
    name: str(1, 255),
    localASN: int(1, 4294967295).optional(),
    routerID: ipv4Address.optional(),
    localPort: int(1, 65535).optional(),
    peers: z.array(CiliumBGPNodePeer).optional(),
  })
  .superRefine((v, ctx) => uniqueNames(v.peers, ctx, ["peers"]));
export type CiliumBGPNodeInstance = z.infer<typeof CiliumBGPNodeInstance>;

export const PEERING_STATES = ["idle", "connect", "active", "open_sent", "open_confirm", "established", "unknown"] as const;

export const CiliumBGPNodePeerStatus = z.object({
  name: str(1),
  peerAddress: str(),
  peerASN: z.number().int().optional(),
  peeringState: oneOf(PEERING_STATES).optional(),
  timers: z
    .object({
      appliedHoldTimeSeconds: z.number().int().optional(),
      appliedKeepaliveSeconds: z.number().int().optional(),
    })
    .optional(),
  establishedTime: z.string().optional(),
  routeCount: z
    .array(z.object({
      afi: z.string(),
      safi: z.string(),
      received: z.number().int().optional(),
      advertised: z.number().int().optional(),
    }))
    .optional(),
});
export type CiliumBGPNodePeerStatus = z.infer<typeof CiliumBGPNodePeerStatus>;

export const CiliumBGPNodeStatus = z.object({
  bgpInstances: z
    .array(z.object({
      name: str(1),
      localASN: z.number().int().optional(),
      // The JSON key is `peers` although the Go field is PeerStatuses.
      peers: z.array(CiliumBGPNodePeerStatus).optional(),
    }))
    .optional(),
  conditions: z.array(Condition).optional(),
});
export type CiliumBGPNodeStatus = z.infer<typeof CiliumBGPNodeStatus>;

export const CiliumBGPNodeSpec = z
  .object({
    bgpInstances: z
      .array(CiliumBGPNodeInstance, { error: (i) => i.input === undefined ? "is required" : "must be a list" })
      .min(1, { error: "must have 1 to 16 instances" })
      .max(16, { error: "must have 1 to 16 instances" }),
  })
  .superRefine((v, ctx) => uniqueNames(v.bgpInstances, ctx, ["bgpInstances"]));
export type CiliumBGPNodeSpec = z.infer<typeof CiliumBGPNodeSpec>;

export const CiliumBGPNodeConfig = z
  .object({
    apiVersion: z.enum(["cilium.io/v2", "cilium.io/v2alpha1"]),
    kind: z.literal("CiliumBGPNodeConfig"),
    metadata: ObjectMeta,
    spec: CiliumBGPNodeSpec,
    status: CiliumBGPNodeStatus.optional(),
  })
  .transform((v) => ({ ...v, apiVersion: "cilium.io/v2" as const }));
export type CiliumBGPNodeConfig = z.infer<typeof CiliumBGPNodeConfig>;
