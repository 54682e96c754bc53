/**
 * From source events to the control plane and the datapath, through
 * LB-IPAM (the data flow of DESIGN.md, one direction):
 *
 * ```
 * source batch ──► LB-IPAM (file mode: allocations + state file)
 *              └─► Services with the LoadBalancer IPs LB-IPAM gave them
 *                    ├─► ControlEngine.apply → ControlDelta (for the reconciler)
 *                    └─► Datapath upsert/delete (the eBPF service map)
 * ```
 *
 * A Service's status is the one LB-IPAM handed out for it when it did,
 * else what its manifest says (a Service LB-IPAM does not serve keeps the
 * addresses its author wrote, E13 "whoever assigned them"). In a cluster
 * there is no local LB-IPAM: Services carry the status the API server
 * holds, which the leader wrote (src/agent/kube).
 *
 * Everything here is synchronous: a batch is applied completely before the
 * next one, and the reconciler only ever sees whole batches.
 */
import type { ControlDelta, ControlOptions, HostFacts, NodeIdentity, Resource, ResourceChange, ResourceKind } from "../control/mod.ts";
import { addResource, clusterIPFamilies, ControlEngine, emptyResources, KINDS } from "../control/mod.ts";
import type { EndpointSlice } from "../control/schemas/endpoint-slice.ts";
import { SERVICE_NAME_LABEL } from "../control/schemas/endpoint-slice.ts";
import type { Service } from "../control/schemas/service.ts";
import type { Datapath } from "../datapath/mod.ts";
import type { FileModeLbIpam, IpamChanges, ServiceStatus } from "../ipam/mod.ts";
import type { Logger } from "../log.ts";
import type { SourceEvent } from "../source/types.ts";

const CONTROL_KINDS = new Set<string>(KINDS.map((k) => k.kind));
const NAMESPACED = new Set(["Service", "EndpointSlice", "Secret"]);

