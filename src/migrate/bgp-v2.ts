/**
 * `herald migrate bgp-v2 PATH…`: the v1 → v2 migration as a pure function of
 * the input texts. Reads CiliumBGPPeeringPolicies and what they refer to
 * (Nodes, CiliumLoadBalancerIPPools, CiliumPodIPPools, Services, Secrets),
 * converts (v1/convert.ts), parses the output back through the registry, and,
 * for every Node given, runs the control plane on the v1 input and on the v2
 * output and reports every difference in sessions, routes or attributes.
 */
import { desiredState } from "../control/desired.ts";
import { addResource } from "../control/load.ts";
import { parseResource } from "../control/schemas/mod.ts";
import { matchesOrEverything } from "../control/selector.ts";
import type { CiliumBGPPeeringPolicy } from "../control/schemas/peering-policy.ts";
import { emptyResources, type Resources } from "../control/types.ts";
import { formatLocation } from "../source/manifest.ts";
import { headerLines, type OutputDocument, renderYaml } from "./emit.ts";
import { type InputFile, readDocuments, typeOf } from "./input.ts";
import { labelValue, STAGING_LABEL } from "./names.ts";
import { parseBack } from "./parse-back.ts";
import { type Finding, Findings } from "./report.ts";
import { compareViews, viewOf } from "./verify.ts";
import { type BgpV2Options, convertPolicy, nodeOverrides, Output, type PolicySource, reportOverlaps } from "./v1/convert.ts";

export type { BgpV2Options };

export const DEFAULT_BGP_V2_OPTIONS: BgpV2Options = { staging: false, stagingLabel: STAGING_LABEL, apiVersion: "cilium.io/v2" };

/** Kinds this migration reads; anything else is reported and skipped. */
const READS = new Set(["CiliumBGPPeeringPolicy", "Node", "CiliumNode", "CiliumLoadBalancerIPPool", "CiliumPodIPPool", "Service", "EndpointSlice", "Secret"]);
const V2_KINDS = new Set(["CiliumBGPClusterConfig", "CiliumBGPPeerConfig", "CiliumBGPAdvertisement", "CiliumBGPNodeConfigOverride", "CiliumBGPNodeConfig"]);

export interface MigrationResult {
  readonly documents: OutputDocument[];
  readonly findings: readonly Finding[];
  /** Comment lines for the top of the output. */
  readonly header: string[];
  /** What was read, typed. */
  readonly input: Resources;
  /** The output, parsed back. */
  readonly output: Resources;
  /** Nodes on which the control plane was run on both sides. */
  readonly verifiedNodes: string[];
}

export function migrateBgpV2(files: readonly InputFile[], options: Partial<BgpV2Options> = {}): MigrationResult {
  const opts = { ...DEFAULT_BGP_V2_OPTIONS, ...options };
  const findings = new Findings();
  const input = emptyResources();
  const sources: PolicySource[] = [];
  for (const doc of readDocuments(files, findings)) {
    const t = typeOf(doc);
    if (t && !READS.has(t.kind)) {
      const why = V2_KINDS.has(t.kind) ? "already in the v2 API: not converted (it is not part of the output)" : "not used by this migration: ignored";
      findings.add("warning", `${t.apiVersion} ${t.kind} is ${why}`, { location: doc.location, object: `${t.kind} ${t.name ?? ""}`.trim() });
      continue;
    }
    const r = parseResource(doc);
    for (const w of r.warnings) findings.add("warning", w.message, { location: w.location });
    if (r.status === "error") {
      for (const e of r.errors) findings.add("error", `${e.message}; skipped, the other documents are converted`, { location: e.location, field: e.field });
      continue;
    }
    if (r.status !== "ok") continue;
    addResource(input, r.resource);
    if (r.resource.kind === "CiliumBGPPeeringPolicy") sources.push({ policy: r.resource, where: formatLocation(r.location) });
  }
  sources.sort((a, b) => a.policy.metadata.name < b.policy.metadata.name ? -1 : 1);

  const out = new Output(opts.apiVersion);
  const report = (level: "gap" | "note" | "action" | "error", message: string, object?: string) => findings.add(level, message, { object });
  const converted: CiliumBGPPeeringPolicy[] = [];
  for (const src of sources) {
    if (convertPolicy(src, input, opts, out, report)) converted.push(src.policy);
  }
  reportOverlaps(sources.map((s) => s.policy), report);
  const overrides = nodeOverrides(converted, input, opts.apiVersion, report);
  const documents = [...out.advertDocs, ...out.peerConfigDocs, ...out.clusterDocs, ...overrides];

  const back = parseBack(documents);
  for (const e of back.errors) findings.add("error", `generated document does not validate (a bug in herald, please report it): ${e}`);

  if (sources.length === 0) findings.add("note", "no CiliumBGPPeeringPolicy in the input: nothing to convert");
  generalNotes(converted, input, opts, findings);
  const verifiedNodes = verify(input, back.resources, converted, opts, findings);

  const header = headerLines(title(converted, opts, verifiedNodes), findings.list);
  return { documents, findings: findings.list, header, input, output: back.resources, verifiedNodes };
}

