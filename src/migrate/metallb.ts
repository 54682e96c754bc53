/**
 * `herald migrate metallb PATH…`: MetalLB → Cilium LB-IPAM and BGP Control
 * Plane, as a pure function of the input texts.
 *
 * Reads MetalLB CRDs or the legacy ConfigMap (metallb/read.ts), converts
 * pools (pools.ts), BGP (bgp.ts), L2 (l2.ts) and Service annotations
 * (services.ts), parses the output back through herald's registry, and checks
 * it: for every Node given, what herald's control plane announces from the
 * output against what MetalLB announces (reference.ts), and for every
 * Service, that Cilium's LB-IPAM keeps the address MetalLB gave it.
 */
import { desiredState } from "../control/desired.ts";
import { conjunctionOf, describeSelector, satisfiable } from "./label-space.ts";
import { emptyResources, type Resources } from "../control/types.ts";
import { planAllocations } from "../ipam/mod.ts";
import { headerLines, type OutputDocument, renderYaml } from "./emit.ts";
import { type InputFile, readDocuments } from "./input.ts";
import { convertBgp } from "./metallb/bgp.ts";
import { convertL2 } from "./metallb/l2.ts";
import type { MetalLBModel } from "./metallb/model.ts";
import { metallbSplitDocuments, planPools, type PoolPlan, poolDocuments, reportPoolOverlaps } from "./metallb/pools.ts";
import { readMetalLB } from "./metallb/read.ts";
import { metallbView } from "./metallb/reference.ts";
import { kubectlCommands, planServices, serviceDocuments, type ServicePatch } from "./metallb/services.ts";
import { POOL_LABEL } from "./names.ts";
import { parseBack } from "./parse-back.ts";
import { rangeContains, rangeText } from "./ranges.ts";
import { type Finding, Findings } from "./report.ts";
import { compareViews, viewOf } from "./verify.ts";

export interface MetalLBOptions {
  /** Split each pool between MetalLB (lower half) and Cilium (upper half). */
  readonly split: boolean;
  /** Service changes as kubectl commands instead of patched manifests. */
  readonly kubectl: boolean;
  /** MetalLB's BGP implementation (ORIGIN and default LOCAL_PREF differ). */
  readonly mode: "frr" | "native";
  readonly apiVersion: "cilium.io/v2" | "cilium.io/v2alpha1";
  /** MetalLB's speaker ran with --ignore-exclude-lb. */
  readonly ignoreExcludeLB: boolean;
  /** Cilium's bgp-secrets-namespace. */
  readonly secretsNamespace: string;
}

export const DEFAULT_METALLB_OPTIONS: MetalLBOptions = {
  split: false,
  kubectl: false,
  mode: "frr",
  apiVersion: "cilium.io/v2",
  ignoreExcludeLB: false,
  secretsNamespace: "kube-system",
};

export interface MetalLBResult {
  readonly documents: OutputDocument[];
  readonly findings: readonly Finding[];
  readonly header: string[];
  /** `--kubectl`: the commands that rewrite the Services. */
  readonly kubectl: string[];
  readonly model: MetalLBModel;
  readonly patches: readonly ServicePatch[];
  /** The Cilium output, parsed back. */
  readonly output: Resources;
  readonly verifiedNodes: string[];
}

