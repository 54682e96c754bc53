/**
 * MetalLB BGP (BGPPeer, BGPAdvertisement, Community) → CiliumBGPClusterConfig,
 * CiliumBGPPeerConfig, CiliumBGPAdvertisement, CiliumBGPNodeConfigOverride
 * and Secrets.
 *
 * MetalLB chooses per peer which nodes peer (peer nodeSelectors) and per
 * advertisement which nodes announce and to which peers; Cilium chooses
 * nodes once per ClusterConfig (configs must not overlap) and per peer which
 * advertisements apply. So the node label space is split into disjoint
 * classes on which every one of those selectors is decided (label-space.ts);
 * each class gets a ClusterConfig whose peers reference a PeerConfig that
 * selects exactly the advertisements MetalLB would send that peer from that
 * class of nodes. Identical PeerConfigs are shared.
 *
 * Each BGPAdvertisement becomes one CiliumBGPAdvertisement with one Service
 * entry per pool it covers, selecting the Services that pool serves (the
 * pool's Cilium serviceSelector), with the same aggregation, communities and
 * LOCAL_PREF.
 */
import { attributesFrom, formatCommunity } from "../../control/attributes.ts";
import { selectorMatches } from "../../control/selector.ts";
import { parseIP } from "../../net/ip.ts";
import type { OutputDocument } from "../emit.ts";
import { describeSelector, formulaOf, type Leaf, partition, PartitionTooLarge, restrict, selectorOf, type Space, UNIVERSE } from "../label-space.ts";
import { ADVERT_LABEL, attributesBlock, dnsName, labelValue, NameSet } from "../names.ts";
import type { Findings } from "../report.ts";
import type { MBgpAdvert, MetalLBModel, MPeer } from "./model.ts";
import type { PoolPlan } from "./pools.ts";

/** Nodes MetalLB never announces from, unless its speaker runs with --ignore-exclude-lb. */
export const EXCLUDE_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";

export interface BgpOptions {
  /** MetalLB's BGP implementation: FRR (ORIGIN IGP) or native (ORIGIN INCOMPLETE, LOCAL_PREF 0 by default). */
  readonly mode: "frr" | "native";
  readonly apiVersion: string;
  readonly ignoreExcludeLB: boolean;
  /** Cilium's bgp-secrets-namespace. */
  readonly secretsNamespace: string;
}

export interface BgpOutput {
  readonly documents: OutputDocument[];
  /** The peers that were converted (VRF and unnumbered ones are not). */
  readonly peers: readonly MPeer[];
}

export const familyOf = (peer: MPeer): 4 | 6 => parseIP(peer.address ?? "")?.family ?? 4;

/** The families MetalLB activates on a peer's session. */
export function peerFamilies(peer: MPeer): Array<4 | 6> {
  const own = familyOf(peer);
  const both = peer.dualStackAddressFamily ?? !peer.disableMP;
  return both ? (own === 4 ? [4, 6] : [6, 4]) : [own];
}

/** The node space MetalLB announces from at all. */
export function announcingSpace(opts: Pick<BgpOptions, "ignoreExcludeLB">): Space {
  return opts.ignoreExcludeLB ? UNIVERSE : restrict(UNIVERSE, { atom: { key: EXCLUDE_LB_LABEL, op: "Exists", values: [] }, positive: false })!;
}

