/**
 * Node selection and NodeConfig derivation: Cilium's operator logic (B),
 * computed by herald itself.
 *
 * `deriveNodeConfigs` does it for every node (what a Kubernetes leader
 * writes, B2–B7, B9); `nodeConfigForNode` is the per-node path of file mode.
 * Ownership is deterministic: among the cluster configs selecting a node,
 * the oldest `creationTimestamp` wins, then the smaller name; every other
 * config gets `cilium.io/ConflictingClusterConfig` naming the owner (B4).
 */
import { prefixContains, prefixRange, formatIP, parseIP, parsePrefix } from "../net/ip.ts";
import { matchesOrEverything, type Labels } from "./selector.ts";
import type { CiliumBGPClusterConfig } from "./schemas/cluster-config.ts";
import type { CiliumBGPNodeConfigOverride } from "./schemas/node-config-override.ts";
import type { CiliumBGPNodeConfig, CiliumBGPNodeInstance, CiliumBGPNodePeer } from "./schemas/node-config.ts";
import type { Condition } from "./schemas/_common.ts";
import type { ControlOptions, NodeIdentity, Resources } from "./types.ts";

export const CONDITION_NO_MATCHING_NODE = "cilium.io/NoMatchingNode";
export const CONDITION_MISSING_PEER_CONFIGS = "cilium.io/MissingPeerConfigs";
export const CONDITION_CONFLICTING_CLUSTER_CONFIG = "cilium.io/ConflictingClusterConfig";
export const CONDITION_MISSING_AUTH_SECRET = "cilium.io/MissingAuthSecret";

export interface NodeInfo {
  readonly name: string;
  readonly labels: Labels;
}

export interface DerivedNodeConfigs {
  /** Desired NodeConfigs, one per owned node, sorted by name (B2, B3). */
  readonly nodeConfigs: CiliumBGPNodeConfig[];
  /** node → owning cluster config. */
  readonly owners: ReadonlyMap<string, string>;
  /** node → cluster configs that also select it and lost (B4). */
  readonly losers: ReadonlyMap<string, string[]>;
  /** Cluster config → its conditions, sorted by type; empty when status reporting is off (B7). */
  readonly conditions: ReadonlyMap<string, Condition[]>;
  /** Per-node problems (router-ID pool, B9). The node's NodeConfig is not produced. */
  readonly errors: ReadonlyArray<{ node: string; clusterConfig: string; message: string }>;
}

/** Candidate nodes (B1): Node objects, else CiliumNode objects; Node labels win. */
export function candidateNodes(resources: Resources, self?: NodeIdentity): NodeInfo[] {
  const byName = new Map<string, Record<string, string>>();
  for (const cn of resources.ciliumNodes) byName.set(cn.metadata.name, { ...cn.metadata.labels });
  for (const n of resources.nodes) byName.set(n.metadata.name, { ...byName.get(n.metadata.name), ...n.metadata.labels });
  if (self) byName.set(self.name, { ...byName.get(self.name), ...self.labels });
  return [...byName].map(([name, labels]) => ({ name, labels })).sort((a, b) => cmp(a.name, b.name));
}

const cmp = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0;

/** Oldest first, then by name; a config without a timestamp counts as newest. */
export function ownershipOrder(a: CiliumBGPClusterConfig, b: CiliumBGPClusterConfig): number {
  const ta = a.metadata.creationTimestamp ? Date.parse(a.metadata.creationTimestamp) : Infinity;
  const tb = b.metadata.creationTimestamp ? Date.parse(b.metadata.creationTimestamp) : Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return cmp(a.metadata.name, b.metadata.name);
}

