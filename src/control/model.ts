/**
 * Everything about this node's desired state except the Service routes:
 * which API configures it (H1), its NodeConfig (B or C1), instances and
 * peers (C, D, G), route groups and the Service rules they use (E). The
 * engine builds this once per non-Service change and adds Services on top.
 */
import { formatIP, type IPPrefix, parseIP } from "../net/ip.ts";
import { type AdvertContext, peerConfigGroup, prefixes } from "./adverts.ts";
import { RuleRegistry, type RouteGroup, type ServiceRule } from "./groups.ts";
import { hostAddress, isGlobalUnicast } from "./host.ts";
import { selectingPolicies, v1Instances } from "./legacy.ts";
import { nodeConfigForNode } from "./node-config.ts";
import { type InstanceModel, missingOwnFamily, type ModelContext, unicastFamilies, v2Instances } from "./peers.ts";
import { RuleIndex } from "./services.ts";
import type { CiliumBGPNodeConfig } from "./schemas/node-config.ts";
import type { CiliumBGPPeerConfig } from "./schemas/peer-config.ts";
import {
  type ControlInput,
  type ControlIssue,
  type ControlOptions,
  DEFAULT_OPTIONS,
  type DesiredState,
  type RouteFamily,
} from "./types.ts";

export interface RuleUsage {
  readonly group: RouteGroup;
  readonly family: RouteFamily;
}

export interface Model {
  readonly node: string;
  readonly options: ControlOptions;
  readonly api: DesiredState["api"];
  readonly nodeConfig: CiliumBGPNodeConfig | null;
  readonly clusterConfig: string | null;
  readonly peeringPolicy: string | null;
  readonly ipFamilies: DesiredState["ipFamilies"];
  readonly instances: readonly InstanceModel[];
  /** Groups used by at least one peer, by key. */
  readonly groups: ReadonlyMap<string, RouteGroup>;
  readonly ruleIndex: RuleIndex;
  /** rule id → where it applies. */
  readonly usages: ReadonlyMap<number, readonly RuleUsage[]>;
  readonly issues: readonly ControlIssue[];
}

export function resolveOptions(options: Partial<ControlOptions> | undefined): ControlOptions {
  return { ...DEFAULT_OPTIONS, ...options };
}

const byName = <T extends { metadata: { name: string } }>(a: T, b: T) =>
  a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;

/** Facts about this node drawn from its Node and CiliumNode. */
export function nodeFacts(input: ControlInput) {
  const name = input.node.name;
  const node = input.resources.nodes.find((n) => n.metadata.name === name);
  const cnode = input.resources.ciliumNodes.find((n) => n.metadata.name === name);
  const labels = { ...cnode?.metadata.labels, ...node?.metadata.labels, ...input.node.labels };
  const addresses: { text: string; detail: string; type: string }[] = [];
  for (const type of ["InternalIP", "ExternalIP"]) {
    for (const a of node?.status?.addresses ?? []) if (a.type === type) addresses.push({ text: a.address, type, detail: `Node ${name} ${type}` });
  }
  for (const type of ["InternalIP", "ExternalIP", undefined]) {
    for (const a of cnode?.spec.addresses ?? []) {
      if (a.type === type || (type === undefined && a.type !== "InternalIP" && a.type !== "ExternalIP")) {
        addresses.push({ text: a.ip, type: a.type ?? "", detail: `CiliumNode ${name} ${a.type ?? "address"}` });
      }
    }
  }
  for (const a of input.node.addresses ?? []) addresses.push({ text: a, type: "", detail: `node address ${a}` });
  const parsed = addresses.map((a) => ({ ...a, ip: parseIP(a.text.trim()) })).filter((a) => a.ip !== null);
  const v4 = parsed.find((a) => a.ip!.family === 4);
  const podCIDRs: IPPrefix[] = cnode?.spec.ipam?.podCIDRs?.length
    ? prefixes(cnode.spec.ipam.podCIDRs)
    : prefixes(node?.spec.podCIDRs?.length ? node.spec.podCIDRs : node?.spec.podCIDR ? [node.spec.podCIDR] : []);
  const allocatedPools = new Map<string, IPPrefix[]>();
  for (const a of cnode?.spec.ipam?.pools?.allocated ?? []) {
    allocatedPools.set(a.pool, [...(allocatedPools.get(a.pool) ?? []), ...prefixes(a.cidrs)]);
  }
  return {
    labels,
    annotations: node?.metadata.annotations ?? {},
    nodeIPv4: v4 ? { address: formatIP(v4.ip!), detail: v4.detail } : null,
    families: new Set(parsed.map((a) => a.ip!.family)),
    podCIDRs,
    allocatedPools,
  };
}

function ipFamilies(input: ControlInput, options: ControlOptions, families: Set<4 | 6>): DesiredState["ipFamilies"] {
  if (options.ipFamilies) {
    return { ipv4: options.ipFamilies !== "ipv6", ipv6: options.ipFamilies !== "ipv4", source: "option" };
  }
  if (families.size === 0) {
    for (const i of input.host?.interfaces ?? []) {
      for (const a of i.addresses) {
        const ip = hostAddress(a);
        if (ip && isGlobalUnicast(ip)) families.add(ip.family);
      }
    }
  }
  if (families.size === 0) return { ipv4: true, ipv6: false, source: "default" };
  return { ipv4: families.has(4), ipv6: families.has(6), source: "node-addresses" };
}

/** The cluster IP families for this input: the option, else the node's addresses (LB-IPAM needs them first). */
export function clusterIPFamilies(input: ControlInput): DesiredState["ipFamilies"] {
  return ipFamilies(input, resolveOptions(input.options), nodeFacts(input).families as Set<4 | 6>);
}

