/**
 * Network namespaces joined by veth pairs, for BGP sessions between real
 * daemons (and herald) without touching the host's own networking.
 *
 * - `createNamespace()` makes an empty namespace with `lo` up and IPv6 DAD
 *   off (addresses are usable at once, link-locals included).
 * - `createLink(a, b)` joins two namespaces, or the root namespace (`ROOT`)
 *   and a namespace, with a veth pair carrying one IPv4 /30 and one IPv6 /64.
 * - `twoHop()` builds A — R — B with forwarding in R and routes in A and B,
 *   for ebgp-multihop and TTL security (RFC 5082) tests.
 *
 * Addresses come from 10.0.0.0/8 and fd48:6572::/32 and are derived from the
 * pid and a per-process counter, so that host-side addresses of parallel
 * test files never overlap. Everything is undone by the scope's `close()`.
 */
import { ManagedProcess, run, type RunOptions, type RunResult, type SpawnOptions } from "./process.ts";
import { scriptArgv } from "./runtime.ts";
import type { Scope } from "./scope.ts";

/**
 * A network namespace: one we created, or the root namespace (`ROOT`, name
 * undefined) where herald and the host live.
 */
export class Namespace {
  /** Name under /run/netns; undefined for the root namespace. */
  readonly name: string | undefined;

  constructor(name: string | undefined) {
    this.name = name;
  }

  /** For messages: the namespace name or "root namespace". */
  get label(): string {
    return this.name ?? "root namespace";
  }

  /** `nsenter` path, for other tools; undefined for the root namespace. */
  get path(): string | undefined {
    return this.name === undefined ? undefined : `/run/netns/${this.name}`;
  }

  /** Runs a command inside this namespace (see `run`). */
  run(cmd: string, args: readonly string[], options: Omit<RunOptions, "netns"> = {}): Promise<RunResult> {
    return run(cmd, args, { ...options, netns: this.name });
  }

  /** `ip ARGS` inside this namespace. */
  ip(...args: string[]): Promise<RunResult> {
    return this.run("ip", args);
  }

  /** Sets a sysctl inside this namespace (net.* sysctls are per namespace). */
  async sysctl(key: string, value: string | number): Promise<void> {
    await this.run("sysctl", ["-q", "-w", `${key}=${value}`]);
  }

  /**
   * Starts a long-running command inside this namespace. The caller owns the
   * process; daemon drivers and `spawnScript` register it with a scope.
   */
  spawn(cmd: string, args: readonly string[], options: Omit<SpawnOptions, "netns"> = {}): ManagedProcess {
    return new ManagedProcess(cmd, args, { ...options, netns: this.name });
  }

  /**
   * Runs a TypeScript module in a child process of the current runtime
   * (Deno or Node) inside this namespace; stopped when `scope` closes.
   *
   * @example
   * ```ts
   * const herald = ns.spawnScript(scope, "mod.ts", ["collect", "--listen", "10.0.0.2:179", "--asn", "65001"]);
   * ```
   */
  spawnScript(scope: Scope, modulePath: string, args: readonly string[] = [], options: Omit<SpawnOptions, "netns"> = {}): ManagedProcess {
    const [cmd, ...rest] = scriptArgv(modulePath, args);
    const proc = this.spawn(cmd, rest, { name: modulePath, ...options });
    scope.trackPid(proc.pid);
    scope.defer(async () => {
      await proc.stop();
      scope.untrackPid(proc.pid);
    });
    return proc;
  }

  /** Addresses (without length) on the interfaces of this namespace. */
  async addresses(): Promise<string[]> {
    const { stdout } = await this.run("ip", ["-j", "addr", "show"]);
    const links = JSON.parse(stdout) as { addr_info?: { local?: string }[] }[];
    return links.flatMap((l) => (l.addr_info ?? []).flatMap((a) => a.local ? [a.local] : []));
  }
}

/** The root namespace: herald, the host, and daemons started "on loopback". */
export const ROOT = new Namespace(undefined);

export interface NamespaceOptions {
  /** Enable IPv4 and IPv6 forwarding (a router between two links). */
  forwarding?: boolean;
}

/**
 * Creates a namespace named `<prefix>-<pid>-<n>` with `lo` up (127.0.0.1 and
 * ::1 work inside it) and IPv6 DAD disabled for interfaces created later.
 */