/** B2 + B3: the NodeConfig instances for one node. */
export function nodeInstances(
  config: CiliumBGPClusterConfig,
  override: CiliumBGPNodeConfigOverride | undefined,
  routerIDs?: ReadonlyMap<string, string>,
): CiliumBGPNodeInstance[] {
  return config.spec.bgpInstances.map((inst) => {
    const out: CiliumBGPNodeInstance = { name: inst.name };
    if (inst.localASN !== undefined) out.localASN = inst.localASN;
    if (inst.localPort !== undefined) out.localPort = inst.localPort;
    const pooled = routerIDs?.get(inst.name);
    if (pooled) out.routerID = pooled;
    // Unknown override instance names are ignored silently (B3).
    const ov = override?.spec.bgpInstances.find((o) => o.name === inst.name);
    if (ov?.routerID !== undefined) out.routerID = ov.routerID;
    if (ov?.localPort !== undefined) out.localPort = ov.localPort;
    if (ov?.localASN !== undefined) out.localASN = ov.localASN;
    out.peers = (inst.peers ?? []).map((p) => {
      const peer: CiliumBGPNodePeer = { name: p.name, peerASN: p.peerASN };
      if (p.peerAddress !== undefined) peer.peerAddress = p.peerAddress;
      if (p.peerConfigRef !== undefined) peer.peerConfigRef = { name: p.peerConfigRef.name };
      if (p.autoDiscovery !== undefined) peer.autoDiscovery = p.autoDiscovery;
      if (p.peerInterface !== undefined) peer.peerInterface = p.peerInterface;
      // Only localAddress comes from an override peer; its localPort is ignored (B3).
      const op = ov?.peers?.find((o) => o.name === p.name);
      if (op?.localAddress !== undefined) peer.localAddress = op.localAddress;
      return peer;
    });
    return out;
  });
}

function condition(type: string, status: boolean, reason: string, message: string, generation?: number): Condition {
  const c: Condition = { type, status: status ? "True" : "False", reason, message };
  if (generation !== undefined) c.observedGeneration = generation;
  return c;
}

/** Go's `%v` of a string slice. */
const goList = (items: readonly string[]) => `[${items.join(" ")}]`;

/** B7: the three cluster-config conditions, sorted by type. */
export function clusterConfigConditions(
  config: CiliumBGPClusterConfig,
  matchingNodes: number,
  peerConfigNames: ReadonlySet<string>,
  conflictingOwners: readonly string[],
): Condition[] {
  const gen = config.metadata.generation;
  const missing = [
    ...new Set(
      config.spec.bgpInstances.flatMap((i) => (i.peers ?? []).map((p) => p.peerConfigRef?.name))
        .filter((n): n is string => n !== undefined && !peerConfigNames.has(n)),
    ),
  ].sort(cmp);
  const owners = [...new Set(conflictingOwners)].sort(cmp);
  return [
    condition(CONDITION_CONFLICTING_CLUSTER_CONFIG, owners.length > 0, "ConflictingClusterConfigs",
      owners.length ? `Selecting the same node(s) with ClusterConfig(s): ${goList(owners)}` : "", gen),
    condition(CONDITION_MISSING_PEER_CONFIGS, missing.length > 0, "MissingPeerConfigs",
      missing.length ? `Referenced CiliumBGPPeerConfig(s) are missing: ${goList(missing)}` : "", gen),
    condition(CONDITION_NO_MATCHING_NODE, matchingNodes === 0, "NoMatchingNode", "No node matches spec.nodeSelector", gen),
  ].sort((a, b) => cmp(a.type, b.type));
}

export interface DeriveInput {
  resources: Resources;
  nodes: readonly NodeInfo[];
  options: Pick<ControlOptions, "routerIDAllocationMode" | "routerIDAllocationIPPool" | "statusReport">;
}