function advertDocument(a: MBgpAdvert, name: string, plans: readonly PoolPlan[], opts: BgpOptions): OutputDocument {
  const entries: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  const lp = a.localPref > 0 ? a.localPref : opts.mode === "native" ? 0 : null;
  const attrs = attributesBlock(attributesFrom({ standard: a.communities.map(formatCommunity), large: [...a.largeCommunities] }, lp));
  for (const plan of plans) {
    if (!a.pools.includes(plan.pool.name) || plan.cilium.length === 0) continue;
    const service: Record<string, unknown> = { addresses: ["LoadBalancerIP"] };
    if (plan.cilium.some((r) => r.family === 4) && a.aggregationLength < 32) service.aggregationLengthIPv4 = a.aggregationLength;
    if (plan.cilium.some((r) => r.family === 6) && a.aggregationLengthV6 < 128) service.aggregationLengthIPv6 = a.aggregationLengthV6;
    const entry: Record<string, unknown> = { advertisementType: "Service", service, selector: plan.selector ?? {} };
    if (attrs) entry.attributes = attrs;
    const key = JSON.stringify(entry);
    if (!seen.has(key)) entries.push(entry);
    seen.add(key);
  }
  return {
    group: "cilium",
    comment: [`from ${a.src.who} (${a.src.doc.file}:${a.src.doc.locate(a.src.base).line}): pools ${a.pools.join(", ") || "none"}`],
    value: { apiVersion: opts.apiVersion, kind: "CiliumBGPAdvertisement", metadata: { name, labels: { [ADVERT_LABEL]: labelValue(name) } }, spec: { advertisements: entries } },
  };
}

export function convertBgp(model: MetalLBModel, plans: readonly PoolPlan[], opts: BgpOptions, findings: Findings): BgpOutput {
  const at = (p: MPeer, field?: string) => ({ location: p.src.doc.locate(field ? [...p.src.base, field] : p.src.base), object: p.src.who });
  const peers = model.peers.filter((p) => {
    if (p.vrf) findings.add("gap", `vrf "${p.vrf}": Cilium has no VRF support; the peer is not converted (a session through the default table could reach the wrong router)`, at(p, "vrf"));
    else if (p.iface) findings.add("gap", `interface "${p.iface}" (unnumbered BGP): not converted; Cilium's unnumbered peering ([newer] autoDiscovery.mode Unnumbered) is not in every release`, at(p, "interface"));
    else return true;
    return false;
  });
  if (peers.length === 0) return { documents: [], peers };
  const docs: OutputDocument[] = [];
  const adverts = model.bgpAdverts.filter((a) => a.pools.length > 0);
  // Names are unique per kind (two namespaces may both have an advertisement "default").
  const advertNames = new NameSet();
  const names = new Map(adverts.map((a) => [a, advertNames.take(dnsName(a.name))]));
  const advertDocs = adverts.map((a) => advertDocument(a, names.get(a)!, plans, opts));

  // Node classes over every node selector that matters.
  const formulas = [
    ...peers.map((p) => formulaOf(p.nodeSelectors, "everything")),
    ...adverts.map((a) => formulaOf(a.nodeSelectors, "everything")),
  ];
  let leaves: Leaf[];
  try {
    leaves = partition(announcingSpace(opts), formulas).filter((l) => l.values.slice(0, peers.length).some(Boolean));
  } catch (err) {
    if (!(err instanceof PartitionTooLarge)) throw err;
    findings.add("gap", "the node selectors of BGPPeers and BGPAdvertisements combine into more than 64 node classes: BGP is not converted; simplify the selectors");
    return { documents: [], peers };
  }
  if (leaves.length > 1) {
    findings.add("note", `node selectors of peers and advertisements split the nodes into ${leaves.length} disjoint classes, one CiliumBGPClusterConfig each (Cilium lets only one config select a node, B4)`);
  }
  if (!opts.ignoreExcludeLB) {
    findings.add("note", `nodes labelled ${EXCLUDE_LB_LABEL} are left out of every CiliumBGPClusterConfig, as MetalLB does not announce from them (use --ignore-exclude-lb if MetalLB's speaker ran with that flag)`);
  }

  const pcNames = new NameSet();
  const peerConfigs = new Map<string, string>();
  const pcDocs: OutputDocument[] = [];
  const secrets = secretsFor(peers, model, opts, findings);
  for (const p of peers) peerNotes(p, opts, findings, at);
  const clusterDocs: OutputDocument[] = [];
  leaves.forEach((leaf, i) => {
    const byASN = new Map<number, Record<string, unknown>[]>();
    peers.forEach((peer, pi) => {
      if (!leaf.values[pi]) return;
      const selected = adverts
        .filter((a, ai) => (a.peers.length === 0 || a.peers.includes(peer.name)) && leaf.values[peers.length + ai])
        .map((a) => labelValue(names.get(a)!));
      const spec = peerConfigSpec(peer, [...new Set(selected)].sort(), secrets.get(peer.name) ?? null);
      const key = JSON.stringify(spec);
      let pc = peerConfigs.get(key);
      if (!pc) {
        pc = pcNames.take(dnsName(peer.name));
        peerConfigs.set(key, pc);
        pcDocs.push({ group: "cilium", comment: [`from ${peer.src.who} (${peer.src.doc.file}:${peer.src.doc.locate(peer.src.base).line})`], value: { apiVersion: opts.apiVersion, kind: "CiliumBGPPeerConfig", metadata: { name: pc }, spec } });
      }
      const list = byASN.get(peer.myASN) ?? [];
      list.push({ name: peer.name, peerAddress: peer.address, peerASN: peerASN(peer), peerConfigRef: { name: pc } });
      byASN.set(peer.myASN, list);
    });
    const instances = [...byASN].sort((a, b) => a[0] - b[0]).map(([asn, list]) => ({ name: `asn-${asn}`, localASN: asn, peers: list }));
    const selector = selectorOf(leaf.space);
    const spec: Record<string, unknown> = {};
    if (selector) spec.nodeSelector = selector;
    spec.bgpInstances = instances;
    const name = leaves.length === 1 ? "metallb" : `metallb-${i + 1}`;
    clusterDocs.push({
      group: "cilium",
      comment: [`nodes: ${describeSelector(selector)}; peers: ${instances.flatMap((x) => x.peers.map((p) => p.name as string)).join(", ")}`],
      value: { apiVersion: opts.apiVersion, kind: "CiliumBGPClusterConfig", metadata: { name }, spec },
    });
  });
  docs.push(...secrets.docs, ...advertDocs, ...pcDocs, ...clusterDocs, ...overrides(peers, model, opts, findings, at));
  return { documents: docs, peers };
}