export async function createNamespace(scope: Scope, options: NamespaceOptions = {}): Promise<Namespace> {
  const name = scope.name();
  await run("ip", ["netns", "add", name]);
  scope.trackNetns(name);
  scope.defer(async () => {
    await run("ip", ["netns", "delete", name], { allowFailure: true });
    scope.untrackNetns(name);
  });
  const ns = new Namespace(name);
  await ns.ip("link", "set", "lo", "up");
  // Interfaces created in (or moved into) this namespace inherit "default":
  // no duplicate address detection, so nothing stays "tentative".
  await ns.sysctl("net.ipv6.conf.default.accept_dad", 0);
  await ns.sysctl("net.ipv6.conf.all.accept_dad", 0);
  if (options.forwarding) {
    await ns.sysctl("net.ipv4.ip_forward", 1);
    await ns.sysctl("net.ipv6.conf.all.forwarding", 1);
  }
  return ns;
}

/** One end of a veth pair. */
export interface LinkEnd {
  netns: Namespace;
  ifname: string;
  /** This end's IPv4 address, e.g. "10.66.8.1". */
  ipv4: string;
  /** This end's IPv6 address, e.g. "fd48:6572:1:2208::1". */
  ipv6: string;
  /** The IPv6 link-local address of this end. */
  linkLocal: string;
}

/** A veth pair: `a` and `b` share `ipv4Prefix` (/30) and `ipv6Prefix` (/64). */
export interface Link {
  a: LinkEnd;
  b: LinkEnd;
  ipv4Prefix: string;
  ipv6Prefix: string;
}

const MAX_LINKS = 64;
let linkCounter = 0;

/** Subnet number for the next link: 16 bits of pid, 6 bits of counter. */
function nextSubnet(): number {
  if (linkCounter >= MAX_LINKS) {
    throw new Error(`Cannot create link: this process already made ${MAX_LINKS} links (address plan limit)`);
  }
  return ((process.pid & 0xffff) << 6) | linkCounter++;
}

function v4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Addresses of subnet `s`: 10.0.0.0/8 split in /30s, fd48:6572::/32 split in /64s. */
export function linkAddresses(s: number): { ipv4Prefix: string; ipv6Prefix: string; a4: string; b4: string; a6: string; b6: string } {
  const base = (10 << 24) + s * 4;
  const v6net = `fd48:6572:${(s >>> 16).toString(16)}:${(s & 0xffff).toString(16)}`;
  return {
    ipv4Prefix: `${v4(base)}/30`,
    ipv6Prefix: `${v6net}::/64`,
    a4: v4(base + 1),
    b4: v4(base + 2),
    a6: `${v6net}::1`,
    b6: `${v6net}::2`,
  };
}

async function configureEnd(end: LinkEnd, len4: number, len6: number): Promise<void> {
  const ns = end.netns;
  // For the root-namespace end, "default" must not change: set it per interface, before it goes up.
  await ns.sysctl(`net.ipv6.conf.${end.ifname}.accept_dad`, 0);
  await ns.ip("addr", "add", `${end.ipv4}/${len4}`, "dev", end.ifname);
  await ns.ip("-6", "addr", "add", `${end.ipv6}/${len6}`, "dev", end.ifname, "nodad");
  await ns.ip("link", "set", end.ifname, "up");
}

async function linkLocalOf(ns: Namespace, ifname: string): Promise<string> {
  const { stdout } = await ns.run("ip", ["-j", "-6", "addr", "show", "dev", ifname, "scope", "link"]);
  // iproute2 prints filtered-out addresses as {} entries.
  const info = (JSON.parse(stdout) as { addr_info?: { local?: string; scope?: string; tentative?: boolean }[] }[])[0]?.addr_info ?? [];
  const ll = info.find((a) => a.scope === "link" && a.local && !a.tentative);
  return ll?.local ?? "";
}

