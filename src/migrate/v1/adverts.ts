/**
 * What one v1 neighbour is sent, as v2 advertisement entries (G4, G5 → E1,
 * E9–E12, E19).
 *
 * v1 advertises everything a virtual router exports to all its neighbours
 * and adds attributes per neighbour by selectorType; v2 chooses per peer and
 * family which CiliumBGPAdvertisements apply. So each neighbour gets its own
 * entry list, with the v1 attributes already stacked (communities
 * accumulate, a later LOCAL_PREF replaces an earlier one):
 *
 * - PodCIDR: one entry (several would overwrite each other, E9) with the
 *   stacked attributes of the PodCIDR entries that match this node class.
 * - CiliumPodIPPool: the pools `podIPPoolSelector` selects, split into
 *   disjoint label classes so that each pool is matched by exactly one entry
 *   (a second entry for the same pool would overwrite the first, E10).
 * - Service: the router's serviceSelector and address kinds, plus one entry
 *   per CiliumLoadBalancerIPPool that CiliumLoadBalancerIPPool-type
 *   attributes select, limited to that pool's serviceSelector. v1 chose these
 *   attributes by the IP's pool (prefix inside the pool's cidr blocks); v2
 *   can only choose by Service labels, which is the same only where pool
 *   selectors do not overlap: those cases are reported.
 */
import { attributesFrom, NO_ATTRIBUTES, type RouteAttributes, stackAttributes } from "../../control/attributes.ts";
import { serviceLabels, selectorMatches, matchesOrEverything } from "../../control/selector.ts";
import type { CiliumLoadBalancerIPPool } from "../../control/schemas/lb-ip-pool.ts";
import type { LabelSelector } from "../../control/schemas/meta.ts";
import type { CiliumBGPNeighbor, CiliumBGPPathAttributes, CiliumBGPVirtualRouter } from "../../control/schemas/peering-policy.ts";
import type { Service } from "../../control/schemas/service.ts";
import { andSelectors, conjunctionOf, describeSelector, formulaOf, partition, PartitionTooLarge, satisfiable, selectorOf, spaceOf } from "../label-space.ts";
import { attributesBlock, attributesText } from "../names.ts";
import { parseAddress, rangeContains } from "../ranges.ts";

export type AdvertEntry = Record<string, unknown>;

export interface EntryContext {
  readonly policy: string;
  readonly lbPools: readonly CiliumLoadBalancerIPPool[];
  readonly services: readonly Service[];
  /** gap / note sink: (level, message). */
  readonly report: (level: "gap" | "note" | "action", message: string) => void;
}

const attrsOf = (e: CiliumBGPPathAttributes) => attributesFrom(e.communities, e.localPreference);

/** Stacks the attributes of the entries (in order) for which `applies` is true. */
function stack(entries: readonly CiliumBGPPathAttributes[], applies: (e: CiliumBGPPathAttributes) => boolean): RouteAttributes {
  return entries.filter(applies).reduce((acc, e) => stackAttributes(acc, attrsOf(e)), NO_ATTRIBUTES);
}

function withAttributes(entry: AdvertEntry, a: RouteAttributes): AdvertEntry {
  const block = attributesBlock(a);
  return block ? { ...entry, attributes: block } : entry;
}

/** The PodCIDR entry; `nodeClassMatches` decides PodCIDR-type selectors for this node class. */
export function podCIDREntry(n: CiliumBGPNeighbor, nodeClassMatches: (sel: LabelSelector) => boolean): AdvertEntry {
  const entries = (n.advertisedPathAttributes ?? []).filter((e) => e.selectorType === "PodCIDR");
  return withAttributes({ advertisementType: "PodCIDR" }, stack(entries, (e) => e.selector == null || nodeClassMatches(e.selector)));
}

