/**
 * The node's own CiliumBGPNodeConfig status (spec F), written by every
 * agent for its node:
 *
 * - per running instance `name`, `localASN`, and per configured peer with
 *   an address: `name`, `peerAddress`, `peerASN` (learned from the OPEN
 *   when configured 0), `peeringState` (Cilium's words), the negotiated
 *   `timers`, `establishedTime` (RFC 3339, only while established) and
 *   `routeCount` per negotiated family (F2);
 * - condition `cilium.io/BGPReconcileError`: True with one line
 *   `<instance>: <error>` per kept error (at most 32 KiB), False otherwise (F3);
 * - computed every 5 s ± 0.5 s and written only when it differs from what
 *   the API holds (F1), JSON patch `replace /status`, field manager
 *   `CiliumBGPNodeConfigStatusReconciler`; a failed write is retried at the
 *   next tick (F1's backoff is ×1.2 over 10 steps; the tick is close to that);
 * - `--enable-bgp-control-plane-status-report=false`: the status is
 *   replaced by an empty object once, then never written (F4).
 *
 * Not fenced by the Lease: each node owns its NodeConfig's status.
 */
import type { PeerStatus } from "../../bgp/status.ts";
import type { DesiredState } from "../../control/types.ts";
import type { CiliumBGPNodeConfig, CiliumBGPNodeStatus } from "../../control/schemas/node-config.ts";
import type { Condition } from "../../control/schemas/_common.ts";
import type { Logger } from "../../log.ts";
import type { KubeClient } from "../../source/kube/client.ts";
import { NODE_CONFIGS } from "../../source/kube/resources.ts";
import { formatTime } from "../../ipam/conditions.ts";
import { FIELD_MANAGER, mergeConditions, RecentWrites, replaceStatus } from "./status.ts";
import { type ClusterStore, stableJson } from "./store.ts";

export const CONDITION_RECONCILE_ERROR = "cilium.io/BGPReconcileError";
const MESSAGE_LIMIT = 32 * 1024;

/** herald's FSM state → Cilium's peeringState (spec §4). */
const STATE: Record<string, string> = {
  idle: "idle",
  connect: "connect",
  active: "active",
  opensent: "open_sent",
  openconfirm: "open_confirm",
  established: "established",
};

export interface NodeStatusOptions {
  client: KubeClient;
  store: ClusterStore;
  nodeName: string;
  /** F4: false ⇒ clear once, then never write. */
  enabled: boolean;
  state: () => DesiredState | null;
  peers: () => readonly PeerStatus[];
  errors: () => ReadonlyMap<string, readonly string[]>;
  /** F1: 5 s, ± jitter. */
  intervalMs?: number;
  jitterMs?: number;
  now?: () => Date;
  random?: () => number;
  log: Logger;
}

