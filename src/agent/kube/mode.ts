/**
 * What the agent does differently in a cluster (`herald agent --kubeconfig`
 * or in-cluster): the Kubernetes source instead of a directory, no local
 * LB-IPAM state, the node's own CiliumBGPNodeConfig (C1) instead of a
 * locally derived one, and two more jobs:
 *
 * - every agent writes its NodeConfig's status (node-status.ts, F);
 * - the agents elect a leader with a coordination.k8s.io Lease; the leader
 *   does the cluster-wide work Cilium's operator does (leader.ts): LB-IPAM
 *   into Service and pool status, NodeConfigs, config conditions, Events.
 *
 * Routes on every node, the leader's included, follow what the API server
 * holds: a LoadBalancer address is announced once it is in the Service's
 * status (E13), whoever wrote it. A lost API connection changes nothing:
 * the informers keep their caches and the last known state stays announced
 * until the API answers again; relists are diffed (no "delete everything").
 */
import { clusterIPFamilies } from "../../control/mod.ts";
import type { PeerStatus } from "../../bgp/status.ts";
import type { ControlOptions, DesiredState, HostFacts } from "../../control/types.ts";
import type { LbIpam } from "../../ipam/mod.ts";
import type { Logger } from "../../log.ts";
import { KubeClient } from "../../source/kube/client.ts";
import { EventRecorder } from "../../source/kube/events.ts";
import { LeaderElector } from "../../source/kube/leader-election.ts";
import { KubeSource, READ_RESOURCES } from "../../source/kube/source.ts";
import type { SourceEvent } from "../../source/types.ts";
import { KubeIssues } from "./issues.ts";
import { LeaderDuties } from "./leader.ts";
import { NodeStatusReporter } from "./node-status.ts";
import { ClusterStore } from "./store.ts";

export interface KubeAgentOptions {
  /** A kubeconfig file; absent: in-cluster (service account). */
  kubeconfig?: string;
  /** A ready client instead (tests). */
  client?: KubeClient;
  leaseNamespace: string;
  leaseName: string;
  /** client-go / Cilium operator defaults: 15 s, 10 s, 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** F4 / B7: write status and conditions (default true). */
  statusReport?: boolean;
  /** F1: NodeConfig status period (default 5000 ms, ± 500 ms). */
  nodeStatusIntervalMs?: number;
  /** Informer retry cap after API errors (default 10 s). */
  maxBackoffMs?: number;
}

export interface KubeModeContext {
  nodeName: string;
  control: Partial<ControlOptions>;
  logger: Logger;
}

/** What the mode needs from the running agent once it has started. */
export interface AgentPorts {
  state: () => DesiredState | null;
  peers: () => readonly PeerStatus[];
  errors: () => ReadonlyMap<string, readonly string[]>;
  host: () => HostFacts | undefined;
}

export class KubeMode {
  readonly client: KubeClient;
  readonly source: KubeSource;
  readonly store = new ClusterStore();
  readonly issues: KubeIssues;
  readonly leader: LeaderDuties;
  readonly elector: LeaderElector;
  readonly #o: KubeAgentOptions;
  readonly #ctx: KubeModeContext;
  readonly #log: Logger;
  readonly #events: EventRecorder;
  #status: NodeStatusReporter | null = null;
  #ports: AgentPorts | null = null;

