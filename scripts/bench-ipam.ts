/**
 * LB-IPAM benchmark: 10,000 Services over 64 pools, then 1,000 churned
 * (deleted and created), then the cost of one churn on a small pool against
 * an IPv4 /8 and an IPv6 /64 to show that it does not grow with pool size.
 *
 * Prints a readable table; the last line is one JSON object with the figures.
 * Run: scripts/bench-ipam (Deno), or `node_modules/.bin/deno run -A --v8-flags=--expose-gc scripts/bench-ipam.ts`.
 * Goal: the 10,000 allocate in well under 1 s.
 */
import process from "node:process";
import { CiliumLoadBalancerIPPool } from "../src/control/schemas/lb-ip-pool.ts";
import { Service } from "../src/control/schemas/service.ts";
import { LbIpam } from "../src/ipam/engine.ts";

const SERVICES = 10_000;
const POOLS = 64;
const CHURN = 1_000;
const now = () => new Date(0);
const gc = (globalThis as { gc?: () => void }).gc;

function heapMB(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function pool(name: string, cidr: string, selector?: Record<string, string>) {
  return CiliumLoadBalancerIPPool.parse({
    apiVersion: "cilium.io/v2",
    kind: "CiliumLoadBalancerIPPool",
    metadata: { name, creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { blocks: [{ cidr }], ...(selector ? { serviceSelector: { matchLabels: selector } } : {}) },
  });
}

function service(name: string, tenant: number, family: "IPv4" | "IPv6" = "IPv4") {
  return Service.parse({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: `ns${tenant % 16}`, generation: 1, labels: { tenant: `t${tenant}` } },
    spec: { type: "LoadBalancer", ports: [{ port: 80 }], ipFamilies: [family], selector: { app: name } },
  });
}

/** Deterministic pseudo-random numbers, so every run churns the same Services. */
function prng(seed: number) {
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
}

const ms = (t0: number) => performance.now() - t0;

// 64 pools of a /18 each, every pool selecting one tenant: an allocation
// walks the pools in order and checks selectors until its own matches.
const pools = Array.from({ length: POOLS }, (_, i) => pool(`pool-${String(i).padStart(2, "0")}`, `10.${i}.0.0/18`, { tenant: `t${i}` }));
const services = Array.from({ length: SERVICES }, (_, i) => service(`svc-${i}`, i % POOLS));

// 1a. Incremental: one event per Service, as a running agent sees them.
const heap0 = heapMB();
let ipam = new LbIpam({ now });
let t0 = performance.now();
for (const p of pools) ipam.upsertPool(p);
for (const s of services) ipam.upsertService(s);
const incrementalMs = ms(t0);
const heapAllocated = heapMB() - heap0;
const satisfied = ipam.services().filter((s) => s.satisfied).length;

// 1b. Bulk start-up (load), as after a restart with nothing in status yet.
let bulk = new LbIpam({ now });
t0 = performance.now();
bulk.load(pools, services);
const bulkMs = ms(t0);
bulk = undefined as unknown as LbIpam;

// 1c. Restart adoption: the same 10,000 with their addresses in status.
const withStatus = services.map((s) => ({ ...s, status: ipam.serviceStatus(`${s.metadata.namespace}/${s.metadata.name}`) })) as Service[];
let restarted = new LbIpam({ now });
t0 = performance.now();
const restartChanges = restarted.load(pools, withStatus);
const adoptMs = ms(t0);
restarted = undefined as unknown as LbIpam;

// 2. Churn: delete 1,000 random Services and create 1,000 new ones.
const rand = prng(7);
const alive = services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
t0 = performance.now();
for (let i = 0; i < CHURN; i++) {
  const k = rand(alive.length);
  ipam.deleteService(alive[k]);
  const fresh = service(`new-${i}`, rand(POOLS));
  ipam.upsertService(fresh);
  alive[k] = `${fresh.metadata.namespace}/${fresh.metadata.name}`;
}
const churnMs = ms(t0);
ipam = undefined as unknown as LbIpam;

// 3. Cost of one churn (delete + create) at the same load in pools of very different sizes.
function churnCost(cidr: string, family: "IPv4" | "IPv6"): { us: number; heapMB: number } {
  const h0 = heapMB();
  const e = new LbIpam({ now, ipv4: family === "IPv4", ipv6: family === "IPv6" });
  e.upsertPool(pool("p", cidr));
  const keys: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = service(`s${i}`, 0, family);
    e.upsertService(s);
    keys.push(`${s.metadata.namespace}/${s.metadata.name}`);
  }
  const r = prng(11);
  const rounds = 2000;
  const t = performance.now();
  for (let i = 0; i < rounds; i++) {
    const k = r(keys.length);
    e.deleteService(keys[k]);
    const s = service(`c${i}`, 0, family);
    e.upsertService(s);
    keys[k] = `${s.metadata.namespace}/${s.metadata.name}`;
  }
  const us = (ms(t) * 1000) / rounds;
  const heap = heapMB() - h0;
  // Used after the measurement, so the engine is still alive when the heap is read.
  if (e.services().length !== keys.length) throw new Error("Cannot benchmark churn: services were lost");
  return { us, heapMB: heap };
}
const small = churnCost("10.200.0.0/20", "IPv4");
const v4slash8 = churnCost("10.0.0.0/8", "IPv4");
const v6slash64 = churnCost("2001:db8::/64", "IPv6");

const f = (n: number, d = 1) => n.toFixed(d).padStart(9);
const lines = [
  "LB-IPAM benchmark (herald)",
  "",
  `  ${SERVICES} Services over ${POOLS} pools (/18 each, one tenant selector per pool)`,
  `    incremental (one event per Service)   ${f(incrementalMs)} ms   ${satisfied} satisfied`,
  `    bulk load (fresh start)               ${f(bulkMs)} ms`,
  `    restart adoption (IPs in status)      ${f(adoptMs)} ms   ${restartChanges.services.length} statuses to write`,
  `    heap after allocation                 ${f(heapAllocated)} MB`,
  `  ${CHURN} churned (delete one + create one)     ${f(churnMs)} ms   ${f((churnMs * 1000) / CHURN)} µs per churn`,
  "",
  "  one churn at 2,000 Services, by pool size   µs/churn    heap MB",
  `    IPv4 /20  (4,096 addresses)            ${f(small.us)}   ${f(small.heapMB)}`,
  `    IPv4 /8   (16,777,216 addresses)       ${f(v4slash8.us)}   ${f(v4slash8.heapMB)}`,
  `    IPv6 /64  (2^64 addresses)             ${f(v6slash64.us)}   ${f(v6slash64.heapMB)}`,
  "",
  `  runtime: ${typeof navigator !== "undefined" ? navigator.userAgent : `Node.js/${process.version}`}${gc ? "" : " (no --expose-gc: heap figures are rough)"}`,
];
console.log(lines.join("\n"));
console.log(JSON.stringify({
  services: SERVICES,
  pools: POOLS,
  allocateIncrementalMs: Math.round(incrementalMs),
  allocateBulkMs: Math.round(bulkMs),
  restartAdoptMs: Math.round(adoptMs),
  restartWrites: restartChanges.services.length,
  heapMB: Math.round(heapAllocated * 10) / 10,
  churn: CHURN,
  churnMs: Math.round(churnMs),
  churnUsEach: Math.round((churnMs * 1000) / CHURN),
  churnUsSmall: Math.round(small.us),
  churnUsSlash8: Math.round(v4slash8.us),
  churnUsV6Slash64: Math.round(v6slash64.us),
  goalUnder1s: incrementalMs < 1000 && bulkMs < 1000,
}));
