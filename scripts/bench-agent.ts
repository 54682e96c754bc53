/**
 * Agent benchmark: herald agent (a child process, --no-datapath) advertises
 * the LoadBalancer IPs of S Services to P BIRD peers (one BIRD in a network
 * namespace, one veth link per peer), then
 *
 * - initial: from starting the agent until BIRD holds S routes from every peer;
 * - RSS: the agent's VmRSS (now) and VmHWM (peak) while advertising them;
 * - latency: C times, a new Service file written (atomic rename) → its
 *   route at BIRD from every peer; BIRD is asked over one persistent
 *   control-socket connection (no birdc process per poll). Changes are
 *   spaced by 150 ms, so each is a lone change (not folded into the
 *   previous one by the 100 ms coalescing of spec E20).
 *
 * Prints a readable table and, as the LAST line, one JSON object with the
 * figures. Benchmarks print figures; they never gate CI. Needs root and bird2.
 *
 *   scripts/bench-agent [--services S] [--peers P] [--changes C] [--runtime deno|node]
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { createHarness } from "../test/interop/harness/harness.ts";
import type { BirdDaemon } from "../test/interop/harness/bird.ts";
import { freePort } from "../test/interop/harness/daemon.ts";
import { type Link, ROOT } from "../test/interop/harness/netns.ts";
import { currentRuntime, type Runtime, scriptArgv } from "../test/interop/harness/runtime.ts";
import { waitFor } from "../test/interop/harness/wait.ts";

interface Options {
  services: number;
  peers: number;
  changes: number;
  runtime: Runtime;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { services: 10_000, peers: 4, changes: 100, runtime: currentRuntime() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
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
    else if (a === "--peers") o.peers = n;
    else if (a === "--changes") o.changes = n;
    else throw new Error(`Cannot parse arguments: unknown "${a}" (expected --services, --peers, --changes, --runtime)`);
  }
  if (o.services > 60_000) throw new Error("Cannot benchmark more than 60000 Services: the pool is 10.201.0.0/16 with 10.201.240.0/20 kept for the changes");
  return o;
}

/** One persistent connection to BIRD's control socket; commands answered in order. */
class BirdSocket {
  #sock: Socket;
  #buf = "";
  #waiting: Array<{ lines: string[]; done: (lines: string[]) => void }> = [];

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => this.#onData(d));
  }

  static async open(path: string): Promise<BirdSocket> {
    const sock = connect(path);
    await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
    const b = new BirdSocket(sock);
    await new Promise<string[]>((done) => b.#waiting.push({ lines: [], done })); // "0001 BIRD … ready."
    return b;
  }

  #onData(d: string): void {
    this.#buf += d;
    let nl: number;
    while ((nl = this.#buf.indexOf("\n")) >= 0) {
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      const w = this.#waiting[0];
      if (!w) continue;
      w.lines.push(line);
      // A reply ends with a line of four digits and a space ("0000 ", "8001 Network not found").
      if (/^\d{4} /.test(line)) {
        this.#waiting.shift();
        w.done(w.lines);
      }
    }
  }

  command(cmd: string): Promise<string[]> {
    return new Promise((done) => {
      this.#waiting.push({ lines: [], done });
      this.#sock.write(cmd + "\n");
    });
  }

  /** How many BGP paths BIRD holds for the prefix (one per peer that sent it). */
  async paths(prefix: string): Promise<number> {
    const lines = await this.command(`show route for ${prefix} table master4`);
    let n = 0;
    for (const l of lines) n += (l.match(/ unicast \[n\d+ /g) ?? []).length;
    return n;
  }

  close(): void {
    this.#sock.destroy();
  }
}

const ip = (i: number) => `10.201.${i >> 8}.${i & 255}`;

function serviceDoc(name: string, requested?: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: bench
  labels: { expose: "yes" }${requested ? `\n  annotations: { "lbipam.cilium.io/ips": "${requested}" }` : ""}
spec:
  type: LoadBalancer
  ports: [{ port: 443, protocol: TCP }]
`;
}

function bgpDocs(links: Link[]): string {
  const peers = links.map((l, i) => `        - { name: bird-${i}, peerAddress: ${l.b.ipv4}, peerASN: 65000, peerConfigRef: { name: bench } }`).join("\n");
  return `apiVersion: v1
kind: Node
metadata: { name: bench, labels: { bgp: "on" } }
status: { addresses: [{ type: InternalIP, address: ${links[0].a.ipv4} }] }
---
apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: { name: bench }
spec:
  nodeSelector: { matchLabels: { bgp: "on" } }
  bgpInstances:
    - name: bench
      localASN: 65001
      peers:
${peers}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: { name: bench }
spec:
  timers: { holdTimeSeconds: 30, keepAliveTimeSeconds: 10, connectRetryTimeSeconds: 1 }
  families: [{ afi: ipv4, safi: unicast, advertisements: { matchLabels: { ad: bench } } }]
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: { name: bench, labels: { ad: bench } }
spec:
  advertisements:
    - advertisementType: Service
      service: { addresses: [LoadBalancerIP] }
      selector: { matchLabels: { expose: "yes" } }
      attributes: { communities: { standard: ["65001:10"] } }
---
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: { name: bench }
spec: { blocks: [{ cidr: 10.201.0.0/16 }] }
`;
}

function write(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

async function rssOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const mb = (b: number) => Math.round(b / 1024 / 1024 * 10) / 10;
const ms = (x: number) => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const h = createHarness("bag");
  let bird: BirdDaemon | undefined;
  let sock: BirdSocket | undefined;
  try {
    const ns = await h.namespace();
    const links: Link[] = [];
    for (let i = 0; i < o.peers; i++) links.push(await h.link(ROOT, ns));
    bird = await h.bird({
      netns: ns,
      routerId: links[0].b.ipv4,
      asn: 65000,
      neighbors: links.map((l) => ({ address: l.a.ipv4, asn: 65001, passive: true, holdTime: 30, families: ["ipv4-unicast" as const] })),
    });
    const config = join(h.dir, "config");
    const state = join(h.dir, "state");
    mkdirSync(config, { recursive: true });
    write(config, "00-bgp.yaml", bgpDocs(links));
    // The Services in files of 1000, as a generator or kustomize would write them.
    for (let f = 0; f * 1000 < o.services; f++) {
      const docs: string[] = [];
      for (let i = f * 1000; i < Math.min(o.services, (f + 1) * 1000); i++) docs.push(serviceDoc(`svc-${i}`));
      write(config, `10-services-${String(f).padStart(3, "0")}.yaml`, docs.join("---\n"));
    }
    const apiPort = await freePort();
    const [cmd, ...args] = scriptArgv("mod.ts", [
      "agent", "--config-dir", config, "--state-dir", state, "--node-name", "bench", "--api", `127.0.0.1:${apiPort}`,
      "--no-datapath", "--log-level", process.env.BENCH_AGENT_LOG_LEVEL ?? "warn",
    ], o.runtime);
    const t0 = performance.now();
    const agent = h.spawn(ROOT, cmd, args, { name: "herald agent" });
    const total = o.services * o.peers;
    await waitFor(() => bird!.routeCount(), (n) => n === total, {
      what: `BIRD to hold ${total} routes`,
      timeoutMs: 300_000,
      intervalMs: 100,
    }).catch((e) => {
      throw new Error(`${(e as Error).message}\nagent output:\n${agent.output()}`);
    });
    const initialMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1000));
    const mem = await rssOf(agent.pid);

    sock = await BirdSocket.open(bird.socket);
    const latencies: number[] = [];
    for (let i = 0; i < o.changes; i++) {
      const addr = ip(0xf000 + i);
      const start = performance.now();
      write(config, `20-change-${i}.yaml`, serviceDoc(`change-${i}`, addr));
      const deadline = start + 10_000;
      while ((await sock.paths(`${addr}/32`)) < o.peers) {
        if (performance.now() > deadline) throw new Error(`Cannot see ${addr}/32 at BIRD from ${o.peers} peers after 10 s\n${agent.output()}`);
      }
      latencies.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 150));
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const after = await rssOf(agent.pid);
    const result = {
      runtime: o.runtime,
      services: o.services,
      peers: o.peers,
      routes_at_bird: total,
      initial_ms: Math.round(initialMs),
      rss_mb: mb(mem.rss),
      peak_rss_mb: mb(Math.max(mem.hwm, after.hwm)),
      changes: o.changes,
      latency_ms: { p50: ms(percentile(sorted, 50)), p90: ms(percentile(sorted, 90)), p99: ms(percentile(sorted, 99)), max: ms(sorted[sorted.length - 1]) },
      goal_p99_ms: 100,
    };
    const rows = [
      ["runtime", result.runtime],
      ["Services advertised", String(o.services)],
      ["BGP peers (BIRD)", String(o.peers)],
      ["routes at BIRD", String(total)],
      ["agent start → all routes at BIRD", `${result.initial_ms} ms`],
      ["agent RSS while advertising", `${result.rss_mb} MiB (peak ${result.peak_rss_mb} MiB)`],
      [`Service file → route at BIRD from all peers (${o.changes} changes)`, `p50 ${result.latency_ms.p50} ms, p90 ${result.latency_ms.p90} ms, p99 ${result.latency_ms.p99} ms, max ${result.latency_ms.max} ms`],
      ["goal", `p99 < 100 ms: ${result.latency_ms.p99 < 100 ? "met" : "NOT met"}`],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log("herald agent benchmark");
    for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
    await agent.stop();
    if (process.env.BENCH_AGENT_LOG_LEVEL) console.error(agent.output(1_000_000));
    console.log(JSON.stringify(result));
  } finally {
    sock?.close();
    await h.close();
  }
}

await main();
