/**
 * Response shapes of the agent's HTTP API, as zod schemas shared by the
 * server (src/api/app.ts), `herald bgp … -o json` and anyone reading the API
 * (`herald migrate check`).
 *
 * Two families of shapes:
 * - Cilium's, byte for byte (spec/cilium-cli-and-metrics.md §5): `BgpPeer`,
 *   `BgpRoute` (with `BgpPath`), `BgpRoutePolicy`. Keys are kebab-case and
 *   appear in the order Go marshals them (the swagger models' field order);
 *   zero values are left out as Go's `omitempty` does, except the lists
 *   Cilium always writes (`families`, `local-capabilities`,
 *   `remote-capabilities`, `paths`, `path-attributes`), which may be null.
 *   The stock `cilium` CLI decodes these, so they must stay exact.
 * - herald's own, camelCase: `/v1/services`, `/v1/pools`, `/v1/explain`,
 *   `/v1/status`, health.
 *
 * Endpoints (all GET, JSON):
 * | Path | Query | Body |
 * |---|---|---|
 * | /v1/peers | — | `BgpPeer[]` |
 * | /v1/routes/advertised | `afi`, `safi` (default ipv4, unicast), `peer` (IP), `router_asn` | `BgpRoute[]` (one per peer and prefix, `neighbor` set) |
 * | /v1/routes/available | `afi`, `safi`, `router_asn` | `BgpRoute[]` (loc-rib, no `neighbor`) |
 * | /v1/route-policies | `router_asn` | `BgpRoutePolicy[]` |
 * | /v1/services | — | `ServicesResponse` (`{services: ServiceView[]}`: every Service of type LoadBalancer) |
 * | /v1/pools | — | `PoolsResponse` (`{pools: PoolView[]}`) |
 * | /v1/explain | `prefix` or `service` (ns/name), `peer` (name or IP), `instance` | `Explanation` |
 * | /v1/status | — | `AgentStatus` |
 * | /healthz, /readyz | — | `Health` (503 while not ready) |
 * | /metrics | — | Prometheus text |
 *
 * Errors are `ApiError` with status 400 (bad query) or 404 (unknown peer or router).
 * Every response carries the header `X-Herald-Node: <node name>`.
 */
import { z } from "zod";

// ---- Cilium's shapes (api/v1/models) -------------------------------------------------

export const BgpFamily = z.object({
  afi: z.string().optional(),
  safi: z.string().optional(),
});
export type BgpFamily = z.infer<typeof BgpFamily>;

export const BgpPeerFamilies = z.object({
  accepted: z.number().int().optional(),
  advertised: z.number().int().optional(),
  afi: z.string().optional(),
  received: z.number().int().optional(),
  safi: z.string().optional(),
});
export type BgpPeerFamilies = z.infer<typeof BgpPeerFamilies>;

export const BgpGracefulRestart = z.object({
  enabled: z.boolean().optional(),
  "restart-time-seconds": z.number().int().optional(),
});
export type BgpGracefulRestart = z.infer<typeof BgpGracefulRestart>;

/** One capability TLV (code, length, value) in base64. */
export const BgpCapabilities = z.object({
  capabilities: z.string().optional(),
});
export type BgpCapabilities = z.infer<typeof BgpCapabilities>;

/** Cilium's `BgpPeer`: one configured peer of one instance. */
export const BgpPeer = z.object({
  "applied-hold-time-seconds": z.number().int().optional(),
  "applied-keep-alive-time-seconds": z.number().int().optional(),
  "configured-hold-time-seconds": z.number().int().optional(),
  "configured-keep-alive-time-seconds": z.number().int().optional(),
  "connect-retry-time-seconds": z.number().int().optional(),
  /** 1 when multihop is off. */
  "ebgp-multihop-ttl": z.number().int().optional(),
  families: z.array(BgpPeerFamilies).nullable(),
  "graceful-restart": BgpGracefulRestart.optional(),
  "local-asn": z.number().int().optional(),
  "local-capabilities": z.array(BgpCapabilities).nullable(),
  name: z.string().optional(),
  /** Plain IP, no port. */
  "peer-address": z.string().optional(),
  /** Configured AS, or the AS learned from the OPEN when configured 0. */
  "peer-asn": z.number().int().optional(),
  "peer-port": z.number().int().optional(),
  "remote-capabilities": z.array(BgpCapabilities).nullable(),
  /** unknown, idle, connect, active, open_sent, open_confirm, established. */
  "session-state": z.string().optional(),
  "tcp-password-enabled": z.boolean().optional(),
  /** Only while established. */
  "uptime-nanoseconds": z.number().int().optional(),
});
export type BgpPeer = z.infer<typeof BgpPeer>;

