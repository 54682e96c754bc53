/**
 * CiliumBGPPeerConfig (cilium.io/v2, v2alpha1): shared session settings and
 * the per-family advertisement selectors (spec/cilium-api.md §2).
 *
 * API-server defaults are applied here, in the order Kubernetes applies them:
 * structural defaults first, then the CEL rule on `timers` (D7a), so
 * `timers: {holdTimeSeconds: 9}` is refused because keepalive defaults to 30.
 * The agent-side defaults for an absent object (D6) live in control/peers.ts.
 */
import { z } from "zod";
import { LabelSelector, ObjectMeta } from "./meta.ts";
import { afi, bool, ConditionsStatus, int, safi, str } from "./_common.ts";

/** Cilium's CEL message for the timers rule, verbatim (D7a). */
export const KEEPALIVE_RULE_MESSAGE = "keepAliveTimeSeconds can not be larger than holdTimeSeconds";

export const CiliumBGPFamilyWithAdverts = z.object({
  afi,
  safi,
  /** null ⇒ no advertisements for this family (E2). */
  advertisements: LabelSelector.nullish(),
});
export type CiliumBGPFamilyWithAdverts = z.infer<typeof CiliumBGPFamilyWithAdverts>;

export const CiliumBGPTimers = z
  .object({
    connectRetryTimeSeconds: int(1, 2147483647).default(120),
    holdTimeSeconds: int(3, 65535).default(90),
    keepAliveTimeSeconds: int(1, 65535).default(30),
  })
  .superRefine((t, ctx) => {
    if (t.keepAliveTimeSeconds > t.holdTimeSeconds) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: `${KEEPALIVE_RULE_MESSAGE}: holdTimeSeconds is ${t.holdTimeSeconds}, keepAliveTimeSeconds is ${t.keepAliveTimeSeconds}` +
          " (defaults 90 and 30 are filled in before this rule runs, so set both)",
      });
    }
  });
export type CiliumBGPTimers = z.infer<typeof CiliumBGPTimers>;

export const CiliumBGPPeerConfigSpec = z.object({
  transport: z
    .object({
      peerPort: int(1, 65535).default(179),
      sourceInterface: str(1).optional(),
    })
    .optional(),
  timers: CiliumBGPTimers.optional(),
  authSecretRef: z.string().optional(),
  gracefulRestart: z
    .object({
      enabled: bool,
      restartTimeSeconds: int(1, 4095).default(120),
    })
    .optional(),
  ebgpMultihop: int(1, 255).default(1),
  families: z.array(CiliumBGPFamilyWithAdverts).optional(),
});
export type CiliumBGPPeerConfigSpec = z.infer<typeof CiliumBGPPeerConfigSpec>;

export const CiliumBGPPeerConfig = z
  .object({
    apiVersion: z.enum(["cilium.io/v2", "cilium.io/v2alpha1"]),
    kind: z.literal("CiliumBGPPeerConfig"),
    metadata: ObjectMeta,
    spec: CiliumBGPPeerConfigSpec.default({ ebgpMultihop: 1 }),
    status: ConditionsStatus.optional(),
  })
  .transform((v) => ({ ...v, apiVersion: "cilium.io/v2" as const }));
export type CiliumBGPPeerConfig = z.infer<typeof CiliumBGPPeerConfig>;
