/**
 * `herald migrate check`: the last check before removing MetalLB (or the v1
 * policy). Against a running agent's API it confirms that every LoadBalancer
 * Service has its addresses (LB-IPAM condition satisfied) and that each
 * address is in the Adj-RIB-Out of every peer the agent's own configuration
 * says should get it (established session, prefix sent). It reports what is
 * missing; `ok` is false when anything is.
 *
 * "Should get it" comes from /v1/explain, the agent's desired state. A
 * Service that no peer should get (an L2-only pool, a selector that misses
 * it) is listed as a warning with explain()'s reasons, or as a problem with
 * `strict`; when the only reason is E15 (externalTrafficPolicy Local without
 * a local endpoint) another node announces it, so it is a warning only.
 */
import { formatPrefix, parseIP, parsePrefix, prefixContains } from "../net/ip.ts";
import { type ApiPeer, ExplainResponse, PeersResponse, RoutesResponse, ServicesResponse } from "./check-api.ts";

export type Fetch = (input: string) => Promise<Response>;

export interface CheckOptions {
  /** "http://127.0.0.1:9234" */
  readonly baseUrl: string;
  readonly fetch?: Fetch;
  /** A Service that no peer should get (by the agent's configuration) is a problem, not a warning. */
  readonly strict?: boolean;
}

export interface CheckItem {
  readonly service: string;
  readonly ip?: string;
  readonly peer?: string;
  readonly prefix?: string;
  readonly message: string;
}

export interface CheckReport {
  readonly ok: boolean;
  /** LoadBalancer Services checked. */
  readonly services: number;
  /** (service, ip, prefix, peer) found advertised. */
  readonly advertised: CheckItem[];
  readonly problems: CheckItem[];
  readonly warnings: CheckItem[];
}

const CILIUM_CLASSES = new Set(["io.cilium/bgp-control-plane", "io.cilium/l2-announcer"]);

class ApiError extends Error {
  override name = "ApiError";
}

interface Issue {
  readonly path: PropertyKey[];
  readonly message: string;
  readonly code?: string;
  /** invalid_union: the issues of each alternative. */
  readonly errors?: Issue[][];
}

function describeIssue(i: Issue): string {
  if (i.code === "invalid_union" && i.errors?.length) {
    return `matches none of the accepted forms: ${i.errors.map((e, n) => `(${n + 1}) ${e[0] ? describeIssue(e[0]) : "?"}`).join("; ")}`;
  }
  return `${i.path.map(String).join(".") || "the answer"}: ${i.message}`;
}