/** Polls until both ends are operationally up and have a usable link-local address. */
async function waitLinkReady(link: Link, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [la, lb] = await Promise.all([linkLocalOf(link.a.netns, link.a.ifname), linkLocalOf(link.b.netns, link.b.ifname)]);
    if (la && lb) {
      link.a.linkLocal = la;
      link.b.linkLocal = lb;
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`Cannot bring up link "${link.a.ifname}" — "${link.b.ifname}": no usable link-local address after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Joins `a` and `b` (namespaces, or `ROOT`) with a veth pair, addresses
 * both ends (a gets .1 / ::1, b gets .2 / ::2), brings them up and waits
 * until they are usable. Deleted when the scope closes.
 *
 * @example
 * ```ts
 * const ns = await createNamespace(scope);
 * const link = await createLink(scope, ROOT, ns);
 * // herald in the root namespace peers with link.b.ipv4; the daemon in ns with link.a.ipv4
 * ```
 */
export async function createLink(scope: Scope, a: Namespace, b: Namespace): Promise<Link> {
  if (a === b) throw new Error(`Cannot create link: both ends are in ${a.label}`);
  const ifA = scope.name();
  const ifB = scope.name();
  const addr = linkAddresses(nextSubnet());
  const args = ["link", "add", ifA];
  if (a.name !== undefined) args.push("netns", a.name);
  args.push("type", "veth", "peer", "name", ifB);
  if (b.name !== undefined) args.push("netns", b.name);
  await run("ip", args);
  scope.defer(async () => {
    // Deleting one end deletes the pair; the namespace may already be gone.
    await a.run("ip", ["link", "delete", ifA], { allowFailure: true });
  });
  const link: Link = {
    a: { netns: a, ifname: ifA, ipv4: addr.a4, ipv6: addr.a6, linkLocal: "" },
    b: { netns: b, ifname: ifB, ipv4: addr.b4, ipv6: addr.b6, linkLocal: "" },
    ipv4Prefix: addr.ipv4Prefix,
    ipv6Prefix: addr.ipv6Prefix,
  };
  await Promise.all([configureEnd(link.a, 30, 64), configureEnd(link.b, 30, 64)]);
  await waitLinkReady(link);
  return link;
}

/** Adds a route in `ns` (IPv4 or IPv6 by the prefix); removed when the scope closes. */
export async function addRoute(scope: Scope, ns: Namespace, prefix: string, via: string): Promise<void> {
  const family = prefix.includes(":") ? "-6" : "-4";
  await ns.ip(family, "route", "add", prefix, "via", via);
  scope.defer(async () => {
    await ns.run("ip", [family, "route", "delete", prefix, "via", via], { allowFailure: true });
  });
}

export interface TwoHop {
  /** Left end host (a new namespace, or the one passed in, e.g. `ROOT` for herald). */
  a: Namespace;
  /** The router in the middle: forwards, runs nothing. */
  router: Namespace;
  /** Right end host. */
  b: Namespace;
  /** a — router: `left.a` is on `a`, `left.b` on the router. */
  left: Link;
  /** router — b: `right.a` is on the router, `right.b` on `b`. */
  right: Link;
}

/**
 * A — R — B: two links through a forwarding router namespace, with routes
 * so that `left.a` and `right.b` reach each other in two hops (TTL 64 →
 * 63 at B): a directly connected eBGP session (TTL 1) cannot come up across
 * it, one with ebgp-multihop 2 can.
 *
 * @example
 * ```ts
 * const t = await twoHop(scope, { a: ROOT });
 * // herald in the root namespace peers with t.right.b.ipv4 (BIRD in t.b, multihop 2)
 * ```
 */
export async function twoHop(scope: Scope, ends: { a?: Namespace; b?: Namespace } = {}): Promise<TwoHop> {
  const a = ends.a ?? await createNamespace(scope);
  const router = await createNamespace(scope, { forwarding: true });
  const b = ends.b ?? await createNamespace(scope);
  const left = await createLink(scope, a, router);
  const right = await createLink(scope, router, b);
  await addRoute(scope, a, right.ipv4Prefix, left.b.ipv4);
  await addRoute(scope, a, right.ipv6Prefix, left.b.ipv6);
  await addRoute(scope, b, left.ipv4Prefix, right.a.ipv4);
  await addRoute(scope, b, left.ipv6Prefix, right.a.ipv6);
  return { a, router, b, left, right };
}

/** Two new namespaces joined by one link: `link.a` is in the first, `link.b` in the second. */
export async function namespacePair(scope: Scope): Promise<{ a: Namespace; b: Namespace; link: Link }> {
  const a = await createNamespace(scope);
  const b = await createNamespace(scope);
  const link = await createLink(scope, a, b);
  return { a, b, link };
}
