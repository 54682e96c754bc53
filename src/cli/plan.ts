/**
 * `herald plan --config-dir DIR --node-name NAME [-o json]`: the offline dry
 * run. From manifests alone it shows what NAME would run: instances, peers
 * with their effective settings, per peer and family each prefix with its
 * attributes, the LB-IPAM result and every warning. LB-IPAM runs first so
 * that allocated LoadBalancer IPs are advertised.
 *
 * The `-o json` shape is fixed (scripts and tests depend on it); see
 * `PlanJson`. The readable form is compact tables.
 */
import { readFile } from "node:fs/promises";
import { parseFlags, UsageError } from "./args.ts";
import { tabwrite } from "./tabwriter.ts";
import { readManifestFiles } from "./validate.ts";
import { formatCommunity } from "../control/attributes.ts";
import { desiredState, wireLocalPreference } from "../control/desired.ts";
import { loadManifests } from "../control/load.ts";
import { clusterIPFamilies } from "../control/model.ts";
import type { ControlOptions, DesiredState, HostFacts, RouteFamily } from "../control/types.ts";
import { planAllocations } from "../ipam/mod.ts";
import { parsePrefix } from "../net/ip.ts";

export interface PlanRouteJson {
  family: RouteFamily;
  prefix: string;
  communities: string[];
  largeCommunities: string[];
  /** What goes on the wire: null towards eBGP peers (E8). */
  localPreference: number | null;
}

export interface PlanPeerJson {
  name: string;
  peerAddress: string;
  peerASN: number;
  holdTimeSeconds: number;
  keepAliveTimeSeconds: number;
  gracefulRestart: { enabled: boolean; restartTimeSeconds: number };
  ebgpMultihop: number;
  families: string[];
  routes: PlanRouteJson[];
}

export interface PlanJson {
  node: string;
  instances: Array<{ name: string; localASN: number; routerID: string; localPort: number | null; peers: PlanPeerJson[] }>;
  services: Array<{ namespace: string; name: string; ips: string[]; condition: { status: string; reason: string } | null }>;
  pools: Array<{ name: string; total: number; available: number; used: number; conflict: boolean }>;
  warnings: string[];
  errors: string[];
}

export interface PlanInput {
  files: ReadonlyArray<{ file: string; text: string }>;
  nodeName: string;
  nodeLabels?: Record<string, string>;
  host?: HostFacts;
  options?: Partial<ControlOptions>;
}

export interface PlanResult {
  json: PlanJson;
  state: DesiredState;
}

/** Address order, then length: "10.9.0.0/16" before "10.10.0.0/16". */
function comparePrefix(a: string, b: string): number {
  const x = parsePrefix(a);
  const y = parsePrefix(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.family !== y.family) return x.family - y.family;
  if (x.addr !== y.addr) return x.addr < y.addr ? -1 : 1;
  return x.len - y.len;
}

