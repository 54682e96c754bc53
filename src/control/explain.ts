/**
 * `explain()`: why a prefix or a Service is, or is not, advertised to each
 * peer, naming the objects involved and the spec rule that decided. The
 * agent serves it at /v1/explain and `herald bgp explain` prints it.
 *
 * @example
 * ```ts
 * explain(input, { service: "prod/web" }).verdicts[0].reasons[0].text;
 * // "peer tor-1 has no peerConfigRef: nothing is advertised (D5, E2)"
 * ```
 */
import { formatIP, parseIP, parsePrefix, prefixContains } from "../net/ip.ts";
import { formatCommunity } from "./attributes.ts";
import { desiredState, wireLocalPreference } from "./desired.ts";
import type { RouteGroup } from "./groups.ts";
import { buildModel, nodeFacts, resolveOptions } from "./model.ts";
import { missingOwnFamily, type PeerModel } from "./peers.ts";
import { addSummaries, serviceAddresses, sliceService, sliceSummary } from "./services.ts";
import { selectorMatches, serviceLabels } from "./selector.ts";
import { candidateNodes } from "./node-config.ts";
import type { Service } from "./schemas/service.ts";
import type { ControlInput, DesiredPeer, DesiredState, Route, RouteFamily } from "./types.ts";

export interface ExplainQuery {
  /** An address or prefix: "10.100.0.50", "10.244.3.0/24". */
  prefix?: string;
  /** A Service as "namespace/name" (or "name" in default). */
  service?: string;
  /** Only this peer (name or address). */
  peer?: string;
  /** Only this instance. */
  instance?: string;
}

export interface Reason {
  /** Spec rule(s), e.g. "E15" or "D5, E2". */
  readonly rule: string;
  readonly text: string;
}

export interface Verdict {
  readonly instance: string;
  readonly peer: string;
  readonly family: RouteFamily | null;
  /** The prefix concerned, when there is one. */
  readonly prefix: string | null;
  readonly advertised: boolean;
  readonly reasons: readonly Reason[];
}

export interface Explanation {
  readonly node: string;
  readonly query: ExplainQuery;
  /** Facts about the node as a whole (which API, no config, errors). */
  readonly notes: readonly Reason[];
  readonly verdicts: readonly Verdict[];
}

const r = (rule: string, text: string): Reason => ({ rule, text });

function attrText(route: Route, peer: DesiredPeer): string {
  const parts = [];
  if (route.communities.length) parts.push(`communities ${route.communities.map(formatCommunity).join(" ")}`);
  if (route.largeCommunities.length) parts.push(`large communities ${route.largeCommunities.join(" ")}`);
  const lp = wireLocalPreference(route, peer);
  if (route.localPreference !== null && lp === null) parts.push(`LOCAL_PREF ${route.localPreference} set but not sent on eBGP (E8)`);
  else if (lp !== null) parts.push(`LOCAL_PREF ${lp}`);
  if (route.origin === "incomplete") parts.push("ORIGIN incomplete (legacy origin, E4)");
  return parts.length ? ` with ${parts.join(", ")}` : "";
}

function sourceText(route: Route): string {
  return route.sources.map((s) => {
    const what = s.kind === "Service"
      ? `Service ${s.namespace}/${s.name} ${s.addressType}`
      : s.kind === "PodCIDR"
      ? `PodCIDR of node ${s.name}`
      : s.kind === "Interface"
      ? `interface ${s.name}`
      : `CiliumPodIPPool ${s.name}`;
    return `${what} (selected by ${s.advertisements.join(", ")})`;
  }).join("; ");
}

function nodeNotes(input: ControlInput, state: DesiredState): Reason[] {
  const notes: Reason[] = [];
  if (state.api === "v1") notes.push(r("H1", `node ${state.node} is configured by CiliumBGPPeeringPolicy ${state.peeringPolicy ?? "(several: none applied, G1)"}`));
  if (state.api === "v2") {
    notes.push(r("B2", `node ${state.node} runs CiliumBGPNodeConfig ${state.nodeConfig?.metadata.name}` +
      (state.clusterConfig ? ` from CiliumBGPClusterConfig ${state.clusterConfig}` : "")));
  }
  if (state.api === "none") {
    const configs = input.resources.clusterConfigs.map((c) => c.metadata.name);
    notes.push(r("B1, C1", configs.length
      ? `no CiliumBGPClusterConfig selects node ${state.node} (labels ${JSON.stringify(candidateNodes(input.resources, input.node).find((n) => n.name === state.node)?.labels ?? {})}; configs: ${configs.join(", ")}): no BGP on this node`
      : `there is no CiliumBGPClusterConfig or CiliumBGPPeeringPolicy for node ${state.node}: no BGP on this node`));
  }
  for (const i of state.issues) if (i.level === "error" || !i.peer) notes.push(r(i.rule, i.message));
  return notes;
}

