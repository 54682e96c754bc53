/**
 * Legacy CiliumBGPPeeringPolicy (v1) on this node (G1–G5).
 *
 * One policy may select the node (more ⇒ error and no BGP at all, G1).
 * Each virtual router is an instance named `v1-<localASN>`; its neighbours
 * are peers named by their address. Everything a router advertises goes to
 * all its neighbours (G4); path attributes are per neighbour (G5), so each
 * neighbour is its own route group.
 */
import { canonicalIP, formatPrefix, type IPPrefix, parseIP, parsePrefix, prefixContains } from "../net/ip.ts";
import { attributesFrom, NO_ATTRIBUTES, type RouteAttributes, stackAttributes } from "./attributes.ts";
import { type AdvertContext, PODCIDR_IPAM_MODES } from "./adverts.ts";
import { addStatic, type Contribution, type RouteGroup, type ServiceRule } from "./groups.ts";
import { chooseRouterID, type InstanceModel, type ModelContext, peerPassword, type PeerModel, unicastFamilies } from "./peers.ts";
import { type Labels, matchesOrEverything, matchesOrNothing, podIPPoolLabels } from "./selector.ts";
import type { ServiceAddressType } from "./schemas/advertisement.ts";
import type { CiliumLoadBalancerIPPool } from "./schemas/lb-ip-pool.ts";
import type { CiliumBGPNeighbor, CiliumBGPPeeringPolicy, CiliumBGPVirtualRouter } from "./schemas/peering-policy.ts";
import type { Family, RouteFamily } from "./types.ts";

export const V1_DEFAULT_FAMILIES: readonly Family[] = ["ipv4/unicast", "ipv6/unicast"];
export const ROUTER_ANNOTATION_PREFIX = "cilium.io/bgp-virtual-router.";

/** G1: the policies whose nodeSelector (null ⇒ all) matches the node. */
export function selectingPolicies(policies: readonly CiliumBGPPeeringPolicy[], labels: Labels): CiliumBGPPeeringPolicy[] {
  return policies.filter((p) => matchesOrEverything(p.spec.nodeSelector, labels))
    .sort((a, b) => a.metadata.name < b.metadata.name ? -1 : 1);
}

/** G2: `router-id=A.B.C.D,local-port=N`. */
export function parseRouterAnnotation(value: string): { routerID?: string; localPort?: number } | { error: string } {
  const out: { routerID?: string; localPort?: number } = {};
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return { error: `malformed entry "${part}": expected key=value` };
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === "router-id") {
      if (parseIP(val)?.family !== 4) return { error: `router-id must be an IPv4 address: current value is "${val}"` };
      out.routerID = val;
    } else if (key === "local-port") {
      if (!/^[0-9]+$/.test(val) || Number(val) < 1 || Number(val) > 65535) {
        return { error: `local-port must be an integer from 1 to 65535: current value is "${val}"` };
      }
      out.localPort = Number(val);
    } else {
      return { error: `unknown key "${key}" (expected router-id or local-port)` };
    }
  }
  return out;
}

export interface LegacyContext extends ModelContext {
  readonly advert: AdvertContext;
  readonly nodeLabels: Labels;
  readonly nodeAnnotations: Readonly<Record<string, string>>;
  readonly lbIPPools: readonly CiliumLoadBalancerIPPool[];
}