/** CiliumPodIPPool entries with disjoint selectors. */
export function podPoolEntries(vr: CiliumBGPVirtualRouter, n: CiliumBGPNeighbor, ctx: EntryContext): AdvertEntry[] {
  if (vr.podIPPoolSelector == null) return [];
  const base = spaceOf(vr.podIPPoolSelector);
  if (base === null) return []; // the selector contradicts itself: no pool
  const entries = (n.advertisedPathAttributes ?? []).filter((e) => e.selectorType === "CiliumPodIPPool");
  const withSelector = entries.filter((e) => e.selector != null);
  let leaves;
  try {
    leaves = partition(base, withSelector.map((e) => formulaOf([e.selector!], "everything")));
  } catch (err) {
    if (!(err instanceof PartitionTooLarge)) throw err;
    ctx.report("gap", `router ${vr.localASN} neighbor ${n.peerAddress}: the CiliumPodIPPool path attributes need more than 64 disjoint pool selectors; only the pools are advertised, without these attributes`);
    return [{ advertisementType: "CiliumPodIPPool", selector: vr.podIPPoolSelector }];
  }
  return leaves.map((leaf) => {
    const a = stack(entries, (e) => e.selector == null || leaf.values[withSelector.indexOf(e)]);
    // selectorOf(null) would be the whole space; an advert selector must be `{}` for that (null selects none).
    return withAttributes({ advertisementType: "CiliumPodIPPool", selector: selectorOf(leaf.space) ?? {} }, a);
  });
}

interface PoolRange {
  readonly pool: CiliumLoadBalancerIPPool;
  readonly ranges: ReturnType<typeof parseAddress>[];
}

function poolRanges(pool: CiliumLoadBalancerIPPool): PoolRange {
  return {
    pool,
    ranges: (pool.spec.blocks ?? []).map((b) => b.cidr ? parseAddress(b.cidr) : parseAddress(b.stop ? `${b.start}-${b.stop}` : `${b.start}`)),
  };
}

/** The pool holding an address, if any. */
function poolOf(pools: readonly PoolRange[], ip: string): CiliumLoadBalancerIPPool | undefined {
  return pools.find((p) => p.ranges.some((r) => !("error" in r) && rangeContains(r, ip)))?.pool;
}

/** Service entries: the router's own, then one per pool with CiliumLoadBalancerIPPool attributes. */
export function serviceEntries(vr: CiliumBGPVirtualRouter, n: CiliumBGPNeighbor, ctx: EntryContext): AdvertEntry[] {
  if (vr.serviceSelector == null) {
    // null ⇒ no Service (G4)
    if ((n.advertisedPathAttributes ?? []).some((e) => e.selectorType === "CiliumLoadBalancerIPPool")) {
      ctx.report("note", `router ${vr.localASN} neighbor ${n.peerAddress}: CiliumLoadBalancerIPPool path attributes have no effect: the router has no serviceSelector, so no Service is advertised (G4)`);
    }
    return [];
  }
  const types = [...new Set(vr.serviceAdvertisements ?? ["LoadBalancerIP"])];
  const out: AdvertEntry[] = [{ advertisementType: "Service", service: { addresses: types }, selector: vr.serviceSelector }];
  const entries = (n.advertisedPathAttributes ?? []).filter((e) => e.selectorType === "CiliumLoadBalancerIPPool");
  if (entries.length === 0) return out;
  const who = `router ${vr.localASN} neighbor ${n.peerAddress}`;
  if (ctx.lbPools.length === 0) {
    ctx.report("gap", `${who}: CiliumLoadBalancerIPPool path attributes need the pools to convert (v2 selects Services, not pools): give the CiliumLoadBalancerIPPool manifests as input; without them these attributes are not carried over`);
    return out;
  }
  if (!types.includes("LoadBalancerIP")) {
    ctx.report("note", `${who}: CiliumLoadBalancerIPPool path attributes have no effect: the router does not advertise LoadBalancerIP addresses`);
    return out;
  }
  if (types.length > 1) {
    ctx.report("gap", `${who}: v1 put CiliumLoadBalancerIPPool attributes on any Service address inside the pool's CIDRs (also ${types.filter((t) => t !== "LoadBalancerIP").join(", ")}); v2 puts them on LoadBalancerIP routes only`);
  }
  const enabled = ctx.lbPools.filter((p) => !p.spec.disabled);
  const attrsFor = new Map<CiliumLoadBalancerIPPool, RouteAttributes>();
  for (const pool of enabled) {
    attrsFor.set(pool, stack(entries, (e) => matchesOrEverything(e.selector, pool.metadata.labels ?? {})));
  }
  const selectorFor = new Map<CiliumLoadBalancerIPPool, LabelSelector>();
  for (const pool of enabled) {
    const a = attrsFor.get(pool)!;
    if (a === NO_ATTRIBUTES) continue;
    if (!(pool.spec.blocks ?? []).every((b) => b.cidr)) {
      ctx.report("gap", `${who}: CiliumLoadBalancerIPPool "${pool.metadata.name}" has start/stop blocks, which Cilium's v1 path-attribute reconciler cannot use (it fails); v2 applies ${attributesText(a)} to all of the pool's Services`);
    }
    const both = andSelectors(vr.serviceSelector, pool.spec.serviceSelector);
    if (both === null) continue; // no Service can be advertised by the router and come from this pool
    const selector = both.selector ?? {};
    selectorFor.set(pool, selector);
    const entry = withAttributes({ advertisementType: "Service", service: { addresses: ["LoadBalancerIP"] }, selector }, a);
    // Same selector and addresses as the router's own entry: one entry says it (E19 would merge them anyway).
    if (types.length === 1 && out.length === 1 && JSON.stringify(selector) === JSON.stringify(vr.serviceSelector)) out[0] = entry;
    else out.push(entry);
  }
  reportAmbiguity(who, enabled, attrsFor, selectorFor, ctx);
  return out;
}

