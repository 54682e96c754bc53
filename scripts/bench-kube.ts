/**
 * Kubernetes-mode benchmark: S Services created through the API (HTTP
 * POSTs to the API server double, 32 at a time) on a cluster of N herald
 * agents (child processes, --no-datapath, each its own BGP source address
 * 127.0.0.1N) with BIRD 2 as the router. Measured from the first POST:
 *
 * - created: every Service POSTed;
 * - allocated: every Service has its LoadBalancer IP in status (the
 *   leader's LB-IPAM, I13), checked in the double every 100 ms;
 * - advertised: BIRD holds every /32 from every agent;
 * - the leader's Service status writes (one per Service is the minimum);
 * - each agent's RSS (VmRSS, peak VmHWM) once everything is announced;
 * - failover (unless --no-failover): the leader SIGKILLed, then one more
 *   Service created: time until it has an address (lease expiry, freshness
 *   barrier and adoption of all S addresses by the new leader) and whether
 *   any of the S addresses changed.
 *
 * Prints a readable table and, as the LAST line, one JSON object with the
 * figures. Benchmarks print figures; they never gate CI. Needs root and bird2.
 *
 *   scripts/bench-kube [--services S] [--agents N] [--no-failover] [--runtime deno|node]
 */
import { readFile } from "node:fs/promises";
import process from "node:process";
import { createHarness } from "../test/interop/harness/harness.ts";
import type { BirdDaemon } from "../test/interop/harness/bird.ts";
import { currentRuntime, type Runtime } from "../test/interop/harness/runtime.ts";
import { waitFor } from "../test/interop/harness/wait.ts";
import type { ApiServerDouble } from "../test/support/apiserver/mod.ts";
import {
  clusterObjects,
  ingress,
  type KubeAgentProcess,
  leaseHolder,
  nodes,
  service,
  startBirdFor,
  startDouble,
  startKubeAgent,
} from "../test/kube-e2e/_cluster.ts";
import { clientFromKubeconfigText } from "../src/source/kube/client.ts";

interface Options {
  services: number;
  agents: number;
  failover: boolean;
  runtime: Runtime;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { services: 5000, agents: 3, failover: true, runtime: currentRuntime() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--no-failover") {
      o.failover = false;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`Cannot parse arguments: ${a} needs a value`);
    if (a === "--runtime") {
      if (v !== "deno" && v !== "node") throw new Error(`Cannot parse arguments: --runtime must be deno or node: current value is "${v}"`);
      o.runtime = v;
      continue;
    }
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`Cannot parse arguments: ${a} must be a positive integer: current value is "${v}"`);
    if (a === "--services") o.services = n;
    else if (a === "--agents") o.agents = n;
    else throw new Error(`Cannot parse arguments: unknown "${a}" (expected --services, --agents, --no-failover, --runtime)`);
  }
  if (o.services > 65_000) throw new Error("Cannot benchmark more than 65000 Services: the pool is 172.30.0.0/16");
  if (o.agents > 9) throw new Error("Cannot benchmark more than 9 agents: their addresses are 127.0.0.11–19");
  if (o.failover && o.agents < 2) throw new Error("Cannot benchmark failover with one agent: give --agents 2 or more, or --no-failover");
  return o;
}

async function rssOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

const mb = (b: number) => Math.round(b / 1024 / 1024 * 10) / 10;

