/**
 * AgentMetrics' two label sets (spec cli §7.1): the baseline (≈1.20) set and
 * Cilium ≤1.18's `vrouter` set (`--metrics-label-set v1`), as exact
 * exposition lines from a fixed speaker snapshot.
 */
import { describe, expect, it } from "vitest";
import { AgentMetrics, type MetricsLabelSet, type MetricsSources } from "../../src/api/metrics.ts";
import type { FamilyStatus, PeerStatus } from "../../src/bgp/status.ts";

const family = (afi: string, advertised: number, received: number): FamilyStatus => ({
  family: `${afi}/unicast`,
  afi,
  safi: "unicast",
  received,
  accepted: 0,
  advertised,
});

/** Only the fields the metrics read; the rest of a PeerStatus does not matter here. */
const peer = (p: Pick<PeerStatus, "instance" | "localAsn" | "peerAsn" | "peerAddress" | "peerPort" | "state" | "families">) =>
  p as PeerStatus;

const peers: PeerStatus[] = [
  peer({
    instance: "main",
    localAsn: 65001,
    peerAsn: 65000,
    peerAddress: "10.0.0.1",
    peerPort: 179,
    state: "established",
    families: [family("ipv4", 3, 2), family("ipv6", 1, 0)],
  }),
  peer({
    instance: "main",
    localAsn: 65001,
    peerAsn: 65002,
    peerAddress: "fd00::2",
    peerPort: 1790,
    state: "active",
    families: [family("ipv4", 0, 0)],
  }),
];

function metrics(labelSet?: MetricsLabelSet, asns: Record<string, number> = { main: 65001 }) {
  const sources: MetricsSources = {
    peers: () => peers,
    pools: () => null,
    services: () => null,
    localAsn: (instance) => asns[instance],
  };
  return new AgentMetrics(sources, { processMetrics: false, ...(labelSet ? { labelSet } : {}) });
}

/** The exposition lines of one metric family (samples only, no HELP/TYPE). */
async function samples(m: AgentMetrics, name: string): Promise<string[]> {
  const { body } = await m.text();
  return body.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe("AgentMetrics label sets (spec cli §7.1)", () => {
  it("baseline (the default): instance_name, local_asn, neighbor, neighbor_asn; routes of established sessions only", async () => {
    const m = metrics();
    expect(m.labelSet).toBe("baseline");
    m.reconcileError("main");
    m.reconcileError("main");
    m.reconcileRun("main", 0.02);
    expect(await samples(m, "cilium_bgp_control_plane_session_state")).toEqual([
      'cilium_bgp_control_plane_session_state{instance_name="main",local_asn="65001",neighbor="10.0.0.1:179",neighbor_asn="65000"} 1',
      'cilium_bgp_control_plane_session_state{instance_name="main",local_asn="65001",neighbor="[fd00::2]:1790",neighbor_asn="65002"} 0',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_advertised_routes")).toEqual([
      'cilium_bgp_control_plane_advertised_routes{instance_name="main",local_asn="65001",neighbor="10.0.0.1:179",neighbor_asn="65000",afi="ipv4",safi="unicast"} 3',
      'cilium_bgp_control_plane_advertised_routes{instance_name="main",local_asn="65001",neighbor="10.0.0.1:179",neighbor_asn="65000",afi="ipv6",safi="unicast"} 1',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_received_routes")).toEqual([
      'cilium_bgp_control_plane_received_routes{instance_name="main",local_asn="65001",neighbor="10.0.0.1:179",neighbor_asn="65000",afi="ipv4",safi="unicast"} 2',
      'cilium_bgp_control_plane_received_routes{instance_name="main",local_asn="65001",neighbor="10.0.0.1:179",neighbor_asn="65000",afi="ipv6",safi="unicast"} 0',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_reconcile_errors_total")).toEqual([
      'cilium_bgp_control_plane_reconcile_errors_total{instance_name="main"} 2',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_reconcile_run_duration_seconds_count")).toEqual([
      'cilium_bgp_control_plane_reconcile_run_duration_seconds_count{instance_name="main"} 1',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_reconcile_run_duration_seconds_sum")).toEqual([
      'cilium_bgp_control_plane_reconcile_run_duration_seconds_sum{instance_name="main"} 0.02',
    ]);
    expect((await m.text()).body).not.toContain("vrouter");
  });

  it("v1: vrouter (local ASN) and neighbor; routes per family of every peer, established or not; reconcile metrics by vrouter", async () => {
    const m = metrics("v1");
    expect(m.labelSet).toBe("v1");
    m.reconcileError("main");
    m.reconcileError("main");
    m.reconcileRun("main", 0.02);
    expect(await samples(m, "cilium_bgp_control_plane_session_state")).toEqual([
      'cilium_bgp_control_plane_session_state{vrouter="65001",neighbor="10.0.0.1:179"} 1',
      'cilium_bgp_control_plane_session_state{vrouter="65001",neighbor="[fd00::2]:1790"} 0',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_advertised_routes")).toEqual([
      'cilium_bgp_control_plane_advertised_routes{vrouter="65001",neighbor="10.0.0.1:179",afi="ipv4",safi="unicast"} 3',
      'cilium_bgp_control_plane_advertised_routes{vrouter="65001",neighbor="10.0.0.1:179",afi="ipv6",safi="unicast"} 1',
      'cilium_bgp_control_plane_advertised_routes{vrouter="65001",neighbor="[fd00::2]:1790",afi="ipv4",safi="unicast"} 0',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_received_routes")).toEqual([
      'cilium_bgp_control_plane_received_routes{vrouter="65001",neighbor="10.0.0.1:179",afi="ipv4",safi="unicast"} 2',
      'cilium_bgp_control_plane_received_routes{vrouter="65001",neighbor="10.0.0.1:179",afi="ipv6",safi="unicast"} 0',
      'cilium_bgp_control_plane_received_routes{vrouter="65001",neighbor="[fd00::2]:1790",afi="ipv4",safi="unicast"} 0',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_reconcile_errors_total")).toEqual([
      'cilium_bgp_control_plane_reconcile_errors_total{vrouter="65001"} 2',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_reconcile_run_duration_seconds_count")).toEqual([
      'cilium_bgp_control_plane_reconcile_run_duration_seconds_count{vrouter="65001"} 1',
    ]);
    expect(await samples(m, "cilium_bgp_control_plane_reconcile_run_duration_seconds_sum")).toEqual([
      'cilium_bgp_control_plane_reconcile_run_duration_seconds_sum{vrouter="65001"} 0.02',
    ]);
    const { body } = await m.text();
    expect(body).toContain('cilium_bgp_control_plane_reconcile_run_duration_seconds_bucket{le="0.025",vrouter="65001"} 1');
    for (const gone of ["instance_name", "local_asn", "neighbor_asn"]) expect(body).not.toContain(gone);
  });

  it("v1: a removed instance's reconcile errors keep the vrouter last known for it", async () => {
    const asns: Record<string, number> = { main: 65001, edge: 65100 };
    const m = metrics("v1", asns);
    m.reconcileRun("edge", 0.01);
    delete asns.edge; // the instance left the desired state; removing it from the speaker failed
    m.reconcileError("edge");
    expect(await samples(m, "cilium_bgp_control_plane_reconcile_errors_total")).toEqual([
      'cilium_bgp_control_plane_reconcile_errors_total{vrouter="65100"} 1',
    ]);
  });
});
