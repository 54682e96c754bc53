/**
 * Shared Kubernetes shapes: object metadata and label selectors.
 *
 * Only the fields herald reads are listed; unknown fields are dropped here
 * (the API server would prune them too) and reported as warnings elsewhere.
 */
import { z } from "zod";

const labelMap = z.record(z.string(), z.string());

export const OwnerReference = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof OwnerReference>;

export const ObjectMeta = z.object({
  name: z.string().min(1, "metadata.name must not be empty"),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: labelMap.optional(),
  annotations: labelMap.optional(),
  ownerReferences: z.array(OwnerReference).optional(),
  // Standard fields `kubectl get -o yaml` prints; listed so that exported
  // manifests raise no unknown-field warnings. herald does not read them.
  generateName: z.string().optional(),
  selfLink: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
  managedFields: z.array(z.unknown()).optional(),
  deletionGracePeriodSeconds: z.number().int().optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

export const SelectorOperator = z.enum(["In", "NotIn", "Exists", "DoesNotExist"]);
export type SelectorOperator = z.infer<typeof SelectorOperator>;

export const LabelSelectorRequirement = z
  .object({
    key: z.string().min(1),
    operator: SelectorOperator,
    values: z.array(z.string()).optional(),
  })
  .superRefine((req, ctx) => {
    const n = req.values?.length ?? 0;
    if ((req.operator === "In" || req.operator === "NotIn") && n === 0) {
      ctx.addIssue({ code: "custom", path: ["values"], message: `values must be non-empty when operator is "${req.operator}"` });
    }
    if ((req.operator === "Exists" || req.operator === "DoesNotExist") && n > 0) {
      ctx.addIssue({ code: "custom", path: ["values"], message: `values must be empty when operator is "${req.operator}"` });
    }
  });
export type LabelSelectorRequirement = z.infer<typeof LabelSelectorRequirement>;

/**
 * A present selector. Whether an absent (null) selector means "nothing" or
 * "everything" depends on the field; see `matchesSelector`.
 */
export const LabelSelector = z.object({
  matchLabels: labelMap.optional(),
  matchExpressions: z.array(LabelSelectorRequirement).optional(),
});
export type LabelSelector = z.infer<typeof LabelSelector>;

/** apiVersion/kind pair of a cilium.io kind, accepting the served versions. */
export const ciliumApiVersion = (versions: readonly ["v2" | "v2alpha1", ...("v2" | "v2alpha1")[]]) =>
  z.enum(versions.map((v) => `cilium.io/${v}`) as [string, ...string[]]);
