/**
 * CiliumL2AnnouncementPolicy (cilium.io/v2alpha1): parsed so that manifests
 * written for Cilium load cleanly; herald does not implement L2 announcements.
 */
import { z } from "zod";
import { LabelSelector, ObjectMeta } from "./meta.ts";
import { bool, ConditionsStatus, str } from "./_common.ts";

export const L2_ANNOUNCER_CLASS = "io.cilium/l2-announcer";

export const CiliumL2AnnouncementPolicy = z.object({
  apiVersion: z.literal("cilium.io/v2alpha1"),
  kind: z.literal("CiliumL2AnnouncementPolicy"),
  metadata: ObjectMeta,
  spec: z.object({
    nodeSelector: LabelSelector.nullish(),
    serviceSelector: LabelSelector.nullish(),
    loadBalancerIPs: bool.optional(),
    externalIPs: bool.optional(),
    interfaces: z.array(str(1)).nullish(),
  }),
  status: ConditionsStatus.optional(),
});
export type CiliumL2AnnouncementPolicy = z.infer<typeof CiliumL2AnnouncementPolicy>;