function peerASN(p: MPeer): number {
  if (p.dynamicASN === "internal") return p.myASN;
  if (p.dynamicASN === "external") return 0;
  return p.peerASN ?? 0;
}

function peerConfigSpec(p: MPeer, adverts: string[], secret: string | null): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  if (p.port !== undefined && p.port !== 179) spec.transport = { peerPort: p.port };
  const timers: Record<string, number> = {};
  if (p.connectTime !== undefined) timers.connectRetryTimeSeconds = Math.max(1, Math.floor(p.connectTime));
  if (p.holdTime !== undefined && p.keepaliveTime !== undefined && Math.floor(p.holdTime) >= 3) {
    timers.holdTimeSeconds = Math.floor(p.holdTime);
    timers.keepAliveTimeSeconds = Math.min(timers.holdTimeSeconds, Math.max(1, Math.floor(p.keepaliveTime)));
  }
  if (Object.keys(timers).length) spec.timers = timers;
  if (secret) spec.authSecretRef = secret;
  if (p.gracefulRestart) spec.gracefulRestart = { enabled: true, restartTimeSeconds: 120 };
  if (p.ebgpMultiHop) spec.ebgpMultihop = 255;
  const selector = adverts.length ? { matchExpressions: [{ key: ADVERT_LABEL, operator: "In", values: adverts }] } : null;
  spec.families = peerFamilies(p).map((f) => selector ? { afi: f === 4 ? "ipv4" : "ipv6", safi: "unicast", advertisements: selector } : { afi: f === 4 ? "ipv4" : "ipv6", safi: "unicast" });
  return spec;
}

