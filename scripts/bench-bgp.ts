/**
 * BGP benchmark: a speaker advertises N IPv4 /32s over one eBGP session to a
 * BIRD 2 collector, each in its own network namespace joined by a veth pair.
 * Speakers: herald (src/bgp in a child process, under Deno and/or Node),
 * gobgpd (the baseline; routes loaded from an MRT file) and FRR bgpd
 * (`network` statements; up to --frr-max routes, it loads them slowly).
 *
 * For each speaker and N it reports:
 * - load: time to put the N routes into the speaker before the session;
 * - established → all: from the session reaching Established (BIRD's view,
 *   polled every 10 ms) until BIRD holds all N (its import counter);
 * - peak RSS: VmHWM of the speaker process (/proc/PID/status);
 * - withdraw → 0: from telling the speaker to withdraw everything until
 *   BIRD holds none.
 * Then the herald/gobgpd ratios, a readable table and, as the last line,
 * one JSON object with every figure. Benchmarks print figures; they never
 * gate CI. Needs root (namespaces), bird2, gobgpd and frr.
 *
 *   scripts/bench-bgp [N…] [--speakers herald,gobgpd,frr] [--runtimes deno,node] [--frr-max N]
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { BirdDaemon } from "../test/interop/harness/bird.ts";
import { FrrDaemon } from "../test/interop/harness/frr.ts";
import { GobgpDaemon } from "../test/interop/harness/gobgp.ts";
import { createHarness, type Harness } from "../test/interop/harness/harness.ts";
import { writeMrtRib } from "../test/interop/harness/mrt.ts";
import type { Link, Namespace } from "../test/interop/harness/netns.ts";
import { peakRss, run } from "../test/interop/harness/process.ts";
import { currentRuntime, type Runtime, scriptArgv } from "../test/interop/harness/runtime.ts";
import { waitFor } from "../test/interop/harness/wait.ts";
import { formatReport, type Result } from "./bench-bgp-report.ts";

const SPEAKER_AS = 65001;
const COLLECTOR_AS = 65000;
/** The /32s start here (100.64.0.0/10 holds 4M of them). */
const BASE = "100.64.0.0";
const MAX_ROUTES = 1 << 22;

interface Options {
  counts: number[];
  speakers: string[];
  runtimes: Runtime[];
  frrMax: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { counts: [], speakers: ["herald", "gobgpd", "frr"], runtimes: [currentRuntime()], frrMax: 100_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`Cannot parse arguments: ${a} needs a value`);
      return v;
    };
    if (a === "--speakers") o.speakers = value().split(",");
    else if (a === "--runtimes") o.runtimes = value().split(",") as Runtime[];
    else if (a === "--frr-max") o.frrMax = Number(value());
    else if (/^\d[\d_]*$/.test(a)) o.counts.push(Number(a.replaceAll("_", "")));
    else if (/^\d+k$/i.test(a)) o.counts.push(Number(a.slice(0, -1)) * 1000);
    else if (/^\d+m$/i.test(a)) o.counts.push(Number(a.slice(0, -1)) * 1_000_000);
    else throw new Error(`Cannot parse arguments: unknown "${a}" (expected N, --speakers, --runtimes, --frr-max)`);
  }
  if (o.counts.length === 0) o.counts = [10_000, 100_000, 1_000_000];
  for (const n of o.counts) {
    if (n < 1 || n > MAX_ROUTES) throw new Error(`Cannot benchmark ${n} routes: expected 1 to ${MAX_ROUTES}`);
  }
  for (const s of o.speakers) {
    if (!["herald", "gobgpd", "frr"].includes(s)) throw new Error(`Cannot benchmark speaker "${s}": expected herald, gobgpd or frr`);
  }
  for (const r of o.runtimes) {
    if (r !== "deno" && r !== "node") throw new Error(`Cannot run herald under "${r}": expected deno or node`);
  }
  return o;
}

/** Timeouts grow with the table: 60 s plus 60 s per million routes. */
const budget = (n: number) => 60_000 + Math.ceil(n / 1_000_000 * 60_000);

