/**
 * The agent's HTTP API and metrics against a live in-process agent peering
 * over loopback with an in-process collector: response shapes (zod
 * schemas, Cilium key order and omitempty), query errors, Prometheus names
 * and labels (spec cli §5, §7), and the CLI's JSON forms.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { Agent } from "../../src/agent/agent.ts";
import { AgentStatus, BgpPeer, BgpRoute, BgpRoutePolicy, Explanation, Health, PoolsResponse, ServicesResponse } from "../../src/api/schemas.ts";
import { Speaker } from "../../src/bgp/speaker.ts";
import { bgpPeersCommand, bgpRoutesCommand } from "../../src/cli/bgp.ts";
import { createLogger } from "../../src/log.ts";

let dir: string;
let collector: Speaker;
let port: number;
let agent: Agent;
let base: string;

const manifests = (peerPort: number) => `
apiVersion: v1
kind: Node
metadata: { name: api-node, labels: { bgp: "on" } }
spec: { podCIDRs: ["10.244.9.0/24"] }
status: { addresses: [{ type: InternalIP, address: 127.0.0.1 }] }
---
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfigOverride
metadata: { name: api-node }
spec: { bgpInstances: [{ name: main, routerID: 192.0.2.9 }] }
---
apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: { name: c }
spec:
  nodeSelector: { matchLabels: { bgp: "on" } }
  bgpInstances:
    - name: main
      localASN: 65001
      peers: [{ name: collector, peerAddress: 127.0.0.1, peerASN: 65000, peerConfigRef: { name: pc } }]
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: { name: pc }
spec:
  transport: { peerPort: ${peerPort} }
  timers: { holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 1 }
  gracefulRestart: { enabled: true, restartTimeSeconds: 60 }
  families: [{ afi: ipv4, safi: unicast, advertisements: { matchLabels: { ad: x } } }]
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: { name: ad, labels: { ad: x } }
spec:
  advertisements:
    - advertisementType: PodCIDR
    - advertisementType: Service
      service: { addresses: [LoadBalancerIP] }
      selector: { matchLabels: { expose: "yes" } }
      attributes: { communities: { standard: ["65001:7"] }, localPreference: 120 }
---
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: { name: pool-a }
spec: { blocks: [{ cidr: 198.51.100.0/30 }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, labels: { expose: "yes" } }
spec: { type: LoadBalancer, ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: hidden, namespace: shop }
spec: { type: LoadBalancer, ports: [{ port: 81 }] }
`;

async function get(path: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(base + path);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "herald-api-"));
  collector = new Speaker();
  await collector.setInstance({ name: "c", asn: 65000, routerId: "192.0.2.200", listen: { address: "127.0.0.1", port: 0 }, acceptAnyPeer: true });
  port = collector.listenPort("c")!;
  const config = join(dir, "config");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(config);
  writeFileSync(join(config, "all.yaml"), manifests(port));
  agent = new Agent({
    configDir: config,
    nodeName: "api-node",
    api: { host: "127.0.0.1", port: 0 },
    stateDir: join(dir, "state"),
    datapath: { enabled: false },
    control: {},
    logger: createLogger({ write: () => {} }),
    transport: "net",
    hostFacts: () => Promise.resolve({ interfaces: [], routes: [] }),
    hostFactsIntervalMs: 0,
  });
  await agent.start();
  base = `http://127.0.0.1:${agent.apiPort}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const p = agent.view.peers()[0];
    if (p?.state === "established" && p.families[0].advertised === 2) break;
    await new Promise((r) => setTimeout(r, 20));
  }
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await collector?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("agent API", () => {
  it("answers /healthz and /readyz once ready, and names the node in X-Herald-Node", async () => {
    const r = await get("/readyz");
    expect(r.status).toBe(200);
    expect(Health.parse(r.body)).toEqual({ status: "ok", node: "api-node" });
    expect(r.headers.get("x-herald-node")).toBe("api-node");
    expect((await get("/healthz")).status).toBe(200);
  });

  it("/v1/peers is Cilium's BgpPeer list: Go key order, zero values left out", async () => {
    const { body } = await get("/v1/peers");
    const peers = z.array(BgpPeer).parse(body);
    expect(peers).toHaveLength(1);
    const p = (body as Record<string, unknown>[])[0];
    expect(Object.keys(p)).toEqual([
      "applied-hold-time-seconds",
      "applied-keep-alive-time-seconds",
      "configured-hold-time-seconds",
      "configured-keep-alive-time-seconds",
      "connect-retry-time-seconds",
      "ebgp-multihop-ttl",
      "families",
      "graceful-restart",
      "local-asn",
      "local-capabilities",
      "name",
      "peer-address",
      "peer-asn",
      "peer-port",
      "remote-capabilities",
      "session-state",
      "uptime-nanoseconds",
    ]);
    expect(peers[0]).toMatchObject({
      "applied-hold-time-seconds": 9,
      "configured-keep-alive-time-seconds": 3,
      "connect-retry-time-seconds": 1,
      "ebgp-multihop-ttl": 1,
      families: [{ advertised: 2, afi: "ipv4", safi: "unicast" }], // received/accepted 0: omitted
      "graceful-restart": { enabled: true, "restart-time-seconds": 60 },
      "local-asn": 65001,
      name: "collector",
      "peer-address": "127.0.0.1",
      "peer-asn": 65000,
      "peer-port": port,
      "session-state": "established",
    });
    // Capabilities are base64 TLVs: the first is multiprotocol ipv4/unicast (code 1, length 4, AFI 1, SAFI 1).
    expect(peers[0]["local-capabilities"]![0].capabilities).toBe(btoa(String.fromCharCode(1, 4, 0, 1, 0, 1)));
  });

  it("/v1/routes/advertised lists the Adj-RIB-Out per peer with wire NLRI and attributes", async () => {
    const { body } = await get("/v1/routes/advertised?afi=ipv4&safi=unicast&peer=127.0.0.1");
    const routes = z.array(BgpRoute).parse(body);
    expect(routes.map((r) => r.prefix).sort()).toEqual(["10.244.9.0/24", "198.51.100.0/32"]);
    const svc = routes.find((r) => r.prefix === "198.51.100.0/32")!;
    expect(Object.keys(svc)).toEqual(["neighbor", "paths", "prefix", "router-asn"]);
    expect(svc).toMatchObject({ neighbor: "127.0.0.1", "router-asn": 65001 });
    const path = svc.paths![0];
    expect(path.nlri!.base64).toBe(btoa(String.fromCharCode(32, 198, 51, 100, 0)));
    const attrs = path["path-attributes"]!.map((a) => [...atob(a.base64!)].map((c) => c.charCodeAt(0)));
    expect(attrs).toContainEqual([0x40, 1, 1, 0]); // ORIGIN IGP
    expect(attrs).toContainEqual([0xc0, 8, 4, 0xfd, 0xe9, 0, 7]); // COMMUNITIES 65001:7
    expect(attrs.some((a) => a[1] === 5)).toBe(false); // no LOCAL_PREF on eBGP (E8)
  });

  it("/v1/routes/available is the loc-rib without neighbour and with an unresolved next hop", async () => {
    const routes = z.array(BgpRoute).parse((await get("/v1/routes/available?afi=ipv4&safi=unicast")).body);
    expect(routes).toHaveLength(2);
    expect(routes.every((r) => r.neighbor === undefined && r["router-asn"] === 65001)).toBe(true);
    expect(z.array(BgpRoute).parse((await get("/v1/routes/available?afi=ipv6&safi=unicast")).body)).toEqual([]);
  });

  it("rejects bad queries with Cilium's and herald's messages", async () => {
    expect(await get("/v1/routes/available?afi=ip4")).toMatchObject({ status: 400, body: { error: expect.stringContaining('unknown AFI "ip4"') } });
    expect(await get("/v1/routes/advertised?router_asn=64999")).toMatchObject({ status: 404, body: { error: "virtual router with ASN 64999 does not exist" } });
    expect(await get("/v1/routes/advertised?peer=10.9.9.9")).toMatchObject({ status: 404 });
    expect(await get("/v1/explain")).toMatchObject({ status: 400 });
    expect(await get("/v1/nope")).toMatchObject({ status: 404 });
  });

  it("/v1/services and /v1/pools show LB-IPAM's view", async () => {
    const services = ServicesResponse.parse((await get("/v1/services")).body).services;
    expect(services).toEqual([
      { namespace: "shop", name: "hidden", type: "LoadBalancer", loadBalancerClass: null, ips: ["198.51.100.1"], satisfied: true, condition: expect.objectContaining({ type: "cilium.io/IPAMRequestSatisfied", status: "True", reason: "satisfied" }) },
      { namespace: "shop", name: "web", type: "LoadBalancer", loadBalancerClass: null, ips: ["198.51.100.0"], satisfied: true, condition: expect.objectContaining({ status: "True" }) },
    ]);
    const pools = PoolsResponse.parse((await get("/v1/pools")).body).pools;
    expect(pools).toEqual([expect.objectContaining({ name: "pool-a", total: 4, used: 2, available: 2, conflict: false, conflictDetail: null, errors: [] })]);
    expect(pools[0].conditions.map((c) => c.type)).toContain("cilium.io/IPsUsed");
  });

  it("/v1/explain says why a Service is or is not advertised", async () => {
    const yes = Explanation.parse((await get("/v1/explain?service=shop/web")).body);
    expect(yes.verdicts).toEqual([expect.objectContaining({ peer: "collector", family: "ipv4/unicast", prefix: "198.51.100.0/32", advertised: true })]);
    const no = Explanation.parse((await get("/v1/explain?service=shop/hidden&peer=127.0.0.1")).body);
    expect(no.verdicts[0].advertised).toBe(false);
    expect(no.verdicts[0].reasons[0].rule).toBe("E12");
  });

  it("/v1/route-policies lists allow-local and Cilium's export policy names", async () => {
    const policies = z.array(BgpRoutePolicy).parse((await get("/v1/route-policies")).body);
    expect(policies.map((p) => p.name)).toEqual(["allow-local", "collector-ipv4-PodCIDR", "collector-ipv4-Service-web-shop-LoadBalancerIP"]);
    expect(policies[2].statements![0]).toMatchObject({ "add-communities": ["65001:7"], "set-local-preference": 120, "match-neighbors": { neighbors: ["127.0.0.1"] } });
  });

  it("/v1/status reports readiness, instances and the datapath", async () => {
    const s = AgentStatus.parse((await get("/v1/status")).body);
    expect(s).toMatchObject({ node: "api-node", ready: true, api: "v2", restarted: false, datapath: { enabled: false, reason: "disabled with --no-datapath" }, manifests: [] });
    expect(s.instances).toEqual([{ name: "main", localASN: 65001, routerID: "192.0.2.9", listenPort: null, peers: 1, established: 1, errors: [] }]);
    expect(s.reconcile.runs).toBeGreaterThanOrEqual(1);
  });

  it("/metrics has Cilium's BGP and LB-IPAM series with their label names, and process metrics", async () => {
    const { body, headers } = await get("/metrics");
    expect(headers.get("content-type")).toContain("text/plain");
    const text = body as string;
    const peer = `instance_name="main",local_asn="65001",neighbor="127.0.0.1:${port}",neighbor_asn="65000"`;
    expect(text).toContain(`cilium_bgp_control_plane_session_state{${peer}} 1`);
    expect(text).toContain(`cilium_bgp_control_plane_advertised_routes{${peer},afi="ipv4",safi="unicast"} 2`);
    expect(text).toContain(`cilium_bgp_control_plane_received_routes{${peer},afi="ipv4",safi="unicast"} 0`);
    expect(text).toMatch(/cilium_bgp_control_plane_reconcile_run_duration_seconds_count\{instance_name="main"\} \d+/);
    expect(text).toContain("# TYPE cilium_bgp_control_plane_reconcile_errors_total counter");
    expect(text).toContain('cilium_operator_lbipam_ips_used_total{pool="pool-a"} 2');
    expect(text).toContain('cilium_operator_lbipam_ips_available_total{pool="pool-a"} 2');
    expect(text).toContain("cilium_operator_lbipam_services_matching_total 2");
    expect(text).toContain("cilium_operator_lbipam_services_unsatisfied_total 0");
    expect(text).toContain("cilium_operator_lbipam_conflicting_pools_total 0");
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
  });

  it("herald bgp peers/routes -o json: keyed by node with one-space indent, or cilium-dbg's array in compat mode", async () => {
    let out = "";
    const io = { out: (t: string) => void (out += t), err: (t: string) => void (out += t) };
    const api = `127.0.0.1:${agent.apiPort}`;
    expect(await bgpPeersCommand(["-o", "json", "--api", api], io, false)).toBe(0);
    expect(out.startsWith('{\n "api-node": [\n  {\n   "applied-hold-time-seconds": 9,\n')).toBe(true);
    expect(out.endsWith("}\n")).toBe(true);
    out = "";
    expect(await bgpPeersCommand(["-o", "json", "--api", api], io, true)).toBe(0);
    expect(z.array(BgpPeer).parse(JSON.parse(out))).toHaveLength(1);
    expect(out.startsWith('[\n  {\n    "applied-hold-time-seconds"')).toBe(true);
    out = "";
    expect(await bgpRoutesCommand(["advertised", "ipv4", "unicast", "-o", "json", "--api", api], io, true)).toBe(0);
    expect(z.array(BgpRoute).parse(JSON.parse(out))).toHaveLength(2);
    out = "";
    expect(await bgpRoutesCommand(["advertised", "--api", api], io, false)).toBe(0);
    expect(out.startsWith("(Defaulting to `ipv4 unicast` AFI & SAFI, please see help for more options)\n\nNode       VRouter   Peer        Prefix")).toBe(true);
  });
});
