/**
 * Status writes the way Cilium's operator makes them: a JSON patch that
 * replaces `/status` as a whole (spec I13, I14, B7), with the field manager
 * of the Cilium component whose job herald does, fenced by the leadership
 * check right before the request leaves. And the metav1.Condition
 * bookkeeping for conditions herald sets on objects it does not own alone:
 * other writers' condition types are kept, lastTransitionTime moves only
 * when a condition's status does.
 */
import type { KubeClient } from "../../source/kube/client.ts";
import { KubeApiError } from "../../source/kube/client.ts";
import { type ResourceRef, resourcePath } from "../../source/kube/resources.ts";
import { formatTime } from "../../ipam/conditions.ts";
import type { Condition } from "../../control/schemas/_common.ts";
import { compareVersions } from "./freshness.ts";

/** Field managers: Cilium's where the spec names one (I13, F1); herald's own for B7/D9 conditions and NodeConfigs. */
export const FIELD_MANAGER = {
  lbIpam: "cilium-operator-lb-ipam",
  bgpOperator: "herald-operator",
  nodeStatus: "CiliumBGPNodeConfigStatusReconciler",
} as const;

export type PatchResult = { readonly outcome: "written"; readonly resourceVersion: string } | { readonly outcome: "fenced" | "gone" };

/**
 * `[{op: replace, path: /status, value}]` on the status subresource
 * (`add` when the object has no status yet: `replace` needs the member).
 * 404: the object is gone, nothing to do. Other errors throw (the queue retries).
 */
export async function replaceStatus(
  client: KubeClient,
  ref: ResourceRef,
  at: { namespace?: string; name: string },
  hadStatus: boolean,
  status: unknown,
  fieldManager: string,
  fence: () => boolean,
): Promise<PatchResult> {
  if (!fence()) return { outcome: "fenced" };
  try {
    const out = await client.request<{ metadata?: { resourceVersion?: string } }>("PATCH", resourcePath(ref, { ...at, subresource: "status" }), {
      query: { fieldManager },
      contentType: "application/json-patch+json",
      body: [{ op: hadStatus ? "replace" : "add", path: "/status", value: status }],
    });
    return { outcome: "written", resourceVersion: out?.metadata?.resourceVersion ?? "" };
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return { outcome: "gone" };
    throw err;
  }
}

/**
 * What this process wrote last, per object, until the watch brings that
 * version back. A writer whose next computation equals its last write, while
 * the informer still shows an older version, is looking at its own write in
 * flight: writing again would only repeat it.
 */
export class RecentWrites {
  readonly #m = new Map<string, { text: string; resourceVersion: string }>();

  /** True when `text` is what was last written and the store (at `seen`) has not caught up with it. */
  inFlight(key: string, text: string, seen: string | undefined): boolean {
    const w = this.#m.get(key);
    if (!w) return false;
    const c = seen === undefined ? -1 : compareVersions(seen, w.resourceVersion);
    if (c === null) return false; // cannot tell: write
    if (c >= 0) {
      this.#m.delete(key);
      return false;
    }
    return w.text === text;
  }

  record(key: string, text: string, resourceVersion: string): void {
    if (resourceVersion !== "") this.#m.set(key, { text, resourceVersion });
  }

  forget(key: string): void {
    this.#m.delete(key);
  }
}

/** A condition as computed, without the time (set here). */
export type DesiredCondition = Omit<Condition, "lastTransitionTime">;

/**
 * `existing` with the conditions of `types` replaced by `ours` (absent from
 * `ours` ⇒ removed), sorted by type as Cilium's operator writes them.
 * lastTransitionTime is kept while a condition's status stays the same.
 */
export function mergeConditions(
  existing: readonly Condition[] | undefined,
  ours: readonly DesiredCondition[],
  types: readonly string[],
  now: () => Date,
): Condition[] {
  const before = existing ?? [];
  const out: Condition[] = before.filter((c) => !types.includes(c.type));
  for (const c of ours) {
    const prev = before.find((p) => p.type === c.type);
    const lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : formatTime(now());
    out.push({ ...c, lastTransitionTime });
  }
  return out.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}