/** The /32s as text, for FRR and the MRT file. */
function* slash32s(n: number): Generator<string> {
  const [a, b, c, d] = BASE.split(".").map(Number);
  let v = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
  for (let i = 0; i < n; i++, v++) yield `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/32`;
}

interface Topology {
  h: Harness;
  speakerNs: Namespace;
  collectorNs: Namespace;
  link: Link;
}

/** A BIRD collector for the speaker at link.a; BIRD connects (gobgpd's first connect is slow). */
async function startCollector(t: Topology): Promise<BirdDaemon> {
  const bird = new BirdDaemon(t.h, {
    netns: t.collectorNs,
    routerId: t.link.b.ipv4,
    asn: COLLECTOR_AS,
    neighbors: [{ address: t.link.a.ipv4, asn: SPEAKER_AS, holdTime: 90, keepalive: 30 }],
  });
  await bird.start();
  return bird;
}

/**
 * When BIRD logged "BGP session established" (epoch ms). BIRD's log has
 * millisecond timestamps in local time, and its CLI can lag while it imports
 * a large burst, so its log is a better clock for the start than polling.
 */
function establishedAt(bird: BirdDaemon): number | undefined {
  const lines = bird.log(1 << 20).split("\n").filter((l) => l.includes(": BGP session established"));
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) /.exec(lines.at(-1) ?? "");
  return m ? new Date(`${m[1]}T${m[2]}`).getTime() : undefined;
}

/** Milliseconds from Established (BIRD's log) until BIRD holds `n` routes (its import counter, polled). */
async function establishedToAll(bird: BirdDaemon, peer: string, n: number): Promise<number> {
  await waitFor(() => bird.peer(peer), (p) => p.state === "established", {
    what: "the collector session to be established",
    timeoutMs: 30_000,
    intervalMs: 10,
    context: () => bird.log(2000),
  });
  await waitFor(() => bird.routeCount({ peer }), (c) => c >= n, { what: `BIRD to hold ${n} routes`, timeoutMs: budget(n), intervalMs: 20 });
  const allAt = Date.now();
  const upAt = establishedAt(bird);
  if (upAt === undefined) throw new Error("Cannot time the session: BIRD logged no \"BGP session established\"");
  return allAt - upAt;
}

/**
 * gobgp 3.10's `mrt inject` sometimes loses the last few hundred routes of
 * the file (the CLI ends its stream before the server took the last batch).
 * The loss is a contiguous tail: find where it starts (binary search, one
 * lookup per step) and add the rest one by one.
 */
async function topUpGobgp(gobgp: GobgpDaemon, n: number): Promise<number> {
  const held = await gobgp.ribSize("ipv4-unicast");
  if (held === n) return 0;
  const prefixes = [...slash32s(n)];
  const has = async (i: number) => {
    const out = await gobgp.cli(["global", "rib", "-a", "ipv4", prefixes[i], "-j"]).catch(() => "");
    return out.includes(prefixes[i]);
  };
  let lo = 0;
  let hi = n; // prefixes[lo..hi) contains the first missing index
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (await has(mid)) lo = mid + 1;
    else hi = mid;
  }
  const missing = prefixes.slice(lo);
  await gobgp.announce(missing.map((prefix) => ({ prefix, nextHop: undefined })));
  const after = await gobgp.ribSize("ipv4-unicast");
  if (after !== n) throw new Error(`Cannot load gobgpd: it holds ${after} of ${n} IPv4 routes after mrt inject and top-up`);
  return missing.length;
}

/** Milliseconds from `trigger()` until BIRD holds no route. */
async function withdrawToZero(bird: BirdDaemon, peer: string, n: number, trigger: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await trigger();
  await waitFor(() => bird.routeCount({ peer }), (c) => c === 0, { what: "BIRD to hold no route", timeoutMs: budget(n) * 2, intervalMs: 25 });
  return performance.now() - t0;
}

const speakerScript = fileURLToPath(new URL("./bench-bgp-speaker.ts", import.meta.url));

/**
 * argv of the speaker child. Deno runs the TypeScript as it is. Node 20
 * cannot, and a type-stripping loader would add its own ~30 MiB to the RSS
 * being measured, so Node gets the speaker bundled to plain JavaScript
 * (rolldown, already here through vitest) once per run.
 */
