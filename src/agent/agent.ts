/**
 * The node agent: a directory of manifests (or the Kubernetes API, see
 * src/agent/kube) in, BGP sessions, LoadBalancer IPs, the eBPF service map
 * and a status API out.
 *
 * Kubernetes mode (`kube` option) differs in a few places, all through
 * `KubeMode`: the source is the API server; LB-IPAM is not run locally but
 * by the elected leader, into Service status, so Services reach control
 * with the status the API holds; the node runs its own CiliumBGPNodeConfig
 * (C1); after the first reconcile the node starts reporting its
 * NodeConfig status and campaigning for the Lease.
 *
 * Start-up, in order (each step needs the one before):
 * 1. state directory, restart marker (restart-marker.ts), the API listener
 *    (/healthz answers at once, /readyz says "starting");
 * 2. host facts (`ip -j`), the datapath (or the reason it is off);
 * 3. the file source's first, complete batch → LB-IPAM (opens the state
 *    file: a damaged one stops the agent with its message) → the control
 *    engine and the datapath's first sync;
 * 4. the first reconcile pass — only now, after the datapath's first sync,
 *    is any route announced (spec A2); then /readyz turns ready.
 *
 * Afterwards every source batch goes LB-IPAM → control → a route delta for
 * the reconciler, and the coalescer runs a pass at once or, within 100 ms
 * of the last one, once at the end of that window (E20). Host facts are
 * re-read periodically; a change rebuilds the desired state (D4, D11, E11).
 *
 * `stop()` is the graceful-restart shutdown (C7): sessions are closed
 * without NOTIFICATION, the datapath's maps stay pinned and attached, the
 * LB-IPAM state is flushed. Peers keep the routes as stale until the next
 * start re-advertises them with the R bit and sends End-of-RIB.
 */
import { mkdir, stat } from "node:fs/promises";
import { Speaker } from "../bgp/speaker.ts";
import type { BgpTransport } from "../bgp/transport.ts";
import { netTransport } from "../bgp/transport.ts";
import { explain, parseDocument, parseResource, routePolicies } from "../control/mod.ts";
import type { ControlDelta, ControlOptions, DesiredState, HostFacts, NodeIdentity } from "../control/mod.ts";
import type { Datapath } from "../datapath/mod.ts";
import { defaultRouteDevices, openDatapath } from "../datapath/mod.ts";
import { FileModeLbIpam } from "../ipam/mod.ts";
import type { Logger } from "../log.ts";
import type { ManifestDocument } from "../source/manifest.ts";
import { FileSource } from "../source/file-source.ts";
import type { ParsedDocument, ResourceSource, SourceEvent } from "../source/types.ts";
import { type LbIpam, POOL_CONFLICT, POOL_INVALID, POOL_IPS_AVAILABLE, POOL_IPS_TOTAL, POOL_IPS_USED, SERVICE_CONDITION } from "../ipam/mod.ts";
import type { CiliumLoadBalancerIPPool } from "../control/schemas/lb-ip-pool.ts";
import { VERSION } from "../version.ts";
import { type AgentView, createApi } from "../api/app.ts";
import { bgpRoutePolicies } from "../api/convert.ts";
import { AgentMetrics, type MetricsLabelSet } from "../api/metrics.ts";
import type { AgentStatus, ManifestIssueView, PoolView, ServiceView } from "../api/schemas.ts";
import { type ApiServer, serve } from "../api/serve.ts";
import { Coalescer } from "./coalescer.ts";
// Type only: Kubernetes mode (and @kubernetes/client-node, ~70 MiB resident) is loaded by start() when asked for.
import type { KubeAgentOptions, KubeMode } from "./kube/mode.ts";
import { gatherHostFacts } from "./host-facts.ts";
import { ManifestIssues } from "./manifest-issues.ts";
import { Reconciler } from "./reconciler.ts";
import { familiesFor, ResourceFlow } from "./resources.ts";
import { readMarker, removeMarker, writeMarker } from "./restart-marker.ts";