export function buildModel(input: ControlInput): Model {
  const options = resolveOptions(input.options);
  const r = input.resources;
  const facts = nodeFacts(input);
  const issues: ControlIssue[] = [];
  const rules = new RuleRegistry();
  const advert: AdvertContext = {
    nodeName: input.node.name,
    advertisements: [...r.advertisements].sort(byName),
    podIPPools: new Map(r.podIPPools.map((p) => [p.metadata.name, p])),
    podCIDRs: facts.podCIDRs,
    allocatedPools: facts.allocatedPools,
    host: input.host,
    options,
    rules,
    issues,
  };
  const groups = new Map<string, RouteGroup>();
  const byPeerConfig = new Map<string, RouteGroup>();
  const ctx: ModelContext = {
    nodeName: input.node.name,
    nodeIPv4: facts.nodeIPv4,
    host: input.host,
    options,
    peerConfigs: new Map(r.peerConfigs.map((p) => [p.metadata.name, p])),
    secrets: new Map(r.secrets.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s])),
    issues,
    groupFor(pc: CiliumBGPPeerConfig): RouteGroup {
      let g = byPeerConfig.get(pc.metadata.name);
      if (!g) {
        g = peerConfigGroup(pc, advert);
        // PeerConfigs selecting the same advertisements share one group.
        g = groups.get(g.key) ?? g;
        groups.set(g.key, g);
        byPeerConfig.set(pc.metadata.name, g);
      }
      return g;
    },
  };

  let api: DesiredState["api"] = "none";
  let instances: InstanceModel[] = [];
  let nodeConfig: CiliumBGPNodeConfig | null = null;
  let clusterConfig: string | null = null;
  let peeringPolicy: string | null = null;

  const policies = options.v2Only ? [] : selectingPolicies(r.peeringPolicies, facts.labels);
  if (policies.length > 1) {
    api = "v1";
    issues.push({
      level: "error",
      rule: "G1",
      message: `${policies.length} CiliumBGPPeeringPolicies select node ${input.node.name} (${policies.map((p) => `"${p.metadata.name}"`).join(", ")}): every BGP session on the node is torn down until exactly one does`,
    });
  } else if (policies.length === 1) {
    api = "v1";
    peeringPolicy = policies[0].metadata.name;
    instances = v1Instances(policies[0], {
      ...ctx,
      advert,
      nodeLabels: facts.labels,
      nodeAnnotations: facts.annotations,
      lbIPPools: [...r.lbIPPools].sort(byName),
    }) ?? [];
    for (const inst of instances) for (const p of inst.peers) if (p.group) groups.set(p.group.key, p.group);
  } else {
    if (options.nodeConfigSource === "resource") {
      nodeConfig = r.nodeConfigs.find((n) => n.metadata.name === input.node.name) ?? null;
      clusterConfig = nodeConfig?.metadata.ownerReferences?.find((o) => o.kind === "CiliumBGPClusterConfig")?.name ?? null;
    } else {
      const derived = nodeConfigForNode(r, { ...input.node, labels: facts.labels }, options);
      nodeConfig = derived.nodeConfig;
      clusterConfig = derived.owner;
      if (derived.error) issues.push({ level: "error", rule: "B9", message: derived.error });
      for (const loser of derived.losers) {
        issues.push({
          level: "warning",
          rule: "B4",
          message: `CiliumBGPClusterConfig "${loser}" also selects node ${input.node.name}; "${derived.owner}" owns it (older, or same age and smaller name), so "${loser}" is not applied here and gets cilium.io/ConflictingClusterConfig`,
        });
      }
    }
    if (nodeConfig) {
      api = "v2";
      instances = v2Instances(nodeConfig, ctx);
    }
  }
  if (api === "v1" && !options.v2Only) {
    const v2 = options.nodeConfigSource === "resource"
      ? r.nodeConfigs.some((n) => n.metadata.name === input.node.name)
      : nodeConfigForNode(r, { ...input.node, labels: facts.labels }, options).nodeConfig !== null;
    if (v2) {
      issues.push({
        level: "warning",
        rule: "H1",
        message: `node ${input.node.name} is selected by a CiliumBGPPeeringPolicy and by v2 configuration: v1 wins and v2 instances are not run (use --v2-only for baseline Cilium, which ignores v1)`,
      });
    }
  }

  for (const inst of instances) {
    for (const { peer } of inst.peers) {
      for (const family of unicastFamilies(peer.families)) {
        const own = missingOwnFamily(peer, family);
        if (own === null) continue;
        issues.push({
          level: "warning",
          rule: "D12",
          instance: inst.instance.name,
          peer: peer.name,
          message: `peer ${peer.name} (IPv${own === "ipv6/unicast" ? 6 : 4} address ${peer.address}) negotiates ${family} but not ${own}: no ${family} routes are sent to it`,
        });
      }
    }
  }

  const used = [...groups.values()].sort((a, b) => a.key < b.key ? -1 : 1);
  const usages = new Map<number, RuleUsage[]>();
  const usedRules = new Map<number, ServiceRule>();
  for (const group of used) {
    for (const family of group.families) {
      for (const rule of group.serviceRules.get(family) ?? []) {
        usedRules.set(rule.id, rule);
        const list = usages.get(rule.id);
        if (list) list.push({ group, family });
        else usages.set(rule.id, [{ group, family }]);
      }
    }
  }
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const k = `${i.level}|${i.rule}|${i.instance}|${i.peer}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return {
    node: input.node.name,
    options,
    api,
    nodeConfig,
    clusterConfig,
    peeringPolicy,
    ipFamilies: ipFamilies(input, options, facts.families as Set<4 | 6>),
    instances,
    groups: new Map(used.map((g) => [g.key, g])),
    ruleIndex: new RuleIndex(usedRules.values()),
    usages,
    issues: unique,
  };
}