const compareLarge = (a: string, b: string) => {
  const x = a.split(":").map(Number);
  const y = b.split(":").map(Number);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

/** The whole plan, pure: manifest texts in, the fixed JSON shape out. */
export function planNode(input: PlanInput): PlanResult {
  const load = loadManifests(input.files);
  const node = { name: input.nodeName, labels: input.nodeLabels };
  const families = clusterIPFamilies({ resources: load.resources, node, host: input.host, options: input.options });
  const ipam = planAllocations(load.resources.lbIPPools, load.resources.services, { ipv4: families.ipv4, ipv6: families.ipv6 });
  const resources = { ...load.resources, services: ipam.servicesWithStatus };
  const state = desiredState({ resources, node, host: input.host, options: input.options });

  const warnings = [
    ...load.issues.filter((i) => i.level === "warning").map((i) => i.message),
    ...ipam.warnings,
    ...state.issues.filter((i) => i.level === "warning").map((i) => `${i.message} (${i.rule})`),
  ];
  const errors = [
    ...load.issues.filter((i) => i.level === "error").map((i) => i.message),
    ...ipam.errors,
    ...state.issues.filter((i) => i.level === "error").map((i) => `${i.message} (${i.rule})`),
  ];
  const json: PlanJson = {
    node: input.nodeName,
    instances: state.instances.map((inst) => ({
      name: inst.name,
      localASN: inst.localASN,
      routerID: inst.routerID,
      localPort: inst.localPort,
      peers: inst.peers.map((p) => ({
        name: p.name,
        peerAddress: p.address,
        peerASN: p.peerASN,
        holdTimeSeconds: p.timers.holdTimeSeconds,
        keepAliveTimeSeconds: p.timers.keepAliveTimeSeconds,
        gracefulRestart: { ...p.gracefulRestart },
        ebgpMultihop: p.ebgpMultihop,
        families: [...p.families],
        routes: [...p.routes].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0).flatMap(([family, table]) =>
          [...table.values()].sort((a, b) => comparePrefix(a.prefix, b.prefix)).map((r) => ({
            family,
            prefix: r.prefix,
            communities: [...r.communities].sort((a, b) => a - b).map(formatCommunity),
            largeCommunities: [...r.largeCommunities].sort(compareLarge),
            localPreference: wireLocalPreference(r, p),
          }))
        ),
      })),
    })),
    services: ipam.services.map((s) => ({
      namespace: s.namespace,
      name: s.name,
      ips: [...s.ips],
      condition: s.condition ? { status: s.condition.status, reason: s.condition.reason } : null,
    })),
    pools: ipam.pools.map((p) => ({ ...p })),
    warnings,
    errors,
  };
  return { json, state };
}

/** The readable form: compact tables. */
export function formatPlan({ json, state }: PlanResult): string {
  const out: string[] = [];
  const api = state.api === "v2"
    ? `v2, CiliumBGPClusterConfig ${state.clusterConfig ?? "?"}`
    : state.api === "v1"
    ? `v1, CiliumBGPPeeringPolicy ${state.peeringPolicy ?? "(conflict)"}`
    : "no BGP configuration selects it";
  const fam = [state.ipFamilies.ipv4 && "ipv4", state.ipFamilies.ipv6 && "ipv6"].filter(Boolean).join("+");
  out.push(`Node ${json.node} (${api}); cluster IP families ${fam} (${state.ipFamilies.source})`);
  for (const inst of state.instances) {
    out.push("");
    out.push(`Instance ${inst.name}: AS ${inst.localASN}, router ID ${inst.routerID} (${inst.routerIDDetail}), ${inst.localPort === null ? "not listening" : `listening on ${inst.localPort}`}`);
    if (inst.peers.length === 0) {
      out.push("  no peers");
      continue;
    }
    const rows = ["  Peer\tAddress\tAS\tHold/Keepalive\tGR\tMultihop\tPeerConfig\tFamilies"];
    for (const p of inst.peers) {
      const addr = `${p.address}${p.peerPort !== 179 ? `:${p.peerPort}` : ""}${p.addressSource === "autoDiscovery" ? " (gateway)" : ""}`;
      rows.push(`  ${p.name}\t${addr}\t${p.peerASN || "any"}\t${p.timers.holdTimeSeconds}/${p.timers.keepAliveTimeSeconds}\t` +
        `${p.gracefulRestart.enabled ? `${p.gracefulRestart.restartTimeSeconds}s` : "off"}\t${p.ebgpMultihop > 1 ? p.ebgpMultihop : "off"}\t` +
        `${p.peerConfig ?? (state.api === "v1" ? "-" : "(defaults)")}\t${p.families.join(" ")}`);
    }
    out.push(tabwrite(rows.join("\n")));
    for (const p of json.instances.find((i) => i.name === inst.name)!.peers) {
      out.push("");
      if (p.routes.length === 0) {
        out.push(`  Routes to ${p.name}: none`);
        continue;
      }
      out.push(`  Routes to ${p.name}:`);
      const r = ["    Prefix\tCommunities\tLarge\tLocalPref"];
      for (const route of p.routes) {
        r.push(`    ${route.prefix}\t${route.communities.join(" ") || "-"}\t${route.largeCommunities.join(" ") || "-"}\t${route.localPreference ?? "-"}`);
      }
      out.push(tabwrite(r.join("\n")));
    }
  }
  if (json.services.length) {
    out.push("", "LoadBalancer Services:");
    const rows = ["  Service\tIPs\tCondition"];
    for (const s of json.services) {
      rows.push(`  ${s.namespace}/${s.name}\t${s.ips.join(" ") || "-"}\t${s.condition ? `${s.condition.status} ${s.condition.reason}` : "-"}`);
    }
    out.push(tabwrite(rows.join("\n")));
  }
  if (json.pools.length) {
    out.push("", "LoadBalancer IP pools:");
    const rows = ["  Pool\tTotal\tUsed\tAvailable\tConflict"];
    for (const p of json.pools) rows.push(`  ${p.name}\t${p.total}\t${p.used}\t${p.available}\t${p.conflict ? "yes" : "no"}`);
    out.push(tabwrite(rows.join("\n")));
  }
  for (const [title, list] of [["Warnings", json.warnings], ["Errors", json.errors]] as const) {
    if (list.length === 0) continue;
    out.push("", `${title}:`);
    for (const w of list) out.push(`  ${w}`);
  }
  return out.join("\n");
}