/** G2–G5: the instances of the one selecting policy, or null with an error when the policy is rejected. */
export function v1Instances(policy: CiliumBGPPeeringPolicy, ctx: LegacyContext): InstanceModel[] | null {
  const name = policy.metadata.name;
  const reject = (rule: string, message: string): null => {
    ctx.issues.push({ level: "error", rule, message: `CiliumBGPPeeringPolicy "${name}" is rejected: ${message}; no BGP on this node` });
    return null;
  };
  const routers = policy.spec.virtualRouters;
  const annotations = new Map<number, { routerID?: string; localPort?: number }>();
  for (const vr of routers) {
    const raw = ctx.nodeAnnotations[`${ROUTER_ANNOTATION_PREFIX}${vr.localASN}`];
    if (raw === undefined) continue;
    const parsed = parseRouterAnnotation(raw);
    if ("error" in parsed) return reject("G2", `node annotation ${ROUTER_ANNOTATION_PREFIX}${vr.localASN}: ${parsed.error}`);
    annotations.set(vr.localASN, parsed);
  }
  for (const vr of routers) {
    for (const n of vr.neighbors) {
      if (n.keepAliveTimeSeconds > n.holdTimeSeconds) {
        return reject("G3", `neighbor ${n.peerAddress}: keepAliveTimeSeconds (${n.keepAliveTimeSeconds}) can not be larger than holdTimeSeconds (${n.holdTimeSeconds})`);
      }
    }
  }
  const out: InstanceModel[] = [];
  const seen = new Set<number>();
  for (const vr of routers) {
    const instName = `v1-${vr.localASN}`;
    const fail = (rule: string, message: string) =>
      ctx.issues.push({ level: "error", rule, instance: instName, message: `instance ${instName}: ${message}` });
    if (seen.has(vr.localASN)) {
      fail("G2", `two virtual routers with localASN ${vr.localASN} in CiliumBGPPeeringPolicy "${name}": only the first is used`);
      continue;
    }
    seen.add(vr.localASN);
    if (vr.localASN === 0) {
      fail("C3", "localASN 0 is not a usable AS number");
      continue;
    }
    const ann = annotations.get(vr.localASN);
    const rid = chooseRouterID(
      ann?.routerID ? { value: ann.routerID, source: "annotation", detail: `node annotation ${ROUTER_ANNOTATION_PREFIX}${vr.localASN}` } : null,
      ctx,
    );
    if (!rid.ok) {
      fail("G2", rid.reason);
      continue;
    }
    const rule = v1ServiceRule(name, vr, ctx);
    const peers: PeerModel[] = [];
    const errors: string[] = [];
    for (const n of vr.neighbors) {
      const address = canonicalIP(n.peerAddress.slice(0, n.peerAddress.indexOf("/"))) ?? n.peerAddress;
      const pw = peerPassword(n.authSecretRef, ctx, { instance: instName, peer: address, peerConfig: "" });
      if (!pw.ok) {
        errors.push(pw.error);
        peers.length = 0;
        break;
      }
      const families = [...new Set((n.families ?? []).map((f) => `${f.afi}/${f.safi}` as Family))];
      const negotiated = families.length ? families : [...V1_DEFAULT_FAMILIES];
      peers.push({
        peer: {
          name: address,
          address,
          addressSource: "peerAddress",
          peerASN: n.peerASN,
          peerPort: n.peerPort,
          localAddress: null,
          localAddressSource: null,
          peerConfig: null,
          timers: {
            connectRetryTimeSeconds: n.connectRetryTimeSeconds,
            holdTimeSeconds: n.holdTimeSeconds,
            keepAliveTimeSeconds: n.keepAliveTimeSeconds,
          },
          gracefulRestart: { enabled: n.gracefulRestart?.enabled ?? false, restartTimeSeconds: n.gracefulRestart?.restartTimeSeconds ?? 120 },
          ebgpMultihop: n.eBGPMultihopTTL,
          families: negotiated,
          password: pw.password,
          authSecretRef: n.authSecretRef ?? null,
          sessionType: n.peerASN === 0 ? "unknown" : n.peerASN === vr.localASN ? "ibgp" : "ebgp",
        },
        group: neighborGroup(name, vr, n, address, unicastFamilies(negotiated), rule, ctx),
      });
    }
    for (const e of errors) ctx.issues.push({ level: "error", rule: "C9", instance: instName, message: `instance ${instName}: ${e}` });
    out.push({
      instance: {
        name: instName,
        localASN: vr.localASN,
        routerID: rid.routerID,
        routerIDSource: rid.source,
        routerIDDetail: rid.detail,
        localPort: ann?.localPort ?? null,
        errors,
      },
      peers,
    });
  }
  return out;
}

function v1ServiceRule(policy: string, vr: CiliumBGPVirtualRouter, ctx: LegacyContext): ServiceRule | null {
  const selector = vr.serviceSelector;
  if (selector == null) return null; // null ⇒ no Services (G4)
  const key = `v1:${policy}:${vr.localASN}`;
  return ctx.advert.rules.get(key, (id) => ({
    id,
    key,
    selector,
    addressTypes: [...new Set<ServiceAddressType>(vr.serviceAdvertisements ?? ["LoadBalancerIP"])],
    aggregationIPv4: null,
    aggregationIPv6: null,
    attributes: NO_ATTRIBUTES,
    advertisement: policy,
  }));
}

const entryAttrs = (e: NonNullable<CiliumBGPNeighbor["advertisedPathAttributes"]>[number]) =>
  attributesFrom(e.communities, e.localPreference);