/** Why a peer gets nothing at all, or null when it may get routes. */
function peerLevel(peer: DesiredPeer, model: PeerModel | undefined, api: DesiredState["api"]): Reason | null {
  if (api === "v2" && !peer.peerConfig) return r("D5, E2", `peer ${peer.name} has no peerConfigRef: nothing is advertised`);
  if (api === "v2" && model?.group && model.group.families.length === 0) {
    return r("E2", `CiliumBGPPeerConfig ${peer.peerConfig} lists no unicast families: the session negotiates ${peer.families.join(", ")} but nothing is advertised`);
  }
  return null;
}

function serviceWhyNot(
  svc: Service,
  group: RouteGroup,
  family: RouteFamily,
  input: ControlInput,
  endpoints: ReturnType<typeof addSummaries>,
  peerConfig: string | null,
): Reason[] {
  const out: Reason[] = [];
  const empty = group.emptyReason.get(family);
  if (empty) return [r("E1, E2", `${peerConfig ? `CiliumBGPPeerConfig "${peerConfig}": ` : ""}${empty}`)];
  const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
  const labels = serviceLabels(svc.metadata.labels, svc.metadata.name, svc.metadata.namespace);
  const selected = group.selected.get(family) ?? [];
  const adverts = input.resources.advertisements.filter((a) => selected.includes(a.metadata.name));
  let anyServiceEntry = false;
  for (const a of adverts) {
    a.spec.advertisements.forEach((e, i) => {
      if (e.advertisementType !== "Service") return;
      anyServiceEntry = true;
      const at = `CiliumBGPAdvertisement ${a.metadata.name} advertisements[${i}]`;
      if (e.selector == null) return out.push(r("E12", `${at} has no selector, so it selects no Service`));
      if (!selectorMatches(e.selector, labels)) return out.push(r("E12", `${at} selector ${JSON.stringify(e.selector)} does not match Service ${key} labels ${JSON.stringify(svc.metadata.labels ?? {})}`));
      for (const type of e.service?.addresses ?? []) {
        const ev = serviceAddresses(svc, type, endpoints, resolveOptions(input.options));
        if (ev.skipped) out.push(r(ev.skipped.rule, `${at} selects Service ${key}, but its ${type} is not announced: ${ev.skipped.reason}`));
        else if (!ev.ips.some((x) => (x.family === 4) === (family === "ipv4/unicast"))) {
          out.push(r("E5", `${at} selects Service ${key}, but it has no ${family === "ipv4/unicast" ? "IPv4" : "IPv6"} ${type}`));
        }
      }
    });
  }
  if (group.key.startsWith("v1:")) {
    const rule = group.serviceRules.get(family)?.[0];
    if (!rule) out.push(r("G4", `the virtual router has no serviceSelector, so no Service is advertised`));
    else if (!selectorMatches(rule.selector, labels)) out.push(r("G4", `serviceSelector does not match Service ${key}`));
    else {
      for (const type of rule.addressTypes) {
        const ev = serviceAddresses(svc, type, endpoints, resolveOptions(input.options));
        if (ev.skipped) out.push(r(ev.skipped.rule, `its ${type} is not announced: ${ev.skipped.reason}`));
      }
    }
  } else if (!anyServiceEntry) {
    out.push(r("E1, E12", `no Service advertisement is selected for ${family} (selected: ${selected.join(", ") || "none"})`));
  }
  return out.length ? out : [r("E12", `Service ${key} contributes no ${family} route here`)];
}

