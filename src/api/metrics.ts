/**
 * Prometheus metrics named and labelled as Cilium names them (spec
 * cli §7), on a private prom-client Registry (no global state, so tests and
 * several agents in one process never share series).
 *
 * - Agent (§7.1, baseline ≈1.20 label set): `cilium_bgp_control_plane_session_state`,
 *   `_advertised_routes`, `_received_routes` — gauges computed at scrape time
 *   from the speaker's snapshot (route gauges only while established, as the
 *   baseline collector); `_reconcile_errors_total` and
 *   `_reconcile_run_duration_seconds` (default buckets) per `instance_name`.
 * - The same BGP metrics with Cilium ≤1.18's label set (`pkg/bgpv1/metrics`,
 *   §7.1 "Earlier label sets"), for dashboards written against it, when the
 *   label set is `v1`: session_state `vrouter`, `neighbor`; route gauges
 *   `vrouter`, `neighbor`, `afi`, `safi`, emitted whatever the session state;
 *   reconcile metrics `vrouter`; `vrouter` is the instance's local ASN.
 * - Operator LB-IPAM (§7.2): `cilium_operator_lbipam_*` computed at scrape
 *   time from the allocator, plus the operator's BGP reconcile metrics for
 *   herald's own NodeConfig derivation.
 * - prom-client's default process metrics (CPU, memory, event loop, …).
 *
 * One deliberate difference: `cilium_operator_lbipam_conflicting_pools_total`
 * is the number of conflicting pools now, never negative (Cilium's counter
 * drifts below zero, §7.2 quirk).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { PeerStatus } from "../bgp/status.ts";
import type { PoolSummary, ServiceSummary } from "../ipam/mod.ts";

/** Which label names the agent's BGP metrics carry (spec cli §7.1). */
export const METRICS_LABEL_SETS = ["baseline", "v1"] as const;
export type MetricsLabelSet = typeof METRICS_LABEL_SETS[number];

export interface MetricsSources {
  /** The speaker's peers now (one entry per instance and peer). */
  peers(): readonly PeerStatus[];
  /** LB-IPAM now; null while it has not started. */
  pools(): readonly PoolSummary[] | null;
  services(): readonly ServiceSummary[] | null;
  /** An instance's local ASN (the `v1` label set's `vrouter`); undefined when unknown. */
  localAsn?(instance: string): number | undefined;
}

