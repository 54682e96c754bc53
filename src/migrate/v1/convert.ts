/**
 * `herald migrate bgp-v2`: CiliumBGPPeeringPolicy (v1) → CiliumBGPClusterConfig,
 * CiliumBGPPeerConfig, CiliumBGPAdvertisement and CiliumBGPNodeConfigOverride
 * (v2), keeping every session setting and path attribute.
 *
 * Shape of the output, and why:
 * - One ClusterConfig per policy, or one per node class when PodCIDR-type
 *   path attributes select nodes (v2 PodCIDR adverts cannot select nodes;
 *   the classes are disjoint, so no two configs claim a node, B4).
 * - One instance per virtual router (`asn-<localASN>`), peers named by address
 *   as herald names v1 peers.
 * - Per neighbour one advertisement object holding everything it is sent
 *   (adverts.ts) and one PeerConfig whose families select it by label;
 *   neighbours with identical settings and routes share both.
 * - Router ID and listen port annotations of the Node objects given
 *   (`cilium.io/bgp-virtual-router.<asn>`) become per-node overrides.
 * - `--staging`: every ClusterConfig selects only nodes labelled
 *   `migrate.herald.io/bgp-v2=<policy>`, which no node has yet (guide step 1).
 */
import { parseRouterAnnotation, ROUTER_ANNOTATION_PREFIX } from "../../control/legacy.ts";
import { matchesOrEverything } from "../../control/selector.ts";
import type { CiliumBGPNeighbor, CiliumBGPPeeringPolicy, CiliumBGPVirtualRouter } from "../../control/schemas/peering-policy.ts";
import type { Resources } from "../../control/types.ts";
import type { OutputDocument } from "../emit.ts";
import {
  conjunctionOf,
  describeSelector,
  evalFormula,
  formulaOf,
  type Leaf,
  partition,
  PartitionTooLarge,
  restrict,
  satisfiable,
  selectorOf,
  spaceOf,
  type Space,
} from "../label-space.ts";
import { ADVERT_LABEL, dnsName, labelValue, NameSet } from "../names.ts";
import { type AdvertEntry, podCIDREntry, podPoolEntries, serviceEntries } from "./adverts.ts";

export interface BgpV2Options {
  /** Select no node yet: nodes opt in with `stagingLabel=<policy>`. */
  readonly staging: boolean;
  readonly stagingLabel: string;
  /** apiVersion of the generated BGP objects. */
  readonly apiVersion: "cilium.io/v2" | "cilium.io/v2alpha1";
}

export interface PolicySource {
  readonly policy: CiliumBGPPeeringPolicy;
  /** "policy.yaml:3" */
  readonly where: string;
}

export type Report = (level: "gap" | "note" | "action" | "error", message: string, object?: string) => void;

export const instanceName = (asn: number) => `asn-${asn}`;
export const peerName = (address: string) => address;

const address = (n: CiliumBGPNeighbor) => n.peerAddress.slice(0, n.peerAddress.indexOf("/"));

/** Builds the v2 documents; shared PeerConfigs and advertisements are deduplicated by content. */
class Output {
  readonly docs: OutputDocument[] = [];
  readonly #adverts = new Map<string, { name: string; users: string[]; comment: string[] }>();
  readonly #peerConfigs = new Map<string, { name: string; users: string[] }>();
  readonly #advertNames = new NameSet();
  readonly #peerConfigNames = new NameSet();
  readonly #clusterNames = new NameSet();
  readonly advertDocs: OutputDocument[] = [];
  readonly peerConfigDocs: OutputDocument[] = [];
  readonly clusterDocs: OutputDocument[] = [];

  constructor(readonly apiVersion: string) {}

