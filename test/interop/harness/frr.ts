/**
 * FRR bgpd driver, standalone (no zebra, no watchfrr):
 * `/usr/lib/frr/bgpd -Z -S -P 0 -F traditional -f CONF -i PID --vty_socket DIR -p PORT [-l ADDR]…`,
 * queried with `vtysh --vty_socket DIR -d bgpd -c '… json'`.
 *
 * Pitfalls handled (see interop-pitfalls.md):
 * - `no bgp ebgp-requires-policy` (otherwise eBGP accepts and sends nothing)
 *   and `no bgp network import-check` (originate without zebra).
 * - A 127.0.0.0/8 NEXT_HOP is martian and resets the session: with a
 *   loopback neighbour the config adds `bgp allow-martian-nexthop` and
 *   `neighbor X disable-connected-check`.
 * - `coalesce-time 0` and `advertisement-interval 0`: no batching delay.
 * - Communities only show per prefix or with `json detail`: `routes()` uses
 *   `show bgp … json detail`.
 * - Export sends only the daemon's own routes: a prefix-list of them
 *   (`match peer local` cannot work outbound: there "peer" is the receiver).
 * - Route-maps are written before `router bgp`: a `network … route-map X`
 *   read before X exists is dropped.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DaemonBase, type DaemonOptions, familyOf, filterRoutes, isIPv6, isLoopback, requireBinary, restartTime, type ResolvedNeighbor } from "./daemon.ts";
import { type FrrNeighbor, frrPeerStatus, parseFrrRoutes } from "./frr-parse.ts";
import { run } from "./process.ts";
import type { Scope } from "./scope.ts";
import type { Family, OriginatedRoute, PeerStatus, Route, RouteQuery } from "./types.ts";

const AF: Record<Family, string> = { "ipv4-unicast": "ipv4 unicast", "ipv6-unicast": "ipv6 unicast" };
const AF_JSON: Record<Family, string> = { "ipv4-unicast": "ipv4Unicast", "ipv6-unicast": "ipv6Unicast" };

/** Prefix-lists of the daemon's own prefixes: the only routes it exports. */
const OWN_LIST = { v4: "HARNESS-OWN4", v6: "HARNESS-OWN6" } as const;
const LAST_SEQ = 4294967295;

/** Explicit sequence numbers: an automatic one would come after the final "deny any". */
function prefixListEntry(prefix: string, seq: number): string {
  return isIPv6(prefix) ? `ipv6 prefix-list ${OWN_LIST.v6} seq ${seq} permit ${prefix}` : `ip prefix-list ${OWN_LIST.v4} seq ${seq} permit ${prefix}`;
}

/** route-map lines that give an originated route its attributes. */
export function frrRouteMapSets(r: OriginatedRoute): string[] {
  const sets: string[] = [];
  if (r.origin) sets.push(`set origin ${r.origin}`);
  if (r.asPath?.length) sets.push(`set as-path prepend ${r.asPath.join(" ")}`);
  if (r.med !== undefined) sets.push(`set metric ${r.med}`);
  if (r.localPref !== undefined) sets.push(`set local-preference ${r.localPref}`);
  if (r.communities?.length) sets.push(`set community ${r.communities.join(" ")}`);
  if (r.largeCommunities?.length) sets.push(`set large-community ${r.largeCommunities.join(" ")}`);
  if (r.nextHop) sets.push(isIPv6(r.nextHop) ? `set ipv6 next-hop global ${r.nextHop}` : `set ip next-hop ${r.nextHop}`);
  return sets;
}

export class FrrDaemon extends DaemonBase {
  readonly kind = "frr" as const;
  /** Directory holding bgpd.vty. */
  readonly vtyDir: string;
  readonly #bin: string;
  readonly #vtysh: string;
  readonly #confPath: string;
  #routeMapSeq = 0;
  readonly #routeMaps = new Map<string, string>();
  #listSeq = 0;
  /** Prefix-list sequence number of each own prefix. */
  readonly #listSeqs = new Map<string, number>();

