/**
 * IPAddressPool → CiliumLoadBalancerIPPool, and the side-by-side split.
 *
 * Addresses carry over as blocks (a CIDR stays a `cidr`, a range becomes
 * `start`/`stop`); `avoidBuggyIPs` becomes explicit segments without .0 and
 * .255, which is exactly what MetalLB skips (Cilium's `allowFirstLastIPs: No`
 * only reserves a CIDR's first and last address, not every .0/.255 inside).
 *
 * Who may use a pool becomes its `serviceSelector`:
 * - `serviceAllocation.namespaces` (+ namespaceSelectors resolved against the
 *   Namespace objects given) → `io.kubernetes.service.namespace In (…)`;
 *   `serviceSelectors` → the selector itself.
 * - `metallb.universe.tf/address-pool: X` pins a Service to pool X; Cilium
 *   has no such annotation, so the Service gets the label
 *   `migrate.herald.io/pool=X` and every other pool excludes that label
 *   value (`NotIn`), so the Service can only get an address from X.
 * - `autoAssign: false` → the pool requires that label: only Services that
 *   ask for it (by annotation or by address) get its addresses.
 * - MetalLB prefers pools whose serviceAllocation matches over generic ones;
 *   Cilium tries pools in creation order. Generic pools therefore exclude
 *   what a restricted pool selects, where that is one requirement.
 */
import { stringify } from "yaml";
import type { LabelSelector, LabelSelectorRequirement } from "../../control/schemas/meta.ts";
import { selectorMatches } from "../../control/selector.ts";
import type { IPFamily } from "../../net/ip.ts";
import type { OutputDocument } from "../emit.ts";
import { andSelectors, conjunctionOf, describeSelector, satisfiable } from "../label-space.ts";
import { POOL_LABEL } from "../names.ts";
import { ciliumBlock, metallbText, rangeText, splitRange, withoutBuggyIPs } from "../ranges.ts";
import type { Findings } from "../report.ts";
import type { MetalLBModel, MPool } from "./model.ts";

const NS_LABEL = "io.kubernetes.service.namespace";

type Span = { family: IPFamily; start: bigint; stop: bigint };

export interface PoolPlan {
  readonly pool: MPool;
  /** The Cilium pool's serviceSelector; null ⇒ every Service. */
  readonly selector: LabelSelector | null;
  /** The restriction from serviceAllocation alone (no pinning label), null ⇒ none. */
  readonly allocation: LabelSelector | null;
  /** Addresses the Cilium pool gets. */
  readonly cilium: readonly Span[];
  /** --split: addresses MetalLB keeps. */
  readonly metallb: readonly Span[] | null;
}

/** The serviceAllocation of a pool as one selector (null: no restriction). */
function allocationSelector(pool: MPool, model: MetalLBModel, findings: Findings): LabelSelector | null {
  const a = pool.allocation;
  if (!a) return null;
  const where = { location: pool.src.doc.locate([...pool.src.base, "serviceAllocation"]), object: pool.src.who };
  const exprs: LabelSelectorRequirement[] = [];
  const namespaces = new Set(a.namespaces);
  if (a.namespaceSelectors.length) {
    if (model.namespaces.length === 0) {
      findings.add("gap", "serviceAllocation.namespaceSelectors: Cilium selects Services, not Namespaces, by label; give the Namespace objects as input to turn the selectors into the namespaces they match today. Ignored: the pool is open to every namespace", where);
    } else {
      const matched = model.namespaces.filter((ns) => a.namespaceSelectors.some((s) => selectorMatches(s, ns.labels))).map((ns) => ns.name);
      for (const n of matched) namespaces.add(n);
      findings.add("note", `serviceAllocation.namespaceSelectors resolved against the Namespace objects given: ${matched.join(", ") || "none"}; a Namespace labelled later is not picked up`, where);
    }
  }
  if (namespaces.size) exprs.push({ key: NS_LABEL, operator: "In", values: [...namespaces].sort() });
  let selector: LabelSelector | null = exprs.length ? { matchExpressions: exprs } : null;
  const svcSels = a.serviceSelectors;
  if (svcSels.length === 1) {
    selector = andSelectors(selector, svcSels[0])?.selector ?? null;
  } else if (svcSels.length > 1) {
    const merged = mergeOr(svcSels);
    if (merged) selector = andSelectors(selector, merged)?.selector ?? null;
    else {
      findings.add("gap", `serviceAllocation.serviceSelectors lists ${svcSels.length} selectors (any may match); a CiliumLoadBalancerIPPool has one serviceSelector. Only the first (${describeSelector(svcSels[0])}) is used: Services matching only the others get no address from this pool`, where);
      selector = andSelectors(selector, svcSels[0])?.selector ?? null;
    }
  }
  if (a.priority !== undefined) {
    findings.add("note", `serviceAllocation.priority ${a.priority}: Cilium has no pool priority; where two pools may serve one Service, Cilium tries them in creation order (I7). Overlaps are reported below`, where);
  }
  return selector;
}