export interface AgentOptions {
  /** File mode: the manifests to run. Exactly one of `configDir` and `kube`. */
  configDir?: string;
  /** Kubernetes mode: the API server, the Lease, status reporting. */
  kube?: KubeAgentOptions;
  nodeName: string;
  /** Extra node labels over the Node object's (as `plan --node-labels`). */
  nodeLabels?: Record<string, string>;
  /** Status API address; null: no API. */
  api: { host: string; port: number } | null;
  /** LB-IPAM state file and the restart marker live here. */
  stateDir: string;
  datapath: { enabled: false } | { enabled: true; pinDir?: string; devices?: string[] };
  control: Partial<ControlOptions>;
  logger: Logger;
  /** Address instances with a localPort listen on (C5). Default 0.0.0.0. */
  bgpListenAddress?: string;
  /** "auto": TTL/GTSM/TCP-MD5 sockets through libc, else node:net. */
  transport?: "auto" | "net" | "sockopt" | BgpTransport;
  /** Minimum time between reconcile passes (E20). Default 100 ms. */
  reconcileIntervalMs?: number;
  /** Quiet time before a burst of file events is read. Default 10 ms. */
  sourceDebounceMs?: number;
  /** How often host facts are re-read; 0 = never. Default 10 s. */
  hostFactsIntervalMs?: number;
  /** Host facts instead of `ip -j` (tests, hosts without iproute2). */
  hostFacts?: () => Promise<HostFacts>;
  /** Idle hold after a session error, seconds (spec D7: 5). */
  idleHoldSeconds?: number;
  /** Registers prom-client's process metrics (default true). */
  processMetrics?: boolean;
  /** BGP metric labels: "baseline" (≈1.20, default) or "v1" (≤1.18's `vrouter` set, spec cli §7.1). */
  metricsLabelSet?: MetricsLabelSet;
}

type Health = "starting" | "ok" | "stopping";

/** The registry's parse, with kinds herald does not read marked as ignored (not errors): the file source's `parse`. */
export function parseForSource(doc: ManifestDocument): ParsedDocument {
  const r = parseDocument(doc);
  if (!r.ok && r.kind === undefined && parseResource(doc).status === "ignored") return { ...r, ignored: true };
  return r;
}

const C9_RETRIES = 5;

/** An agent that does not lead: the pools as the leader's status says (I14). */
function poolsFromStatus(kube: KubeMode): PoolView[] {
  return kube.store.list<CiliumLoadBalancerIPPool>("CiliumLoadBalancerIPPool").map((p) => {
    const conditions = (p.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason ?? "",
      message: c.message ?? "",
      lastTransitionTime: c.lastTransitionTime ?? "",
    }));
    const count = (type: string) => Number(conditions.find((c) => c.type === type)?.message ?? 0) || 0;
    const conflict = conditions.find((c) => c.type === POOL_CONFLICT)?.status === "True";
    const invalid = conditions.find((c) => c.type === POOL_INVALID && c.status === "True");
    return {
      name: p.metadata.name,
      total: count(POOL_IPS_TOTAL),
      available: count(POOL_IPS_AVAILABLE),
      used: count(POOL_IPS_USED),
      disabled: p.spec.disabled === true,
      conflict,
      conflictDetail: null,
      errors: invalid ? [invalid.message] : [],
      conditions,
    };
  }).sort((a, b) => a.name.localeCompare(b.name));
}

export class Agent {
  readonly #o: AgentOptions;
  readonly #log: Logger;
  #issues: { apply(events: readonly SourceEvent[]): void; list(): ManifestIssueView[] };
  /** Kubernetes mode once start() has loaded it, else null. */
  #kube: KubeMode | null = null;
  readonly metrics: AgentMetrics;
  #health: Health = "starting";
  readonly #startedAt = new Date();
  #api: ApiServer | null = null;
  #source: ResourceSource | null = null;
  #ipam: FileModeLbIpam | null = null;
  #flow: ResourceFlow | null = null;
  #datapath: Datapath | null = null;
  #datapathReason: string | undefined;
  #speaker: Speaker | null = null;
  #reconciler: Reconciler | null = null;
  #coalescer: Coalescer | null = null;
  #hostTimer: ReturnType<typeof setInterval> | undefined;
  #hostJson = "";
  #host: HostFacts | undefined;
  #queued: SourceEvent[][] = [];
  #restarted = false;
  #markerWritten = false;
  #retries = 0;
  #passes = 0;
  #lastPass: { at: Date; ms: number } | null = null;
  #stopping: Promise<void> | null = null;
  #starting: Promise<void> | null = null;

