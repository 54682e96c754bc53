/**
 * What every daemon driver shares: lifecycle (start inside a namespace or
 * in the root namespace, stop by PID, restart, freeze/thaw), cleanup
 * registration, the originated-route set that survives restarts, and the
 * waits. A driver supplies config generation, its command line, a readiness
 * probe and the queries.
 */
import { accessSync, constants, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { ManagedProcess } from "./process.ts";
import type { Namespace } from "./netns.ts";
import type { Scope } from "./scope.ts";
import type {
  BgpDaemon,
  DaemonConfig,
  DaemonKind,
  Family,
  NeighborConfig,
  OriginatedRoute,
  PeerStatus,
  Route,
  RouteQuery,
  SessionState,
} from "./types.ts";
import { describeValue, waitFor } from "./wait.ts";

export interface DaemonOptions extends DaemonConfig {
  /** Where the daemon runs; default the root namespace (then it listens on 127.0.0.1 and a free port). */
  netns?: Namespace;
}

/** Throws a clear error when a binary is missing: interop tests fail, they never skip. */
export function requireBinary(path: string, debianPackage: string): string {
  const candidates = path.includes("/") ? [path] : (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter).map((d) => join(d, path));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch { /* next */ }
  }
  throw new Error(`Cannot find "${path}": install the Debian package "${debianPackage}" (.ci/run does)`);
}

/** A TCP port free on 127.0.0.1 of the root namespace right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const isIPv6 = (address: string): boolean => address.includes(":");

export const familyOf = (prefixOrAddress: string): Family => isIPv6(prefixOrAddress) ? "ipv6-unicast" : "ipv4-unicast";

/** 127.0.0.0/8 or ::1. */
export const isLoopback = (address: string): boolean => address.startsWith("127.") || address === "::1";

/** A neighbour with the harness defaults filled in (short timers for fast tests). */
export interface ResolvedNeighbor extends NeighborConfig {
  port: number;
  holdTime: number;
  keepalive: number;
  connectRetry: number;
  families: Family[];
}

export function resolveNeighbor(n: NeighborConfig): ResolvedNeighbor {
  const holdTime = n.holdTime ?? 9;
  if (n.multihop !== undefined && n.ttlSecurity !== undefined) {
    throw new Error(`Cannot configure neighbor "${n.address}": multihop and ttlSecurity exclude each other`);
  }
  return {
    ...n,
    port: n.port ?? 179,
    holdTime,
    keepalive: n.keepalive ?? Math.max(1, Math.floor(holdTime / 3)),
    connectRetry: n.connectRetry ?? 1,
    families: n.families ?? [familyOf(n.address)],
  };
}

/** Restart time in seconds from the `gracefulRestart` option, or undefined when not enabled. */
export function restartTime(gr: NeighborConfig["gracefulRestart"], daemonDefault: number): number | undefined {
  if (gr === undefined || gr === false) return undefined;
  return gr === true ? daemonDefault : gr.restartTime;
}

/** "65000:100" → [65000, 100]; throws on anything else. */
export function parseCommunity(text: string, parts: 2 | 3): number[] {
  const nums = text.split(":").map(Number);
  if (nums.length !== parts || nums.some((n) => !Number.isInteger(n) || n < 0 || n > 0xffffffff)) {
    throw new Error(`Cannot parse ${parts === 2 ? "community" : "large community"} "${text}": expected ${parts === 2 ? "ASN:VALUE" : "ASN:DATA1:DATA2"}`);
  }
  return nums;
}

export function stateMatches(want: SessionState | ((p: PeerStatus) => boolean)): (p: PeerStatus) => boolean {
  return typeof want === "function" ? want : (p) => p.state === want;
}

export function filterRoutes(routes: Route[], query: RouteQuery = {}): Route[] {
  return routes.filter((r) => (query.peer === undefined || r.peer === query.peer) && (query.family === undefined || r.family === query.family));
}

/** Shared implementation of `BgpDaemon`; drivers fill in the abstract parts. */
export abstract class DaemonBase implements BgpDaemon {
  abstract readonly kind: DaemonKind;
  readonly name: string;
  readonly config: DaemonConfig;
  readonly namespace: Namespace | undefined;
  readonly dir: string;
  readonly scope: Scope;
  readonly neighbors: ResolvedNeighbor[];
  /** BGP listen port (set by `prepare()`); undefined with `listen: false`. */
  port: number | undefined;
  /**
   * Export only the daemon's own routes (default). GoBGP and FRR honour
   * false (they then export everything they hold); benchmarks with one
   * neighbour turn it off so FRR is not handed a million-entry prefix-list.
   * Set before `start()`.
   */
  exportOwnOnly = true;
  /** Originated routes by prefix; survives restarts. */
  protected readonly originated = new Map<string, OriginatedRoute>();
  #process: ManagedProcess | undefined;
  #prepared = false;
  #previousLogs = "";

  constructor(scope: Scope, options: DaemonOptions) {
    const { netns, ...config } = options;
    this.scope = scope;
    this.config = config;
    this.namespace = netns?.name === undefined ? undefined : netns;
    this.name = scope.name();
    this.dir = join(scope.dir, this.name);
    mkdirSync(this.dir, { recursive: true });
    this.neighbors = config.neighbors.map(resolveNeighbor);
    for (const r of config.routes ?? []) this.originated.set(r.prefix, r);
    scope.defer(() => this.stop());
  }

  get netns(): string | undefined {
    return this.namespace?.name;
  }

  get pid(): number | undefined {
    return this.#process?.running ? this.#process.pid : undefined;
  }

  get running(): boolean {
    return this.#process?.running ?? false;
  }