/** "ip:port", IPv6 bracketed (Go's netip.AddrPort). */
export function addrPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly labelSet: MetricsLabelSet;
  readonly reconcileErrors: Counter<string>;
  readonly reconcileDuration: Histogram<string>;
  readonly operatorReconcileErrors: Counter<"resource_kind" | "resource_name">;
  readonly operatorReconcileDuration: Histogram<string>;

  readonly #sources: MetricsSources;
  /** Last known local ASN per instance: a removed instance's errors still get its `vrouter`. */
  readonly #asns = new Map<string, number>();

  constructor(sources: MetricsSources, o: { processMetrics?: boolean; labelSet?: MetricsLabelSet } = {}) {
    const registers = [this.registry];
    this.#sources = sources;
    this.labelSet = o.labelSet ?? "baseline";
    const v1 = this.labelSet === "v1";
    // v1: Cilium ≤1.18 keyed routers by local ASN, so (vrouter, neighbor) was unique there;
    // two herald instances with one ASN peering with one neighbour share a series (the last wins).
    const peerLabels = v1 ? ["vrouter", "neighbor"] : ["instance_name", "local_asn", "neighbor", "neighbor_asn"];
    const routeLabels = [...peerLabels, "afi", "safi"];
    const base = (p: PeerStatus): Record<string, string> =>
      v1 ? { vrouter: String(p.localAsn), neighbor: addrPort(p.peerAddress, p.peerPort) } : {
        instance_name: p.instance,
        local_asn: String(p.localAsn),
        neighbor: addrPort(p.peerAddress, p.peerPort),
        neighbor_asn: String(p.peerAsn),
      };
    new Gauge({
      name: "cilium_bgp_control_plane_session_state",
      help: "Current state of the BGP session with the peer, Up = 1 or Down = 0",
      labelNames: peerLabels,
      registers,
      collect() {
        this.reset();
        for (const p of sources.peers()) this.set(base(p), p.state === "established" ? 1 : 0);
      },
    });
    const routes = (name: string, help: string, pick: (f: PeerStatus["families"][number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: routeLabels,
        registers,
        collect() {
          this.reset();
          for (const p of sources.peers()) {
            // The baseline collector reports routes of established sessions only; ≤1.18 of every peer.
            if (!v1 && p.state !== "established") continue;
            for (const f of p.families) this.set({ ...base(p), afi: f.afi, safi: f.safi }, pick(f));
          }
        },
      });
    routes("cilium_bgp_control_plane_advertised_routes", "Number of routes advertised to the peer", (f) => f.advertised);
    routes("cilium_bgp_control_plane_received_routes", "Number of routes received from the peer", (f) => f.received);
    this.reconcileErrors = new Counter({
      name: "cilium_bgp_control_plane_reconcile_errors_total",
      help: "The number of errors during reconciliation of BGP configuration",
      labelNames: [v1 ? "vrouter" : "instance_name"],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: "cilium_bgp_control_plane_reconcile_run_duration_seconds",
      help: "The duration of BGP reconciliation runs",
      labelNames: [v1 ? "vrouter" : "instance_name"],
      registers,
    });
    this.operatorReconcileErrors = new Counter({
      name: "cilium_operator_bgp_control_plane_reconcile_errors_total",
      help: "The number of errors during reconciliation of BGP configuration",
      labelNames: ["resource_kind", "resource_name"],
      registers,
    });
    this.operatorReconcileDuration = new Histogram({
      name: "cilium_operator_bgp_control_plane_reconcile_run_duration_seconds",
      help: "The duration of BGP reconciliation runs",
      registers,
    });

    new Gauge({
      name: "cilium_operator_lbipam_conflicting_pools_total",
      help: "The number of conflicting pools",
      registers,
      collect() {
        const pools = sources.pools();
        this.set(pools ? pools.filter((p) => p.conflict !== null).length : 0);
      },
    });
    const perPool = (name: string, help: string, pick: (p: PoolSummary) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["pool"],
        registers,
        collect() {
          this.reset(); // a deleted pool's series goes with it
          for (const p of sources.pools() ?? []) this.set({ pool: p.name }, pick(p));
        },
      });
    perPool("cilium_operator_lbipam_ips_available_total", "The number of IP addresses available in a given pool", (p) => Number(p.available));
    perPool("cilium_operator_lbipam_ips_used_total", "The number of IP addresses used in a given pool", (p) => p.used);
    new Gauge({
      name: "cilium_operator_lbipam_services_matching_total",
      help: "The number of services matching pools",
      registers,
      collect() {
        this.set(sources.services()?.length ?? 0);
      },
    });
    new Gauge({
      name: "cilium_operator_lbipam_services_unsatisfied_total",
      help: "The number of services which did not receive all requested IPs",
      registers,
      collect() {
        this.set((sources.services() ?? []).filter((s) => !s.satisfied).length);
      },
    });
    if (o.processMetrics ?? true) {
      try {
        collectDefaultMetrics({ register: this.registry });
      } catch {
        // A runtime without one of the process probes: the BGP metrics still work.
      }
    }
  }

  /** One failing reconcile step of `instance` (reconcile_errors_total). */
  reconcileError(instance: string): void {
    this.reconcileErrors.inc(this.#reconcileLabels(instance));
  }

  /** One reconcile run of `instance` took `seconds` (reconcile_run_duration_seconds). */
  reconcileRun(instance: string, seconds: number): void {
    this.reconcileDuration.observe(this.#reconcileLabels(instance), seconds);
  }

  #reconcileLabels(instance: string): Record<string, string> {
    if (this.labelSet === "baseline") return { instance_name: instance };
    const asn = this.#sources.localAsn?.(instance);
    if (asn !== undefined) this.#asns.set(instance, asn);
    // An instance never seen with an ASN (none configured): an empty vrouter rather than a lost count.
    return { vrouter: String(this.#asns.get(instance) ?? "") };
  }

  /** The exposition text and its content type. */
  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
