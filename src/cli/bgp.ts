/**
 * `herald bgp …`: the agent's BGP state from its API, printed as the Cilium
 * CLIs print it (tables in bgp-format.ts).
 *
 * - `bgp peers|neighbors [-c] [-o json]` — `cilium bgp peers`; `-c` (`--capabilities`,
 *   `--caps`) prints each peer's capabilities instead (bgp-caps.ts); `-o json` ignores it.
 * - `bgp routes [available|advertised] [AFI] [SAFI] [vrouter ASN] [peer|neighbor IP] [--peer IP] [-o json]`
 *   — `cilium bgp routes`, with its defaulting notes and exact errors.
 * - `bgp route-policies [vrouter ASN] [-o json]` — `cilium-dbg bgp route-policies`.
 * - `bgp explain (--prefix P | --service NS/NAME) [--peer NAME|IP] [--instance I] [-o json]`.
 *
 * Every subcommand takes `--api HOST:PORT` (default `$HERALD_API`, else
 * 127.0.0.1:9234). `-o json` of peers and routes is cilium-cli's: an object
 * keyed by node name, one-space indent.
 *
 * Standing in for `cilium` inside a pod: the stock `cilium bgp peers|routes`
 * execs `cilium bgp peers -o json` (or `cilium-dbg bgp routes … -o json`) in
 * each agent pod's `cilium-agent` container and expects cilium-dbg's answer,
 * a plain JSON array for that node. When herald runs as `cilium` or
 * `cilium-dbg` (a symlink), or with `HERALD_CILIUM_COMPAT=1` in its
 * environment, it answers exactly that (and prints cilium-dbg's agent-local
 * tables without `-o json`). See the README, "Status API and CLI".
 */
import { basename } from "node:path";
import process from "node:process";
import type { BgpPeer, BgpRoute, BgpRoutePolicy, Explanation } from "../api/schemas.ts";
import { hostPortFlag, parseFlags, UsageError } from "./args.ts";
import {
  defaultRouteArgs,
  formatAgentPeers,
  formatAgentRoutes,
  formatPeersSummary,
  formatRoutePolicies,
  formatRoutesSummary,
  validateRouteArgs,
} from "./bgp-format.ts";
import { formatNodeCapabilities, formatPeersCapabilities } from "./bgp-caps.ts";
import { tabwrite } from "./tabwriter.ts";

export const BGP_USAGE = `Usage: herald bgp <command> [flags]

  peers [-c] [-o json]                             BGP peers of the node (alias: neighbors)
                                                   -c, --capabilities: each peer's capabilities
  routes [available|advertised] [ipv4|ipv6] [unicast] [vrouter ASN] [peer IP] [-o json]
                                                   advertised (Adj-RIB-Out) or available (loc-rib) routes
  route-policies [vrouter ASN] [-o json]           export/import policies as Cilium names them
  explain (--prefix P | --service NS/NAME) [--peer NAME|IP] [--instance NAME] [-o json]
                                                   why a prefix or Service is or is not advertised

Flags: --api HOST:PORT (default $HERALD_API or 127.0.0.1:9234), -o json|summary`;

/** herald stands in for Cilium's agent CLI (see the module doc). */
export function ciliumCompat(env: Record<string, string | undefined> = process.env, argv0: string = process.argv0 ?? ""): boolean {
  const v = env.HERALD_CILIUM_COMPAT;
  if (v !== undefined && v !== "" && v !== "0" && v !== "false") return true;
  return ["cilium", "cilium-dbg"].includes(basename(argv0));
}

/** An API answer: the body and the node it came from. */
export interface ApiAnswer<T> {
  node: string;
  body: T;
}

/** GETs a path of the agent API; errors say what failed and how to fix it. */
export async function apiGet<T>(api: { host: string; port: number }, path: string): Promise<ApiAnswer<T>> {
  const base = `http://${api.host.includes(":") ? `[${api.host}]` : api.host}:${api.port}`;
  let res: Response;
  try {
    res = await fetch(base + path);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code === "ECONNREFUSED" ? "connection refused" : cause?.message ?? (err as Error).message;
    throw new Error(`Cannot reach the herald agent at ${base}: ${why} (is "herald agent" running? use --api HOST:PORT)`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`Cannot read the answer of ${base}${path}: not JSON (HTTP ${res.status})`);
  }
  if (!res.ok) throw new Error((body as { error?: string }).error ?? `HTTP ${res.status}`);
  return { node: res.headers.get("x-herald-node") ?? "", body: body as T };
}