export function migrateMetalLB(files: readonly InputFile[], options: Partial<MetalLBOptions> = {}): MetalLBResult {
  const opts = { ...DEFAULT_METALLB_OPTIONS, ...options };
  const findings = new Findings();
  const model = readMetalLB(readDocuments(files, findings), findings);
  const plans = planPools(model, opts.split, findings);
  reportPoolOverlaps(plans, findings);
  const patches = planServices(model.services, plans, findings);
  const pools = poolDocuments(plans, opts.apiVersion, findings);
  const bgp = convertBgp(model, plans, opts, findings);
  const l2 = convertL2(model, plans, opts.ignoreExcludeLB, findings);
  reportAdvertisementOverlaps(model, plans, findings);
  for (const a of model.bgpAdverts) {
    if (a.aggregationLength < 32 || a.aggregationLengthV6 < 128) {
      findings.add("gap", `aggregation: Cilium announces Services with externalTrafficPolicy Local as /32 or /128 (E18); MetalLB announced the aggregate, from the nodes with endpoints`, { object: a.src.who });
    }
  }
  const split = opts.split ? metallbSplitDocuments(model, plans) : [];
  const services = opts.kubectl ? [] : serviceDocuments(patches);
  const kubectl = opts.kubectl ? kubectlCommands(patches) : [];
  const documents = [...pools, ...bgp.documents, ...l2, ...split, ...services];

  const back = parseBack(documents.filter((d) => d.group === "cilium"));
  for (const e of back.errors) findings.add("error", `generated document does not validate (a bug in herald, please report it): ${e}`);
  generalNotes(model, opts, findings);
  const verifiedNodes = verifyBgp(model, bgp, patches, back.resources, opts, findings);
  verifyIpam(model, plans, patches, documents, opts, findings);

  const title = [
    "herald migrate metallb: MetalLB → CiliumLoadBalancerIPPool, CiliumBGPClusterConfig, CiliumBGPPeerConfig,",
    "CiliumBGPAdvertisement, CiliumL2AnnouncementPolicy",
    `read: ${model.pools.length} pools, ${model.peers.length} peers, ${model.bgpAdverts.length} BGP and ${model.l2Adverts.length} L2 advertisements, ${model.services.length} Services, ${model.nodes.length} Nodes${verifiedNodes.length ? `; checked on nodes ${verifiedNodes.join(", ")}` : ""}`,
    `MetalLB BGP mode: ${opts.mode}${opts.split ? "; --split: MetalLB keeps the lower half of each pool, Cilium gets the upper half" : ""}`,
  ];
  const header = headerLines(title, findings.list);
  return { documents, findings: findings.list, header, kubectl, model, patches, output: back.resources, verifiedNodes };
}

function generalNotes(model: MetalLBModel, opts: MetalLBOptions, findings: Findings): void {
  if (model.pools.length === 0 && model.peers.length === 0) findings.add("note", "no MetalLB pool or peer in the input: nothing to convert");
  if (opts.mode === "native" && model.peers.length) {
    findings.add("action", "MetalLB native mode announces with ORIGIN INCOMPLETE: run Cilium with bgpControlPlane.legacyOriginAttribute.enabled=true (herald: legacyOriginAttribute) so the routes keep the same ORIGIN (E4)");
  }
  if (model.peers.length) {
    findings.add("note", "Cilium instances connect to their peers but do not listen unless the instance has localPort (C5); MetalLB's FRR also accepted incoming sessions. Set localPort: 179 in the CiliumBGPClusterConfig instance if your routers only connect in");
    findings.add("note", "side by side: move nodes one at a time from MetalLB's speaker to herald (or Cilium) with the node selectors; the announcements carry the same attributes, so routers keep ECMP across old and new speakers. Finish with `herald migrate check`");
  }
  if (opts.split) {
    findings.add("action", "while both run, MetalLB and Cilium LB-IPAM both serve LoadBalancer Services without a loadBalancerClass and each removes addresses outside its own pools (I12); run Cilium/herald with default-lb-service-ipam=none and create migrated Services with loadBalancerClass io.cilium/bgp-control-plane (the field is immutable), or stop MetalLB's controller before Cilium's LB-IPAM starts");
  }
  if (model.services.length === 0) findings.add("action", "no Services given: add `kubectl get svc -A -o yaml` to the input to rewrite their annotations and check that every Service keeps its address");
  if (model.nodes.length === 0 && model.peers.length) findings.add("action", "no Nodes given: add `kubectl get nodes -o yaml` to the input to check the announcements node by node (and to write per-node sourceAddress/routerID overrides)");
}

/** Pools whose Services the same advertisement selectors could catch although MetalLB treats them differently. */
function reportAdvertisementOverlaps(model: MetalLBModel, plans: readonly PoolPlan[], findings: Findings): void {
  const treatment = (p: PoolPlan) => [
    ...model.bgpAdverts.filter((a) => a.pools.includes(p.pool.name)).map((a) => `bgp:${a.name}`),
    ...model.l2Adverts.filter((a) => a.pools.includes(p.pool.name)).map((a) => `l2:${a.name}`),
  ].sort().join(",");
  const c = (s: PoolPlan["selector"]) => s ? conjunctionOf(s) : [];
  for (let i = 0; i < plans.length; i++) {
    for (let j = i + 1; j < plans.length; j++) {
      const [a, b] = [plans[i], plans[j]];
      if (treatment(a) === treatment(b) || !satisfiable(c(a.selector), c(b.selector))) continue;
      findings.add("gap", `pools "${a.pool.name}" and "${b.pool.name}" are announced differently (${treatment(a) || "not at all"} / ${treatment(b) || "not at all"}) but a Service can match both (${describeSelector(a.selector)} / ${describeSelector(b.selector)}); Cilium's advertisements select Services by label, not by the pool the address came from, so such a Service would be announced as both. Label Services with ${POOL_LABEL}=<pool> (done for the Services given) or make the pools' selectors disjoint`);
    }
  }
}