async function get<T>(opts: CheckOptions, path: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Issue[] } } }): Promise<T> {
  const url = `${opts.baseUrl.replace(/\/$/, "")}${path}`;
  const f = opts.fetch ?? ((u: string) => fetch(u));
  let res: Response;
  try {
    res = await f(url);
  } catch (err) {
    throw new ApiError(`Cannot reach the agent at ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new ApiError(`Cannot read ${path}: the agent answered ${res.status} ${res.statusText}`.trimEnd());
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(`Cannot read ${path}: the answer is not JSON`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new ApiError(`Cannot read ${path}: ${describeIssue(parsed.error.issues[0])} (herald migrate check expects the shapes in src/migrate/check-api.ts)`);
  }
  return parsed.data;
}

/** Prefix text in one form, so "10.0.0.7/32" from two writers compares equal. */
function canonical(prefix: string): string {
  const p = parsePrefix(prefix);
  return p ? formatPrefix(p) : prefix;
}

function sameAddress(a: string, b: string): boolean {
  const x = parseIP(a);
  const y = parseIP(b);
  return x !== null && y !== null ? x.family === y.family && x.value === y.value : a === b;
}

/** explain()'s reasons in a line: each rule once, with its first text. */
function summarize(e: ExplainResponse): string {
  const byRule = new Map<string, string>();
  for (const r of [...e.notes, ...e.verdicts.filter((v) => !v.advertised).flatMap((v) => v.reasons)]) {
    if (!byRule.has(r.rule)) byRule.set(r.rule, r.text.length > 160 ? `${r.text.slice(0, 157)}...` : r.text);
  }
  return [...byRule].map(([rule, text]) => `${text} (${rule})`).join("; ") || "no peer on this node";
}

function covers(prefix: string, ip: string): boolean {
  const p = parsePrefix(prefix);
  const a = parseIP(ip);
  return p !== null && a !== null && prefixContains(p, a);
}

export async function runCheck(opts: CheckOptions): Promise<CheckReport> {
  const problems: CheckItem[] = [];
  const warnings: CheckItem[] = [];
  const advertised: CheckItem[] = [];
  let count = 0;
  try {
    const { services } = await get(opts, "/v1/services", ServicesResponse);
    const peers = await get(opts, "/v1/peers", PeersResponse);
    const ribOut = new Map<string, Set<string>>();
    const routesOf = async (peer: ApiPeer, family: string) => {
      const key = `${peer.peerAddress} ${family}`;
      let set = ribOut.get(key);
      if (!set) {
        const [afi, safi] = family.split("/");
        const q = new URLSearchParams({ afi, safi, peer: peer.peerAddress });
        const routes = await get(opts, `/v1/routes/advertised?${q}`, RoutesResponse);
        set = new Set(routes.filter((r) => sameAddress(r.peer, peer.peerAddress)).map((r) => canonical(r.prefix)));
        ribOut.set(key, set);
      }
      return set;
    };
    for (const svc of services) {
      if (svc.type !== "LoadBalancer") continue;
      const service = `${svc.namespace}/${svc.name}`;
      if (svc.loadBalancerClass && !CILIUM_CLASSES.has(svc.loadBalancerClass)) {
        warnings.push({ service, message: `loadBalancerClass "${svc.loadBalancerClass}": not served by herald (I1), not checked` });
        continue;
      }
      count++;
      if (svc.ips.length === 0) {
        const c = svc.condition;
        problems.push({ service, message: `has no IP${c ? `: ${c.reason}${c.message ? `: ${c.message}` : ""}` : ": no LB-IPAM condition (is there a CiliumLoadBalancerIPPool?)"}` });
        continue;
      }
      if (svc.condition && svc.condition.status === "False") {
        problems.push({ service, message: `LB-IPAM request not satisfied (${svc.condition.reason}${svc.condition.message ? `: ${svc.condition.message}` : ""}); has ${svc.ips.join(", ")}` });
      }
      const q = new URLSearchParams({ service });
      const explanation = await get(opts, `/v1/explain?${q}`, ExplainResponse);
      for (const ip of svc.ips) {
        const want = explanation.verdicts.filter((v) => v.advertised && v.prefix && v.family && covers(v.prefix, ip));
        if (want.length === 0) {
          // Nothing is missing towards a peer that should have it; say why no peer should.
          const notAdvertised = explanation.verdicts.filter((v) => !v.advertised);
          // E15: an advertisement does select it, but externalTrafficPolicy Local keeps it to nodes with an endpoint.
          const onlyLocal = notAdvertised.some((v) => v.reasons.some((r) => r.rule.split(/,\s*/).includes("E15")));
          if (onlyLocal) {
            warnings.push({ service, ip, message: `not announced from node ${explanation.node}: externalTrafficPolicy Local and no local endpoint here (E15); run the check on a node with an endpoint` });
          } else {
            const item = { service, ip, message: `${ip} is not advertised to any BGP peer by this agent's configuration: ${summarize(explanation)}` };
            (opts.strict ? problems : warnings).push(item);
          }
          continue;
        }
        for (const v of want) {
          // By instance and name; Cilium's peer model has no instance name, so by name (or address) then.
          const peer = peers.find((p) => p.name === v.peer && p.instance === v.instance) ??
            peers.find((p) => p.name === v.peer && p.instance === "") ?? peers.find((p) => sameAddress(p.peerAddress, v.peer));
          const at = { service, ip, prefix: v.prefix!, peer: peer ? `${peer.name} (${peer.peerAddress})` : v.peer };
          if (!peer) {
            problems.push({ ...at, message: `${v.prefix} should go to peer ${v.peer}, which /v1/peers does not list` });
            continue;
          }
          if (peer.sessionState !== "established") {
            problems.push({ ...at, message: `${v.prefix} should go to peer ${at.peer}, but the session is ${peer.sessionState}` });
            continue;
          }
          const sent = await routesOf(peer, v.family!);
          if (sent.has(canonical(v.prefix!))) advertised.push({ ...at, message: `${v.prefix} advertised to ${at.peer}` });
          else problems.push({ ...at, message: `${v.prefix} should go to peer ${at.peer} (${v.family}), but it is not in the routes advertised to it` });
        }
      }
    }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    problems.push({ service: "", message: err.message });
  }
  return { ok: problems.length === 0, services: count, advertised, problems, warnings };
}

/** The report as text lines: problems, warnings, then a summary. */
export function formatReport(r: CheckReport, verbose = false): string[] {
  const lines: string[] = [];
  const item = (tag: string, i: CheckItem) => `${tag} ${i.service ? `${i.service}: ` : ""}${i.message}`;
  for (const p of r.problems) lines.push(item("MISSING", p));
  for (const w of r.warnings) lines.push(item("warning", w));
  if (verbose) for (const a of r.advertised) lines.push(item("ok", a));
  const svcs = `${r.services} LoadBalancer Service${r.services === 1 ? "" : "s"}`;
  lines.push(r.ok
    ? `ok: ${svcs} have their IPs and are advertised to every peer that should have them (${r.advertised.length} route${r.advertised.length === 1 ? "" : "s"} checked)`
    : `${r.problems.length} problem${r.problems.length === 1 ? "" : "s"} in ${svcs}: not ready to remove the old speaker`);
  return lines;
}
