/**
 * The v2 advertisement pipeline for one CiliumBGPPeerConfig (E1, E2, E5,
 * E9–E11): its own `families` list → each family's `advertisements`
 * selector over CiliumBGPAdvertisement labels → the entries of the selected
 * objects. Service entries become rules (services.ts applies them per
 * Service); PodCIDR, CiliumPodIPPool and Interface entries become routes now.
 *
 * Advertisements are taken in name order, entries in list order. For
 * PodCIDR, Interface and CiliumPodIPPool, Cilium names one export policy per
 * peer+family(+pool), so when several entries select the same routes only
 * the last one's attributes survive (E9, E11 quirk; the pool reconciler
 * overwrites likewise). For Interface the policy also carries the prefixes,
 * so only the last entry with addresses of the family is advertised at all.
 * herald reproduces that.
 */
import { formatPrefix, type IPPrefix, parsePrefix, prefixOf } from "../net/ip.ts";
import { attributesFrom, type RouteAttributes } from "./attributes.ts";
import { addStatic, type Contribution, type RouteGroup, type RuleRegistry, type ServiceRule } from "./groups.ts";
import { interfaceAdvertAddresses } from "./host.ts";
import { podIPPoolLabels, selectorMatches } from "./selector.ts";
import type { BGPAdvertisement, CiliumBGPAdvertisement } from "./schemas/advertisement.ts";
import type { CiliumBGPPeerConfig } from "./schemas/peer-config.ts";
import type { CiliumPodIPPool } from "./schemas/pod-ip-pool.ts";
import type { LabelSelector } from "./schemas/meta.ts";
import type { ControlIssue, ControlOptions, HostFacts, RouteFamily } from "./types.ts";

/** What the advertisement pipeline needs to know about this node. */
export interface AdvertContext {
  readonly nodeName: string;
  /** Sorted by name. */
  readonly advertisements: readonly CiliumBGPAdvertisement[];
  readonly podIPPools: ReadonlyMap<string, CiliumPodIPPool>;
  /** The node's Pod CIDRs (E9). */
  readonly podCIDRs: readonly IPPrefix[];
  /** pool name → CIDRs allocated to this node (CiliumNode.spec.ipam.pools.allocated, E10). */
  readonly allocatedPools: ReadonlyMap<string, readonly IPPrefix[]>;
  readonly host?: HostFacts;
  readonly options: ControlOptions;
  readonly rules: RuleRegistry;
  readonly issues: ControlIssue[];
}

/** IPAM modes whose PodCIDR reconciler exists (E9). */
export const PODCIDR_IPAM_MODES: ReadonlySet<string> = new Set(["kubernetes", "cluster-pool"]);

export const familyOfAfi = (afi: string): RouteFamily | null =>
  afi === "ipv4" ? "ipv4/unicast" : afi === "ipv6" ? "ipv6/unicast" : null;
const ipFamily = (f: RouteFamily): 4 | 6 => f === "ipv4/unicast" ? 4 : 6;

/** Advertisements whose labels match a family's selector; null selector ⇒ none (E2). */
export function selectedAdvertisements(
  ctx: Pick<AdvertContext, "advertisements">,
  selector: LabelSelector | null | undefined,
): CiliumBGPAdvertisement[] {
  if (selector == null) return [];
  return ctx.advertisements.filter((a) => selectorMatches(selector, a.metadata.labels ?? {}));
}

export function serviceRuleFor(ctx: Pick<AdvertContext, "rules">, advert: CiliumBGPAdvertisement, index: number, entry: BGPAdvertisement): ServiceRule | null {
  // Both selector and service are needed; a null selector selects nothing (E12).
  if (entry.selector == null || entry.service == null) return null;
  const { selector, service } = entry;
  return ctx.rules.get(`${advert.metadata.name}#${index}`, (id) => ({
    id,
    key: `${advert.metadata.name}#${index}`,
    selector,
    addressTypes: [...new Set(service.addresses)],
    aggregationIPv4: service.aggregationLengthIPv4 ?? null,
    aggregationIPv6: service.aggregationLengthIPv6 ?? null,
    attributes: attributesFrom(entry.attributes?.communities, entry.attributes?.localPreference),
    advertisement: advert.metadata.name,
  }));
}