  advert(base: string, entries: AdvertEntry[], user: string, from: string): string {
    const key = JSON.stringify(entries);
    let a = this.#adverts.get(key);
    if (!a) {
      const name = this.#advertNames.take(base);
      a = { name, users: [], comment: [`from ${from}`] };
      this.#adverts.set(key, a);
      this.advertDocs.push({
        group: "cilium",
        comment: a.comment,
        value: {
          apiVersion: this.apiVersion,
          kind: "CiliumBGPAdvertisement",
          metadata: { name, labels: { [ADVERT_LABEL]: labelValue(name) } },
          spec: { advertisements: entries },
        },
      });
    }
    if (!a.users.includes(user)) {
      a.users.push(user);
      a.comment.splice(1, 1, `sent to ${a.users.join(", ")}`);
    }
    return a.name;
  }

  peerConfig(base: string, spec: Record<string, unknown>, user: string, from: string): string {
    const key = JSON.stringify(spec);
    let p = this.#peerConfigs.get(key);
    if (!p) {
      const name = this.#peerConfigNames.take(base);
      p = { name, users: [] };
      this.#peerConfigs.set(key, p);
      this.peerConfigDocs.push({
        group: "cilium",
        comment: [`from ${from}`],
        value: { apiVersion: this.apiVersion, kind: "CiliumBGPPeerConfig", metadata: { name }, spec },
      });
    }
    p.users.push(user);
    return p.name;
  }