function generalNotes(converted: readonly CiliumBGPPeeringPolicy[], input: Resources, opts: BgpV2Options, findings: Findings): void {
  if (converted.length === 0) return;
  findings.add("note", "while a CiliumBGPPeeringPolicy still selects a node it wins over v2 on that node (Cilium 1.16–1.18 and herald's default, H1); a node switches to v2, with one session reset, when the policy stops selecting it. Graceful restart on the routers keeps traffic flowing through that reset");
  findings.add("note", "ORIGIN is unchanged: enable-bgp-legacy-origin-attribute (herald: legacyOriginAttribute) applies to v1 and v2 alike (E4)");
  const usesNodeAnnotations = converted.some((p) => p.spec.virtualRouters.length > 0);
  if (input.nodes.length === 0 && usesNodeAnnotations) {
    findings.add("action", "no Node objects given: router-id/local-port annotations (cilium.io/bgp-virtual-router.<asn>) cannot be carried over and nothing was checked node by node; add `kubectl get nodes -o yaml` to the input");
  }
  if (opts.staging) {
    findings.add("note", `--staging: every CiliumBGPClusterConfig selects only nodes labelled ${opts.stagingLabel}=<policy name>, which no node has yet`);
  }
}

/** Runs the control plane on each Node with the v1 input and with the v2 output; differences become gaps. */
function verify(input: Resources, output: Resources, policies: readonly CiliumBGPPeeringPolicy[], opts: BgpV2Options, findings: Findings): string[] {
  if (policies.length === 0) return [];
  const v2Input: Resources = { ...input, peeringPolicies: [], ...pick(output) };
  const nodes: string[] = [];
  for (const node of input.nodes) {
    const labels = node.metadata.labels ?? {};
    const selecting = policies.filter((p) => matchesOrEverything(p.spec.nodeSelector, labels));
    if (selecting.length === 0) continue;
    const extra = opts.staging && selecting.length === 1 ? { [opts.stagingLabel]: labelValue(selecting[0].metadata.name) } : undefined;
    const before = desiredState({ resources: input, node: { name: node.metadata.name } });
    const after = desiredState({ resources: v2Input, node: { name: node.metadata.name, labels: extra } });
    const diffs = compareViews(viewOf(before), viewOf(after), { before: "v1", after: "the v2 output" });
    for (const d of diffs) findings.add("gap", d, { object: `Node ${node.metadata.name}` });
    nodes.push(node.metadata.name);
  }
  if (nodes.length > 0 && !findings.list.some((f) => f.level === "gap" && f.object?.startsWith("Node "))) {
    findings.add("note", `checked on ${nodes.length} node${nodes.length === 1 ? "" : "s"} (${nodes.join(", ")}): the v2 output gives the same sessions and the same routes with the same path attributes as v1`);
  }
  return nodes;
}

function pick(r: Resources): Partial<Resources> {
  return {
    clusterConfigs: r.clusterConfigs,
    peerConfigs: r.peerConfigs,
    advertisements: r.advertisements,
    nodeConfigOverrides: r.nodeConfigOverrides,
  };
}

function title(converted: readonly CiliumBGPPeeringPolicy[], opts: BgpV2Options, verified: readonly string[]): string[] {
  const lines = [
    "herald migrate bgp-v2: CiliumBGPPeeringPolicy (v1) → CiliumBGPClusterConfig, CiliumBGPPeerConfig,",
    "CiliumBGPAdvertisement, CiliumBGPNodeConfigOverride (v2)",
    `converted: ${converted.map((p) => p.metadata.name).join(", ") || "nothing"}${verified.length ? `; checked on nodes ${verified.join(", ")}` : ""}`,
  ];
  if (opts.staging && converted.length) {
    lines.push(
      "",
      "Rollout (the guide's migration, one node at a time):",
      "  1. kubectl apply -f this file: no node carries the staging label yet, so nothing changes.",
      `  2. kubectl label node <node> ${opts.stagingLabel}=<value>  (v1 still wins on that node, H1); <value> per policy:`,
      ...converted.map((p) => `       ${p.metadata.name}: ${labelValue(p.metadata.name)}`),
      "  3. make the CiliumBGPPeeringPolicy stop selecting that node (remove its label): the node switches to v2.",
      "  4. check: herald bgp peers; herald bgp routes advertised ipv4 unicast; herald migrate check.",
      "  5. repeat per node or batch; finally delete the CiliumBGPPeeringPolicy.",
    );
  }
  return lines;
}

/** The whole output as YAML text. */
export function renderMigration(result: MigrationResult): string {
  return renderYaml(result.documents, result.header);
}