  #seqFor(prefix: string): number {
    let seq = this.#listSeqs.get(prefix);
    if (seq === undefined) {
      seq = ++this.#listSeq;
      this.#listSeqs.set(prefix, seq);
    }
    return seq;
  }

  constructor(scope: Scope, options: DaemonOptions) {
    super(scope, options);
    this.#bin = requireBinary("/usr/lib/frr/bgpd", "frr");
    this.#vtysh = requireBinary("vtysh", "frr");
    this.vtyDir = this.dir;
    this.#confPath = join(this.dir, "bgpd.conf");
  }

  protected command(): string[] {
    const argv = [
      this.#bin, "-Z", "-S", "-P", "0", "-F", "traditional",
      "-f", this.#confPath, "-i", join(this.dir, "bgpd.pid"), "--vty_socket", this.vtyDir,
      "-p", String(this.port ?? 0), "--log", "stdout", "--log-level", "informational",
    ];
    for (const a of this.listenAddresses ?? []) argv.push("-l", a);
    return argv;
  }

  #routeMapFor(r: OriginatedRoute): string | undefined {
    const sets = frrRouteMapSets(r);
    if (sets.length === 0) return undefined;
    const name = `HARNESS-R${this.#routeMapSeq++}`;
    this.#routeMaps.set(name, [`route-map ${name} permit 10`, ...sets.map((s) => ` ${s}`), "exit"].join("\n"));
    return name;
  }

  #neighborLines(n: ResolvedNeighbor): string[] {
    const a = n.address;
    const l = [`neighbor ${a} remote-as ${n.asn}`, `neighbor ${a} port ${n.port}`, `neighbor ${a} timers ${n.keepalive} ${n.holdTime}`];
    l.push(`neighbor ${a} timers connect ${n.connectRetry}`, `neighbor ${a} advertisement-interval 0`);
    if (n.passive) l.push(`neighbor ${a} passive`);
    if (n.localAddress) l.push(`neighbor ${a} update-source ${n.localAddress}`);
    if (n.multihop !== undefined) l.push(`neighbor ${a} ebgp-multihop ${n.multihop}`);
    if (n.ttlSecurity !== undefined) l.push(`neighbor ${a} ttl-security hops ${n.ttlSecurity}`);
    if (n.md5Password !== undefined) l.push(`neighbor ${a} password ${n.md5Password}`);
    if (n.extendedNextHop) l.push(`neighbor ${a} capability extended-nexthop`);
    if (isLoopback(a)) l.push(`neighbor ${a} disable-connected-check`);
    // GR on is global (`bgp graceful-restart`); 8.4 refuses `neighbor X graceful-restart` beside it.
    if (n.gracefulRestart === false) l.push(`neighbor ${a} graceful-restart-disable`);
    return l;
  }

  /** The generated bgpd.conf text. */
  configText(): string {
    const c = this.config;
    this.#routeMaps.clear();
    const lines = ["! Generated by herald's interop harness", "frr defaults traditional", `hostname ${this.name}`, "!"];
    const own = [...this.originated.values()];
    const networks = own.map((r) => {
      const rm = this.#routeMapFor(r);
      return { r, line: `  network ${r.prefix}${rm ? ` route-map ${rm}` : ""}` };
    });
    for (const rm of this.#routeMaps.values()) lines.push(rm, "!");
    if (this.exportOwnOnly) {
      for (const r of own) lines.push(prefixListEntry(r.prefix, this.#seqFor(r.prefix)));
      lines.push(`ip prefix-list ${OWN_LIST.v4} seq ${LAST_SEQ} deny any`, `ipv6 prefix-list ${OWN_LIST.v6} seq ${LAST_SEQ} deny any`, "!");
    }
    lines.push(`router bgp ${c.asn}`, ` bgp router-id ${c.routerId}`);
    lines.push(" no bgp ebgp-requires-policy", " no bgp network import-check", " no bgp default ipv4-unicast", " coalesce-time 0");
    if (this.neighbors.some((n) => isLoopback(n.address))) lines.push(" bgp allow-martian-nexthop");
    const times = this.neighbors.map((n) => restartTime(n.gracefulRestart, 120)).filter((t): t is number => t !== undefined);
    // FRR has one restart time for all neighbours: the longest asked for.
    if (times.length > 0) lines.push(" bgp graceful-restart", ` bgp graceful-restart restart-time ${Math.max(...times)}`);
    for (const n of this.neighbors) lines.push(...this.#neighborLines(n).map((s) => ` ${s}`));
    for (const family of ["ipv4-unicast", "ipv6-unicast"] as Family[]) {
      const nbrs = this.neighbors.filter((n) => n.families.includes(family));
      const mine = networks.filter((x) => familyOf(x.r.prefix) === family);
      if (nbrs.length === 0 && mine.length === 0) continue;
      // Loops, not push(...spread): a million networks would overflow the stack.
      lines.push(` address-family ${AF[family]}`);
      for (const x of mine) lines.push(x.line);
      const list = family === "ipv4-unicast" ? OWN_LIST.v4 : OWN_LIST.v6;
      for (const n of nbrs) {
        lines.push(`  neighbor ${n.address} activate`);
        if (this.exportOwnOnly) lines.push(`  neighbor ${n.address} prefix-list ${list} out`);
      }
      lines.push(" exit-address-family");
    }
    lines.push("exit", "!");
    return lines.join("\n") + "\n";
  }

  protected async writeConfig(): Promise<void> {
    await writeFile(this.#confPath, this.configText());
  }

  protected ready(): Promise<unknown> {
    return this.vtysh("show bgp summary json");
  }

  /** Runs vtysh commands (each a `-c`) against this bgpd; returns stdout. */
  async vtysh(...commands: string[]): Promise<string> {
    const args = ["--vty_socket", this.vtyDir, "-d", "bgpd"];
    for (const c of commands) args.push("-c", c);
    const { stdout } = await run(this.#vtysh, args, { timeoutMs: 120_000 });
    return stdout;
  }

  async #json<T>(command: string): Promise<T> {
    const text = await this.vtysh(command);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`Cannot parse "${command}" output of ${this.label}: ${text.slice(0, 300)}`);
    }
  }

  async peers(): Promise<PeerStatus[]> {
    const all = await this.#json<Record<string, FrrNeighbor>>("show bgp neighbors json");
    return Object.entries(all).map(([address, n]) => frrPeerStatus(address, n));
  }

  async routes(query: RouteQuery = {}): Promise<Route[]> {
    const families = query.family ? [query.family] : (["ipv4-unicast", "ipv6-unicast"] as Family[]);
    const out: Route[] = [];
    for (const f of families) {
      const json = await this.#json<{ routes?: Record<string, unknown[]> }>(`show bgp ${AF[f]} json detail`);
      for (const r of parseFrrRoutes(json, f)) out.push(r);
    }
    return filterRoutes(out, query);
  }

  async routeCount(query: RouteQuery = {}): Promise<number> {
    const all = await this.#json<Record<string, FrrNeighbor>>("show bgp neighbors json");
    let total = 0;
    for (const [address, n] of Object.entries(all)) {
      if (query.peer !== undefined && address !== query.peer) continue;
      for (const [af, info] of Object.entries(n.addressFamilyInfo ?? {})) {
        if (query.family === undefined || AF_JSON[query.family] === af) total += info.acceptedPrefixCounter ?? 0;
      }
    }
    return total;
  }

  protected async applyAnnounce(routes: OriginatedRoute[]): Promise<void> {
    const cmds = ["configure terminal"];
    const networks: Record<Family, string[]> = { "ipv4-unicast": [], "ipv6-unicast": [] };
    for (const r of routes) {
      const rm = this.#routeMapFor(r);
      if (rm) cmds.push(...this.#routeMaps.get(rm)!.split("\n").map((s) => s.trim()));
      if (this.exportOwnOnly && !this.#listSeqs.has(r.prefix)) cmds.push(prefixListEntry(r.prefix, this.#seqFor(r.prefix)));
      networks[familyOf(r.prefix)].push(`network ${r.prefix}${rm ? ` route-map ${rm}` : ""}`);
    }
    cmds.push(`router bgp ${this.config.asn}`);
    for (const f of ["ipv4-unicast", "ipv6-unicast"] as Family[]) {
      if (networks[f].length) cmds.push(`address-family ${AF[f]}`, ...networks[f], "exit-address-family");
    }
    await this.#configure(cmds);
  }

  /** Runs configuration commands; vtysh exits 0 even when one fails, so its "% …" lines are errors. */
  async #configure(cmds: string[]): Promise<void> {
    const out = await this.vtysh(...cmds);
    const errors = out.split("\n").filter((l) => l.startsWith("%"));
    if (errors.length > 0) throw new Error(`Cannot configure ${this.label}: ${errors.join("; ")}`);
  }

  protected async applyWithdraw(prefixes: string[]): Promise<void> {
    const cmds = ["configure terminal", `router bgp ${this.config.asn}`];
    for (const f of ["ipv4-unicast", "ipv6-unicast"] as Family[]) {
      const mine = prefixes.filter((p) => familyOf(p) === f);
      if (mine.length) cmds.push(`address-family ${AF[f]}`, ...mine.map((p) => `no network ${p}`), "exit-address-family");
    }
    cmds.push("exit");
    for (const p of prefixes) {
      const seq = this.#listSeqs.get(p);
      if (seq === undefined) continue;
      cmds.push(`no ${prefixListEntry(p, seq)}`);
      this.#listSeqs.delete(p);
    }
    await this.#configure(cmds);
  }
}

/**
 * Creates and starts a standalone FRR bgpd; it is stopped when `scope` closes.
 *
 * @example
 * ```ts
 * const frr = await startFrr(scope, {
 *   netns: ns, routerId: "10.0.0.2", asn: 65003,
 *   neighbors: [{ address: link.a.ipv4, asn: 65000 }],
 * });
 * ```
 */
export async function startFrr(scope: Scope, options: DaemonOptions): Promise<FrrDaemon> {
  const d = new FrrDaemon(scope, options);
  await d.start();
  return d;
}
