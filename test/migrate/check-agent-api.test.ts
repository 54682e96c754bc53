/**
 * `herald migrate check` against herald's real agent API (`createApi`, Cilium's
 * REST models for peers and routes), fed by a view of the control plane's
 * desired state for the converted MetalLB configuration: the check reads what
 * the agent actually serves.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type AgentView, createApi } from "../../src/api/app.ts";
import type { AgentMetrics } from "../../src/api/metrics.ts";
import type { ServiceView } from "../../src/api/schemas.ts";
import type { PeerStatus, RouteEntry } from "../../src/bgp/status.ts";
import { desiredState } from "../../src/control/desired.ts";
import { explain } from "../../src/control/explain.ts";
import { emptyResources, type Resources } from "../../src/control/types.ts";
import { planAllocations } from "../../src/ipam/mod.ts";
import { runCheck } from "../../src/migrate/check.ts";
import { migrateMetalLB } from "../../src/migrate/metallb.ts";

const DIR = fileURLToPath(new URL("./fixtures/metallb/", import.meta.url));
const read = (name: string) => ({ file: name, text: readFileSync(`${DIR}${name}`, "utf8") });

function view(node: string, opts: { down?: string; unsent?: string } = {}): AgentView {
  const r = migrateMetalLB([read("crds.yaml"), read("cluster.yaml"), read("team-a.yaml")]);
  const services = r.model.services.map((s) => r.patches.find((p) => p.input === s)?.patched ?? s.svc);
  const pools = r.documents.filter((d) => d.value.kind === "CiliumLoadBalancerIPPool").map((d) => JSON.parse(JSON.stringify(d.value)));
  const ipam = planAllocations(pools, services, { ipv4: true, ipv6: true });
  const resources: Resources = { ...emptyResources(), ...r.output, nodes: r.model.nodes, services: ipam.servicesWithStatus, endpointSlices: r.model.endpointSlices };
  const input = { resources, node: { name: node } };
  const state = desiredState(input);
  const peer = (i: (typeof state.instances)[number], p: (typeof i.peers)[number]) => ({
    instance: i.name,
    name: p.name,
    localAsn: i.localASN,
    peerAsn: p.peerASN,
    configuredPeerAsn: p.peerASN,
    peerAddress: p.address,
    peerPort: p.peerPort,
    state: p.address === opts.down ? "active" : "established",
    uptimeMs: 1000,
    routerId: i.routerID,
    families: p.families.map((f) => ({ family: f, afi: f.split("/")[0], safi: f.split("/")[1], received: 0, accepted: 0, advertised: p.routes.get(f as "ipv4/unicast")?.size ?? 0 })),
    negotiatedFamilies: [...p.families],
    timers: { connectRetrySeconds: p.timers.connectRetryTimeSeconds, holdTimeSeconds: p.timers.holdTimeSeconds, keepaliveSeconds: p.timers.keepAliveTimeSeconds },
    ebgpMultihopTtl: p.ebgpMultihop,
    passive: false,
    gracefulRestart: p.gracefulRestart,
    localCapabilities: [],
    remoteCapabilities: [],
    tcpPasswordEnabled: p.password !== null,
    messages: { sent: {}, received: {} },
    malformedUpdates: 0,
  }) as unknown as PeerStatus;
  return {
    node: () => node,
    health: () => "ok",
    peers: () => state.instances.flatMap((i) => i.peers.map((p) => peer(i, p))),
    instances: () => state.instances.map((i) => ({ name: i.name, localASN: i.localASN })),
    advertised: (instance, name, family) => {
      const p = state.instances.find((i) => i.name === instance)?.peers.find((x) => x.name === name);
      return [...(p?.routes.get(family as "ipv4/unicast")?.values() ?? [])]
        .filter((route) => route.prefix !== opts.unsent)
        .map((route): RouteEntry => ({ prefix: route.prefix, family, nlri: new Uint8Array(), attributes: [], nextHop: "0.0.0.0", ageMs: 0, best: true, stale: false }));
    },
    locRib: () => [],
    routePolicies: () => [],
    explain: (q) => JSON.parse(JSON.stringify(explain(input, q, state))),
    services: () => ipam.services.map((s): ServiceView => {
      const svc = ipam.servicesWithStatus.find((x) => x.metadata.namespace === s.namespace && x.metadata.name === s.name)!;
      return {
        namespace: s.namespace,
        name: s.name,
        type: "LoadBalancer",
        loadBalancerClass: svc.spec.loadBalancerClass ?? null,
        ips: s.ips,
        satisfied: s.condition?.status === "True",
        condition: s.condition ? { type: "cilium.io/IPAMRequestSatisfied", ...s.condition } : null,
      };
    }),
    pools: () => [],
    status: () => ({}) as never,
    metrics: {} as AgentMetrics,
  };
}

const check = (v: AgentView) => {
  const app = createApi(v);
  return runCheck({ baseUrl: "http://agent", fetch: (url) => Promise.resolve(app.fetch(new Request(url))) });
};

describe("runCheck() against createApi()", () => {
  it("reads Cilium's BgpPeer and BgpRoute models as the agent serves them and passes when nothing is missing", async () => {
    const report = await check(view("w1"));
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.advertised.map((a) => `${a.service} ${a.prefix} ${a.peer}`)).toContain("shop/web 10.100.0.7/32 rr (10.0.0.250)");
  });

  it("finds a down session and a route missing from the Adj-RIB-Out", async () => {
    const down = await check(view("w1", { down: "10.0.1.1" }));
    expect(down.ok).toBe(false);
    expect(down.problems.map((p) => p.message)).toContain("10.100.0.7/32 should go to peer tor-r1 (10.0.1.1), but the session is active");
    const unsent = await check(view("w2", { unsent: "10.100.0.7/32" }));
    expect(unsent.problems.map((p) => `${p.service} ${p.message}`)).toEqual([
      "shop/web 10.100.0.7/32 should go to peer tor-r2 (10.0.2.1) (ipv4/unicast), but it is not in the routes advertised to it",
      "shop/web 10.100.0.7/32 should go to peer rr (10.0.0.250) (ipv4/unicast), but it is not in the routes advertised to it",
      "shop/web-tls 10.100.0.7/32 should go to peer tor-r2 (10.0.2.1) (ipv4/unicast), but it is not in the routes advertised to it",
      "shop/web-tls 10.100.0.7/32 should go to peer rr (10.0.0.250) (ipv4/unicast), but it is not in the routes advertised to it",
    ]);
  });
});
