/**
 * What MetalLB announces from one node, as a NodeView (verify.ts), so the
 * converted output can be checked against it node by node.
 *
 * MetalLB's rules, restated: a BGPPeer is used on nodes its nodeSelectors
 * match (none ⇒ all), never on nodes labelled
 * node.kubernetes.io/exclude-from-external-load-balancers (unless
 * --ignore-exclude-lb). A Service of type LoadBalancer without a
 * loadBalancerClass is announced for each ingress IP that lies in a pool, by
 * every BGPAdvertisement covering that pool whose nodeSelectors match the
 * node and whose peers list is empty or names the peer. With
 * externalTrafficPolicy Local only nodes with a ready local endpoint announce.
 * The prefix is the IP masked to the advertisement's aggregation length; the
 * communities of all advertisements producing the same prefix add up (FRR
 * `set community … additive`); LOCAL_PREF goes to iBGP peers only: the
 * configured value, else FRR's default 100 (FRR mode) or 0 (native mode).
 * ORIGIN is IGP with FRR (`network` statements) and INCOMPLETE in native mode.
 */
import { isActiveEndpoint } from "../../control/schemas/endpoint-slice.ts";
import type { Node } from "../../control/schemas/node.ts";
import { selectorMatches } from "../../control/selector.ts";
import { sliceService } from "../../control/services.ts";
import { formatPrefix, parseIP, prefixOf } from "../../net/ip.ts";
import { rangeContains } from "../ranges.ts";
import { type NodeView, type PeerView, peerKey, routeText } from "../verify.ts";
import { EXCLUDE_LB_LABEL, peerFamilies } from "./bgp.ts";
import type { MetalLBModel, MPeer } from "./model.ts";

export interface ReferenceOptions {
  readonly mode: "frr" | "native";
  readonly ignoreExcludeLB: boolean;
}

const matchesAny = (sels: readonly Parameters<typeof selectorMatches>[0][], labels: Record<string, string>) =>
  sels.length === 0 || sels.some((s) => selectorMatches(s, labels));

export function metallbView(model: MetalLBModel, peers: readonly MPeer[], node: Node, opts: ReferenceOptions): NodeView {
  const labels = node.metadata.labels ?? {};
  const out = new Map<string, PeerView>();
  if (!opts.ignoreExcludeLB && Object.hasOwn(labels, EXCLUDE_LB_LABEL)) return out;
  const localReady = new Map<string, boolean>();
  for (const s of model.endpointSlices) {
    const key = sliceService(s);
    if (!key) continue;
    if (s.endpoints.some((e) => isActiveEndpoint(e) && e.nodeName === node.metadata.name)) localReady.set(key, true);
  }
  for (const peer of peers) {
    if (!matchesAny(peer.nodeSelectors, labels)) continue;
    const families = peerFamilies(peer);
    const ibgp = peer.dynamicASN === "internal" || peer.peerASN === peer.myASN;
    const routes = new Map<string, { communities: Set<number>; large: Set<string>; localPref: number }>();
    for (const { svc } of model.services) {
      if (svc.spec.type !== "LoadBalancer" || svc.spec.loadBalancerClass !== undefined) continue;
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      if (svc.spec.externalTrafficPolicy === "Local" && !localReady.get(key)) continue;
      for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
        const ip = ing.ip ? parseIP(ing.ip) : null;
        if (!ip || !families.includes(ip.family)) continue;
        const pool = model.pools.find((p) => p.ranges.some((r) => rangeContains(r, ing.ip!)));
        if (!pool) continue;
        for (const a of model.bgpAdverts) {
          if (!a.pools.includes(pool.name) || !matchesAny(a.nodeSelectors, labels)) continue;
          if (a.peers.length > 0 && !a.peers.includes(peer.name)) continue;
          const prefix = formatPrefix(prefixOf(ip, ip.family === 4 ? a.aggregationLength : a.aggregationLengthV6));
          const k = `${ip.family === 4 ? "ipv4" : "ipv6"}/unicast ${prefix}`;
          const r = routes.get(k) ?? { communities: new Set<number>(), large: new Set<string>(), localPref: 0 };
          for (const c of a.communities) r.communities.add(c);
          for (const l of a.largeCommunities) r.large.add(l);
          if (a.localPref > 0) r.localPref = a.localPref;
          routes.set(k, r);
        }
      }
    }
    const texts = new Map<string, string>();
    for (const [k, r] of routes) {
      const lp = !ibgp ? null : r.localPref > 0 ? r.localPref : opts.mode === "native" ? 0 : 100;
      texts.set(k, routeText({ communities: [...r.communities], largeCommunities: [...r.large], localPreference: lp, origin: opts.mode === "native" ? "incomplete" : "igp" }));
    }
    out.set(peerKey(peer.myASN, peer.address!), { session: new Map(), routes: texts });
  }
  return out;
}
