/**
 * Control-plane benchmark: desired state for 10,000 Services, 200
 * CiliumBGPAdvertisements and 64 peers, from scratch and after one Service
 * change (targets: < 100 ms and < 1 ms). Prints a table, then as its last
 * line one JSON object with the figures.
 *
 *   scripts/bench-control [--services N] [--adverts N] [--peers N] [--changes N]
 */
import { parseArgs } from "node:util";
import { desiredState } from "../src/control/desired.ts";
import { ControlEngine } from "../src/control/engine.ts";
import type { CiliumBGPAdvertisement } from "../src/control/schemas/advertisement.ts";
import type { CiliumBGPClusterConfig } from "../src/control/schemas/cluster-config.ts";
import type { EndpointSlice } from "../src/control/schemas/endpoint-slice.ts";
import type { CiliumBGPPeerConfig } from "../src/control/schemas/peer-config.ts";
import type { Service } from "../src/control/schemas/service.ts";
import { type ControlInput, emptyResources } from "../src/control/types.ts";
import { runtimeDescription } from "../src/version.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    services: { type: "string", default: "10000" },
    adverts: { type: "string", default: "200" },
    peers: { type: "string", default: "64" },
    changes: { type: "string", default: "2000" },
  },
});
const SERVICES = Number(values.services);
const ADVERTS = Number(values.adverts);
const PEERS = Number(values.peers);
const CHANGES = Number(values.changes);
const PEER_CONFIGS = 8;

function input(): ControlInput {
  const r = emptyResources();
  const peers: CiliumBGPClusterConfig["spec"]["bgpInstances"][number]["peers"] = [];
  for (let i = 0; i < PEERS; i++) {
    peers.push({
      name: `peer-${i}`,
      peerAddress: `10.${Math.floor(i / 250)}.${i % 250}.1`,
      peerASN: i % 4 === 0 ? 65001 : 65100 + i,
      peerConfigRef: { name: `pc-${i % PEER_CONFIGS}` },
    });
  }
  r.clusterConfigs.push({
    apiVersion: "cilium.io/v2",
    kind: "CiliumBGPClusterConfig",
    metadata: { name: "bench" },
    spec: { bgpInstances: [{ name: "main", localASN: 65001, peers }] },
  });
  for (let i = 0; i < PEER_CONFIGS; i++) {
    const pc: CiliumBGPPeerConfig = {
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPPeerConfig",
      metadata: { name: `pc-${i}` },
      spec: {
        ebgpMultihop: 1,
        families: [
          { afi: "ipv4", safi: "unicast", advertisements: { matchLabels: { [`group-${i % 4}`]: "yes" } } },
          { afi: "ipv6", safi: "unicast", advertisements: { matchLabels: { [`group-${i % 4}`]: "yes" } } },
        ],
      },
    };
    r.peerConfigs.push(pc);
  }
  for (let i = 0; i < ADVERTS; i++) {
    const a: CiliumBGPAdvertisement = {
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPAdvertisement",
      metadata: { name: `advert-${i}`, labels: { [`group-${i % 4}`]: "yes", ...(i % 10 === 0 ? { "group-0": "yes" } : {}) } },
      spec: {
        advertisements: [{
          advertisementType: "Service",
          service: {
            addresses: i % 3 === 0 ? ["LoadBalancerIP", "ClusterIP"] : ["LoadBalancerIP"],
            ...(i % 50 === 7 ? { aggregationLengthIPv4: 24 } : {}),
          },
          selector: i % 25 === 0
            ? { matchExpressions: [{ key: "tier", operator: "In", values: ["gold"] }] }
            : { matchLabels: { app: `app-${i}` } },
          attributes: { communities: { standard: [`65001:${i}`], ...(i % 7 === 0 ? { wellKnown: ["no-export"] } : {}) }, localPreference: 100 + (i % 5) },
        }],
      },
    };
    r.advertisements.push(a);
  }
  r.advertisements.push({
    apiVersion: "cilium.io/v2",
    kind: "CiliumBGPAdvertisement",
    metadata: { name: "pods", labels: { "group-0": "yes", "group-1": "yes", "group-2": "yes", "group-3": "yes" } },
    spec: { advertisements: [{ advertisementType: "PodCIDR" }] },
  });
  r.nodes.push({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1" },
    spec: { podCIDRs: ["10.244.1.0/24", "fd00:244:1::/64"] },
    status: { addresses: [{ type: "InternalIP", address: "192.0.2.10" }] },
  });
  for (let i = 0; i < SERVICES; i++) r.services.push(service(i, 0));
  for (let i = 0; i < SERVICES; i++) r.endpointSlices.push(endpointSlice(i));
  return { resources: r, node: { name: "n1" } };
}

