/**
 * `herald agent --config-dir DIR [flags]` (file mode) or
 * `herald agent --kubeconfig PATH [flags]` / in a pod (Kubernetes mode):
 * runs the node agent (src/agent) until SIGTERM or SIGINT, then shuts down
 * the graceful-restart way (spec C7: no NOTIFICATION, routes stay with
 * graceful-restart peers). A second signal during shutdown exits at once.
 *
 * Kubernetes mode is chosen by `--kubeconfig`, or when neither flag is
 * given and KUBERNETES_SERVICE_HOST is set (the service account's
 * in-cluster configuration). The node name then defaults to $NODE_NAME.
 *
 * Control options mirror Cilium's agent flags and `herald plan`'s; the
 * Lease flags mirror Cilium operator's `--leader-election-*`.
 */
import { hostname } from "node:os";
import process from "node:process";
import { Agent, type AgentOptions } from "../agent/agent.ts";
import type { ControlOptions } from "../control/types.ts";
import { canonicalIP } from "../net/ip.ts";
import { createLogger, type LogFormat, type LogLevel } from "../log.ts";
import { hostPortFlag, parseFlags, UsageError } from "./args.ts";
import { METRICS_LABEL_SETS } from "../api/metrics.ts";
import type { KubeAgentOptions } from "../agent/kube/mode.ts";

export const AGENT_USAGE = `Usage: herald agent --config-dir DIR [flags]
       herald agent --kubeconfig PATH [flags]   (in a pod: neither, in-cluster configuration)

  --config-dir DIR              manifests to run (every .yaml/.yml, watched)
  --kubeconfig PATH             read and write the cluster's resources through the Kubernetes API
  --node-name NAME              this node (default: $NODE_NAME in Kubernetes mode, else the hostname,
                                lowercased as kubelet does)
  --node-labels k=v[,k=v]       labels over those of the Node object
  --api HOST:PORT               status API (default 127.0.0.1:9234; loopback unless told otherwise)
  --state-dir DIR               LB-IPAM state and restart marker (default /var/lib/herald)
  --bpf-pin-dir DIR             eBPF service maps (default /sys/fs/bpf/herald)
  --devices IF[,IF]             devices for the datapath (default: those with a default route)
  --no-datapath                 run BGP and LB-IPAM without the eBPF datapath
  --log-format logfmt|json      (default logfmt)
  --log-level debug|info|warn|error
  --metrics-label-set baseline|v1
                                BGP metric labels: baseline (instance_name, local_asn, neighbor, neighbor_asn;
                                default) or v1 (Cilium <= 1.18: vrouter = local ASN, neighbor; routes of every peer)
  --bgp-listen-address ADDR     where instances with localPort listen (default 0.0.0.0)
  --ip-families ipv4|ipv6|dual  cluster IP families (default: from the node's addresses)
  --v2-only                     ignore CiliumBGPPeeringPolicy (Cilium ≥ 1.19 behaviour)
  --ipam-mode MODE              Cilium ipam mode (PodCIDR adverts need kubernetes or cluster-pool)
  --bgp-secrets-namespace NS    where authSecretRef Secrets live (default kube-system)
  --legacy-origin-attribute     ORIGIN INCOMPLETE for LoadBalancer IP routes
  --no-service-endpoints-routable true|false
  --router-id-allocation-mode default|ip-pool
  --router-id-allocation-ip-pool CIDR
  --router-id-interface IF      interface whose MAC gives the router ID without IPv4

Kubernetes mode:
  --lease-namespace NS          namespace of the leader-election Lease (default: $POD_NAMESPACE, else herald)
  --lease-name NAME             the Lease (default herald-operator)
  --leader-election-lease-duration D   a silent leader is replaced after this (default 15s)
  --leader-election-renew-deadline D   a leader that cannot renew this long stops writing (default 10s)
  --leader-election-retry-period D     between attempts (default 2s)
  --enable-bgp-control-plane-status-report true|false
                                NodeConfig status and config conditions (default true, F4)`;

/** "15s", "500ms", "1m", "2.5s" → milliseconds. */
function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$/.exec(value.trim());
  const ms = m ? Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[m[2] as "ms" | "s" | "m"] : NaN;
  if (!m || !(ms > 0)) throw new UsageError(`--${flag} must be a positive duration such as "15s" or "500ms": current value is "${value}"`);
  return Math.round(ms);
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UsageError(`--${flag} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}: current value is "${value}"`);
  return value as T;
}