function apiFlag(value: string | undefined): { host: string; port: number } {
  return hostPortFlag("api", value ?? process.env.HERALD_API ?? "127.0.0.1:9234");
}

function outputFlag(value: string | undefined): "json" | "summary" {
  if (value === undefined || value === "summary" || value === "table") return "summary";
  if (value === "json") return "json";
  throw new UsageError(`-o must be "json" or "summary": current value is "${value}"`);
}

const COMMON = {
  api: { type: "string" },
  output: { type: "string", short: "o" },
  help: { type: "boolean", short: "h" },
} as const;

/** Output sink, so tests can capture what a command prints. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}
const stdio: Io = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

export async function bgpPeersCommand(argv: string[], io: Io = stdio, compat = ciliumCompat()): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    ...COMMON,
    capabilities: { type: "boolean", short: "c" },
    caps: { type: "boolean" }, // cilium-dbg's spelling
  }, true);
  if (values.help) throw new UsageError(BGP_USAGE);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}": bgp peers takes flags only`);
  const output = outputFlag(values.output);
  let answer: ApiAnswer<BgpPeer[]>;
  try {
    answer = await apiGet<BgpPeer[]>(apiFlag(values.api), "/v1/peers");
  } catch (err) {
    io.err(`Unable to get peering status: ${(err as Error).message}\n`);
    return 1;
  }
  // -o json is the same with or without -c: both CLIs check the output format first.
  if ((values.capabilities || values.caps) && output !== "json") {
    const warn = (message: string) => io.err(`${message}\n`);
    // cilium-dbg writes the same lines through its tabwriter (spec §4): leading tabs become padded empty cells.
    io.out(compat ? tabwrite(formatNodeCapabilities(answer.body, warn)) : formatPeersCapabilities({ [answer.node]: answer.body }, warn));
    return 0;
  }
  if (compat) io.out(output === "json" ? JSON.stringify(answer.body, null, 2) + "\n" : formatAgentPeers(answer.body));
  else io.out(output === "json" ? JSON.stringify({ [answer.node]: answer.body }, null, 1) + "\n" : formatPeersSummary({ [answer.node]: answer.body }));
  return 0;
}

export async function bgpRoutesCommand(argv: string[], io: Io = stdio, compat = ciliumCompat()): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...COMMON, peer: { type: "string" } }, true);
  if (values.help) throw new UsageError(BGP_USAGE);
  const output = outputFlag(values.output);
  const defaulted = defaultRouteArgs(positionals);
  if (defaulted.note && output !== "json") io.out(`${defaulted.note}\n\n`);
  let args = defaulted.args;
  if (values.peer !== undefined) {
    if (args.slice(3).some((a) => a === "peer" || a === "neighbor")) throw new UsageError("--peer and a positional `peer` argument exclude each other: give one of them");
    args = [...args, "peer", values.peer];
  }
  let r;
  try {
    r = validateRouteArgs(args);
  } catch (err) {
    io.err(`Unable to get BGP routes: ${(err as Error).message}\n`);
    return 1;
  }
  const q = new URLSearchParams({ afi: r.afi, safi: r.safi });
  if (r.vrouter !== undefined) q.set("router_asn", String(r.vrouter));
  if (r.peer !== undefined) q.set("peer", r.peer);
  let answer: ApiAnswer<BgpRoute[]>;
  try {
    answer = await apiGet<BgpRoute[]>(apiFlag(values.api), `/v1/routes/${r.table}?${q}`);
  } catch (err) {
    io.err(`Unable to get BGP routes: ${(err as Error).message}\n`);
    return 1;
  }
  if (compat) {
    io.out(output === "json" ? JSON.stringify(answer.body, null, 2) + "\n" : formatAgentRoutes(answer.body, r.table === "advertised" && r.peer === undefined));
  } else {
    io.out(output === "json" ? JSON.stringify({ [answer.node]: answer.body }, null, 1) + "\n" : formatRoutesSummary({ [answer.node]: answer.body }, r.table === "advertised"));
  }
  return 0;
}

export async function bgpRoutePoliciesCommand(argv: string[], io: Io = stdio): Promise<number> {
  const { values, positionals } = parseFlags(argv, COMMON, true);
  if (values.help) throw new UsageError(BGP_USAGE);
  const output = outputFlag(values.output);
  const q = new URLSearchParams();
  if (positionals.length > 0) {
    if (positionals[0] !== "vrouter") throw new UsageError(`invalid argument: \`${positionals[0]}\`, expected \`vrouter\``);
    if (positionals.length < 2) throw new UsageError("missing vrouter ASN value");
    if (!/^[0-9]+$/.test(positionals[1])) throw new UsageError(`invalid vrouter ASN: strconv.ParseInt: parsing ${JSON.stringify(positionals[1])}: invalid syntax`);
    q.set("router_asn", positionals[1]);
  }
  let answer: ApiAnswer<BgpRoutePolicy[]>;
  try {
    answer = await apiGet<BgpRoutePolicy[]>(apiFlag(values.api), `/v1/route-policies${q.size ? `?${q}` : ""}`);
  } catch (err) {
    io.err(`Unable to get BGP route policies: ${(err as Error).message}\n`);
    return 1;
  }
  io.out(output === "json" ? JSON.stringify(answer.body, null, 2) + "\n" : formatRoutePolicies(answer.body));
  return 0;
}

/** The readable form of an explanation. */
export function formatExplanation(e: Explanation): string {
  const what = e.query.service ? `Service ${e.query.service}` : `prefix ${e.query.prefix}`;
  const lines = [`Node ${e.node}: ${what}${e.query.peer ? `, peer ${e.query.peer}` : ""}`];
  for (const n of e.notes) lines.push(`  ${n.text}${n.rule ? ` (${n.rule})` : ""}`);
  if (e.verdicts.length === 0) lines.push("", "No peer matches: nothing is advertised from this node.");
  let current = "";
  for (const v of e.verdicts) {
    const head = `Peer ${v.peer} (instance ${v.instance})`;
    if (head !== current) {
      lines.push("", head);
      current = head;
    }
    const where = [v.family, v.prefix].filter(Boolean).join(" ");
    lines.push(`  ${where ? `${where}: ` : ""}${v.advertised ? "advertised" : "not advertised"}`);
    for (const r of v.reasons) lines.push(`    ${r.text}${r.rule ? ` (${r.rule})` : ""}`);
  }
  return lines.join("\n") + "\n";
}

