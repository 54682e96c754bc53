/**
 * Label selector matching with Kubernetes semantics (LabelSelectorAsSelector).
 *
 * The one subtle point is an absent selector: for most Cilium fields it
 * matches nothing, for a few (cluster-config nodeSelector, LB pool
 * serviceSelector, v1 path-attribute selectors) it matches everything. The
 * caller states which by choosing the function.
 */
import type { LabelSelector } from "./schemas/meta.ts";

export type Labels = Readonly<Record<string, string>>;

/** A present selector against a label set; `{}` matches everything. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
        if (!has || !values.includes(labels[req.key])) return false;
        break;
      case "NotIn":
        // Kubernetes: a missing key satisfies NotIn.
        if (has && values.includes(labels[req.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Absent selector ⇒ matches nothing (the common Cilium rule). */
export function matchesOrNothing(selector: LabelSelector | null | undefined, labels: Labels): boolean {
  return selector != null && selectorMatches(selector, labels);
}

/** Absent selector ⇒ matches everything (nodeSelector, pool serviceSelector, v1 path attributes). */
export function matchesOrEverything(selector: LabelSelector | null | undefined, labels: Labels): boolean {
  return selector == null || selectorMatches(selector, labels);
}

/** True when the selector is present and places no constraint (`{}`). */
export function isEmptySelector(selector: LabelSelector | null | undefined): boolean {
  return selector != null && Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0;
}

/** Service labels with the pseudo-labels Cilium adds (they override real labels). */
export function serviceLabels(labels: Labels | undefined, name: string, namespace: string): Labels {
  return { ...labels, "io.kubernetes.service.name": name, "io.kubernetes.service.namespace": namespace };
}

/** CiliumPodIPPool labels with Cilium's pseudo-labels. */
export function podIPPoolLabels(labels: Labels | undefined, name: string, namespace = ""): Labels {
  return { ...labels, "io.cilium.podippool.name": name, "io.cilium.podippool.namespace": namespace };
}