function peerNotes(p: MPeer, opts: BgpOptions, findings: Findings, at: (p: MPeer, field?: string) => { location: ReturnType<MPeer["src"]["doc"]["locate"]>; object: string }): void {
  if (p.bfdProfile) findings.add("gap", `bfdProfile "${p.bfdProfile}": Cilium has no BFD; failure detection falls back to the hold timer`, at(p, "bfdProfile"));
  if (p.dynamicASN === "external") findings.add("gap", "dynamicASN: external → peerASN 0, which accepts any AS the peer sends, including the local one (MetalLB refused a same-AS peer)", at(p, "dynamicASN"));
  if (p.holdTime !== undefined && Math.floor(p.holdTime) === 0) findings.add("gap", "holdTime 0 (no keepalives): Cilium's minimum hold time is 3s; Cilium's defaults (90s/30s) are used", at(p, "holdTime"));
  else if (p.holdTime !== undefined && (p.holdTime % 1 !== 0 || (p.keepaliveTime ?? 0) % 1 !== 0)) findings.add("note", "timers rounded down to whole seconds, as MetalLB does", at(p, "holdTime"));
  if (p.holdTime === undefined && opts.mode === "frr") {
    findings.add("note", "no holdTime/keepaliveTime: MetalLB (FRR) used FRR's defaults, hold 180s/keepalive 60s; Cilium offers 90s/30s. The session uses the smaller hold time of both sides", at(p));
  }
  if (p.gracefulRestart && opts.mode === "native") findings.add("note", "enableGracefulRestart is FRR-mode only in MetalLB; Cilium does enable it", at(p, "enableGracefulRestart"));
  if (opts.mode === "native" && !p.ebgpMultiHop && p.peerASN !== p.myASN) {
    findings.add("note", "MetalLB native mode did not limit the TTL of eBGP sessions; Cilium sends TTL 1 unless ebgpMultihop is set: set it if this router is more than one hop away", at(p));
  }
}

/** Passwords: inline ones become Secrets in Cilium's namespace; referenced ones must be there. */
function secretsFor(peers: readonly MPeer[], model: MetalLBModel, opts: BgpOptions, findings: Findings): Map<string, string> & { docs: OutputDocument[] } {
  const out = new Map<string, string>() as Map<string, string> & { docs: OutputDocument[] };
  out.docs = [];
  for (const p of peers) {
    if (p.password) {
      const name = dnsName("metallb", p.name, "md5");
      out.set(p.name, name);
      out.docs.push({ group: "cilium", comment: [`TCP-MD5 password of ${p.src.who}, for Cilium's authSecretRef (key "password")`], value: { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: opts.secretsNamespace }, type: "Opaque", stringData: { password: p.password } } });
      findings.add("note", `the inline password becomes Secret ${opts.secretsNamespace}/${name} (Cilium reads passwords only from Secrets in its bgp-secrets-namespace); this output contains the password`, { object: p.src.who });
    } else if (p.passwordSecret) {
      const ns = p.passwordSecret.namespace ?? model.namespace;
      out.set(p.name, p.passwordSecret.name);
      const found = model.secrets.find((s) => s.metadata.name === p.passwordSecret!.name && s.metadata.namespace === ns);
      if (ns === opts.secretsNamespace) continue;
      if (found) {
        out.docs.push({ group: "cilium", comment: [`copy of Secret ${ns}/${found.metadata.name} into Cilium's bgp-secrets-namespace`], value: { apiVersion: "v1", kind: "Secret", metadata: { name: found.metadata.name, namespace: opts.secretsNamespace }, type: "Opaque", ...(found.data ? { data: found.data } : {}), ...(found.stringData ? { stringData: found.stringData } : {}) } });
      } else {
        findings.add("action", `copy Secret ${ns}/${p.passwordSecret.name} to namespace ${opts.secretsNamespace} (Cilium's bgp-secrets-namespace; it reads the same "password" key): kubectl get secret -n ${ns} ${p.passwordSecret.name} -o json | jq '.metadata={name:.metadata.name,namespace:"${opts.secretsNamespace}"}' | kubectl apply -f -`, { object: p.src.who });
      }
    }
  }
  return out;
}