export async function bgpExplainCommand(argv: string[], io: Io = stdio): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    ...COMMON,
    prefix: { type: "string" },
    service: { type: "string" },
    peer: { type: "string" },
    instance: { type: "string" },
  }, true);
  if (values.help) throw new UsageError(BGP_USAGE);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}": give --prefix P or --service NAMESPACE/NAME`);
  const output = outputFlag(values.output);
  if ((values.prefix === undefined) === (values.service === undefined)) {
    throw new UsageError("give exactly one of --prefix ADDRESS[/LEN] and --service NAMESPACE/NAME");
  }
  if (values.service !== undefined && !/^[^/\s]+(\/[^/\s]+)?$/.test(values.service)) {
    throw new UsageError(`--service must be NAMESPACE/NAME (or NAME in "default"): current value is "${values.service}"`);
  }
  const q = new URLSearchParams();
  for (const k of ["prefix", "service", "peer", "instance"] as const) if (values[k] !== undefined) q.set(k, values[k]!);
  let answer: ApiAnswer<Explanation>;
  try {
    answer = await apiGet<Explanation>(apiFlag(values.api), `/v1/explain?${q}`);
  } catch (err) {
    io.err(`herald bgp explain: ${(err as Error).message}\n`);
    return 1;
  }
  io.out(output === "json" ? JSON.stringify(answer.body, null, 2) + "\n" : formatExplanation(answer.body));
  return 0;
}

export function bgpCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "peers":
    case "neighbors":
      return bgpPeersCommand(rest);
    case "routes":
      return bgpRoutesCommand(rest);
    case "route-policies":
      return bgpRoutePoliciesCommand(rest);
    case "explain":
      return bgpExplainCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      throw new UsageError(BGP_USAGE);
    default:
      throw new UsageError(`unknown subcommand "${sub}"\n\n${BGP_USAGE}`);
  }
}