function allocatedCount(api: ApiServerDouble): number {
  let n = 0;
  for (const ips of Object.values(ingress(api))) if (ips.length > 0) n++;
  return n;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.runtime !== currentRuntime()) {
    throw new Error(`Cannot run the agents under ${o.runtime}: they run under the benchmark's own runtime (${currentRuntime()}); start it with ${o.runtime === "node" ? "node scripts/bench-kube" : "scripts/bench-kube"}`);
  }
  const h = createHarness("bkb");
  let api: ApiServerDouble | undefined;
  let bird: BirdDaemon | undefined;
  try {
    const ns = nodes(o.agents);
    bird = await startBirdFor(h, ns);
    api = await startDouble(clusterObjects(ns, bird.port!, "172.30.0.0/16"), { historySize: Math.max(1000, o.services * 4) });
    const agents: KubeAgentProcess[] = [];
    const level = process.env.BENCH_KUBE_LOG_LEVEL ?? "warn";
    for (const n of ns) agents.push(await startKubeAgent(h, api, n, ["--log-level", level]));
    await Promise.all(agents.map((a) => a.ready(60_000)));
    for (const n of ns) await bird.waitForPeer(n.address, "established", 30_000);
    await waitFor(() => leaseHolder(api!), Boolean, { what: "a leader", timeoutMs: 20_000 });
    const leader = leaseHolder(api)!;

    // Through the API, as kubectl or a controller would: HTTP POSTs, 32 in flight.
    const client = clientFromKubeconfigText(api.kubeconfig().replace("user: {}", "user: { token: bench }"));
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < o.services) {
        const i = next++;
        await client.request("POST", "/api/v1/namespaces/shop/services", { body: service(`svc-${i}`) });
      }
    }));
    const createdMs = performance.now() - t0;
    await waitFor(() => allocatedCount(api!), (n) => n === o.services, { what: `${o.services} Services allocated`, timeoutMs: 600_000, intervalMs: 100 });
    const allocatedMs = performance.now() - t0;
    const want = o.services + 1; // every /32 and the node's Pod CIDR
    for (const n of ns) {
      await waitFor(() => bird!.routeCount({ peer: n.address }), (c) => c === want, { what: `BIRD to hold ${want} routes from ${n.name}`, timeoutMs: 600_000, intervalMs: 250 });
    }
    const advertisedMs = performance.now() - t0;
    const ips = ingress(api);
    const unique = new Set(Object.values(ips).flat()).size;
    const leaderWrites = api.requests.filter((r) => r.method === "PATCH" && /\/services\/[^/]+\/status$/.test(r.path) && r.headers.authorization === `Bearer ${leader}`).length;
    const otherWrites = api.requests.filter((r) => r.method === "PATCH" && /\/services\/[^/]+\/status$/.test(r.path) && r.headers.authorization !== `Bearer ${leader}`).length;
    await new Promise((r) => setTimeout(r, 1000));
    const mem = await Promise.all(agents.map((a) => rssOf(a.proc.pid)));

    let failover: { new_leader: string; kill_to_new_allocation_ms: number; moved: number } | null = null;
    if (o.failover) {
      const victim = agents.find((a) => a.node.name === leader)!;
      const before = ingress(api);
      const k0 = performance.now();
      await victim.proc.stop({ signal: "SIGKILL" });
      await client.request("POST", "/api/v1/namespaces/shop/services", { body: service("after-failover") });
      await waitFor(() => ingress(api!)["shop/after-failover"]?.length ?? 0, (n) => n === 1, { what: "the Service created after the kill to be allocated", timeoutMs: 120_000, intervalMs: 50 });
      const took = performance.now() - k0;
      const after = ingress(api);
      const moved = Object.entries(before).filter(([k, v]) => JSON.stringify(after[k]) !== JSON.stringify(v)).length;
      failover = { new_leader: leaseHolder(api) ?? "", kill_to_new_allocation_ms: Math.round(took), moved };
    }

    const result = {
      runtime: o.runtime,
      agents: o.agents,
      services: o.services,
      unique_addresses: unique,
      created_ms: Math.round(createdMs),
      allocated_ms: Math.round(allocatedMs),
      advertised_ms: Math.round(advertisedMs),
      routes_at_bird: want * o.agents,
      leader_status_writes: leaderWrites,
      other_status_writes: otherWrites,
      rss_mb: mem.map((m) => mb(m.rss)),
      peak_rss_mb: mem.map((m) => mb(m.hwm)),
      failover,
    };
    const rows: [string, string][] = [
      ["runtime", result.runtime],
      ["agents (one leader)", `${o.agents} (leader ${leader})`],
      ["Services created through the API", String(o.services)],
      ["distinct LoadBalancer IPs", String(unique)],
      ["all POSTed", `${result.created_ms} ms`],
      ["all allocated (IP in Service status)", `${result.allocated_ms} ms`],
      ["all advertised at BIRD by every agent", `${result.advertised_ms} ms (${result.routes_at_bird} routes)`],
      ["Service status writes by the leader / others", `${leaderWrites} / ${otherWrites}`],
      ["agent RSS", result.rss_mb.map((r, i) => `${ns[i].name} ${r} MiB (peak ${result.peak_rss_mb[i]})`).join(", ")],
    ];
    if (failover) {
      rows.push(["leader SIGKILLed → next Service allocated", `${failover.kill_to_new_allocation_ms} ms (new leader ${failover.new_leader}; lease 3 s)`]);
      rows.push(["addresses moved by the new leader", String(failover.moved)]);
    }
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log("herald Kubernetes-mode benchmark (API server double, BIRD)");
    for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
    if (process.env.BENCH_KUBE_LOG_LEVEL) for (const a of agents) console.error(a.proc.output(1_000_000));
    console.log(JSON.stringify(result));
  } finally {
    await api?.stop();
    await h.close();
  }
}

await main();
