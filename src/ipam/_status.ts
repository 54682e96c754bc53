/**
 * Statuses of one Service or pool: reading them off objects, the working
 * copies the engine edits, and what it hands out (I13, I14).
 */
import type { Service } from "../control/schemas/service.ts";
import type { PoolRec, SvcRec } from "./_types.ts";
import type { Condition } from "./conditions.ts";
import {
  Message,
  POOL_CONFLICT,
  POOL_INVALID,
  POOL_IPS_AVAILABLE,
  POOL_IPS_TOTAL,
  POOL_IPS_USED,
  Reason,
  removeCondition,
  setCondition,
  stableJson,
} from "./conditions.ts";
import type { PoolStatus, ServiceStatus } from "./types.ts";

/** creationTimestamp in ms for age order (I5, I7); absent or unparsable counts as newest. */
export function parseTime(text: string | undefined): number {
  if (text === undefined) return Infinity;
  const t = Date.parse(text);
  return Number.isNaN(t) ? Infinity : t;
}

export function incomingStatus(svc: Service): ServiceStatus {
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const conditions = (svc.status?.conditions ?? []) as Condition[];
  const s: ServiceStatus = { loadBalancer: ingress.length > 0 ? { ingress } : {} };
  if (conditions.length > 0) s.conditions = conditions;
  return s;
}

/** Takes the object's current status as the working copy (Cilium: sv.Status = svc.Status.DeepCopy()). */
export function setBase(rec: SvcRec, svc: Service): void {
  const s = incomingStatus(svc);
  rec.ingress = (s.loadBalancer.ingress ?? []).map((i) => ({ ...i }));
  rec.conditions = (s.conditions ?? []).map((c) => ({ ...c }));
  rec.known = stableJson(s);
}

export function newRec(view: SvcRec["view"], svc: Service): SvcRec {
  const rec: SvcRec = {
    view,
    allocs: [],
    ingress: [],
    conditions: [],
    known: "",
    seq: 0,
    waitCapacity: false,
    waitIps: [],
    waitKey: "",
    logged: "",
  };
  setBase(rec, svc);
  return rec;
}

export function statusOf(rec: SvcRec): ServiceStatus {
  const s: ServiceStatus = { loadBalancer: rec.ingress.length > 0 ? { ingress: rec.ingress.map((i) => ({ ...i })) } : {} };
  if (rec.conditions.length > 0) s.conditions = rec.conditions.map((c) => ({ ...c }));
  return s;
}

export function poolStatusOf(p: PoolRec): PoolStatus {
  return p.conditions.length > 0 ? { conditions: p.conditions.map((c) => ({ ...c })) } : {};
}

/** I5, I14 and herald's invalid-spec condition, set on the pool's working copy. */
export function setPoolConditions(p: PoolRec, now: () => Date): void {
  const gen = p.generation;
  const c = p.conflict;
  setCondition(
    p.conditions,
    c === null
      ? { type: POOL_CONFLICT, status: "False", reason: Reason.resolved, message: "", observedGeneration: gen }
      : { type: POOL_CONFLICT, status: "True", reason: Reason.cidrOverlap, message: Message.poolConflict(c.range, c.otherRange, c.otherPool), observedGeneration: gen },
    now,
  );
  let total = 0n;
  let available = 0n;
  let used = 0;
  for (const r of p.ranges) {
    total += r.size;
    available += r.available;
    used += r.used;
  }
  const count = (type: string, n: bigint | number) =>
    setCondition(p.conditions, { type, status: "Unknown", reason: Reason.noReason, message: String(n), observedGeneration: gen }, now);
  count(POOL_IPS_TOTAL, total);
  count(POOL_IPS_AVAILABLE, available);
  count(POOL_IPS_USED, used);
  if (p.errors.length > 0) {
    setCondition(p.conditions, { type: POOL_INVALID, status: "True", reason: p.errorReason, message: p.errors.join("; "), observedGeneration: gen }, now);
  } else {
    removeCondition(p.conditions, POOL_INVALID);
  }
}

