/**
 * Condition types, reasons and messages LB-IPAM writes (spec/cilium-api.md
 * §9.4, exact strings), and metav1.Condition bookkeeping with Kubernetes'
 * `SetStatusCondition` semantics: lastTransitionTime moves only when the
 * status changes; reason, message and observedGeneration are updated in place.
 */
import type { IPAddress } from "../net/ip.ts";
import { formatIP } from "../net/ip.ts";

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  /** Omitted when the object has no generation (Go's omitempty of 0). */
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export const SERVICE_CONDITION = "cilium.io/IPAMRequestSatisfied";
export const POOL_CONFLICT = "cilium.io/PoolConflict";
export const POOL_IPS_TOTAL = "cilium.io/IPsTotal";
export const POOL_IPS_AVAILABLE = "cilium.io/IPsAvailable";
export const POOL_IPS_USED = "cilium.io/IPsUsed";

/**
 * herald's own conditions for input it cannot use. Cilium only logs these;
 * herald also puts them on the object so that `kubectl get -o yaml` (or the
 * state file) shows what is wrong. Present only while the problem lasts.
 */
export const POOL_INVALID = "herald.io/InvalidSpec";
export const SERVICE_INVALID = "herald.io/InvalidRequest";

export const Reason = {
  satisfied: "satisfied",
  noPool: "no_pool",
  outOfIPs: "out_of_ips",
  poolSelectorMismatch: "pool_selector_mismatch",
  alreadyAllocated: "already_allocated",
  alreadyAllocatedIncompatible: "already_allocated_incompatible_service",
  cidrOverlap: "cidr_overlap",
  resolved: "resolved",
  noReason: "noreason",
  invalidBlock: "invalid_block",
  invalidManifest: "invalid_manifest",
  unparsableIP: "unparsable_ip",
} as const;
export type Reason = typeof Reason[keyof typeof Reason];

/** Incompatibility reasons for sharing an address (I11), baseline and [newer]. */
export const Incompatible = {
  sharingKey: "different sharing key",
  namespace: "different and not permitted namespace",
  port: "same port",
  portAndProtocol: "same port and protocol",
  trafficPolicy: "different ExternalTrafficPolicy",
  localSelector: "compatible ExternalTrafficPolicy local but selecting different set of pods",
  localNoSelector: "ExternalTrafficPolicy local but a service has no selector",
  localDifferentPods:
    "ExternalTrafficPolicy local but selecting different set of pods without lbipam.cilium.io/sharing-permit-different-pods on both services",
} as const;

/** Go's netip.Addr.String(), which Cilium prints in its messages. */
const ip = (addr: IPAddress) => formatIP(addr);

export const Message = {
  noPoolGeneric: "There are no enabled CiliumLoadBalancerIPPools that match this service",
  noPoolForIP: (a: IPAddress) => `No pool exists with a CIDR containing '${ip(a)}'`,
  outOfIPs: "All enabled CiliumLoadBalancerIPPools that match this service ran out of allocatable IPs",
  poolSelectorMismatch: (a: IPAddress) => `The pool with the CIDR containing '${ip(a)}', doesn't select this service`,
  alreadyAllocated: (a: IPAddress) => `The IP '${ip(a)}' is already allocated to another service`,
  alreadyAllocatedIncompatible: (a: IPAddress, why: string) =>
    `The IP '${ip(a)}' is already allocated to an incompatible service. Reason: ${why}`,
  poolConflict: (range: string, otherRange: string, otherPool: string) =>
    `Pool conflicts since range '${range}' overlaps range '${otherRange}' from IP Pool '${otherPool}'`,
} as const;

/** metav1.Time text: RFC 3339, UTC, whole seconds. */
export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

export interface DesiredCondition {
  type: string;
  status: Condition["status"];
  reason: string;
  message: string;
  observedGeneration?: number;
}

/**
 * Sets a condition in `list` (mutated). Returns true when anything the
 * condition says changed. A new condition is appended, as Kubernetes does.
 */
export function setCondition(list: Condition[], want: DesiredCondition, now: () => Date): boolean {
  const gen = want.observedGeneration || undefined;
  const i = list.findIndex((c) => c.type === want.type);
  if (i < 0) {
    const c: Condition = { type: want.type, status: want.status, lastTransitionTime: formatTime(now()), reason: want.reason, message: want.message };
    if (gen !== undefined) c.observedGeneration = gen;
    list.push(orderCondition(c));
    return true;
  }
  const old = list[i];
  if (old.status === want.status && old.reason === want.reason && old.message === want.message &&
    (old.observedGeneration || undefined) === gen) return false;
  const c: Condition = {
    type: want.type,
    status: want.status,
    lastTransitionTime: old.status === want.status && old.lastTransitionTime ? old.lastTransitionTime : formatTime(now()),
    reason: want.reason,
    message: want.message,
  };
  if (gen !== undefined) c.observedGeneration = gen;
  list[i] = orderCondition(c);
  return true;
}

/** Removes the condition of `type`; true if there was one. */
export function removeCondition(list: Condition[], type: string): boolean {
  const i = list.findIndex((c) => c.type === type);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

/** Field order of metav1.Condition's JSON, so written objects read naturally. */
function orderCondition(c: Condition): Condition {
  const out: Condition = { type: c.type, status: c.status } as Condition;
  if (c.observedGeneration !== undefined) out.observedGeneration = c.observedGeneration;
  out.lastTransitionTime = c.lastTransitionTime;
  out.reason = c.reason;
  out.message = c.message;
  return out;
}

/** Conditions read from an object: fills what a hand-written status may lack. */
export function normalizeConditions(list: ReadonlyArray<Partial<Condition> & { type: string; status: Condition["status"] }> | undefined): Condition[] {
  return (list ?? []).map((c) =>
    orderCondition({
      type: c.type,
      status: c.status,
      observedGeneration: c.observedGeneration || undefined,
      lastTransitionTime: c.lastTransitionTime ?? "",
      reason: c.reason ?? "",
      message: c.message ?? "",
    })
  );
}

/** JSON with object keys sorted: equality of statuses regardless of key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value as Record<string, unknown>).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