/** sourceAddress and routerID are per node in Cilium (CiliumBGPNodeConfigOverride). */
function overrides(peers: readonly MPeer[], model: MetalLBModel, opts: BgpOptions, findings: Findings, at: (p: MPeer, field?: string) => { location: ReturnType<MPeer["src"]["doc"]["locate"]>; object: string }): OutputDocument[] {
  const byNode = new Map<string, Map<string, { routerID?: string; peers: Array<{ name: string; localAddress: string }> }>>();
  const entry = (node: string, inst: string) => {
    let m = byNode.get(node);
    if (!m) byNode.set(node, m = new Map());
    let e = m.get(inst);
    if (!e) m.set(inst, e = { peers: [] });
    return e;
  };
  for (const p of peers) {
    if (!p.sourceAddress && !p.routerID) continue;
    const nodes = model.nodes.filter((n) => {
      const labels = n.metadata.labels ?? {};
      if (!opts.ignoreExcludeLB && Object.hasOwn(labels, EXCLUDE_LB_LABEL)) return false;
      return p.nodeSelectors.length === 0 || p.nodeSelectors.some((s) => selectorMatches(s, labels));
    });
    if (model.nodes.length === 0) {
      findings.add("gap", `${p.sourceAddress ? `sourceAddress ${p.sourceAddress}` : ""}${p.sourceAddress && p.routerID ? " and " : ""}${p.routerID ? `routerID ${p.routerID}` : ""}: Cilium sets these per node (CiliumBGPNodeConfigOverride); give the Node objects as input to write the overrides`, at(p));
      continue;
    }
    const inst = `asn-${p.myASN}`;
    if (p.sourceAddress) {
      const holders = nodes.filter((n) => (n.status?.addresses ?? []).some((a) => parseIP(a.address)?.value === parseIP(p.sourceAddress!)?.value));
      if (holders.length === 0) findings.add("gap", `sourceAddress ${p.sourceAddress}: no selected Node in the input has this address; no override written (Cilium lets the kernel choose the source)`, at(p, "sourceAddress"));
      for (const n of holders) entry(n.metadata.name, inst).peers.push({ name: p.name, localAddress: p.sourceAddress });
      if (holders.length && holders.length < nodes.length) findings.add("note", `sourceAddress ${p.sourceAddress}: only ${holders.map((n) => n.metadata.name).join(", ")} have it; on the other selected nodes MetalLB's session could not bind, Cilium's uses the kernel's choice`, at(p, "sourceAddress"));
    }
    if (p.routerID) {
      for (const n of nodes) {
        const e = entry(n.metadata.name, inst);
        if (e.routerID && e.routerID !== p.routerID) findings.add("gap", `routerID ${p.routerID} conflicts with ${e.routerID} on node ${n.metadata.name} for instance ${inst}; the first is kept`, at(p, "routerID"));
        else e.routerID = p.routerID;
      }
      if (nodes.length > 1) findings.add("note", `routerID ${p.routerID} is used by ${nodes.length} nodes, as MetalLB did`, at(p, "routerID"));
    }
  }
  return [...byNode].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([node, insts]) => ({
    group: "cilium" as const,
    comment: [`per-node settings of MetalLB peers (sourceAddress, routerID) for node ${node}`],
    value: {
      apiVersion: opts.apiVersion,
      kind: "CiliumBGPNodeConfigOverride",
      metadata: { name: node },
      spec: {
        bgpInstances: [...insts].map(([name, e]) => ({
          name,
          ...(e.routerID ? { routerID: e.routerID } : {}),
          ...(e.peers.length ? { peers: e.peers } : {}),
        })),
      },
    },
  }));
}
