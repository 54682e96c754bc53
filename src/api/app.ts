/**
 * `createApi(view)`: the agent's HTTP API as a Hono app. Handlers read
 * snapshots through `AgentView` and answer with the shapes of schemas.ts;
 * nothing here changes agent state.
 *
 * @example
 * ```ts
 * const app = createApi(agentView);
 * const res = await app.request("/v1/peers");
 * const peers = z.array(BgpPeer).parse(await res.json());
 * ```
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { PeerStatus, RouteEntry } from "../bgp/status.ts";
import { AFIS, SAFIS } from "../control/schemas/_common.ts";
import type { ExplainQuery } from "../control/explain.ts";
import { canonicalIP } from "../net/ip.ts";
import { bgpPeer, bgpRoute } from "./convert.ts";
import type { AgentMetrics } from "./metrics.ts";
import type { AgentStatus, BgpRoute, BgpRoutePolicy, Explanation, Health, PoolsResponse, PoolView, ServicesResponse, ServiceView } from "./schemas.ts";

/** What the API reads from the agent; every call returns a snapshot. */
export interface AgentView {
  node(): string;
  /** "starting" until the first full reconcile, "stopping" after SIGTERM. */
  health(): Health["status"];
  peers(): PeerStatus[];
  /** Running instances. */
  instances(): Array<{ name: string; localASN: number }>;
  advertised(instance: string, peer: string, family: string): Iterable<RouteEntry>;
  locRib(instance: string, family: string): Iterable<RouteEntry>;
  routePolicies(): BgpRoutePolicy[];
  explain(query: ExplainQuery): Explanation;
  services(): ServiceView[];
  pools(): PoolView[];
  status(): AgentStatus;
  metrics: AgentMetrics;
}

type Env = { Variables: Record<string, never> };

class BadRequest extends Error {
  constructor(message: string, readonly status: 400 | 404 = 400) {
    super(message);
  }
}

function family(c: Context<Env>): { afi: string; safi: string } {
  const afi = c.req.query("afi") ?? "ipv4";
  const safi = c.req.query("safi") ?? "unicast";
  if (!(AFIS as readonly string[]).includes(afi)) throw new BadRequest(`Cannot list routes: unknown AFI "${afi}" (one of ${AFIS.join(", ")})`);
  if (!(SAFIS as readonly string[]).includes(safi)) throw new BadRequest(`Cannot list routes: unknown SAFI "${safi}" (one of ${SAFIS.join(", ")})`);
  return { afi, safi };
}

/** Instances matching `router_asn` (all when absent); 404 as Cilium's agent when none has that ASN. */
function routers(c: Context<Env>, view: AgentView): Array<{ name: string; localASN: number }> {
  const all = view.instances();
  const text = c.req.query("router_asn");
  if (text === undefined || text === "") return all;
  if (!/^[0-9]+$/.test(text)) throw new BadRequest(`Cannot list routes: router_asn must be an integer: current value is "${text}"`);
  const asn = Number(text);
  const match = all.filter((i) => i.localASN === asn);
  if (match.length === 0) throw new BadRequest(`virtual router with ASN ${asn} does not exist`, 404);
  return match;
}

const routeFamily = (f: { afi: string; safi: string }) => (f.safi === "unicast" && (f.afi === "ipv4" || f.afi === "ipv6") ? `${f.afi}/unicast` : null);

export function createApi(view: AgentView): Hono<Env> {
  const app = new Hono<Env>();

  app.use("*", async (c, next) => {
    await next();
    c.header("X-Herald-Node", view.node());
  });
  app.onError((err, c) => {
    if (err instanceof BadRequest) return c.json({ error: err.message }, err.status);
    return c.json({ error: `Cannot answer ${c.req.path}: ${err instanceof Error ? err.message : String(err)}` }, 500);
  });
  app.notFound((c) => c.json({ error: `Cannot find ${c.req.path}: no such endpoint` }, 404));

  app.get("/healthz", (c) => {
    const status = view.health();
    return c.json({ status, node: view.node() } satisfies Health, status === "stopping" ? 503 : 200);
  });
  app.get("/readyz", (c) => {
    const status = view.health();
    return c.json({ status, node: view.node() } satisfies Health, status === "ok" ? 200 : 503);
  });

  app.get("/v1/status", (c) => c.json(view.status()));

  app.get("/v1/peers", (c) => {
    const peers = view.peers().map(bgpPeer);
    return c.json(peers);
  });

  app.get("/v1/routes/advertised", (c) => {
    const fam = family(c);
    const insts = routers(c, view);
    const peerText = c.req.query("peer") ?? c.req.query("neighbor");
    let peerAddr: string | null = null;
    if (peerText !== undefined && peerText !== "") {
      peerAddr = canonicalIP(peerText);
      if (peerAddr === null) throw new BadRequest(`Cannot list routes: peer must be an IP address: current value is "${peerText}"`);
    }
    const f = routeFamily(fam);
    const names = new Set(insts.map((i) => i.name));
    const peers = view.peers().filter((p) => names.has(p.instance) && (peerAddr === null || p.peerAddress === peerAddr));
    if (peerAddr !== null && peers.length === 0) throw new BadRequest(`Cannot list routes: no peer with address "${peerAddr}"`, 404);
    const out: BgpRoute[] = [];
    if (f) {
      for (const p of peers) {
        for (const r of view.advertised(p.instance, p.name, f)) out.push(bgpRoute(p.localAsn, r, p.peerAddress));
      }
    }
    return c.json(out);
  });

  app.get("/v1/routes/available", (c) => {
    const fam = family(c);
    const insts = routers(c, view);
    const f = routeFamily(fam);
    const out: BgpRoute[] = [];
    if (f) for (const i of insts) for (const r of view.locRib(i.name, f)) out.push(bgpRoute(i.localASN, r));
    return c.json(out);
  });

  app.get("/v1/route-policies", (c) => {
    const text = c.req.query("router_asn");
    let policies = view.routePolicies();
    if (text !== undefined && text !== "") {
      routers(c, view);
      policies = policies.filter((p) => String(p["router-asn"]) === text);
    }
    return c.json(policies);
  });

  app.get("/v1/services", (c) => c.json({ services: view.services() } satisfies ServicesResponse));
  app.get("/v1/pools", (c) => c.json({ pools: view.pools() } satisfies PoolsResponse));

  app.get("/v1/explain", (c) => {
    const q: ExplainQuery = {};
    for (const k of ["prefix", "service", "peer", "instance"] as const) {
      const v = c.req.query(k);
      if (v !== undefined && v !== "") q[k] = v;
    }
    if (!q.prefix && !q.service) throw new BadRequest("Cannot explain: give prefix=ADDRESS[/LEN] or service=NAMESPACE/NAME");
    return c.json(view.explain(q));
  });

  app.get("/metrics", async (c) => {
    const { body, contentType } = await view.metrics.text();
    return c.body(body, 200, { "Content-Type": contentType });
  });

  return app;
}