  constructor(o: KubeAgentOptions, ctx: KubeModeContext) {
    this.#o = o;
    this.#ctx = ctx;
    this.#log = ctx.logger.child({ subsys: "k8s" });
    this.client = o.client ?? KubeClient.load({ kubeconfig: o.kubeconfig });
    const secretsNamespace = this.secretsNamespace;
    this.source = new KubeSource({
      client: this.client,
      secretsNamespace,
      log: ctx.logger,
      informer: { backoff: { initialMs: 500, maxMs: o.maxBackoffMs ?? 10_000 } },
    });
    this.issues = new KubeIssues(this.#log);
    this.elector = new LeaderElector({
      client: this.client,
      namespace: o.leaseNamespace,
      name: o.leaseName,
      identity: ctx.nodeName,
      leaseDurationMs: o.leaseDurationMs,
      renewDeadlineMs: o.renewDeadlineMs,
      retryPeriodMs: o.retryPeriodMs,
      log: ctx.logger,
      onStartedLeading: () => this.leader.start(),
      onStoppedLeading: () => this.leader.stop(),
      onNewLeader: (id) => this.#log.info("Leader observed", { leader: id ?? "none", lease: `${o.leaseNamespace}/${o.leaseName}` }),
    });
    this.#events = new EventRecorder({
      client: this.client,
      controller: "herald.io/agent",
      instance: `herald-${ctx.nodeName}`,
      fence: () => this.elector.isLeader(),
      log: ctx.logger,
    });
    this.leader = new LeaderDuties({
      client: this.client,
      store: this.store,
      watched: () => READ_RESOURCES.filter((r) => this.source.watching.includes(r.kind)),
      secretsNamespace,
      isLeader: () => this.elector.isLeader(),
      events: this.#events,
      control: {
        routerIDAllocationMode: ctx.control.routerIDAllocationMode ?? "default",
        routerIDAllocationIPPool: ctx.control.routerIDAllocationIPPool ?? "",
        statusReport: this.statusReport,
        bgpSecretsNamespace: secretsNamespace,
      },
      lbIpam: () => this.#families(),
      log: this.#log,
    });
  }

  get statusReport(): boolean {
    return this.#o.statusReport ?? true;
  }

  get secretsNamespace(): string {
    return this.#ctx.control.bgpSecretsNamespace || "kube-system";
  }

  /** Control options this mode implies: the node runs its own NodeConfig (C1). */
  controlOptions(): Partial<ControlOptions> {
    return { ...this.#ctx.control, nodeConfigSource: "resource", statusReport: this.statusReport, bgpSecretsNamespace: this.secretsNamespace };
  }

  /** Where the agent's first log line says it reads from. */
  describe(): Record<string, string> {
    return { api_server: this.client.server, lease: `${this.#o.leaseNamespace}/${this.#o.leaseName}` };
  }

  /** The cluster's IP families for LB-IPAM (I8): the flag, else this node's addresses. */
  #families(): { ipv4: boolean; ipv6: boolean } {
    const f = clusterIPFamilies({ resources: this.store.resources(), node: { name: this.#ctx.nodeName }, host: this.#ports?.host(), options: this.#ctx.control });
    return { ipv4: f.ipv4, ipv6: f.ipv6 };
  }

  /** Takes a batch as the source delivered it into the store; returns the events the control engine needs. */
  take(events: readonly SourceEvent[]): SourceEvent[] {
    return this.store.apply(events);
  }

  /** After control took the batch: the leader follows it (`relevant`: what `take()` kept). */
  afterBatch(raw: readonly SourceEvent[], relevant: readonly SourceEvent[]): void {
    this.leader.apply(raw, relevant);
  }

  /** The agent runs (first reconcile done): status reports and the election begin. */
  start(ports: AgentPorts): void {
    this.#ports = ports;
    this.#status = new NodeStatusReporter({
      client: this.client,
      store: this.store,
      nodeName: this.#ctx.nodeName,
      enabled: this.statusReport,
      state: ports.state,
      peers: ports.peers,
      errors: ports.errors,
      intervalMs: this.#o.nodeStatusIntervalMs,
      log: this.#log,
    });
    this.#status.start();
    this.elector.start();
  }

  /** LB-IPAM's engine while this agent leads. */
  engine(): LbIpam | null {
    return this.leader.engine;
  }

  /**
   * Shutdown: stop writing, give the Lease up (the next leader need not
   * wait a lease duration), stop watching. Routes stay (C7).
   */
  async stop(): Promise<void> {
    this.leader.stop();
    await this.#status?.stop();
    await this.elector.stop({ release: true });
  }
}