export const BgpNlri = z.object({
  /** Wire NLRI: prefix length byte, then the prefix bytes. */
  base64: z.string().optional(),
});
export type BgpNlri = z.infer<typeof BgpNlri>;

export const BgpPathAttribute = z.object({
  /** One whole wire attribute: flags, type, length, value. */
  base64: z.string().optional(),
});
export type BgpPathAttribute = z.infer<typeof BgpPathAttribute>;

export const BgpPath = z.object({
  "age-nanoseconds": z.number().int().optional(),
  best: z.boolean().optional(),
  family: BgpFamily.optional(),
  nlri: BgpNlri.optional(),
  "path-attributes": z.array(BgpPathAttribute).nullable(),
  stale: z.boolean().optional(),
});
export type BgpPath = z.infer<typeof BgpPath>;

/** Cilium's `BgpRoute`: one prefix with its paths; `neighbor` is set for Adj-RIB-Out listings. */
export const BgpRoute = z.object({
  neighbor: z.string().optional(),
  paths: z.array(BgpPath).nullable(),
  prefix: z.string().optional(),
  "router-asn": z.number().int().optional(),
});
export type BgpRoute = z.infer<typeof BgpRoute>;

export const BgpRoutePolicyPrefixMatch = z.object({
  cidr: z.string().optional(),
  "prefix-len-max": z.number().int().optional(),
  "prefix-len-min": z.number().int().optional(),
});
export type BgpRoutePolicyPrefixMatch = z.infer<typeof BgpRoutePolicyPrefixMatch>;

export const BgpRoutePolicyMatchType = z.enum(["any", "all", "invert"]);

export const BgpRoutePolicyStatement = z.object({
  "add-communities": z.array(z.string()).nullable(),
  "add-large-communities": z.array(z.string()).nullable(),
  "match-families": z.array(BgpFamily).nullable(),
  "match-neighbors": z.object({
    neighbors: z.array(z.string()).nullable(),
    type: BgpRoutePolicyMatchType.optional(),
  }).optional(),
  "match-prefixes": z.object({
    prefixes: z.array(BgpRoutePolicyPrefixMatch).nullable(),
    type: BgpRoutePolicyMatchType.optional(),
  }).optional(),
  nexthop: z.object({ self: z.boolean().optional(), unchanged: z.boolean().optional() }).optional(),
  "route-action": z.enum(["none", "accept", "reject"]).optional(),
  /** -1 when not set. */
  "set-local-preference": z.number().int().optional(),
});
export type BgpRoutePolicyStatement = z.infer<typeof BgpRoutePolicyStatement>;

export const BgpRoutePolicy = z.object({
  name: z.string().optional(),
  "router-asn": z.number().int().optional(),
  statements: z.array(BgpRoutePolicyStatement).nullable(),
  type: z.enum(["export", "import"]).optional(),
});
export type BgpRoutePolicy = z.infer<typeof BgpRoutePolicy>;

// ---- herald's shapes ---------------------------------------------------------------------

export const ApiError = z.object({
  /** "Cannot <action>: <reason>". */
  error: z.string(),
});
export type ApiError = z.infer<typeof ApiError>;

/** A metav1.Condition as LB-IPAM writes it. */
export const ConditionView = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string().optional(),
});
export type ConditionView = z.infer<typeof ConditionView>;

/** One Service of type LoadBalancer, as LB-IPAM sees it. */
export const ServiceView = z.object({
  namespace: z.string(),
  name: z.string(),
  /** spec.type (always "LoadBalancer" here). */
  type: z.string(),
  /** spec.loadBalancerClass; null when unset. */
  loadBalancerClass: z.string().nullable(),
  /** status.loadBalancer.ingress IPs, in order (LB-IPAM's, or the manifest's for a Service it does not serve). */
  ips: z.array(z.string()),
  /** Every requested IP (or family) is served; for a Service LB-IPAM does not serve: it has an IP. */
  satisfied: z.boolean(),
  /** cilium.io/IPAMRequestSatisfied; null when LB-IPAM does not serve the Service (I1) or has no pool (A3). */
  condition: ConditionView.nullable(),
});
export type ServiceView = z.infer<typeof ServiceView>;

/** GET /v1/services. */
export const ServicesResponse = z.object({ services: z.array(ServiceView) });
export type ServicesResponse = z.infer<typeof ServicesResponse>;