function labelsFlag(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const part of text.split(",").filter((p) => p.trim() !== "")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new UsageError(`--node-labels must be key=value[,key=value]: current value is "${text}"`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function nonEmpty(flag: string, value: string | undefined, form: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "") throw new UsageError(`--${flag} must be ${form}: current value is ""`);
  return value;
}

/** Flags → AgentOptions (without the logger); throws UsageError naming the flag. */
export function agentOptions(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Omit<AgentOptions, "logger"> & { logFormat: LogFormat; logLevel: LogLevel } {
  const { values, positionals } = parseFlags(argv, {
    "config-dir": { type: "string" },
    kubeconfig: { type: "string" },
    "lease-namespace": { type: "string" },
    "lease-name": { type: "string" },
    "leader-election-lease-duration": { type: "string" },
    "leader-election-renew-deadline": { type: "string" },
    "leader-election-retry-period": { type: "string" },
    "enable-bgp-control-plane-status-report": { type: "string" },
    "node-name": { type: "string" },
    "node-labels": { type: "string" },
    api: { type: "string" },
    "state-dir": { type: "string" },
    "bpf-pin-dir": { type: "string" },
    devices: { type: "string" },
    "no-datapath": { type: "boolean" },
    "log-format": { type: "string" },
    "log-level": { type: "string" },
    "metrics-label-set": { type: "string" },
    "bgp-listen-address": { type: "string" },
    "ip-families": { type: "string" },
    "v2-only": { type: "boolean" },
    "ipam-mode": { type: "string" },
    "bgp-secrets-namespace": { type: "string" },
    "legacy-origin-attribute": { type: "boolean" },
    "no-service-endpoints-routable": { type: "string" },
    "router-id-allocation-mode": { type: "string" },
    "router-id-allocation-ip-pool": { type: "string" },
    "router-id-interface": { type: "string" },
    help: { type: "boolean", short: "h" },
  }, true);
  if (values.help) throw new UsageError(AGENT_USAGE);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}": herald agent takes flags only`);
  const configDir = nonEmpty("config-dir", values["config-dir"], "a directory of manifests");
  const kubeconfig = nonEmpty("kubeconfig", values.kubeconfig, "a kubeconfig file");
  if (configDir !== undefined && kubeconfig !== undefined) {
    throw new UsageError("--config-dir and --kubeconfig exclude each other: manifests from a directory, or resources from a cluster");
  }
  const inCluster = configDir === undefined && kubeconfig === undefined && !!env.KUBERNETES_SERVICE_HOST;
  if (!configDir && !kubeconfig && !inCluster) {
    throw new UsageError("--config-dir DIR is required outside a cluster: herald agent --config-dir DIR, or herald agent --kubeconfig PATH");
  }
  const kubeMode = configDir === undefined;
  const kubeOnly = ["lease-namespace", "lease-name", "leader-election-lease-duration", "leader-election-renew-deadline", "leader-election-retry-period", "enable-bgp-control-plane-status-report"] as const;
  for (const f of kubeOnly) {
    if (!kubeMode && values[f] !== undefined) throw new UsageError(`--${f} applies to Kubernetes mode only: drop it or use --kubeconfig instead of --config-dir`);
  }
  const nodeName = nonEmpty("node-name", values["node-name"], "a node name") ??
    (kubeMode && env.NODE_NAME ? env.NODE_NAME : hostname().toLowerCase());
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName) || nodeName.length > 253) {
    throw new UsageError(`--node-name must be a DNS subdomain name (lowercase letters, digits, "-" and "."): current value is "${nodeName}"`);
  }
  let api: AgentOptions["api"] = { host: "127.0.0.1", port: 9234 };
  if (values.api !== undefined) {
    const hp = hostPortFlag("api", values.api);
    const host = canonicalIP(hp.host);
    if (host === null && hp.host !== "localhost") throw new UsageError(`--api must be HOST:PORT with an IP address as HOST (IPv6 as [addr]:port): current value is "${values.api}"`);
    api = { host: host ?? "127.0.0.1", port: hp.port };
  }
  if (values["no-datapath"] && values["bpf-pin-dir"] !== undefined) {
    throw new UsageError("--no-datapath and --bpf-pin-dir exclude each other: give one of them");
  }
  if (values["no-datapath"] && values.devices !== undefined) {
    throw new UsageError("--no-datapath and --devices exclude each other: --devices names the datapath's interfaces");
  }
  const pinDir = nonEmpty("bpf-pin-dir", values["bpf-pin-dir"], "a directory on a BPF file system");
  if (pinDir !== undefined && /\.[^/]*$/.test(pinDir.split("/").pop() ?? "")) {
    throw new UsageError(`--bpf-pin-dir must not contain a dot in its last component (bpffs refuses such names): current value is "${pinDir}"`);
  }
  const devices = values.devices?.split(",").map((d) => d.trim()).filter(Boolean);
  if (values.devices !== undefined && devices!.length === 0) throw new UsageError(`--devices must be IF[,IF]: current value is "${values.devices}"`);
  const listen = values["bgp-listen-address"];
  if (listen !== undefined && canonicalIP(listen) === null) {
    throw new UsageError(`--bgp-listen-address must be an IP address: current value is "${listen}"`);
  }
  const control: Partial<ControlOptions> = {
    ipFamilies: oneOf("ip-families", values["ip-families"], ["ipv4", "ipv6", "dual"] as const) ?? null,
    v2Only: values["v2-only"] ?? false,
    legacyOriginAttribute: values["legacy-origin-attribute"] ?? false,
  };
  if (values["ipam-mode"] !== undefined) control.ipamMode = nonEmpty("ipam-mode", values["ipam-mode"], "a Cilium ipam mode (e.g. \"kubernetes\")")!;
  if (values["bgp-secrets-namespace"] !== undefined) control.bgpSecretsNamespace = values["bgp-secrets-namespace"];
  const routable = oneOf("no-service-endpoints-routable", values["no-service-endpoints-routable"], ["true", "false"] as const);
  if (routable !== undefined) control.noServiceEndpointsRoutable = routable === "true";
  const mode = oneOf("router-id-allocation-mode", values["router-id-allocation-mode"], ["default", "ip-pool"] as const);
  if (mode) control.routerIDAllocationMode = mode;
  if (values["router-id-allocation-ip-pool"] !== undefined) control.routerIDAllocationIPPool = values["router-id-allocation-ip-pool"];
  if (values["router-id-interface"] !== undefined) control.routerIDInterface = nonEmpty("router-id-interface", values["router-id-interface"], "an interface name")!;
  let kube: KubeAgentOptions | undefined;
  if (kubeMode) {
    const statusReport = oneOf("enable-bgp-control-plane-status-report", values["enable-bgp-control-plane-status-report"], ["true", "false"] as const);
    const leaseDurationMs = durationFlag("leader-election-lease-duration", values["leader-election-lease-duration"]) ?? 15_000;
    const renewDeadlineMs = durationFlag("leader-election-renew-deadline", values["leader-election-renew-deadline"]) ?? Math.min(10_000, Math.round(leaseDurationMs * 2 / 3));
    const retryPeriodMs = durationFlag("leader-election-retry-period", values["leader-election-retry-period"]) ?? Math.min(2_000, Math.round(renewDeadlineMs / 2));
    if (renewDeadlineMs >= leaseDurationMs) {
      throw new UsageError(`--leader-election-renew-deadline must be shorter than --leader-election-lease-duration: current values are ${renewDeadlineMs} ms and ${leaseDurationMs} ms`);
    }
    if (retryPeriodMs >= renewDeadlineMs) {
      throw new UsageError(`--leader-election-retry-period must be shorter than --leader-election-renew-deadline: current values are ${retryPeriodMs} ms and ${renewDeadlineMs} ms`);
    }
    kube = {
      kubeconfig,
      leaseNamespace: nonEmpty("lease-namespace", values["lease-namespace"], "a namespace") ?? (env.POD_NAMESPACE || "herald"),
      leaseName: nonEmpty("lease-name", values["lease-name"], "a Lease name") ?? "herald-operator",
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      statusReport: statusReport === undefined ? true : statusReport === "true",
    };
  }
  return {
    ...(kube ? { kube } : { configDir }),
    nodeName,
    nodeLabels: labelsFlag(values["node-labels"]),
    api,
    stateDir: nonEmpty("state-dir", values["state-dir"], "a directory") ?? "/var/lib/herald",
    datapath: values["no-datapath"] ? { enabled: false } : { enabled: true, pinDir, devices },
    control,
    bgpListenAddress: listen === undefined ? undefined : canonicalIP(listen)!,
    logFormat: oneOf("log-format", values["log-format"], ["logfmt", "json"] as const) ?? "logfmt",
    logLevel: oneOf("log-level", values["log-level"], ["debug", "info", "warn", "error"] as const) ?? "info",
    metricsLabelSet: oneOf("metrics-label-set", values["metrics-label-set"], METRICS_LABEL_SETS) ?? "baseline",
  };
}

export async function agentCommand(argv: string[]): Promise<number> {
  const o = agentOptions(argv);
  const logger = createLogger({ format: o.logFormat, level: o.logLevel });
  let agent: Agent;
  try {
    agent = new Agent({ ...o, logger });
  } catch (err) {
    // Options that contradict each other (a kubeconfig that cannot be read fails in start()).
    console.error(`herald agent: ${(err as Error).message}`);
    return 1;
  }
  let signals = 0;
  let stopRequested: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const onSignal = (sig: string) => {
    signals++;
    if (signals > 1) {
      logger.warn("Second signal: exiting without waiting", { signal: sig });
      process.exit(130);
    }
    logger.info("Signal received, shutting down", { signal: sig });
    stopRequested();
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  try {
    await Promise.race([agent.start(), stopped]);
  } catch (err) {
    logger.error("Cannot run the agent", { error: err as Error });
    console.error(`herald agent: ${(err as Error).message}`);
    await agent.stop().catch(() => {});
    return 1;
  }
  await stopped;
  await agent.stop();
  return 0;
}