/** Every node's desired NodeConfig plus the cluster-config conditions (B2–B7, B9). */
export function deriveNodeConfigs({ resources, nodes, options }: DeriveInput): DerivedNodeConfigs {
  const configs = [...resources.clusterConfigs].sort(ownershipOrder);
  const overrides = new Map(resources.nodeConfigOverrides.map((o) => [o.metadata.name, o]));
  const peerConfigNames = new Set(resources.peerConfigs.map((p) => p.metadata.name));
  const owners = new Map<string, string>();
  const losers = new Map<string, string[]>();
  const matching = new Map<string, number>(configs.map((c) => [c.metadata.name, 0]));
  const conflictsOf = new Map<string, string[]>(configs.map((c) => [c.metadata.name, []]));

  for (const node of nodes) {
    for (const config of configs) {
      // nodeSelector absent ⇒ every node (B1).
      if (!matchesOrEverything(config.spec.nodeSelector, node.labels)) continue;
      const name = config.metadata.name;
      matching.set(name, matching.get(name)! + 1);
      const owner = owners.get(node.name);
      if (owner === undefined) {
        owners.set(node.name, name);
      } else {
        conflictsOf.get(name)!.push(owner);
        losers.set(node.name, [...(losers.get(node.name) ?? []), name]);
      }
    }
  }

  const errors: { node: string; clusterConfig: string; message: string }[] = [];
  const routerIDs = options.routerIDAllocationMode === "ip-pool"
    ? allocateRouterIDs(resources, configs, owners, overrides, options.routerIDAllocationIPPool, errors)
    : new Map<string, Map<string, string>>();

  const byName = new Map(configs.map((c) => [c.metadata.name, c]));
  const nodeConfigs: CiliumBGPNodeConfig[] = [];
  for (const [node, owner] of [...owners].sort((a, b) => cmp(a[0], b[0]))) {
    if (errors.some((e) => e.node === node)) continue;
    const config = byName.get(owner)!;
    nodeConfigs.push({
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPNodeConfig",
      metadata: {
        name: node,
        ownerReferences: [{
          apiVersion: "cilium.io/v2",
          kind: "CiliumBGPClusterConfig",
          name: owner,
          uid: config.metadata.uid ?? "",
          controller: true,
        }],
      },
      spec: { bgpInstances: nodeInstances(config, overrides.get(node), routerIDs.get(node)) },
    });
  }

  const conditions = new Map<string, Condition[]>();
  for (const config of configs) {
    const name = config.metadata.name;
    conditions.set(
      name,
      options.statusReport ? clusterConfigConditions(config, matching.get(name)!, peerConfigNames, conflictsOf.get(name)!) : [],
    );
  }
  return { nodeConfigs, owners, losers, conditions, errors };
}

/**
 * B9: one IPv4 per (node, instance) from the pool. Existing NodeConfigs'
 * router IDs inside the pool are kept; an override inside the pool must be
 * free; one outside is used as-is. New addresses: the lowest free one
 * (Cilium hashes; herald is deterministic instead).
 */
function allocateRouterIDs(
  resources: Resources,
  configs: readonly CiliumBGPClusterConfig[],
  owners: ReadonlyMap<string, string>,
  overrides: ReadonlyMap<string, CiliumBGPNodeConfigOverride>,
  poolText: string,
  errors: { node: string; clusterConfig: string; message: string }[],
): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const pool = parsePrefix(poolText);
  if (configs.length === 0) return out; // all allocations cleared (B9)
  const fail = (node: string, config: string, message: string) => errors.push({ node, clusterConfig: config, message });
  if (pool === null || pool.family !== 4) {
    for (const [node, config] of owners) {
      fail(node, config, `Cannot allocate router ID: bgp-router-id-allocation-ip-pool must be an IPv4 CIDR: current value is "${poolText}"`);
    }
    return out;
  }
  const used = new Map<string, string>(); // address → "node/instance"
  const key = (node: string, inst: string) => `${node}/${inst}`;
  const byName = new Map(configs.map((c) => [c.metadata.name, c]));
  // Restore from existing NodeConfigs (only addresses inside the pool).
  const restored = new Map<string, string>();
  for (const nc of resources.nodeConfigs) {
    for (const inst of nc.spec.bgpInstances) {
      const ip = inst.routerID ? parseIP(inst.routerID) : null;
      if (ip && prefixContains(pool, ip) && !used.has(inst.routerID!)) {
        used.set(inst.routerID!, key(nc.metadata.name, inst.name));
        restored.set(key(nc.metadata.name, inst.name), inst.routerID!);
      }
    }
  }
  const [first, last] = prefixRange(pool);
  let cursor = first;
  const next = (): string | null => {
    for (; cursor <= last; cursor++) {
      const text = formatIP({ family: 4, value: cursor });
      if (!used.has(text)) return text;
    }
    return null;
  };
  for (const [node, configName] of [...owners].sort((a, b) => cmp(a[0], b[0]))) {
    const ids = new Map<string, string>();
    for (const inst of byName.get(configName)!.spec.bgpInstances) {
      const k = key(node, inst.name);
      const ov = overrides.get(node)?.spec.bgpInstances.find((o) => o.name === inst.name)?.routerID;
      if (ov !== undefined) {
        const ip = parseIP(ov)!;
        if (prefixContains(pool, ip)) {
          const holder = used.get(ov);
          if (holder !== undefined && holder !== k) {
            fail(node, configName, `Cannot use router ID override "${ov}" for instance "${inst.name}": it is allocated to ${holder} (B9)`);
            continue;
          }
          const previous = restored.get(k);
          if (previous !== undefined && previous !== ov) used.delete(previous);
          used.set(ov, k);
        } else {
          const previous = restored.get(k);
          if (previous !== undefined) used.delete(previous); // released (B9)
        }
        continue; // nodeInstances applies the override itself
      }
      let id = restored.get(k);
      if (id === undefined) {
        const free = next();
        if (free === null) {
          fail(node, configName, `Cannot allocate router ID for instance "${inst.name}": pool "${poolText}" is exhausted (B9)`);
          continue;
        }
        id = free;
        used.set(id, k);
      }
      ids.set(inst.name, id);
    }
    out.set(node, ids);
  }
  return out;
}