  constructor(o: AgentOptions) {
    this.#o = o;
    this.#log = o.logger.child({ subsys: "bgp-control-plane" });
    if ((o.configDir === undefined) === (o.kube === undefined)) {
      throw new TypeError("Cannot create the agent: give exactly one of configDir (file mode) and kube (Kubernetes mode)");
    }
    this.#issues = new ManifestIssues(o.logger.child({ subsys: "manifests" }));
    this.metrics = new AgentMetrics({
      peers: () => this.#speaker?.peers() ?? [],
      pools: () => this.#engine()?.pools() ?? null,
      services: () => this.#engine()?.services() ?? null,
      localAsn: (instance) =>
        this.#state()?.instances.find((i) => i.name === instance)?.localASN ??
          this.#speaker?.peers().find((p) => p.instance === instance)?.localAsn,
    }, { processMetrics: o.processMetrics, labelSet: o.metricsLabelSet });
    this.view = this.#makeView();
  }

  /** The API's view of this agent. */
  readonly view: AgentView;

  #makeView(): AgentView {
    return {
      node: () => this.#o.nodeName,
      health: () => this.#health,
      peers: () => this.#speaker?.peers() ?? [],
      instances: () => {
        const running = new Set(this.#speaker?.instances() ?? []);
        return (this.#state()?.instances ?? []).filter((i) => running.has(i.name)).map((i) => ({ name: i.name, localASN: i.localASN }));
      },
      advertised: (instance, peer, family) => this.#speaker?.advertised(instance, peer, family) ?? [],
      locRib: (instance, family) => this.#speaker?.locRib(instance, family) ?? [],
      routePolicies: () => {
        const state = this.#state();
        return state ? bgpRoutePolicies(routePolicies(state), state.instances) : [];
      },
      explain: (query) => {
        const flow = this.#flow;
        if (!flow) return { node: this.#o.nodeName, query, notes: [{ rule: "", text: "the agent is starting" }], verdicts: [] };
        const e = explain(flow.engine.input(), query, flow.engine.state());
        return JSON.parse(JSON.stringify(e));
      },
      services: () => this.#services(),
      pools: () => this.#pools(),
      status: () => this.#status(),
      metrics: this.metrics,
    };
  }

  #state(): DesiredState | null {
    return this.#flow?.engine.state() ?? null;
  }

  /** LB-IPAM's engine: the local one (file mode), the leader's (Kubernetes mode, while leading), else null. */
  #engine(): LbIpam | null {
    return this.#ipam?.engine ?? this.#kube?.engine() ?? null;
  }

  /** Kubernetes mode's parts (tests, benchmarks); null in file mode and before start(). */
  get kube(): KubeMode | null {
    return this.#kube;
  }