function parseLabels(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const part of text.split(",").filter((p) => p.trim() !== "")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new UsageError(`--node-labels must be key=value[,key=value]: current value is "${text}"`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function oneOfFlag<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) {
    throw new UsageError(`--${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}: current value is "${value}"`);
  }
  return value as T;
}

export async function planCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    "config-dir": { type: "string" },
    "node-name": { type: "string" },
    output: { type: "string", short: "o" },
    "ip-families": { type: "string" },
    "v2-only": { type: "boolean" },
    "node-labels": { type: "string" },
    "ipam-mode": { type: "string" },
    "bgp-secrets-namespace": { type: "string" },
    "legacy-origin-attribute": { type: "boolean" },
    "no-service-endpoints-routable": { type: "string" },
    "router-id-allocation-mode": { type: "string" },
    "router-id-allocation-ip-pool": { type: "string" },
    "router-id-interface": { type: "string" },
    "host-facts": { type: "string" },
  }, false);
  const dir = values["config-dir"];
  const nodeName = values["node-name"];
  if (!dir) throw new UsageError("--config-dir is required: herald plan --config-dir DIR --node-name NAME");
  if (!nodeName) throw new UsageError("--node-name is required: herald plan --config-dir DIR --node-name NAME");
  const output = oneOfFlag("output", values.output, ["json"] as const);
  const routable = oneOfFlag("no-service-endpoints-routable", values["no-service-endpoints-routable"], ["true", "false"] as const);
  const options: Partial<ControlOptions> = {
    ipFamilies: oneOfFlag("ip-families", values["ip-families"], ["ipv4", "ipv6", "dual"] as const) ?? null,
    v2Only: values["v2-only"] ?? false,
    legacyOriginAttribute: values["legacy-origin-attribute"] ?? false,
  };
  if (values["ipam-mode"] !== undefined) options.ipamMode = values["ipam-mode"];
  if (values["bgp-secrets-namespace"] !== undefined) options.bgpSecretsNamespace = values["bgp-secrets-namespace"];
  if (routable !== undefined) options.noServiceEndpointsRoutable = routable === "true";
  const mode = oneOfFlag("router-id-allocation-mode", values["router-id-allocation-mode"], ["default", "ip-pool"] as const);
  if (mode) options.routerIDAllocationMode = mode;
  if (values["router-id-allocation-ip-pool"] !== undefined) options.routerIDAllocationIPPool = values["router-id-allocation-ip-pool"];
  if (values["router-id-interface"] !== undefined) options.routerIDInterface = values["router-id-interface"];
  let host: HostFacts | undefined;
  if (values["host-facts"] !== undefined) {
    try {
      host = JSON.parse(await readFile(values["host-facts"], "utf8")) as HostFacts;
    } catch (err) {
      throw new UsageError(`Cannot read --host-facts "${values["host-facts"]}": ${(err as Error).message}`);
    }
  }
  const files = await readManifestFiles([dir]);
  const result = planNode({ files, nodeName, nodeLabels: parseLabels(values["node-labels"]), host, options });
  console.log(output === "json" ? JSON.stringify(result.json, null, 2) : formatPlan(result));
  return result.json.errors.length > 0 ? 1 : 0;
}