/**
 * A Service whose labels match pool P's entry but whose IP comes from pool Q
 * (with other attributes) gets P's attributes in v2; in v1 it got Q's.
 */
function reportAmbiguity(
  who: string,
  pools: readonly CiliumLoadBalancerIPPool[],
  attrsFor: ReadonlyMap<CiliumLoadBalancerIPPool, RouteAttributes>,
  selectorFor: ReadonlyMap<CiliumLoadBalancerIPPool, LabelSelector>,
  ctx: EntryContext,
): void {
  for (const [p, sel] of selectorFor) {
    for (const q of pools) {
      if (q === p || attrsFor.get(q) === attrsFor.get(p)) continue;
      if (!satisfiable(conjunctionOf(sel), q.spec.serviceSelector ? conjunctionOf(q.spec.serviceSelector) : [])) continue;
      ctx.report("gap", `${who}: a Service matching both ${describeSelector(sel)} and the selector of CiliumLoadBalancerIPPool "${q.metadata.name}" (${describeSelector(q.spec.serviceSelector)}) may get its IP from "${q.metadata.name}" (v1: ${attributesText(attrsFor.get(q)!)}) but is advertised with the attributes of "${p.metadata.name}" (${attributesText(attrsFor.get(p)!)}) in v2, which selects Services by label, not by pool; make the pools' serviceSelectors disjoint to remove the ambiguity`);
    }
  }
  // Concrete Services given as input: name the ones that would change.
  const ranges = pools.map(poolRanges);
  for (const svc of ctx.services) {
    const labels = serviceLabels(svc.metadata.labels, svc.metadata.name, svc.metadata.namespace);
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
      if (!ing.ip) continue;
      const home = poolOf(ranges, ing.ip);
      const want = home ? attrsFor.get(home) ?? NO_ATTRIBUTES : NO_ATTRIBUTES;
      for (const [p, sel] of selectorFor) {
        if (p === home || attrsFor.get(p) === want || !selectorMatches(sel, labels)) continue;
        ctx.report("gap", `${who}: Service ${svc.metadata.namespace}/${svc.metadata.name} holds ${ing.ip}${home ? ` from pool "${home.metadata.name}"` : ""} (v1: ${attributesText(want)}) but matches the entry for pool "${p.metadata.name}" (v2 adds ${attributesText(attrsFor.get(p)!)})`);
      }
    }
  }
}