async function speakerArgv(runtime: Runtime, dir: string, json: string): Promise<string[]> {
  if (runtime === "deno") return scriptArgv(speakerScript, [json], "deno");
  const file = join(dir, "bench-bgp-speaker.mjs");
  const { rolldown } = await import("rolldown");
  const bundle = await rolldown({ input: speakerScript, platform: "node", logLevel: "warn" });
  await bundle.write({ file, format: "esm" });
  await bundle.close();
  return [currentRuntime() === "node" ? process.execPath : "node", file, json];
}

async function runHerald(t: Topology, n: number, runtime: Runtime): Promise<Result> {
  const lines: Record<string, unknown>[] = [];
  let partial = "";
  const [cmd, ...args] = await speakerArgv(runtime, t.h.dir, JSON.stringify({
    asn: SPEAKER_AS,
    routerId: t.link.a.ipv4,
    listen: t.link.a.ipv4,
    peer: t.link.b.ipv4,
    peerAsn: COLLECTOR_AS,
    routes: n,
    base: BASE,
  }));
  const child = t.h.spawn(t.speakerNs, cmd, args, {
    name: `herald speaker (${runtime})`,
    onOutput: (text) => {
      const parts = (partial + text).split("\n");
      partial = parts.pop()!;
      for (const p of parts) if (p.startsWith("{")) lines.push(JSON.parse(p));
    },
  });
  const event = (name: string) => lines.find((l) => l.event === name);
  const loaded = await waitFor(() => event("loaded"), (e) => e !== undefined, {
    what: "herald to load its routes",
    timeoutMs: budget(n),
    context: () => child.output(3000),
  });
  const bird = await startCollector(t);
  const toAll = await establishedToAll(bird, t.link.a.ipv4, n);
  const rss = await peakRss(child.pid);
  const toZero = await withdrawToZero(bird, t.link.a.ipv4, n, () => child.signal("SIGUSR1"));
  return {
    speaker: `herald (${runtime})`,
    routes: n,
    loadMs: Number(loaded!.ms),
    establishedToAllMs: toAll,
    peakRssBytes: rss ?? null,
    withdrawToZeroMs: toZero,
  };
}

async function runGobgp(t: Topology, n: number): Promise<Result> {
  const gobgp = new GobgpDaemon(t.h, {
    netns: t.speakerNs,
    routerId: t.link.a.ipv4,
    asn: SPEAKER_AS,
    listen: { addresses: [t.link.a.ipv4], port: 179 },
    neighbors: [{ address: t.link.b.ipv4, asn: COLLECTOR_AS, passive: true, holdTime: 90, keepalive: 30 }],
  });
  gobgp.exportOwnOnly = false;
  await gobgp.start();
  const file = join(t.h.dir, `routes-${n}.mrt`);
  await writeMrtRib(file, { routerId: t.link.a.ipv4, address: t.link.a.ipv4, asn: SPEAKER_AS }, (function* () {
    for (const prefix of slash32s(n)) yield { prefix, nextHop: t.link.a.ipv4 };
  })());
  const t0 = performance.now();
  await gobgp.injectMrt(file, budget(n) * 2);
  const loadMs = performance.now() - t0;
  const toppedUp = await topUpGobgp(gobgp, n);
  if (toppedUp > 0) process.stderr.write(`bench-bgp: gobgp mrt inject lost ${toppedUp} routes; added them with gobgp global rib add\n`);
  const bird = await startCollector(t);
  const toAll = await establishedToAll(bird, t.link.a.ipv4, n);
  const rss = await peakRss(gobgp.pid!);
  const toZero = await withdrawToZero(bird, t.link.a.ipv4, n, async () => {
    await gobgp.cli(["global", "rib", "-a", "ipv4", "del", "all"], budget(n));
  });
  return { speaker: "gobgpd", routes: n, loadMs, establishedToAllMs: toAll, peakRssBytes: rss ?? null, withdrawToZeroMs: toZero };
}

