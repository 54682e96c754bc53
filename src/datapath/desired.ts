/**
 * What the datapath should hold, from Services and their EndpointSlices
 * (pure: no I/O). One frontend per (address, port, protocol) of a Service:
 * addresses from `spec.clusterIPs` (or `clusterIP`), `spec.externalIPs` and
 * `status.loadBalancer.ingress[].ip`; ports from `spec.ports`. Its backends
 * are the ready, non-terminating endpoints of the Service's slices (label
 * `kubernetes.io/service-name`), of the frontend's address family, on the
 * slice port whose name and protocol match the Service port. As kube-proxy
 * does, only an endpoint's first address is used.
 *
 * Traffic policies: with `nodeName` given, `externalTrafficPolicy: Local`
 * keeps only this node's endpoints for LoadBalancer and external IPs, and
 * `internalTrafficPolicy: Local` does the same for cluster IPs.
 *
 * Not programmed: ExternalName and headless Services, SCTP ports (the
 * program handles TCP and UDP only), FQDN slices.
 */
import type { Service, ServicePort } from "../control/schemas/service.ts";
import { externalTrafficPolicy, internalTrafficPolicy, serviceKey } from "../control/schemas/service.ts";
import type { EndpointSlice } from "../control/schemas/endpoint-slice.ts";
import { isActiveEndpoint, SERVICE_NAME_LABEL } from "../control/schemas/endpoint-slice.ts";
import { canonicalIP, formatIP, parseIP } from "../net/ip.ts";
import { backendSortKey, frontendId, parseCanonicalV4 } from "./layout.ts";
import type { Backend, Frontend, Protocol } from "./layout.ts";

export interface DesiredFrontend {
  readonly id: string;
  readonly frontend: Frontend;
  /** Sorted as the BPF program expects (backendSortKey). */
  readonly backends: readonly Backend[];
  /** Identifies the backend list: equal lists have equal content. */
  readonly content: string;
}

export interface DesiredOptions {
  /** This node's name, for the Local traffic policies; unset ⇒ policies are not applied. */
  nodeName?: string;
}

type AddressKind = "cluster" | "external";

function frontendAddresses(svc: Service): { address: string; kind: AddressKind }[] {
  const out = new Map<string, AddressKind>();
  const add = (text: string | undefined, kind: AddressKind) => {
    const ip = !text || text === "None" ? null : parseCanonicalV4(text) !== undefined ? text : canonicalIP(text);
    if (ip && !out.has(ip)) out.set(ip, kind);
  };
  for (const ip of svc.spec.clusterIPs ?? [svc.spec.clusterIP]) add(ip, "cluster");
  for (const ip of svc.spec.externalIPs ?? []) add(ip, "external");
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) add(ing.ip, "external");
  return [...out].map(([address, kind]) => ({ address, kind }));
}

interface Candidate {
  backend: Backend;
  family: 4 | 6;
  local: boolean;
  key: string;
}

/** Endpoints for one Service port, deduplicated, both families. */
function portCandidates(sp: ServicePort, slices: readonly EndpointSlice[], nodeName: string | undefined): Candidate[] {
  const byKey = new Map<string, Candidate>();
  for (const slice of slices) {
    if (slice.addressType === "FQDN") continue;
    const port = slice.ports.find((p) => (p.name ?? "") === (sp.name ?? "") && p.protocol === sp.protocol)?.port;
    if (port === undefined) continue;
    for (const ep of slice.endpoints) {
      if (!isActiveEndpoint(ep)) continue;
      const text = ep.addresses[0];
      let family: 4 | 6 = 4;
      let address = text;
      if (parseCanonicalV4(text) === undefined) {
        const ip = parseIP(text);
        if (!ip) continue;
        family = ip.family;
        address = formatIP(ip);
      }
      const backend = { address, port };
      const key = backendSortKey(backend);
      const local = nodeName !== undefined && ep.nodeName === nodeName;
      const seen = byKey.get(key);
      if (seen) seen.local ||= local;
      else byKey.set(key, { backend, family, local, key });
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The frontends of one Service (slices: that Service's own). */
export function serviceFrontends(svc: Service, slices: readonly EndpointSlice[], options: DesiredOptions = {}): DesiredFrontend[] {
  if (svc.spec.type === "ExternalName") return [];
  const addresses = frontendAddresses(svc);
  if (addresses.length === 0) return [];
  const localOnly: Record<AddressKind, boolean> = {
    cluster: options.nodeName !== undefined && internalTrafficPolicy(svc) === "Local",
    external: options.nodeName !== undefined && externalTrafficPolicy(svc) === "Local",
  };
  const out: DesiredFrontend[] = [];
  for (const sp of svc.spec.ports ?? []) {
    if (sp.protocol !== "TCP" && sp.protocol !== "UDP") continue;
    const candidates = portCandidates(sp, slices, options.nodeName);
    for (const { address, kind } of addresses) {
      const family = address.includes(":") ? 6 : 4;
      const chosen = candidates.filter((c) => c.family === family && (!localOnly[kind] || c.local));
      const frontend: Frontend = { address, port: sp.port, protocol: sp.protocol as Protocol };
      out.push({
        id: frontendId(frontend),
        frontend,
        backends: chosen.map((c) => c.backend),
        content: chosen.map((c) => c.key).join(""),
      });
    }
  }
  return out;
}

/** Slices grouped by the `namespace/name` of the Service they belong to. */
export function slicesByService(slices: readonly EndpointSlice[]): Map<string, EndpointSlice[]> {
  const out = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!name) continue;
    const key = `${slice.metadata.namespace ?? "default"}/${name}`;
    const list = out.get(key);
    if (list) list.push(slice);
    else out.set(key, [slice]);
  }
  return out;
}

/** Every Service's frontends, keyed by `namespace/name`. */
export function desiredFrontends(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  options: DesiredOptions = {},
): Map<string, DesiredFrontend[]> {
  const grouped = slicesByService(slices);
  const out = new Map<string, DesiredFrontend[]>();
  for (const svc of services) {
    const key = serviceKey(svc);
    out.set(key, serviceFrontends(svc, grouped.get(key) ?? [], options));
  }
  return out;
}