  /** Starts everything; resolves after the first reconcile (ready). Rejects with the reason it cannot run. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#o;
    if (o.kube) {
      // File mode never loads the Kubernetes client: most of an idle agent's memory otherwise.
      const { KubeMode } = await import("./kube/mode.ts");
      this.#kube = new KubeMode(o.kube, { nodeName: o.nodeName, control: o.control, logger: o.logger });
      this.#issues = this.#kube.issues;
    }
    const kube = this.#kube;
    this.#log.info("Starting herald agent", { node: o.nodeName, ...(kube ? kube.describe() : { config_dir: o.configDir }), version: VERSION });
    if (o.configDir !== undefined) {
      try {
        if (!(await stat(o.configDir)).isDirectory()) throw new Error("not a directory");
      } catch (err) {
        throw new Error(
          `Cannot read --config-dir "${o.configDir}": ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (err as Error).message}`,
        );
      }
    }
    try {
      await mkdir(o.stateDir, { recursive: true });
    } catch (err) {
      throw new Error(`Cannot create --state-dir "${o.stateDir}": ${(err as Error).message}`);
    }
    this.#restarted = (await readMarker(o.stateDir)) !== null;
    this.#markerWritten = this.#restarted;

    if (o.api) {
      this.#api = await serve(createApi(this.view).fetch, o.api.host, o.api.port);
      this.#log.info("Serving the status API", { address: `${o.api.host.includes(":") ? `[${o.api.host}]` : o.api.host}:${this.#api.port}` });
    }

    const host = await this.#readHostFacts();
    this.#host = host;
    this.#hostJson = JSON.stringify(host ?? null);

    if (o.datapath.enabled) {
      // Without --devices: where clients' traffic arrives on a typical node, the default-route devices.
      const devices = o.datapath.devices ?? defaultRouteDevices();
      const dp = openDatapath({ pinDir: o.datapath.pinDir, devices, nodeName: o.nodeName, log: o.logger.child({ subsys: "datapath" }) });
      if (dp.ok) {
        this.#datapath = dp.datapath;
        if (devices.length === 0) this.#log.warn("The datapath has no device to attach to: no default route and no --devices; maps only");
        else this.#log.info("Datapath attached", { devices: devices.join(","), pin_dir: dp.datapath.pinDir });
      } else this.#datapathReason = dp.reason;
    } else {
      this.#datapathReason = "disabled with --no-datapath";
    }
    if (!this.#datapath) this.#log.warn("Running BGP without the datapath", { reason: this.#datapathReason });

    const node: NodeIdentity = { name: o.nodeName, labels: o.nodeLabels };
    const control = kube ? kube.controlOptions() : o.control;
    this.#source = kube
      ? kube.source
      : new FileSource(o.configDir!, { parse: parseForSource, debounceMs: o.sourceDebounceMs ?? 10, reportFiles: true });
    if (kube) this.#log.info("Waiting for the API server's first full list");
    await this.#source.start((events) => this.#onBatch(events));
    if (this.#stopRequested()) return; // stop() while waiting for the API server
    const raw = this.#queued.shift() ?? [];
    this.#issues.apply(raw);
    const first = kube ? kube.take(raw) : raw;

    if (!kube) {
      const families = familiesFor(first, { node, options: o.control, host });
      this.#ipam = new FileModeLbIpam({ stateDir: o.stateDir, ipv4: families.ipv4, ipv6: families.ipv6, logger: o.logger });
      await this.#ipam.open(); // StateFileError: the agent stops with its message
    }
    const t0 = performance.now();
    this.#flow = new ResourceFlow(first, this.#ipam, this.#datapath, { node, options: control, host, logger: this.#log });
    this.metrics.operatorReconcileDuration.observe((performance.now() - t0) / 1000);
    this.#logState("Loaded configuration");

    this.#speaker = new Speaker({ logger: o.logger, transport: await this.#transport(), idleHoldSeconds: o.idleHoldSeconds });
    this.#speaker.subscribe((e) => {
      if (e.type === "state" && e.state === "established" && !this.#markerWritten) {
        this.#markerWritten = true;
        writeMarker(o.stateDir, { node: o.nodeName, pid: process.pid, since: new Date().toISOString() })
          .catch((err) => this.#log.error("Cannot write the restart marker", { dir: o.stateDir, error: err as Error }));
      }
    });
    this.#reconciler = new Reconciler({
      speaker: this.#speaker,
      logger: this.#log,
      listenAddress: o.bgpListenAddress,
      restarting: this.#restarted,
      onError: (instance) => this.metrics.reconcileError(instance),
      onDuration: (instance, seconds) => this.metrics.reconcileRun(instance, seconds),
    });
    if (this.#restarted) this.#log.info("Restarting: graceful-restart peers may hold this node's routes; OPENs carry the R bit until each session is up");

    // A2: the datapath has had its first sync (ResourceFlow did it); routes may go out now.
    this.#coalescer = new Coalescer(() => this.#pass(), {
      intervalMs: o.reconcileIntervalMs ?? 100,
      onError: (err) => this.#log.error("Reconcile pass failed", { error: err as Error }),
    });
    await this.#pass();
    if (this.#health === "stopping") return;
    for (const batch of this.#queued.splice(0)) this.#applyBatch(batch);
    this.#health = "ok";
    this.#log.info("Cilium BGP Control Plane Controller now running...", { node: o.nodeName });
    kube?.start({
      state: () => this.#state(),
      peers: () => this.#speaker?.peers() ?? [],
      errors: () => this.#reconciler?.errors() ?? new Map(),
      host: () => this.#host,
    });

    const every = o.hostFactsIntervalMs ?? 10_000;
    if (every > 0) this.#hostTimer = setInterval(() => void this.#refreshHostFacts(), every);
  }

  #stopRequested(): boolean {
    return this.#health === "stopping";
  }

  async #transport(): Promise<BgpTransport> {
    const t = this.#o.transport ?? "auto";
    if (typeof t === "object") return t;
    if (t === "net") return netTransport;
    try {
      const { createSockoptTransport } = await import("../runtime/sockopt-transport.ts");
      return createSockoptTransport();
    } catch (err) {
      if (t === "sockopt") throw err;
      this.#log.warn("Using plain sockets: no TTL, GTSM or TCP-MD5", { reason: (err as Error).message });
      return netTransport;
    }
  }

  async #readHostFacts(): Promise<HostFacts | undefined> {
    try {
      return await (this.#o.hostFacts ?? gatherHostFacts)();
    } catch (err) {
      this.#log.warn("Cannot read host facts: default-gateway discovery, sourceInterface and Interface advertisements see no interfaces", {
        error: err as Error,
      });
      return undefined;
    }
  }

  async #refreshHostFacts(): Promise<void> {
    if (this.#health !== "ok" || !this.#flow) return;
    const host = await this.#readHostFacts();
    const json = JSON.stringify(host ?? null);
    if (!host || json === this.#hostJson || this.#health !== "ok") return;
    this.#hostJson = json;
    this.#host = host;
    this.#log.info("Host interfaces or default routes changed");
    this.#push(this.#flow.setHostFacts(host));
  }

  #onBatch(events: SourceEvent[]): void {
    if (this.#health === "stopping") return;
    if (this.#health === "starting") {
      this.#queued.push(events);
      return;
    }
    this.#applyBatch(events);
  }

  #applyBatch(raw: SourceEvent[]): void {
    let events = raw;
    try {
      this.#issues.apply(raw);
      if (this.#kube) events = this.#kube.take(raw);
      const t0 = performance.now();
      const { delta } = this.#flow!.apply(events);
      if (delta.rebuilt) {
        this.metrics.operatorReconcileDuration.observe((performance.now() - t0) / 1000);
        this.#logState("Configuration changed", delta);
      }
      this.#push(delta);
      this.#log.debug("Applied manifest changes", { events: events.length, route_changes: delta.routes.length, ms: Math.round((performance.now() - t0) * 100) / 100 });
    } catch (err) {
      this.#log.error("Cannot apply manifest changes", { error: err as Error });
    }
    try {
      this.#kube?.afterBatch(raw, events);
    } catch (err) {
      this.#log.error("Cannot apply changes to the cluster-wide work", { error: err as Error });
    }
  }

  #push(delta: ControlDelta): void {
    this.#reconciler!.push(delta);
    this.#coalescer!.trigger();
  }

  #logState(msg: string, delta?: ControlDelta): void {
    const s = this.#flow!.engine.state();
    const fields: Record<string, unknown> = { api: s.api, instances: s.instances.length, peers: s.instances.reduce((n, i) => n + i.peers.length, 0) };
    if (delta) {
      fields.instance_changes = delta.plan.instances.length;
      fields.peer_changes = delta.plan.peers.length;
      fields.route_changes = delta.routes.length;
    }
    this.#log.info(msg, fields);
    for (const i of s.issues) (i.level === "error" ? this.#log.error : this.#log.warn)(i.message, { rule: i.rule, instance: i.instance, peer: i.peer });
  }

  async #pass(): Promise<void> {
    if (!this.#flow || !this.#reconciler || this.#health === "stopping") return;
    const t0 = performance.now();
    const state = this.#flow.engine.state();
    const r = await this.#reconciler.run(state);
    this.#passes++;
    this.#lastPass = { at: new Date(), ms: performance.now() - t0 };
    this.#log.debug("Reconciled", { route_changes: r.routeChanges, full_syncs: r.fullSyncs, ms: Math.round(this.#lastPass.ms * 100) / 100 });
    if (state.instances.length === 0 && this.#markerWritten) {
      // Every instance is gone, so every peer got a Cease: nothing is held any more.
      this.#markerWritten = false;
      await removeMarker(this.#o.stateDir).catch(() => {});
    }
    const failed = [...r.errors.values()].some((e) => e.length > 0);
    if (failed && this.#retries < C9_RETRIES) {
      // C9: retry with backoff from 0.5 s, doubling; later changes trigger passes anyway.
      this.#coalescer?.retry(500 * 2 ** this.#retries++);
    } else if (!failed) {
      this.#retries = 0;
    }
  }

  /** Every Service of type LoadBalancer, with LB-IPAM's view of it where it serves it. */
  #services(): ServiceView[] {
    const flow = this.#flow;
    const engine = this.#engine();
    if (!flow || (!this.#ipam && !this.#kube)) return [];
    const served = new Map((engine?.services() ?? []).map((s) => [s.key, s]));
    const out: ServiceView[] = [];
    for (const svc of flow.services()) {
      if (svc.spec.type !== "LoadBalancer") continue;
      const namespace = svc.metadata.namespace ?? "default";
      const s = served.get(`${namespace}/${svc.metadata.name}`);
      const ips = s?.ips ?? (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
      // In a cluster, an agent that does not lead reads the leader's condition from the Service.
      const written = !s && this.#kube ? svc.status?.conditions?.find((x) => x.type === SERVICE_CONDITION) : undefined;
      const c = s?.condition ?? (written && {
        type: written.type,
        status: written.status,
        reason: written.reason ?? "",
        message: written.message ?? "",
        lastTransitionTime: written.lastTransitionTime ?? "",
      });
      out.push({
        namespace,
        name: svc.metadata.name,
        type: svc.spec.type,
        loadBalancerClass: svc.spec.loadBalancerClass ?? null,
        ips,
        satisfied: s ? s.satisfied : written ? written.status === "True" : ips.length > 0,
        condition: c ? { type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: c.lastTransitionTime } : null,
      });
    }
    return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }

  #pools(): PoolView[] {
    const engine = this.#engine();
    if (!engine) return this.#kube ? poolsFromStatus(this.#kube) : [];
    return engine.pools().map((p) => ({
      name: p.name,
      total: Number(p.total),
      available: Number(p.available),
      used: p.used,
      disabled: p.disabled,
      conflict: p.conflict !== null,
      conflictDetail: p.conflict ? { range: p.conflict.range, otherRange: p.conflict.otherRange, otherPool: p.conflict.otherPool } : null,
      errors: [...p.errors],
      conditions: (engine.poolStatus(p.name)?.conditions ?? []).map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastTransitionTime: c.lastTransitionTime,
      })),
    }));
  }

  #status(): AgentStatus {
    const state = this.#state();
    const peers = this.#speaker?.peers() ?? [];
    const errors = this.#reconciler?.errors() ?? new Map<string, readonly string[]>();
    return {
      node: this.#o.nodeName,
      version: VERSION,
      runtime: "Deno" in globalThis ? "deno" : "node",
      startedAt: this.#startedAt.toISOString(),
      ready: this.#health === "ok",
      api: state?.api ?? "none",
      restarted: this.#restarted,
      datapath: {
        enabled: this.#datapath !== null,
        ...(this.#datapathReason ? { reason: this.#datapathReason } : {}),
        synced: this.#flow !== null && this.#datapath !== null,
        ...(this.#datapath ? { frontends: this.#datapath.stats().frontends } : {}),
      },
      instances: (state?.instances ?? []).map((i) => {
        const mine = peers.filter((p) => p.instance === i.name);
        return {
          name: i.name,
          localASN: i.localASN,
          routerID: i.routerID,
          listenPort: i.localPort,
          peers: mine.length,
          established: mine.filter((p) => p.state === "established").length,
          errors: [...(errors.get(i.name) ?? i.errors)],
        };
      }),
      issues: (state?.issues ?? []).map((i) => ({
        level: i.level,
        rule: i.rule,
        message: i.message,
        ...(i.instance ? { instance: i.instance } : {}),
        ...(i.peer ? { peer: i.peer } : {}),
      })),
      manifests: this.#issues.list(),
      reconcile: {
        runs: this.#passes,
        lastRunAt: this.#lastPass?.at.toISOString() ?? null,
        lastDurationMs: this.#lastPass ? Math.round(this.#lastPass.ms * 1000) / 1000 : null,
      },
    };
  }

  /** Resolves when no reconcile pass is pending (tests, benchmarks). */
  async settled(): Promise<void> {
    await this.#coalescer?.idle();
  }

  /** The port the API listens on (useful with port 0). */
  get apiPort(): number | null {
    return this.#api?.port ?? null;
  }

  /**
   * The graceful-restart shutdown (C7): no NOTIFICATION, routes stay with
   * graceful-restart peers, datapath maps stay pinned, LB-IPAM state flushed.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasStarting = this.#health === "starting";
    this.#health = "stopping";
    // Let a start in progress finish (or fail) so that nothing it creates is left running.
    if (wasStarting) {
      // A start still waiting for the API server gives up.
      await this.#kube?.source.stop();
      await this.#starting?.catch(() => {});
    }
    clearInterval(this.#hostTimer);
    this.#log.info("Stopping: sessions close without NOTIFICATION so graceful-restart peers keep the routes (C7)");
    // Kubernetes mode: no more writes, the Lease released for the next leader.
    await this.#kube?.stop();
    await this.#source?.stop();
    await this.#coalescer?.stop();
    await this.#speaker?.close({ notify: false });
    try {
      await this.#ipam?.close();
    } catch (err) {
      this.#log.error("Cannot save LB-IPAM state", { error: err as Error });
    }
    this.#datapath?.close();
    await this.#api?.close();
    this.#log.info("Stopped");
  }
}