async function runFrr(t: Topology, n: number): Promise<Result> {
  const frr = new FrrDaemon(t.h, {
    netns: t.speakerNs,
    routerId: t.link.a.ipv4,
    asn: SPEAKER_AS,
    listen: { addresses: [t.link.a.ipv4], port: 179 },
    neighbors: [{ address: t.link.b.ipv4, asn: COLLECTOR_AS, passive: true, holdTime: 90, keepalive: 30 }],
    routes: [...slash32s(n)].map((prefix) => ({ prefix })),
  });
  frr.exportOwnOnly = false;
  const t0 = performance.now();
  await frr.start();
  await waitFor(async () => JSON.parse(await frr.vtysh("show bgp ipv4 unicast summary json")) as { ribCount?: number }, (s) => (s.ribCount ?? 0) >= n, {
    what: `FRR to hold its ${n} networks`,
    timeoutMs: budget(n) * 4,
    intervalMs: 100,
  });
  const loadMs = performance.now() - t0;
  const bird = await startCollector(t);
  const toAll = await establishedToAll(bird, t.link.a.ipv4, n);
  const rss = await peakRss(frr.pid!);
  // One vtysh session with every `no network` line.
  const file = join(t.h.dir, `withdraw-${n}.conf`);
  await writeFile(file, ["router bgp " + SPEAKER_AS, " address-family ipv4 unicast", ...[...slash32s(n)].map((p) => `  no network ${p}`), " exit-address-family", "exit", ""].join("\n"));
  const toZero = await withdrawToZero(bird, t.link.a.ipv4, n, async () => {
    await run("vtysh", ["--vty_socket", frr.vtyDir, "-d", "bgpd", "-f", file], { timeoutMs: budget(n) * 4 });
  });
  return { speaker: "frr", routes: n, loadMs, establishedToAllMs: toAll, peakRssBytes: rss ?? null, withdrawToZeroMs: toZero };
}

async function versions(): Promise<Record<string, string>> {
  const first = async (cmd: string, args: string[]) => {
    const r = await run(cmd, args, { allowFailure: true }).catch(() => ({ stdout: "", stderr: "" }));
    return (r.stdout + r.stderr).split("\n")[0].trim();
  };
  const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { devDependencies?: Record<string, string> };
  return {
    bird: (await first("bird", ["--version"])).replace(/^BIRD version /, ""),
    gobgpd: (await first("gobgpd", ["--version"])).replace(/^gobgpd version /, ""),
    frr: (await first("/usr/lib/frr/bgpd", ["--version"])).replace(/^bgpd version /, ""),
    node: (await first("node", ["--version"])).replace(/^v/, ""),
    deno: pkg.devDependencies?.deno ?? "",
    kernel: (await first("uname", ["-r"])),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error("Cannot run bench-bgp: network namespaces need root");
  const h = createHarness("bb");
  const results: Result[] = [];
  try {
    for (const n of o.counts) {
      const jobs: Array<[string, (t: Topology) => Promise<Result>]> = [];
      if (o.speakers.includes("herald")) for (const r of o.runtimes) jobs.push([`herald (${r})`, (t) => runHerald(t, n, r)]);
      if (o.speakers.includes("gobgpd")) jobs.push(["gobgpd", (t) => runGobgp(t, n)]);
      if (o.speakers.includes("frr") && n <= o.frrMax) jobs.push(["frr", (t) => runFrr(t, n)]);
      for (const [name, job] of jobs) {
        const c = h.child();
        process.stderr.write(`bench-bgp: ${name}, ${n} routes…\n`);
        try {
          const { a, b, link } = await c.pair();
          results.push(await job({ h: c, speakerNs: a, collectorNs: b, link }));
        } catch (e) {
          results.push({ speaker: name, routes: n, loadMs: null, establishedToAllMs: null, peakRssBytes: null, withdrawToZeroMs: null, error: (e as Error).message.split("\n")[0] });
        } finally {
          await c.close();
        }
      }
    }
  } finally {
    await h.close();
  }
  const report = formatReport(results, await versions());
  process.stdout.write(report.text + "\n" + JSON.stringify(report.json) + "\n");
}

await main();