/** One CiliumLoadBalancerIPPool (GET /v1/pools). Counts above 2^53 lose precision. */
export const PoolView = z.object({
  name: z.string(),
  /** Addresses in all blocks (cilium.io/IPsTotal). */
  total: z.number(),
  /** Free addresses (cilium.io/IPsAvailable). */
  available: z.number(),
  /** Held and reserved addresses (cilium.io/IPsUsed). */
  used: z.number(),
  disabled: z.boolean(),
  /** cilium.io/PoolConflict=True: this pool allocates nothing new. */
  conflict: z.boolean(),
  conflictDetail: z.object({ range: z.string(), otherRange: z.string(), otherPool: z.string() }).nullable(),
  /** Blocks herald cannot use (herald.io/InvalidSpec). */
  errors: z.array(z.string()),
  conditions: z.array(ConditionView),
});
export type PoolView = z.infer<typeof PoolView>;

/** GET /v1/pools. */
export const PoolsResponse = z.object({ pools: z.array(PoolView) });
export type PoolsResponse = z.infer<typeof PoolsResponse>;

export const ExplainReason = z.object({
  /** Spec rule(s), e.g. "E15" or "D5, E2". */
  rule: z.string(),
  text: z.string(),
});
export type ExplainReason = z.infer<typeof ExplainReason>;

/** GET /v1/explain: why a prefix or Service is, or is not, advertised to each peer. */
export const Explanation = z.object({
  node: z.string(),
  query: z.object({
    prefix: z.string().optional(),
    service: z.string().optional(),
    peer: z.string().optional(),
    instance: z.string().optional(),
  }),
  /** Facts about the node as a whole. */
  notes: z.array(ExplainReason),
  verdicts: z.array(z.object({
    instance: z.string(),
    peer: z.string(),
    /** "ipv4/unicast" or "ipv6/unicast"; null when the verdict covers the whole peer. */
    family: z.string().nullable(),
    prefix: z.string().nullable(),
    advertised: z.boolean(),
    reasons: z.array(ExplainReason),
  })),
});
export type Explanation = z.infer<typeof Explanation>;

/** A manifest document that failed validation, or a warning about one. */
export const ManifestIssueView = z.object({
  level: z.enum(["error", "warning"]),
  /** Relative to --config-dir. */
  file: z.string().optional(),
  line: z.number().int().optional(),
  kind: z.string().optional(),
  /** "name" or "namespace/name". */
  key: z.string().optional(),
  message: z.string(),
});
export type ManifestIssueView = z.infer<typeof ManifestIssueView>;

/** GET /v1/status: the agent as a whole. */
export const AgentStatus = z.object({
  node: z.string(),
  /** herald version. */
  version: z.string(),
  /** "deno" or "node". */
  runtime: z.string(),
  startedAt: z.string(),
  /** The first full reconcile has run (/readyz). */
  ready: z.boolean(),
  /** Which API configures the node (spec H1); "none" when nothing selects it. */
  api: z.enum(["v2", "v1", "none"]),
  /** OPENs carried the graceful-restart R bit after this start. */
  restarted: z.boolean(),
  datapath: z.object({
    enabled: z.boolean(),
    /** Why it is off, when it is. */
    reason: z.string().optional(),
    /** First sync done (spec A2: no route before it). */
    synced: z.boolean(),
    frontends: z.number().int().optional(),
  }),
  instances: z.array(z.object({
    name: z.string(),
    localASN: z.number().int(),
    routerID: z.string(),
    /** null: outgoing connections only (spec C5). */
    listenPort: z.number().int().nullable(),
    peers: z.number().int(),
    established: z.number().int(),
    /** Reconcile errors kept for this instance (spec C9, F3). */
    errors: z.array(z.string()),
  })),
  /** Control-plane issues (spec rule, message). */
  issues: z.array(z.object({ level: z.enum(["error", "warning"]), rule: z.string(), message: z.string(), instance: z.string().optional(), peer: z.string().optional() })),
  /** Documents of --config-dir that are ignored because they failed validation, and warnings. */
  manifests: z.array(ManifestIssueView),
  reconcile: z.object({
    runs: z.number().int(),
    lastRunAt: z.string().nullable(),
    lastDurationMs: z.number().nullable(),
  }),
});
export type AgentStatus = z.infer<typeof AgentStatus>;

export const Health = z.object({
  status: z.enum(["ok", "starting", "stopping"]),
  node: z.string(),
});
export type Health = z.infer<typeof Health>;