function splitKey(kind: string, key: string): { name: string; namespace?: string } {
  if (!NAMESPACED.has(kind)) return { name: key };
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

const sliceServiceKey = (s: EndpointSlice): string | null => {
  const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
  return svc ? `${s.metadata.namespace ?? "default"}/${svc}` : null;
};

export interface ResourceFlowOptions {
  node: NodeIdentity;
  options: Partial<ControlOptions>;
  host: HostFacts | undefined;
  logger: Logger;
}

/** The cluster IP families for LB-IPAM, from the first batch (option, else node addresses, else host). */
export function familiesFor(events: readonly SourceEvent[], o: Omit<ResourceFlowOptions, "logger">): { ipv4: boolean; ipv6: boolean } {
  const resources = emptyResources();
  for (const e of events) if (e.type === "upsert" && CONTROL_KINDS.has(e.resource.kind)) addResource(resources, e.resource.object as Resource);
  const f = clusterIPFamilies({ resources, node: o.node, host: o.host, options: o.options });
  return { ipv4: f.ipv4, ipv6: f.ipv6 };
}

const noIpamChanges = (): IpamChanges => ({ services: [], pools: [] });

export class ResourceFlow {
  readonly engine: ControlEngine;
  /** Local LB-IPAM (file mode); null in a cluster, where Services arrive with the leader's status. */
  readonly #ipam: FileModeLbIpam | null;
  readonly #datapath: Datapath | null;
  readonly #log: Logger;
  /** Services as their manifests say, by namespace/name. */
  readonly #services = new Map<string, Service>();
  /** The status LB-IPAM last handed out, by namespace/name. */
  readonly #lb = new Map<string, ServiceStatus>();
  readonly #slices = new Map<string, EndpointSlice>();
  readonly #slicesOf = new Map<string, Set<string>>();

  /** Builds everything from the first (complete) batch. LB-IPAM, if any, must be open. */
  constructor(first: readonly SourceEvent[], ipam: FileModeLbIpam | null, datapath: Datapath | null, o: ResourceFlowOptions) {
    this.#ipam = ipam;
    this.#datapath = datapath;
    this.#log = o.logger;
    const changes = ipam?.apply(first) ?? noIpamChanges();
    const resources = emptyResources();
    for (const e of first) {
      if (e.type !== "upsert" || !CONTROL_KINDS.has(e.resource.kind)) continue;
      const r = e.resource.object as Resource;
      if (r.kind === "Service") this.#services.set(e.resource.key, r);
      else {
        if (r.kind === "EndpointSlice") this.#indexSlice(e.resource.key, r);
        addResource(resources, r);
      }
    }
    for (const key of this.#services.keys()) {
      const st = ipam?.engine.serviceStatus(key);
      if (st) this.#lb.set(key, st);
    }
    for (const u of changes.services) this.#lb.set(u.key, u.status);
    for (const key of this.#services.keys()) addResource(resources, this.#effective(key)!);
    this.engine = new ControlEngine({ resources, node: o.node, host: o.host, options: o.options });
    if (datapath) {
      const r = datapath.sync(resources.services, resources.endpointSlices);
      if (r.conflicts.length) this.#log.warn("Datapath frontends claimed by several Services", { conflicts: r.conflicts.length });
    }
  }

  /** The Service with the status in force (LB-IPAM's when it gave one). */
  #effective(key: string): Service | undefined {
    const svc = this.#services.get(key);
    if (!svc) return undefined;
    const st = this.#lb.get(key);
    if (!st) return svc;
    // A literal (Service has exactly these fields; a spread gave every copy a hidden class of its own,
    // ~250 bytes each), with LB-IPAM's status object itself (the same two fields; never changed once handed out).
    return { apiVersion: svc.apiVersion, kind: svc.kind, metadata: svc.metadata, spec: svc.spec, status: st as Service["status"] };
  }

  /** Services with the status in force (API, datapath). */
  services(): Service[] {
    return [...this.#services.keys()].map((k) => this.#effective(k)!);
  }

  #indexSlice(key: string, slice: EndpointSlice | null): void {
    const old = this.#slices.get(key);
    if (old) {
      const svc = sliceServiceKey(old);
      if (svc) this.#slicesOf.get(svc)?.delete(key);
      this.#slices.delete(key);
    }
    if (!slice) return;
    this.#slices.set(key, slice);
    const svc = sliceServiceKey(slice);
    if (svc) {
      let set = this.#slicesOf.get(svc);
      if (!set) this.#slicesOf.set(svc, set = new Set());
      set.add(key);
    }
  }

  /** Applies one later batch: LB-IPAM, then control and the datapath. */
  apply(events: readonly SourceEvent[]): { delta: ControlDelta; ipam: IpamChanges } {
    const ipam = this.#ipam?.apply(events) ?? noIpamChanges();
    const changes: ResourceChange[] = [];
    const touched = new Set<string>(); // Services to re-send to control and the datapath
    for (const e of events) {
      if (e.type === "upsert") {
        const r = e.resource;
        if (!CONTROL_KINDS.has(r.kind)) continue;
        if (r.kind === "Service") {
          this.#services.set(r.key, r.object as Service);
          touched.add(r.key);
          continue;
        }
        if (r.kind === "EndpointSlice") {
          const before = this.#slices.get(r.key);
          this.#indexSlice(r.key, r.object as EndpointSlice);
          for (const s of [before, r.object as EndpointSlice]) {
            const svc = s ? sliceServiceKey(s) : null;
            if (svc) this.#datapathTouch(svc);
          }
        }
        changes.push({ type: "upsert", resource: r.object as Resource });
      } else if (e.type === "delete") {
        if (!CONTROL_KINDS.has(e.kind)) continue;
        if (e.kind === "Service") {
          this.#services.delete(e.key);
          this.#lb.delete(e.key);
          touched.add(e.key);
          continue;
        }
        if (e.kind === "EndpointSlice") {
          const before = this.#slices.get(e.key);
          this.#indexSlice(e.key, null);
          const svc = before ? sliceServiceKey(before) : null;
          if (svc) this.#datapathTouch(svc);
        }
        changes.push({ type: "delete", kind: e.kind as ResourceKind, ...splitKey(e.kind, e.key) });
      }
    }
    for (const u of ipam.services) {
      if (!this.#services.has(u.key)) continue;
      this.#lb.set(u.key, u.status);
      touched.add(u.key);
    }
    for (const key of touched) {
      const svc = this.#effective(key);
      if (svc) changes.push({ type: "upsert", resource: svc });
      else changes.push({ type: "delete", kind: "Service", ...splitKey("Service", key) });
      this.#datapathTouch(key);
    }
    this.#flushDatapath();
    const delta = changes.length ? this.engine.apply(changes) : { rebuilt: false, plan: { instances: [], peers: [] }, routes: [] };
    return { delta, ipam };
  }

  readonly #dpTouched = new Set<string>();

  #datapathTouch(svcKey: string): void {
    if (this.#datapath) this.#dpTouched.add(svcKey);
  }

  #flushDatapath(): void {
    const dp = this.#datapath;
    if (!dp) return;
    for (const key of this.#dpTouched) {
      const svc = this.#effective(key);
      try {
        if (!svc) dp.deleteService(key);
        else dp.upsertService(svc, [...(this.#slicesOf.get(key) ?? [])].map((k) => this.#slices.get(k)!));
      } catch (err) {
        this.#log.error("Cannot update the datapath", { service: key, error: err as Error });
      }
    }
    this.#dpTouched.clear();
  }

  /** New host facts (interfaces, default routes): a full control rebuild. */
  setHostFacts(host: HostFacts): ControlDelta {
    return this.engine.setHostFacts(host);
  }
}