function service(i: number, version: number): Service {
  const lb = [`100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`];
  if (i % 5 === 0) lb.push(`2001:db8:${(i >> 16).toString(16)}::${(i & 0xffff).toString(16)}`);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: `svc-${i}`,
      namespace: `ns-${i % 50}`,
      labels: { app: `app-${(i + version) % ADVERTS}`, ...(i % 40 === 0 ? { tier: "gold" } : {}) },
    },
    spec: {
      type: "LoadBalancer",
      clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`,
      clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`],
      externalTrafficPolicy: i % 5 === 1 ? "Local" : "Cluster",
    },
    status: { loadBalancer: { ingress: lb.map((ip) => ({ ip })) } },
  };
}

function endpointSlice(i: number): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `svc-${i}-x`, namespace: `ns-${i % 50}`, labels: { "kubernetes.io/service-name": `svc-${i}` } },
    addressType: "IPv4",
    endpoints: [{ addresses: [`10.244.1.${i % 250}`], nodeName: i % 2 ? "n1" : "n2", conditions: { ready: true } }],
    ports: [],
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

const inp = input();
// Warm up the JIT, then time from-scratch runs.
for (let i = 0; i < 3; i++) desiredState(inp);
const scratch: number[] = [];
let state = desiredState(inp);
for (let i = 0; i < 9; i++) {
  const t = performance.now();
  state = desiredState(inp);
  scratch.push(performance.now() - t);
}
let routes = 0;
for (const inst of state.instances) for (const p of inst.peers) for (const t of p.routes.values()) routes += t.size;

const engine = new ControlEngine(inp);
const changes: number[] = [];
let deltaRoutes = 0;
for (let i = 0; i < CHANGES + 200; i++) {
  const svc = service((i * 7919) % SERVICES, i + 1);
  const t = performance.now();
  const d = engine.apply([{ type: "upsert", resource: svc }]);
  const ms = performance.now() - t;
  if (i >= 200) {
    changes.push(ms);
    deltaRoutes += d.routes.length;
  }
}
const slices: number[] = [];
for (let i = 0; i < 500; i++) {
  const s = endpointSlice((i * 104729) % SERVICES);
  s.endpoints[0].conditions = { ready: i % 2 === 0 };
  const t = performance.now();
  engine.apply([{ type: "upsert", resource: s }]);
  slices.push(performance.now() - t);
}

const figures = {
  runtime: runtimeDescription(),
  services: SERVICES,
  advertisements: ADVERTS + 1,
  peers: PEERS,
  peerConfigs: PEER_CONFIGS,
  routesPerPeerTotal: routes,
  fromScratchMedianMs: Number(median(scratch).toFixed(2)),
  fromScratchMinMs: Number(Math.min(...scratch).toFixed(2)),
  fromScratchMaxMs: Number(Math.max(...scratch).toFixed(2)),
  oneServiceChangeMedianMs: Number(median(changes).toFixed(4)),
  oneServiceChangeP99Ms: Number(pct(changes, 0.99).toFixed(4)),
  oneEndpointSliceChangeMedianMs: Number(median(slices).toFixed(4)),
  routeChangesPerServiceChange: Number((deltaRoutes / changes.length).toFixed(1)),
  targets: { fromScratchMs: 100, oneServiceChangeMs: 1 },
};
const rows = [
  ["input", `${SERVICES} Services, ${ADVERTS + 1} advertisements, ${PEERS} peers (${PEER_CONFIGS} PeerConfigs), ${SERVICES} EndpointSlices`],
  ["routes (sum over peers)", String(routes)],
  ["from scratch, median", `${figures.fromScratchMedianMs} ms (min ${figures.fromScratchMinMs}, max ${figures.fromScratchMaxMs}; target < 100 ms)`],
  ["one Service change, median", `${figures.oneServiceChangeMedianMs} ms (p99 ${figures.oneServiceChangeP99Ms} ms; target < 1 ms)`],
  ["one EndpointSlice change, median", `${figures.oneEndpointSliceChangeMedianMs} ms`],
  ["route changes per Service change", String(figures.routeChangesPerServiceChange)],
  ["runtime", figures.runtime],
];
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
console.log(JSON.stringify(figures));