  cluster(base: string, nodeSelector: unknown, instances: unknown[], comment: string[]): void {
    const spec: Record<string, unknown> = {};
    if (nodeSelector != null) spec.nodeSelector = nodeSelector;
    spec.bgpInstances = instances;
    this.clusterDocs.push({
      group: "cilium",
      comment,
      value: { apiVersion: this.apiVersion, kind: "CiliumBGPClusterConfig", metadata: { name: this.#clusterNames.take(base) }, spec },
    });
  }
}

/** PeerConfig spec of a neighbour: non-default settings, families selecting `advert`. */
function peerConfigSpec(n: CiliumBGPNeighbor, advert: string | null): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  if (n.peerPort !== 179) spec.transport = { peerPort: n.peerPort };
  if (n.connectRetryTimeSeconds !== 120 || n.holdTimeSeconds !== 90 || n.keepAliveTimeSeconds !== 30) {
    // Both hold and keepalive, always: v2 defaults them before its CEL rule (D7a).
    spec.timers = {
      connectRetryTimeSeconds: n.connectRetryTimeSeconds,
      holdTimeSeconds: n.holdTimeSeconds,
      keepAliveTimeSeconds: n.keepAliveTimeSeconds,
    };
  }
  if (n.authSecretRef) spec.authSecretRef = n.authSecretRef;
  if (n.gracefulRestart) spec.gracefulRestart = { enabled: n.gracefulRestart.enabled, restartTimeSeconds: n.gracefulRestart.restartTimeSeconds };
  if (n.eBGPMultihopTTL !== 1) spec.ebgpMultihop = n.eBGPMultihopTTL;
  const families = n.families?.length ? n.families : [{ afi: "ipv4", safi: "unicast" }, { afi: "ipv6", safi: "unicast" }];
  const seen = new Set<string>();
  spec.families = families.filter((f) => !seen.has(`${f.afi}/${f.safi}`) && seen.add(`${f.afi}/${f.safi}`)).map((f) => {
    const carries = f.safi === "unicast" && (f.afi === "ipv4" || f.afi === "ipv6");
    return carries && advert ? { afi: f.afi, safi: f.safi, advertisements: { matchLabels: { [ADVERT_LABEL]: labelValue(advert) } } } : { afi: f.afi, safi: f.safi };
  });
  return spec;
}

/** The entries one neighbour is sent on one node class. */
function neighbourEntries(vr: CiliumBGPVirtualRouter, n: CiliumBGPNeighbor, leaf: Leaf, podFormulas: string[], ctx: Parameters<typeof serviceEntries>[2]): AdvertEntry[] {
  const entries: AdvertEntry[] = [];
  if (vr.exportPodCIDR) entries.push(podCIDREntry(n, (sel) => leaf.values[podFormulas.indexOf(JSON.stringify(sel))]));
  entries.push(...podPoolEntries(vr, n, ctx));
  entries.push(...serviceEntries(vr, n, ctx));
  return entries;
}

/** Converts one policy into `out`; returns false when it is not converted. */
export function convertPolicy(src: PolicySource, input: Resources, opts: BgpV2Options, out: Output, report: Report): boolean {
  const { policy } = src;
  const name = policy.metadata.name;
  const object = `CiliumBGPPeeringPolicy ${name}`;
  const routers: CiliumBGPVirtualRouter[] = [];
  for (const vr of policy.spec.virtualRouters) {
    if (vr.localASN === 0) {
      report("error", `virtual router with localASN 0: v1 cannot start it (C3) and v2 requires localASN ≥ 1: not converted`, object);
      continue;
    }
    if (routers.some((r) => r.localASN === vr.localASN)) {
      report("gap", `a second virtual router with localASN ${vr.localASN}: v1 uses only the first (G2); not converted`, object);
      continue;
    }
    for (const n of vr.neighbors) {
      if (n.keepAliveTimeSeconds > n.holdTimeSeconds) {
        report("error", `router ${vr.localASN} neighbor ${n.peerAddress}: keepAliveTimeSeconds (${n.keepAliveTimeSeconds}) can not be larger than holdTimeSeconds (${n.holdTimeSeconds}); v1 rejects the whole policy (G3) and v2 would refuse the PeerConfig: not converted`, object);
        return false;
      }
    }
    routers.push(vr);
  }

  // Node classes: PodCIDR-type attributes select nodes, v2 PodCIDR adverts cannot.
  const podFormulas: string[] = [];
  for (const vr of routers) {
    if (!vr.exportPodCIDR) continue;
    for (const n of vr.neighbors) {
      for (const e of n.advertisedPathAttributes ?? []) {
        if (e.selectorType === "PodCIDR" && e.selector != null && !podFormulas.includes(JSON.stringify(e.selector))) podFormulas.push(JSON.stringify(e.selector));
      }
    }
  }
  const base: Space | null = opts.staging
    ? restrict(new Map(), { atom: { key: opts.stagingLabel, op: "In", values: [labelValue(name)] }, positive: true })
    : spaceOf(policy.spec.nodeSelector);
  if (base === null) {
    report("gap", `spec.nodeSelector ${describeSelector(policy.spec.nodeSelector)} matches no node: nothing to convert`, object);
    return false;
  }
  let leaves: Leaf[];
  try {
    leaves = partition(base, podFormulas.map((s) => formulaOf([JSON.parse(s)], "everything")));
  } catch (err) {
    if (!(err instanceof PartitionTooLarge)) throw err;
    report("gap", `PodCIDR path attributes select nodes in more than 64 different ways: not converted`, object);
    return false;
  }
  if (leaves.length > 1) {
    report("note", `PodCIDR path attributes differ by node labels (${podFormulas.map((s) => describeSelector(JSON.parse(s))).join("; ")}): v2 PodCIDR advertisements cannot select nodes, so the policy becomes ${leaves.length} CiliumBGPClusterConfigs with disjoint nodeSelectors`, object);
  }
  const ctx = {
    policy: name,
    lbPools: [...input.lbIPPools].sort((a, b) => a.metadata.name < b.metadata.name ? -1 : 1),
    services: input.services,
    report: (level: "gap" | "note" | "action", message: string) => report(level, message, object),
  };

  leaves.forEach((leaf, i) => {
    const instances = routers.map((vr) => ({
      name: instanceName(vr.localASN),
      localASN: vr.localASN,
      peers: vr.neighbors.map((n) => {
        const addr = address(n);
        const user = `${addr} (router ${vr.localASN}${leaves.length > 1 ? `, node class ${i + 1}` : ""})`;
        const entries = neighbourEntries(vr, n, leaf, podFormulas, ctx);
        const advert = entries.length ? out.advert(dnsName(name, vr.localASN), entries, user, `${object} (${src.where})`) : null;
        const pc = out.peerConfig(dnsName(name, vr.localASN), peerConfigSpec(n, advert), user, `${object} (${src.where})`);
        return { name: peerName(addr), peerAddress: addr, peerASN: n.peerASN, peerConfigRef: { name: pc } };
      }),
    }));
    for (const inst of instances) {
      const seen = new Set<string>();
      for (const p of inst.peers) {
        if (seen.has(p.name)) report("gap", `router ${inst.localASN} lists neighbor ${p.peerAddress} twice; v2 peer names must be unique: remove one`, object);
        seen.add(p.name);
      }
    }
    const selector = selectorOf(leaf.space);
    const comment = [`from ${object} (${src.where})`];
    if (leaves.length > 1) comment.push(`node class ${i + 1} of ${leaves.length}: ${describeSelector(selector)}`);
    out.cluster(leaves.length > 1 ? dnsName(name, i + 1) : name, selector, instances, comment);
  });
  return true;
}

/** Router ID / listen port annotations of selected Node objects → overrides (G2 → B3). */
export function nodeOverrides(policies: readonly CiliumBGPPeeringPolicy[], input: Resources, apiVersion: string, report: Report): OutputDocument[] {
  const docs: OutputDocument[] = [];
  for (const node of [...input.nodes].sort((a, b) => a.metadata.name < b.metadata.name ? -1 : 1)) {
    const labels = node.metadata.labels ?? {};
    const selecting = policies.filter((p) => matchesOrEverything(p.spec.nodeSelector, labels));
    if (selecting.length !== 1) continue; // none, or G1 (reported with the overlap)
    const instances: Record<string, unknown>[] = [];
    for (const vr of selecting[0].spec.virtualRouters) {
      const key = `${ROUTER_ANNOTATION_PREFIX}${vr.localASN}`;
      const raw = node.metadata.annotations?.[key];
      if (raw === undefined) continue;
      const parsed = parseRouterAnnotation(raw);
      if ("error" in parsed) {
        report("error", `annotation ${key}: ${parsed.error}; v1 rejects the policy on this node (G2): no override written`, `Node ${node.metadata.name}`);
        continue;
      }
      const inst: Record<string, unknown> = { name: instanceName(vr.localASN) };
      if (parsed.routerID) inst.routerID = parsed.routerID;
      if (parsed.localPort) inst.localPort = parsed.localPort;
      instances.push(inst);
    }
    if (instances.length === 0) continue;
    docs.push({
      group: "cilium",
      comment: [`from the ${ROUTER_ANNOTATION_PREFIX}<asn> annotations of Node ${node.metadata.name}`],
      value: { apiVersion, kind: "CiliumBGPNodeConfigOverride", metadata: { name: node.metadata.name }, spec: { bgpInstances: instances } },
    });
  }
  return docs;
}

/** G1 vs B4: nodes selected by two policies run no BGP with v1; with v2 the older config wins. */
export function reportOverlaps(policies: readonly CiliumBGPPeeringPolicy[], report: Report): void {
  for (let i = 0; i < policies.length; i++) {
    for (let j = i + 1; j < policies.length; j++) {
      const a = policies[i].spec.nodeSelector;
      const b = policies[j].spec.nodeSelector;
      if (!satisfiable(a ? conjunctionOf(a) : [], b ? conjunctionOf(b) : [])) continue;
      report("gap", `CiliumBGPPeeringPolicies "${policies[i].metadata.name}" and "${policies[j].metadata.name}" can select the same node: v1 tears down every session on such a node (G1); v2 lets the older CiliumBGPClusterConfig win (B4). Make the nodeSelectors disjoint`);
    }
  }
}

export { evalFormula, Output };