export interface NodeConfigForNode {
  readonly nodeConfig: CiliumBGPNodeConfig | null;
  readonly owner: string | null;
  /** Other cluster configs that select this node and lost (B4). */
  readonly losers: readonly string[];
  readonly error: string | null;
}

/** The per-node path (file mode): this node's NodeConfig, derived locally (A1). */
export function nodeConfigForNode(
  resources: Resources,
  self: NodeIdentity,
  options: DeriveInput["options"],
): NodeConfigForNode {
  const nodes = candidateNodes(resources, self);
  // Without the router-ID pool, other nodes cannot change this node's result.
  const relevant = options.routerIDAllocationMode === "ip-pool" ? nodes : nodes.filter((n) => n.name === self.name);
  const derived = deriveNodeConfigs({ resources, nodes: relevant, options });
  const err = derived.errors.find((e) => e.node === self.name);
  return {
    nodeConfig: derived.nodeConfigs.find((n) => n.metadata.name === self.name) ?? null,
    owner: derived.owners.get(self.name) ?? null,
    losers: derived.losers.get(self.name) ?? [],
    error: err?.message ?? null,
  };
}

export interface NodeConfigWrites {
  create: CiliumBGPNodeConfig[];
  update: CiliumBGPNodeConfig[];
  /** Names of NodeConfigs owned by a cluster config that no longer selects their node (B5). */
  delete: string[];
}

/**
 * What a leader writes (B5, B6): create missing, update when the spec differs
 * (deep equality), delete those owned by a known cluster config but no longer desired.
 */
export function nodeConfigWrites(
  existing: readonly CiliumBGPNodeConfig[],
  desired: readonly CiliumBGPNodeConfig[],
  clusterConfigNames: ReadonlySet<string>,
): NodeConfigWrites {
  const have = new Map(existing.map((n) => [n.metadata.name, n]));
  const want = new Map(desired.map((n) => [n.metadata.name, n]));
  const out: NodeConfigWrites = { create: [], update: [], delete: [] };
  for (const [name, nc] of want) {
    const cur = have.get(name);
    if (!cur) out.create.push(nc);
    else if (canonicalJSON(cur.spec) !== canonicalJSON(nc.spec)) out.update.push(nc);
  }
  for (const [name, nc] of have) {
    if (want.has(name)) continue;
    const owner = nc.metadata.ownerReferences?.find((r) => r.kind === "CiliumBGPClusterConfig")?.name;
    if (owner !== undefined && clusterConfigNames.has(owner)) out.delete.push(name);
  }
  return out;
}

/** JSON with sorted keys, for deep equality. */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(v, (_k, value) =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => cmp(a, b)))
      : value);
}

/**
 * PeerConfig conditions the leader writes (D9, §9.4): `cilium.io/MissingAuthSecret`
 * True when `authSecretRef` names a Secret absent from the secrets namespace.
 * Only with a secrets namespace and status reporting on; otherwise the
 * conditions are removed (empty list).
 */
export function peerConfigConditions(
  resources: Resources,
  options: Pick<ControlOptions, "bgpSecretsNamespace" | "statusReport">,
): Map<string, Condition[]> {
  const out = new Map<string, Condition[]>();
  const ns = options.bgpSecretsNamespace;
  for (const pc of resources.peerConfigs) {
    if (!options.statusReport || ns === "") {
      out.set(pc.metadata.name, []);
      continue;
    }
    const ref = pc.spec.authSecretRef;
    const missing = ref !== undefined && !resources.secrets.some((s) => s.metadata.name === ref && s.metadata.namespace === ns);
    out.set(pc.metadata.name, [
      condition(CONDITION_MISSING_AUTH_SECRET, missing, "MissingAuthSecret", missing ? `Referenced Auth Secret "${ref}" is missing` : "", pc.metadata.generation),
    ]);
  }
  return out;
}