/** F2 + F3 from the desired state, the speaker's sessions and the kept errors. Pure. */
export function nodeConfigStatus(
  nc: CiliumBGPNodeConfig,
  state: DesiredState,
  peers: readonly PeerStatus[],
  errors: ReadonlyMap<string, readonly string[]>,
  now: () => Date,
): CiliumBGPNodeStatus {
  const running = new Map(peers.map((p) => [`${p.instance}\u0000${p.name}`, p]));
  // A v1 policy in force (H1) runs instead of this NodeConfig: none of its instances run.
  const instances = (state.api === "v2" ? state.instances : []).map((inst) => ({
    name: inst.name,
    localASN: inst.localASN,
    peers: inst.peers.map((peer) => {
      const s = running.get(`${inst.name}\u0000${peer.name}`);
      const out: Record<string, unknown> = {
        name: peer.name,
        peerAddress: peer.address,
        peerASN: s?.peerAsn ?? peer.peerASN,
        peeringState: s ? STATE[s.state] ?? "unknown" : "unknown",
      };
      if (s?.appliedHoldTimeSeconds !== undefined) {
        out.timers = { appliedHoldTimeSeconds: s.appliedHoldTimeSeconds, appliedKeepaliveSeconds: s.appliedKeepaliveSeconds };
      }
      if (s?.state === "established" && s.establishedAt !== undefined) out.establishedTime = formatTime(new Date(s.establishedAt));
      const negotiated = new Set(s?.negotiatedFamilies ?? []);
      const counts = (s?.families ?? []).filter((f) => negotiated.has(f.family)).map((f) => ({ afi: f.afi, safi: f.safi, received: f.received, advertised: f.advertised }));
      if (counts.length) out.routeCount = counts;
      return out;
    }),
  }));
  const lines: string[] = [];
  for (const [instance, list] of errors) for (const e of list) lines.push(`${instance}: ${e}\n`);
  let message = "";
  for (const l of lines) {
    if (message.length + l.length > MESSAGE_LIMIT) break;
    message += l;
  }
  const cond: Omit<Condition, "lastTransitionTime"> = lines.length
    ? { type: CONDITION_RECONCILE_ERROR, status: "True", reason: "BGPReconcileError", message }
    : { type: CONDITION_RECONCILE_ERROR, status: "False", reason: "BGPReconcileError", message: "" };
  if (nc.metadata.generation !== undefined) cond.observedGeneration = nc.metadata.generation;
  const conditions = mergeConditions(nc.status?.conditions, [cond], [CONDITION_RECONCILE_ERROR], now);
  return { bgpInstances: instances as CiliumBGPNodeStatus["bgpInstances"], conditions };
}

const canonical = (s: CiliumBGPNodeStatus | undefined) => {
  const { bgpInstances, conditions, ...rest } = s ?? {};
  return stableJson({ ...rest, ...(bgpInstances?.length ? { bgpInstances } : {}), ...(conditions?.length ? { conditions } : {}) });
};

export class NodeStatusReporter {
  readonly #o: NodeStatusOptions;
  readonly #now: () => Date;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | null = null;
  #stopped = false;
  #cleared = false;
  readonly #recent = new RecentWrites();
  readonly stats = { writes: 0, failures: 0, ticks: 0 };

  constructor(o: NodeStatusOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
  }

  start(): void {
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.tick().finally(() => {
        this.#running = null;
        const every = this.#o.intervalMs ?? 5000;
        const jitter = this.#o.jitterMs ?? 500;
        this.#schedule(every + jitter * (2 * (this.#o.random ?? Math.random)() - 1));
      });
    }, ms);
  }

  /** One round: compute, compare, write if different. Never throws. */
  async tick(): Promise<void> {
    this.stats.ticks++;
    const o = this.#o;
    const nc = o.store.get<CiliumBGPNodeConfig>("CiliumBGPNodeConfig", o.nodeName);
    if (!nc) return;
    let desired: CiliumBGPNodeStatus;
    if (!o.enabled) {
      // F4: cleared once, then left alone.
      if (this.#cleared) return;
      desired = {};
    } else {
      const state = o.state();
      if (!state) return;
      desired = nodeConfigStatus(nc, state, o.peers(), o.errors(), this.#now);
    }
    const text = canonical(desired);
    if (canonical(nc.status) === text) {
      if (!o.enabled) this.#cleared = true;
      return;
    }
    if (this.#recent.inFlight(o.nodeName, text, o.store.seenVersion("CiliumBGPNodeConfig", o.nodeName))) return;
    try {
      const r = await replaceStatus(o.client, NODE_CONFIGS, { name: o.nodeName }, nc.status !== undefined, desired, FIELD_MANAGER.nodeStatus, () => !this.#stopped);
      if (r.outcome === "written") {
        this.#recent.record(o.nodeName, text, r.resourceVersion);
        this.stats.writes++;
        if (!o.enabled) this.#cleared = true;
      }
    } catch (err) {
      this.stats.failures++;
      o.log.warn("Cannot write the CiliumBGPNodeConfig status, retrying at the next round", { node_config: o.nodeName, error: err as Error });
    }
  }
}