/** The route group of every peer that uses this PeerConfig. */
export function peerConfigGroup(pc: CiliumBGPPeerConfig, ctx: AdvertContext): RouteGroup {
  // Later entries for the same family replace earlier ones (a map keyed by family).
  const byFamily = new Map<string, NonNullable<CiliumBGPPeerConfig["spec"]["families"]>[number]>();
  for (const f of pc.spec.families ?? []) byFamily.set(`${f.afi}/${f.safi}`, f);

  const families: RouteFamily[] = [];
  const serviceRules = new Map<RouteFamily, ServiceRule[]>();
  const staticRoutes = new Map<RouteFamily, Map<string, Map<string, Contribution>>>();
  const selected = new Map<RouteFamily, string[]>();
  const emptyReason = new Map<RouteFamily, string>();

  const fams = new Map<RouteFamily, { advertisements?: unknown }>();
  for (const fam of byFamily.values()) {
    const family = familyOfAfi(fam.afi);
    if (family === null || fam.safi !== "unicast") continue; // only unicast carries routes
    families.push(family);
    fams.set(family, fam);
    const rules: ServiceRule[] = [];
    const table = new Map<string, Map<string, Contribution>>();
    serviceRules.set(family, rules);
    staticRoutes.set(family, table);
    if (fam.advertisements == null) {
      emptyReason.set(family, `its ${family} entry has no advertisements selector, so nothing is advertised for that family`);
      selected.set(family, []);
      continue;
    }
    const adverts = selectedAdvertisements(ctx, fam.advertisements);
    selected.set(family, adverts.map((a) => a.metadata.name));
    if (adverts.length === 0) {
      emptyReason.set(family, `no CiliumBGPAdvertisement has labels matching its ${family} advertisements selector`);
      continue;
    }
    let podCIDR: { attrs: RouteAttributes; adverts: string[] } | null = null;
    const ifaceEntries: { ifName: string; attrs: RouteAttributes; advert: string }[] = [];
    const pools = new Map<string, { attrs: RouteAttributes; adverts: string[] }>();
    for (const advert of adverts) {
      advert.spec.advertisements.forEach((entry, index) => {
        const attrs = () => attributesFrom(entry.attributes?.communities, entry.attributes?.localPreference);
        switch (entry.advertisementType) {
          case "Service": {
            const rule = serviceRuleFor(ctx, advert, index, entry);
            if (rule) rules.push(rule);
            break;
          }
          case "PodCIDR":
            podCIDR = { attrs: attrs(), adverts: [...(podCIDR?.adverts ?? []), advert.metadata.name] };
            break;
          case "Interface":
            if (entry.interface?.name) ifaceEntries.push({ ifName: entry.interface.name, attrs: attrs(), advert: advert.metadata.name });
            break;
          case "CiliumPodIPPool":
            if (entry.selector == null) break; // null ⇒ no pools (E10)
            for (const pool of ctx.podIPPools.values()) {
              // CiliumPodIPPool is cluster-scoped: the namespace pseudo-label is always "".
              if (!selectorMatches(entry.selector, podIPPoolLabels(pool.metadata.labels, pool.metadata.name))) continue;
              const prev = pools.get(pool.metadata.name);
              pools.set(pool.metadata.name, { attrs: attrs(), adverts: [...(prev?.adverts ?? []), advert.metadata.name] });
            }
            break;
        }
      });
    }
    const want = ipFamily(family);
    if (podCIDR !== null && !PODCIDR_IPAM_MODES.has(ctx.options.ipamMode)) {
      ctx.issues.push({
        level: "warning",
        rule: "E9",
        message: `PodCIDR advertisement in ${(podCIDR as { adverts: string[] }).adverts.join(", ")} does nothing: ipam mode "${ctx.options.ipamMode}" has no PodCIDR reconciler (only "kubernetes" and "cluster-pool")`,
      });
    }
    if (podCIDR !== null && PODCIDR_IPAM_MODES.has(ctx.options.ipamMode)) {
      const { attrs, adverts: names } = podCIDR as { attrs: RouteAttributes; adverts: string[] };
      for (const p of ctx.podCIDRs) {
        if (p.family !== want) continue;
        addStatic(table, formatPrefix(p), "PodCIDR", {
          attributes: attrs,
          sources: [{ kind: "PodCIDR", name: ctx.nodeName, advertisements: [...new Set(names)].sort(), attributes: attrs }],
        });
      }
    }
    // E11 quirk: Cilium names one export policy per peer and family
    // (`<peer>-<afi>-Interface`) and rebuilds it for each entry that yields
    // addresses of the family, so the last such entry replaces the others:
    // its prefixes and attributes are the only ones exported.
    let iface: { entry: (typeof ifaceEntries)[number]; hosts: string[] } | null = null;
    const replaced: { entry: (typeof ifaceEntries)[number]; hosts: string[] }[] = [];
    for (const entry of ifaceEntries) {
      const found = interfaceAdvertAddresses(ctx.host, entry.ifName);
      if (!found.ok) {
        ctx.issues.push({ level: "warning", rule: "E11", message: `Interface advertisement ${entry.advert}: ${found.reason}: nothing advertised` });
        continue;
      }
      const hosts = found.value.filter((ip) => ip.family === want).map((ip) => formatPrefix(prefixOf(ip, want === 4 ? 32 : 128)));
      if (hosts.length === 0) continue;
      if (iface !== null) replaced.push(iface);
      iface = { entry, hosts };
    }
    if (iface !== null) {
      const { entry, hosts } = iface as { entry: (typeof ifaceEntries)[number]; hosts: string[] };
      for (const prev of replaced) {
        const lost = prev.hosts.filter((h) => !hosts.includes(h));
        ctx.issues.push({
          level: "warning",
          rule: "E11",
          message: `Interface advertisement ${prev.entry.advert} (interface ${prev.entry.ifName}): its ${family} export policy is replaced by ${entry.advert} (interface ${entry.ifName}), because Cilium names one Interface policy per peer and family` +
            (lost.length ? `: ${lost.join(", ")} ${lost.length > 1 ? "are" : "is"} not advertised` : ""),
        });
      }
      for (const h of hosts) {
        addStatic(table, h, "Interface", {
          attributes: entry.attrs,
          sources: [{ kind: "Interface", name: entry.ifName, advertisements: [entry.advert], attributes: entry.attrs }],
        });
      }
    }
    for (const [poolName, { attrs, adverts: names }] of [...pools].sort((a, b) => a[0] < b[0] ? -1 : 1)) {
      const pool = ctx.podIPPools.get(poolName)!;
      const mask = want === 4 ? pool.spec.ipv4?.maskSize : pool.spec.ipv6?.maskSize;
      for (const p of ctx.allocatedPools.get(poolName) ?? []) {
        if (p.family !== want) continue;
        // The export policy matches exactly the pool's maskSize (E10).
        if (mask === undefined || p.len !== mask) {
          ctx.issues.push({
            level: "warning",
            rule: "E10",
            message: `CiliumPodIPPool "${poolName}": allocated CIDR ${formatPrefix(p)} does not have the pool's maskSize ${mask ?? "(none for this family)"}; its export policy cannot match it: not advertised`,
          });
          continue;
        }
        addStatic(table, formatPrefix(p), `CiliumPodIPPool:${poolName}`, {
          attributes: attrs,
          sources: [{ kind: "CiliumPodIPPool", name: poolName, advertisements: [...new Set(names)].sort(), attributes: attrs }],
        });
      }
    }
  }
  // Groups are shared by every PeerConfig that selects the same advertisements
  // per family: their peers get identical routes (E1), so one table serves all.
  const fam = (f: RouteFamily) =>
    !emptyReason.has(f) ? selected.get(f)!.join(",") : selected.get(f)!.length === 0 && fams.get(f)?.advertisements == null ? "!no-selector" : "!no-match";
  const key = "adv:" + families.map((f) => `${f}=${fam(f)}`).join(";");
  return { key, families, serviceRules, staticRoutes, selected, emptyReason };
}

/** Parses CIDR texts, skipping bad ones (schemas already checked them). */
export function prefixes(texts: readonly string[] | undefined): IPPrefix[] {
  return (texts ?? []).map(parsePrefix).filter((p): p is IPPrefix => p !== null);
}