/** Selectors ORed, as one selector when they are all `key In (…)` on the same single key. */
function mergeOr(sels: readonly LabelSelector[]): LabelSelector | null {
  let key: string | null = null;
  const values = new Set<string>();
  for (const s of sels) {
    const reqs = [...Object.entries(s.matchLabels ?? {}).map(([k, v]) => ({ key: k, operator: "In", values: [v] })), ...(s.matchExpressions ?? [])];
    if (reqs.length !== 1 || reqs[0].operator !== "In") return null;
    if (key !== null && reqs[0].key !== key) return null;
    key = reqs[0].key;
    for (const v of reqs[0].values ?? []) values.add(v);
  }
  return key === null ? null : { matchExpressions: [{ key, operator: "In", values: [...values].sort() }] };
}

/** The negation of a one-requirement selector, when it has one. */
function negate(sel: LabelSelector): LabelSelectorRequirement | null {
  const reqs = [...Object.entries(sel.matchLabels ?? {}).map(([k, v]) => ({ key: k, operator: "In" as const, values: [v] })), ...(sel.matchExpressions ?? [])];
  if (reqs.length !== 1) return null;
  const r = reqs[0];
  const op = { In: "NotIn", NotIn: "In", Exists: "DoesNotExist", DoesNotExist: "Exists" }[r.operator] as LabelSelectorRequirement["operator"];
  return op === "Exists" || op === "DoesNotExist" ? { key: r.key, operator: op } : { key: r.key, operator: op, values: r.values };
}

export function planPools(model: MetalLBModel, split: boolean, findings: Findings): PoolPlan[] {
  const allocations = new Map(model.pools.map((p) => [p, allocationSelector(p, model, findings)]));
  const names = model.pools.map((p) => p.name);
  return model.pools.map((pool) => {
    const where = { location: pool.src.doc.locate(pool.src.base), object: pool.src.who };
    let selector = allocations.get(pool) ?? null;
    const exprs: LabelSelectorRequirement[] = [];
    const others = names.filter((n) => n !== pool.name).sort();
    if (!pool.autoAssign) {
      findings.add("note", `autoAssign: false: Cilium has no such switch; the pool only serves Services labelled ${POOL_LABEL}=${pool.name} (the migration adds that label to Services that ask for this pool by annotation or by address)`, where);
      exprs.push({ key: POOL_LABEL, operator: "In", values: [pool.name] });
    } else if (others.length) {
      exprs.push({ key: POOL_LABEL, operator: "NotIn", values: others });
    }
    if (!pool.allocation && pool.autoAssign) {
      // MetalLB serves matching restricted pools first; here they must not overlap instead.
      for (const other of model.pools) {
        const sel = allocations.get(other);
        if (other === pool || !sel || !other.autoAssign) continue;
        const neg = negate(sel);
        if (neg) exprs.push(neg);
        else findings.add("gap", `MetalLB gives Services matching pool "${other.name}" (${describeSelector(sel)}) addresses from "${other.name}" first; Cilium may give them addresses from "${pool.name}" too (pools are tried in creation order), and the selector is too complex to exclude here`, where);
      }
    }
    selector = andSelectors(selector, exprs.length ? { matchExpressions: exprs } : null)?.selector ?? selector;
    let cilium: Span[] = [];
    let metallb: Span[] | null = null;
    if (split) {
      metallb = [];
      pool.ranges.forEach((r, i) => {
        const at = { location: pool.src.doc.locate([...pool.src.base, "addresses", i]), object: pool.src.who };
        const s = splitRange(r);
        if (!s) {
          findings.add("gap", `address "${r.text}" is a single address and cannot be split: it stays with MetalLB`, at);
          metallb!.push(r);
          return;
        }
        metallb!.push(s.metallb);
        cilium.push(s.cilium);
        findings.add("note", `--split: "${r.text}" → MetalLB keeps ${metallbText(s.metallb)}, the Cilium pool gets ${metallbText(s.cilium)}`, at);
      });
    } else {
      cilium = [...pool.ranges];
    }
    if (pool.avoidBuggyIPs) {
      const before = cilium;
      cilium = cilium.flatMap((r) => withoutBuggyIPs(r));
      if (before.some((r) => r.family === 4)) findings.add("note", `avoidBuggyIPs: written as ${cilium.length} start/stop block${cilium.length === 1 ? "" : "s"} without the .0 and .255 addresses (Cilium's allowFirstLastIPs only skips a CIDR's first and last address)`, where);
    }
    return { pool, selector, allocation: allocations.get(pool) ?? null, cilium, metallb };
  });
}