function neighborGroup(
  policy: string,
  vr: CiliumBGPVirtualRouter,
  n: CiliumBGPNeighbor,
  address: string,
  families: RouteFamily[],
  rule: ServiceRule | null,
  ctx: LegacyContext,
): RouteGroup {
  const entries = n.advertisedPathAttributes ?? [];
  const stack = (base: RouteAttributes, type: string, matches: (sel: typeof entries[number]["selector"]) => boolean) =>
    entries.filter((e) => e.selectorType === type && matches(e.selector)).reduce((acc, e) => stackAttributes(acc, entryAttrs(e)), base);

  const staticRoutes = new Map<RouteFamily, Map<string, Map<string, Contribution>>>();
  const serviceRules = new Map<RouteFamily, ServiceRule[]>();
  const emptyReason = new Map<RouteFamily, string>();
  const selected = new Map<RouteFamily, string[]>();
  const podCIDRAttrs = stack(NO_ATTRIBUTES, "PodCIDR", (sel) => matchesOrEverything(sel, ctx.nodeLabels));
  for (const family of families) {
    const want = family === "ipv4/unicast" ? 4 : 6;
    const table = new Map<string, Map<string, Contribution>>();
    staticRoutes.set(family, table);
    serviceRules.set(family, rule ? [rule] : []);
    selected.set(family, [policy]);
    if (vr.exportPodCIDR && PODCIDR_IPAM_MODES.has(ctx.options.ipamMode)) {
      for (const p of ctx.advert.podCIDRs) {
        if (p.family !== want) continue;
        addStatic(table, formatPrefix(p), "PodCIDR", {
          attributes: podCIDRAttrs,
          sources: [{ kind: "PodCIDR", name: ctx.nodeName, advertisements: [policy], attributes: podCIDRAttrs }],
        });
      }
    }
    if (vr.podIPPoolSelector != null) {
      for (const pool of [...ctx.advert.podIPPools.values()].sort((a, b) => a.metadata.name < b.metadata.name ? -1 : 1)) {
        const labels = podIPPoolLabels(pool.metadata.labels, pool.metadata.name);
        if (!matchesOrNothing(vr.podIPPoolSelector, labels)) continue;
        const attrs = stack(NO_ATTRIBUTES, "CiliumPodIPPool", (sel) => matchesOrEverything(sel, labels));
        for (const p of ctx.advert.allocatedPools.get(pool.metadata.name) ?? []) {
          if (p.family !== want) continue;
          addStatic(table, formatPrefix(p), `CiliumPodIPPool:${pool.metadata.name}`, {
            attributes: attrs,
            sources: [{ kind: "CiliumPodIPPool", name: pool.metadata.name, advertisements: [policy], attributes: attrs }],
          });
        }
      }
    }
    if (table.size === 0 && !rule) {
      emptyReason.set(family, `CiliumBGPPeeringPolicy "${policy}" router ${vr.localASN} exports no PodCIDR, pool or Service (G4)`);
    }
  }

  // G5: LB-pool path attributes apply to Service routes inside a matching pool's cidr blocks.
  const lbEntries = entries.filter((e) => e.selectorType === "CiliumLoadBalancerIPPool");
  let servicePrefixAttributes: RouteGroup["servicePrefixAttributes"];
  if (lbEntries.length > 0) {
    const blocks: { prefix: IPPrefix; attrs: RouteAttributes }[] = [];
    for (const e of lbEntries) {
      for (const pool of ctx.lbIPPools) {
        if (pool.spec.disabled || !matchesOrEverything(e.selector, pool.metadata.labels ?? {})) continue;
        for (const b of pool.spec.blocks ?? []) {
          if (!b.cidr) { // absent, or "" next to start/stop as Go clients write it
            ctx.issues.push({
              level: "error",
              rule: "G5",
              instance: `v1-${vr.localASN}`,
              peer: address,
              message: `CiliumLoadBalancerIPPool "${pool.metadata.name}" has a start/stop block, which Cilium's v1 path-attribute reconciler cannot use (it fails); herald skips that block`,
            });
            continue;
          }
          const p = parsePrefix(b.cidr);
          if (p) blocks.push({ prefix: p, attrs: entryAttrs(e) });
        }
      }
    }
    servicePrefixAttributes = (prefix, attrs) => {
      let out = attrs;
      for (const b of blocks) {
        if (b.prefix.family === prefix.family && b.prefix.len <= prefix.len && prefixContains(b.prefix, { family: prefix.family, value: prefix.addr })) {
          out = stackAttributes(out, b.attrs);
        }
      }
      return out;
    };
  }
  return {
    key: `v1:${policy}:${vr.localASN}:${address}`,
    families,
    serviceRules,
    staticRoutes,
    servicePrefixAttributes,
    selected,
    emptyReason,
  };
}