export function explain(input: ControlInput, query: ExplainQuery, precomputed?: DesiredState): Explanation {
  const state = precomputed ?? desiredState(input);
  const model = buildModel(input);
  const notes = nodeNotes(input, state);
  const verdicts: Verdict[] = [];
  const facts = nodeFacts(input);

  let svc: Service | undefined;
  if (query.service) {
    const [ns, name] = query.service.includes("/") ? query.service.split("/", 2) : ["default", query.service];
    svc = input.resources.services.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
    if (!svc) notes.push(r("E12", `Service ${ns}/${name} does not exist`));
  }
  const slices = input.resources.endpointSlices.filter((s) => svc && sliceService(s) === `${svc.metadata.namespace}/${svc.metadata.name}`);
  const endpoints = addSummaries(slices.map((s) => sliceSummary(s, input.node.name)));

  let target: { family: 4 | 6; addr: bigint; len: number } | null = null;
  if (query.prefix) {
    const p = query.prefix.includes("/") ? parsePrefix(query.prefix) : (() => {
      const ip = parseIP(query.prefix!);
      return ip ? { family: ip.family, addr: ip.value, len: ip.family === 4 ? 32 : 128 } : null;
    })();
    if (!p) notes.push(r("E5", `"${query.prefix}" is not an address or prefix`));
    else target = p;
  }

  for (const inst of state.instances) {
    if (query.instance && inst.name !== query.instance) continue;
    const instModel = model.instances.find((i) => i.instance.name === inst.name);
    for (const peer of inst.peers) {
      if (query.peer && peer.name !== query.peer && peer.address !== query.peer) continue;
      const pm = instModel?.peers.find((p) => p.peer.name === peer.name);
      const blocked = peerLevel(peer, pm, state.api);
      if (blocked) {
        verdicts.push({ instance: inst.name, peer: peer.name, family: null, prefix: null, advertised: false, reasons: [blocked] });
        continue;
      }
      for (const [family, table] of peer.routes) {
        const matches: Route[] = [];
        for (const route of table.values()) {
          if (svc && route.sources.some((s) => s.kind === "Service" && s.name === svc!.metadata.name && s.namespace === svc!.metadata.namespace)) {
            matches.push(route);
          } else if (target) {
            const p = parsePrefix(route.prefix)!;
            if (p.family === target.family && p.len <= target.len && prefixContains(p, { family: target.family, value: target.addr })) matches.push(route);
          }
        }
        for (const route of matches) {
          const rule = route.sources.some((s) => s.kind === "Service") ? (route.sources.length > 1 || route.prefix.endsWith("/32") || route.prefix.endsWith("/128") ? "E12, E19" : "E18") : "E1";
          verdicts.push({
            instance: inst.name,
            peer: peer.name,
            family,
            prefix: route.prefix,
            advertised: true,
            reasons: [r(rule, `${route.prefix} is advertised to ${peer.name}${attrText(route, peer)}: from ${sourceText(route)}`)],
          });
        }
        if (matches.length > 0 || (!svc && !target)) continue;
        const own = missingOwnFamily(peer, family);
        if (own !== null && !(target && target.family !== (family === "ipv4/unicast" ? 4 : 6))) {
          verdicts.push({
            instance: inst.name,
            peer: peer.name,
            family,
            prefix: target ? query.prefix ?? null : null,
            advertised: false,
            reasons: [r("D12", `peer ${peer.name} (${peer.address}) negotiates ${family} but not ${own}: routes of the other IP family are only sent when both are negotiated`)],
          });
          continue;
        }
        const group = pm?.group;
        const reasons: Reason[] = [];
        if (!group) reasons.push(r("D5, E2", `peer ${peer.name} has no advertisements`));
        else if (svc) reasons.push(...serviceWhyNot(svc, group, family, input, endpoints, peer.peerConfig));
        else if (target) {
          const want = family === "ipv4/unicast" ? 4 : 6;
          if (target.family !== want) continue; // E5: the other family's table
          const text = formatIP({ family: target.family, value: target.addr });
          const owners = input.resources.services.filter((s) =>
            [...(s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip), ...(s.spec.externalIPs ?? []), ...(s.spec.clusterIPs ?? [s.spec.clusterIP])]
              .some((ip) => ip && parseIP(ip) && formatIP(parseIP(ip)!) === text)
          );
          for (const o of owners) {
            reasons.push(...serviceWhyNot(o, group, family, input, addSummaries(
              input.resources.endpointSlices.filter((s) => sliceService(s) === `${o.metadata.namespace}/${o.metadata.name}`).map((s) => sliceSummary(s, input.node.name)),
            ), peer.peerConfig));
          }
          if (facts.podCIDRs.some((p) => p.family === target!.family && prefixContains(p, { family: p.family, value: target!.addr }))) {
            const empty = group.emptyReason.get(family);
            reasons.push(r("E9", empty ? `CiliumBGPPeerConfig "${peer.peerConfig}": ${empty}` : `the PodCIDR is not selected for ${family}: no PodCIDR advertisement among ${(group.selected.get(family) ?? []).join(", ") || "none"} (or ipam mode "${model.options.ipamMode}" has no PodCIDR reconciler)`));
          }
          if (reasons.length === 0) {
            reasons.push(r("E1", `no Service, PodCIDR, pod IP pool or interface of node ${state.node} advertised to ${peer.name} covers ${query.prefix}`));
          }
        }
        verdicts.push({ instance: inst.name, peer: peer.name, family, prefix: target ? query.prefix ?? null : null, advertised: false, reasons });
      }
    }
  }
  for (const i of state.issues) {
    if (!i.peer || (query.peer && i.peer !== query.peer) || (query.instance && i.instance !== query.instance)) continue;
    if (state.instances.some((inst) => inst.name === i.instance && inst.peers.some((p) => p.name === i.peer))) continue;
    verdicts.push({ instance: i.instance ?? "", peer: i.peer, family: null, prefix: null, advertised: false, reasons: [r(i.rule, i.message)] });
  }
  return { node: state.node, query, notes, verdicts };
}