  /** "bird hb-123-4 (in hb-123-0)" for messages. */
  get label(): string {
    return `${this.kind} ${this.name} (${this.namespace ? `in ${this.namespace.name}` : "root namespace"})`;
  }

  /** Listen addresses to bind, or undefined for all addresses. */
  protected get listenAddresses(): string[] | undefined {
    const listen = this.config.listen;
    if (listen === false) return undefined;
    if (listen?.addresses) return listen.addresses;
    return this.namespace ? undefined : ["127.0.0.1"];
  }

  /** argv of the daemon (without namespace wrapping). */
  protected abstract command(): string[];
  /** Writes the config files into `dir` (called before every start). */
  protected abstract writeConfig(): Promise<void>;
  /** Resolves once the control interface answers. */
  protected abstract ready(): Promise<unknown>;
  /** Sees every line the daemon logs (e.g. GoBGP's "Peer Down" reasons). */
  protected onLogLine(_line: string): void {}
  /** Called after `ready()` (e.g. GoBGP adds its originated routes). */
  protected afterStart(): Promise<void> {
    return Promise.resolve();
  }
  /** Allocates ports etc. once, before the first start. */
  protected async prepare(): Promise<void> {
    if (this.config.listen === false) this.port = undefined;
    else this.port = this.config.listen?.port ?? (this.namespace ? 179 : await freePort());
  }

  abstract peers(): Promise<PeerStatus[]>;
  abstract routes(query?: RouteQuery): Promise<Route[]>;
  abstract routeCount(query?: RouteQuery): Promise<number>;
  protected abstract applyAnnounce(routes: OriginatedRoute[]): Promise<void>;
  protected abstract applyWithdraw(prefixes: string[]): Promise<void>;

  async start(): Promise<void> {
    if (this.running) throw new Error(`Cannot start ${this.label}: already running (pid ${this.pid})`);
    if (!this.#prepared) {
      await this.prepare();
      this.#prepared = true;
    }
    await this.writeConfig();
    const [cmd, ...args] = this.command();
    let partial = "";
    const proc = new ManagedProcess(cmd, args, {
      netns: this.netns,
      name: this.label,
      cwd: this.dir,
      onOutput: (text) => {
        const lines = (partial + text).split("\n");
        partial = lines.pop()!;
        for (const line of lines) this.onLogLine(line);
      },
    });
    this.#process = proc;
    this.scope.trackPid(proc.pid);
    try {
      const died = new AbortController();
      void proc.exited.then(() => died.abort(new Error(`Cannot start ${this.label}: exited with ${describeValue(proc.exitStatus)}\nlog:\n${proc.output(4000)}`)));
      await waitFor(() => this.ready(), () => true, {
        what: `${this.label} to answer on its control socket`,
        timeoutMs: 15_000,
        intervalMs: 50,
        signal: died.signal,
        context: () => `log:\n${proc.output(4000)}`,
      });
      if (!proc.running) throw died.signal.reason;
      await this.afterStart();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  async stop(options: { hard?: boolean } = {}): Promise<void> {
    const proc = this.#process;
    if (!proc) return;
    await proc.stop({ signal: options.hard ? "SIGKILL" : "SIGTERM" });
    this.scope.untrackPid(proc.pid);
    this.#previousLogs += proc.output(64_000);
  }

  async restart(options: { hard?: boolean } = {}): Promise<void> {
    await this.stop(options);
    await this.start();
  }

  freeze(): void {
    this.#requireProcess("freeze").freeze();
  }

  thaw(): void {
    this.#requireProcess("thaw").thaw();
  }

  poke(): Promise<void> {
    return Promise.resolve();
  }

  #requireProcess(action: string): ManagedProcess {
    if (!this.#process?.running) throw new Error(`Cannot ${action} ${this.label}: not running`);
    return this.#process;
  }

  /** The daemon's log since it was created, across restarts (tail). */
  log(maxChars = 8000): string {
    const all = this.#previousLogs + (this.#process?.running ? this.#process.output(64_000) : "");
    return all.length > maxChars ? "…" + all.slice(-maxChars) : all;
  }

  async peer(address: string): Promise<PeerStatus> {
    const all = await this.peers();
    const found = all.find((p) => p.address === address);
    if (!found) {
      throw new Error(`Cannot find neighbor "${address}" on ${this.label}: it has ${all.map((p) => p.address).join(", ") || "none"}`);
    }
    return found;
  }

  async announce(routes: OriginatedRoute[]): Promise<void> {
    for (const r of routes) this.originated.set(r.prefix, r);
    if (this.running) await this.applyAnnounce(routes);
  }

  async withdraw(prefixes: string[]): Promise<void> {
    for (const p of prefixes) this.originated.delete(p);
    if (this.running) await this.applyWithdraw(prefixes);
  }

  waitForPeer(address: string, state: SessionState | ((p: PeerStatus) => boolean) = "established", timeoutMs = 15_000): Promise<PeerStatus> {
    const ok = stateMatches(state);
    return waitFor(() => this.peer(address), ok, {
      what: `${this.label} neighbor ${address} ${typeof state === "string" ? `to be ${state}` : "to match"}`,
      timeoutMs,
      intervalMs: 100,
      context: () => `${this.kind} log:\n${this.log(3000)}`,
    });
  }

  waitForRouteCount(count: number, query: RouteQuery = {}, timeoutMs = 15_000): Promise<number> {
    return waitFor(() => this.routeCount(query), (n) => n === count, {
      what: `${this.label} to hold ${count} routes${query.peer ? ` from ${query.peer}` : ""}${query.family ? ` (${query.family})` : ""}`,
      timeoutMs,
      intervalMs: 100,
      context: () => `${this.kind} log:\n${this.log(3000)}`,
    });
  }
}
