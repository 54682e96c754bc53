/**
 * The agent API responses `herald migrate check` reads, as zod schemas: the
 * contract between the check and the agent's HTTP API (src/api). Only the
 * fields the check needs are required; anything else the agent adds is
 * passed through. Addresses and prefixes are text in Go netip form
 * ("10.0.0.1", "10.100.0.7/32", "fd00::1").
 *
 * - GET /v1/services                       → ServicesResponse
 * - GET /v1/peers                          → PeersResponse
 * - GET /v1/routes/advertised?afi=&safi=&peer=<address> → RoutesResponse
 * - GET /v1/explain?service=<namespace>/<name> → ExplainResponse (control/explain.ts `Explanation`)
 *
 * /v1/peers and /v1/routes/advertised are accepted in two forms: Cilium's
 * REST models as herald's agent serves them (a bare list of `BgpPeer` with
 * `name`, `local-asn`, `peer-address`, `peer-asn`, `session-state`,
 * `families[{afi,safi}]`; a bare list of `BgpRoute` with `neighbor` and
 * `prefix`), and the object form below (`{peers: […]}`, `{routes: […]}`).
 * Both are normalised to ApiPeer / ApiRoute.
 */
import { z } from "zod";

/** One Service as LB-IPAM sees it. */
export const ApiService = z.object({
  namespace: z.string(),
  name: z.string(),
  /** Service spec.type. */
  type: z.string(),
  /** spec.loadBalancerClass; null or absent when unset. */
  loadBalancerClass: z.string().nullish(),
  /** Addresses in status.loadBalancer.ingress. */
  ips: z.array(z.string()),
  /** cilium.io/IPAMRequestSatisfied; null when LB-IPAM does not serve the Service. */
  condition: z.object({
    status: z.enum(["True", "False", "Unknown"]),
    reason: z.string(),
    message: z.string(),
  }).passthrough().nullish(),
}).passthrough();
export type ApiService = z.infer<typeof ApiService>;
export const ServicesResponse = z.object({ services: z.array(ApiService) }).passthrough();
export type ServicesResponse = z.infer<typeof ServicesResponse>;

/** Session states as `cilium bgp peers` prints them. */
export const SESSION_STATES = ["idle", "connect", "active", "open_sent", "open_confirm", "established", "unknown"] as const;

export const ApiPeer = z.object({
  instance: z.string(),
  localASN: z.number().int(),
  /** Peer name (v2) or address (v1), as in the desired state. */
  name: z.string(),
  peerAddress: z.string(),
  peerASN: z.number().int(),
  sessionState: z.enum(SESSION_STATES),
  /** Negotiated (or configured) families, "ipv4/unicast". */
  families: z.array(z.string()),
}).passthrough();
export type ApiPeer = z.infer<typeof ApiPeer>;
/** Cilium's `BgpPeer` (api/v1/models), the fields the check reads. */
const CiliumBgpPeer = z.object({
  name: z.string().optional(),
  "local-asn": z.number().int(),
  "peer-address": z.string(),
  "peer-asn": z.number().int().optional(),
  "session-state": z.string(),
  families: z.array(z.object({ afi: z.string(), safi: z.string() }).passthrough()).nullish(),
}).passthrough();
const sessionState = (s: string) => (SESSION_STATES as readonly string[]).includes(s) ? s as ApiPeer["sessionState"] : "unknown";

export const PeersResponse = z.union([
  z.object({ peers: z.array(ApiPeer) }).passthrough().transform((r) => r.peers),
  z.array(CiliumBgpPeer).transform((list) =>
    list.map((p): ApiPeer => ({
      // Cilium's model has no instance name; peers are matched by name (and address).
      instance: "",
      localASN: p["local-asn"],
      name: p.name ?? p["peer-address"],
      peerAddress: p["peer-address"],
      peerASN: p["peer-asn"] ?? 0,
      sessionState: sessionState(p["session-state"]),
      families: (p.families ?? []).map((f) => `${f.afi}/${f.safi}`),
    }))
  ),
]);
export type PeersResponse = z.infer<typeof PeersResponse>;

export const ApiRoute = z.object({
  instance: z.string().optional(),
  /** Peer address the route was sent to. */
  peer: z.string(),
  prefix: z.string(),
}).passthrough();
export type ApiRoute = z.infer<typeof ApiRoute>;
export const RoutesResponse = z.union([
  z.object({ routes: z.array(ApiRoute) }).passthrough().transform((r) => r.routes),
  // Cilium's `BgpRoute`: `neighbor` is the peer address in Adj-RIB-Out listings.
  z.array(z.object({ neighbor: z.string(), prefix: z.string() }).passthrough()).transform((list) =>
    list.map((r): ApiRoute => ({ peer: r.neighbor, prefix: r.prefix }))
  ),
]);
export type RoutesResponse = z.infer<typeof RoutesResponse>;

const Reason = z.object({ rule: z.string(), text: z.string() }).passthrough();
export const ExplainResponse = z.object({
  node: z.string(),
  notes: z.array(Reason),
  verdicts: z.array(z.object({
    instance: z.string(),
    /** Peer name, as in PeersResponse. */
    peer: z.string(),
    family: z.string().nullable(),
    prefix: z.string().nullable(),
    /** true: the agent's desired state sends `prefix` to this peer. */
    advertised: z.boolean(),
    reasons: z.array(Reason),
  }).passthrough()),
}).passthrough();
export type ExplainResponse = z.infer<typeof ExplainResponse>;