/** Pools whose selectors may both match one Service, while MetalLB would have preferred one. */
export function reportPoolOverlaps(plans: readonly PoolPlan[], findings: Findings): void {
  for (let i = 0; i < plans.length; i++) {
    for (let j = i + 1; j < plans.length; j++) {
      const a = plans[i];
      const b = plans[j];
      if (!a.pool.allocation || !b.pool.allocation || !a.pool.autoAssign || !b.pool.autoAssign) continue;
      const c = (s: LabelSelector | null) => s ? conjunctionOf(s) : [];
      if (!satisfiable(c(a.selector), c(b.selector))) continue;
      findings.add("gap", `pools "${a.pool.name}" and "${b.pool.name}" can both serve one Service (${describeSelector(a.allocation)} / ${describeSelector(b.allocation)}); MetalLB chooses by serviceAllocation.priority, Cilium by creation order`, { object: a.pool.src.who });
    }
  }
}

export function poolDocuments(plans: readonly PoolPlan[], apiVersion: string, findings: Findings): OutputDocument[] {
  const out: OutputDocument[] = [];
  for (const p of plans) {
    if (p.cilium.length === 0) {
      findings.add("gap", "no address is left for the Cilium pool: not written", { object: p.pool.src.who });
      continue;
    }
    const spec: Record<string, unknown> = { blocks: p.cilium.map(ciliumBlock) };
    if (p.selector) spec.serviceSelector = p.selector;
    out.push({
      group: "cilium",
      comment: [`from ${p.pool.src.who} (${p.pool.src.doc.file}:${p.pool.src.doc.locate(p.pool.src.base).line})${p.metallb ? ` — the Cilium half: ${p.cilium.map(rangeText).join(", ")}` : ""}`],
      value: { apiVersion, kind: "CiliumLoadBalancerIPPool", metadata: { name: p.pool.name }, spec },
    });
  }
  return out;
}

/** --split: the MetalLB side, shrunk (IPAddressPools, or the legacy ConfigMap). */
export function metallbSplitDocuments(model: MetalLBModel, plans: readonly PoolPlan[]): OutputDocument[] {
  const keep = new Map(plans.map((p) => [p.pool.name, (p.metallb ?? p.pool.ranges).map(metallbText)]));
  const out: OutputDocument[] = [];
  for (const [name, raw] of model.poolDocs) {
    const doc = structuredClone(raw) as { spec: { addresses: string[] }; status?: unknown; metadata: Record<string, unknown> };
    delete doc.status;
    for (const k of ["resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"]) delete doc.metadata[k];
    doc.spec.addresses = keep.get(name) ?? doc.spec.addresses;
    out.push({ group: "metallb", comment: [`MetalLB keeps the lower half of ${name} while both run (apply this to MetalLB)`], value: doc as unknown as Record<string, unknown> });
  }
  if (model.configMap) {
    const cm = structuredClone(model.configMap.raw) as { data: Record<string, string>; metadata: Record<string, unknown> };
    const config = structuredClone(model.configMap.config) as { "address-pools"?: Array<{ name: string; addresses: string[] }> };
    for (const p of config["address-pools"] ?? []) p.addresses = keep.get(p.name) ?? p.addresses;
    for (const k of ["resourceVersion", "uid", "creationTimestamp", "managedFields"]) delete cm.metadata[k];
    cm.data.config = stringifyConfig(config);
    out.push({ group: "metallb", comment: ["MetalLB's ConfigMap with the lower half of each pool while both run"], value: cm as unknown as Record<string, unknown> });
  }
  return out;
}

// The ConfigMap's embedded YAML, written the way MetalLB users write it.
function stringifyConfig(config: unknown): string {
  return stringify(config, { version: "1.1", lineWidth: 0 });
}
