/**
 * Datapath benchmark: 10,000 Services × 10 backends synced into fresh
 * pinned maps (a LoadBalancer IP and a cluster IP each: 20,000 frontends
 * sharing 10,000 backend lists, 100,000 slots), then one endpoint change
 * applied incrementally (upsertService) and through a full sync(), then an
 * agent restart (maps reopened and read back, then a sync with no change).
 * Each step is checked against the maps read back through libbpf.
 *
 * Prints a readable table; the last line is one JSON object with the figures.
 * Run: scripts/bench-datapath [--node] [--services N] [--backends N]   (root, bpffs)
 */
import process from "node:process";
import { rmSync } from "node:fs";
import { Datapath } from "../src/datapath/datapath.ts";
import { Service } from "../src/control/schemas/service.ts";
import { EndpointSlice } from "../src/control/schemas/endpoint-slice.ts";
import { runtimeName } from "../src/runtime/ffi.ts";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SERVICES = flag("services", 10_000);
const BACKENDS = flag("backends", 10);
const pinDir = `/sys/fs/bpf/herald_bench_${process.pid}`;

const v4 = (n: number) => `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
const LB_BASE = 0xc6120000; // 198.18.0.0/15, the benchmarking range (RFC 2544)
const CLUSTER_BASE = 0x0a600000; // 10.96.0.0/12
const POD_BASE = 0x0a800000; // 10.128.0.0/9

function service(i: number): Service {
  return Service.parse({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `svc${i}`, namespace: `ns${i % 32}` },
    spec: { type: "LoadBalancer", clusterIPs: [v4(CLUSTER_BASE + i)], ports: [{ name: "http", port: 80 }] },
    status: { loadBalancer: { ingress: [{ ip: v4(LB_BASE + i) }] } },
  });
}

function endpoints(i: number, generation = 0): EndpointSlice {
  return EndpointSlice.parse({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `svc${i}-abc`, namespace: `ns${i % 32}`, labels: { "kubernetes.io/service-name": `svc${i}` } },
    addressType: "IPv4",
    endpoints: Array.from({ length: BACKENDS }, (_, b) => ({
      addresses: [v4(POD_BASE + i * BACKENDS + b + generation)],
      conditions: { ready: true },
    })),
    ports: [{ name: "http", port: 8080 }],
  });
}

function time<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const out = fn();
  return [out, performance.now() - start];
}

function check(dp: Datapath, frontends: number, what: string): number {
  const [held, ms] = time(() => dp.readMaps());
  if (held.length !== frontends) throw new Error(`Cannot verify ${what}: the maps hold ${held.length} frontends, expected ${frontends}`);
  const mem = dp.entries();
  for (let i = 0; i < held.length; i++) {
    if (JSON.stringify(held[i]) !== JSON.stringify(mem[i])) {
      throw new Error(`Cannot verify ${what}: frontend ${JSON.stringify(held[i].frontend)} differs from herald's view`);
    }
  }
  return ms;
}

const services = Array.from({ length: SERVICES }, (_, i) => service(i));
const slices = services.map((_, i) => endpoints(i));
const sizes = { frontends: Math.max(65536, SERVICES * 4), backendSlots: Math.max(262144, SERVICES * BACKENDS * 2 + 1024), flows: 65536 };
const rows: [string, number, string][] = [];

try {
  const [dp0, openMs] = time(() => Datapath.open({ pinDir, sizes }));
  let dp = dp0;
  rows.push(["open (create 4 maps)", openMs, ""]);

  const [full, syncMs] = time(() => dp.sync(services, slices));
  if (full.failed.length) throw new Error(`Cannot benchmark: ${full.failed[0].error}`);
  const stats = dp.stats();
  rows.push(["sync from scratch", syncMs, `${full.upserted} frontends, ${stats.slotsUsed} backend slots`]);
  const readMs = check(dp, SERVICES * 2, "the initial sync");
  rows.push(["read back and compare", readMs, `${SERVICES * 2} frontends`]);

  const target = Math.floor(SERVICES / 2);
  const changed = endpoints(target, 1); // one endpoint replaced (the list shifts by one address)
  const [inc, upsertMs] = time(() => dp.upsertService(services[target], [changed]));
  rows.push(["one endpoint change: upsertService()", upsertMs, `${inc.upserted} frontends rewritten`]);

  slices[target] = endpoints(target, 2);
  const [resync, resyncMs] = time(() => dp.sync(services, slices));
  rows.push(["one endpoint change: sync() of all", resyncMs, `${resync.upserted} frontends rewritten`]);
  check(dp, SERVICES * 2, "the endpoint change");

  dp.close();
  const [dp2, reopenMs] = time(() => Datapath.open({ pinDir, sizes }));
  dp = dp2;
  rows.push(["restart: reopen and read back", reopenMs, `${dp.stats().frontends} frontends adopted`]);
  const [again, restartSyncMs] = time(() => dp.sync(services, slices));
  if (again.upserted || again.deleted) throw new Error(`Cannot verify the restart: ${again.upserted} written, ${again.deleted} deleted`);
  rows.push(["restart: first sync (no change)", restartSyncMs, `${again.unchanged} unchanged`]);
  dp.close();

  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`datapath benchmark: ${SERVICES} Services × ${BACKENDS} backends (${runtimeName}, ${process.platform})`);
  console.log(`${"step".padEnd(width)}  ${"ms".padStart(9)}  notes`);
  for (const [step, ms, note] of rows) console.log(`${step.padEnd(width)}  ${ms.toFixed(1).padStart(9)}  ${note}`);
  console.log(JSON.stringify({
    bench: "datapath",
    runtime: runtimeName,
    services: SERVICES,
    backendsPerService: BACKENDS,
    frontends: SERVICES * 2,
    backendSlots: stats.slotsUsed,
    openMs: +openMs.toFixed(1),
    syncFromScratchMs: +syncMs.toFixed(1),
    readBackMs: +readMs.toFixed(1),
    endpointChangeUpsertMs: +upsertMs.toFixed(2),
    endpointChangeFullSyncMs: +resyncMs.toFixed(1),
    restartReopenMs: +reopenMs.toFixed(1),
    restartSyncMs: +restartSyncMs.toFixed(1),
  }));
} finally {
  rmSync(pinDir, { recursive: true, force: true });
}