/** Node by node: MetalLB's announcements against herald's control plane on the output. */
function verifyBgp(model: MetalLBModel, bgp: ReturnType<typeof convertBgp>, patches: readonly ServicePatch[], output: Resources, opts: MetalLBOptions, findings: Findings): string[] {
  if (bgp.peers.length === 0 || model.nodes.length === 0) return [];
  const services = model.services.map((s) => patches.find((p) => p.input === s)?.patched ?? s.svc);
  const resources: Resources = {
    ...emptyResources(),
    ...output,
    nodes: model.nodes,
    services,
    endpointSlices: model.endpointSlices,
    secrets: [...model.secrets, ...output.secrets],
  };
  const nodes: string[] = [];
  let differences = 0;
  for (const node of model.nodes) {
    const reference = metallbView(model, bgp.peers, node, opts);
    const state = desiredState({ resources, node: { name: node.metadata.name }, options: { legacyOriginAttribute: opts.mode === "native", bgpSecretsNamespace: opts.secretsNamespace } });
    const diffs = compareViews(reference, viewOf(state, "routes-only"), { before: "MetalLB", after: "the Cilium output" });
    for (const d of diffs) findings.add("gap", d, { object: `Node ${node.metadata.name}` });
    differences += diffs.length;
    nodes.push(node.metadata.name);
  }
  if (differences === 0) {
    findings.add("note", `checked on ${nodes.length} node${nodes.length === 1 ? "" : "s"} (${nodes.join(", ")}): the Cilium output announces the same prefixes to the same peers with the same communities, LOCAL_PREF and ORIGIN as MetalLB`);
  }
  return nodes;
}

/** Every Service keeps its MetalLB address under Cilium's LB-IPAM (adoption, I12) — or, with --split, which ones move. */
function verifyIpam(model: MetalLBModel, plans: readonly PoolPlan[], patches: readonly ServicePatch[], documents: readonly OutputDocument[], opts: MetalLBOptions, findings: Findings): void {
  const services = model.services.map((s) => patches.find((p) => p.input === s)?.patched ?? s.svc).filter((s) => s.spec.type === "LoadBalancer");
  if (services.length === 0 || plans.length === 0) return;
  const pools = documents.filter((d) => d.group === "cilium" && d.value.kind === "CiliumLoadBalancerIPPool").map((d) => JSON.parse(JSON.stringify(d.value)));
  const v6 = plans.some((p) => p.pool.ranges.some((r) => r.family === 6));
  const result = planAllocations(pools, services, { ipv4: true, ipv6: v6 });
  let kept = 0;
  for (const svc of services) {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const before = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
    if (before.length === 0) continue;
    const after = result.services.find((s) => `${s.namespace}/${s.name}` === key);
    if (opts.split) {
      const moved = before.filter((ip) => plans.some((p) => p.metallb?.some((r) => rangeContains(r, ip))));
      if (moved.length) findings.add("action", `Service ${key} holds ${moved.join(", ")}, in the part MetalLB keeps: it keeps that address while MetalLB serves it; when you move it to Cilium it gets a new address from ${plans.filter((p) => p.cilium.length).map((p) => p.cilium.map(rangeText).join(" ")).join(", ")}`);
      continue;
    }
    const same = after && before.every((ip) => after.ips.includes(ip)) && after.ips.length === before.length;
    if (same) kept++;
    else {
      const why = after?.condition && after.condition.status === "False" ? ` (${after.condition.reason}: ${after.condition.message})` : "";
      findings.add("gap", `Cilium LB-IPAM would not keep ${before.join(", ")}: it would assign ${after?.ips.join(", ") || "nothing"}${why}`, { object: `Service ${key}` });
    }
  }
  if (!opts.split && kept > 0) findings.add("note", `LB-IPAM checked offline: ${kept} Service${kept === 1 ? "" : "s"} keep the address MetalLB gave them (Cilium adopts addresses already in status, I12)`);
}

export function renderMetalLB(result: MetalLBResult): string {
  const trailer = result.kubectl.length ? ["kubectl commands that rewrite the Services' annotations (run them after applying the pools):", ...result.kubectl] : [];
  return renderYaml(result.documents, result.header, trailer);
}

