/**
 * LB-IPAM on the leader (spec A3, I): the pure engine (src/ipam) fed from
 * the cluster store, its results written to the API server.
 *
 * - Start: the whole state at once, `engine.load(pools, services)`: every
 *   address already in a Service status is adopted before anything new is
 *   allocated (I12), so a new leader never moves or duplicates one. The
 *   caller has passed the freshness barrier before.
 * - Then every Service / pool event goes to the engine in order; the
 *   statuses it hands back are queued per object.
 * - A write job computes what to write when it runs (the engine's status
 *   now, else the release status of I2), compares it with the status the
 *   informer last saw and writes only a difference: JSON patch `replace
 *   /status`, field manager `cilium-operator-lb-ipam` (I13, I14), fenced.
 *   Our own write comes back through the watch; the engine adopts it and
 *   hands out nothing new, so the loop ends there.
 * - A Service whose requested IPs cannot be parsed gets herald's
 *   `herald.io/InvalidRequest` condition (naming the annotation) and an Event.
 */
import type { CiliumLoadBalancerIPPool } from "../../control/schemas/lb-ip-pool.ts";
import type { Service } from "../../control/schemas/service.ts";
import { type IpamChanges, LbIpam, type LbIpamOptions, SERVICE_INVALID, type ServiceStatus } from "../../ipam/mod.ts";
import type { Logger } from "../../log.ts";
import type { EventRecorder } from "../../source/kube/events.ts";
import type { KubeClient } from "../../source/kube/client.ts";
import { LB_IP_POOLS, SERVICES } from "../../source/kube/resources.ts";
import type { SourceEvent } from "../../source/types.ts";
import { withoutVersion } from "./issues.ts";
import { FIELD_MANAGER, RecentWrites, replaceStatus } from "./status.ts";
import { type ClusterStore, stableJson } from "./store.ts";
import type { WriteQueue } from "./write-queue.ts";

export const POOL_KIND = "CiliumLoadBalancerIPPool";
export const SERVICE_KIND = "Service";

export interface LeaderLbIpamOptions {
  client: KubeClient;
  store: ClusterStore;
  queue: WriteQueue;
  fence: () => boolean;
  events: EventRecorder | null;
  engine: Omit<LbIpamOptions, "logger">;
  log: Logger;
}

/** A Service status in one canonical form: no empty lists, absent status = empty. */
export function canonicalServiceStatus(s: Service["status"] | ServiceStatus | undefined): string {
  const ingress = s?.loadBalancer?.ingress ?? [];
  const conditions = s?.conditions ?? [];
  return stableJson({ loadBalancer: ingress.length ? { ingress } : {}, ...(conditions.length ? { conditions } : {}) });
}

const canonicalPoolStatus = (s: { conditions?: unknown[] | null } | null | undefined) =>
  stableJson(s?.conditions?.length ? { conditions: s.conditions } : {});

function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class LeaderLbIpam {
  readonly engine: LbIpam;
  readonly #o: LeaderLbIpamOptions;
  /** Statuses for Services LB-IPAM stopped serving (I2), until written. */
  readonly #released = new Map<string, ServiceStatus>();
  readonly #recent = new RecentWrites();
  /** Writes made, for logs and tests. */
  readonly stats = { serviceWrites: 0, poolWrites: 0, adopted: 0 };

  constructor(o: LeaderLbIpamOptions) {
    this.#o = o;
    this.engine = new LbIpam({ ...o.engine, logger: o.log });
  }

  /** Loads the whole store (adoption first, I12); returns how many Services carried addresses. */
  load(): number {
    const { store } = this.#o;
    const pools = store.list<CiliumLoadBalancerIPPool>(POOL_KIND);
    const services = store.list<Service>(SERVICE_KIND);
    const changes = this.engine.load(pools, services);
    for (const p of store.problems()) {
      if (p.kind === POOL_KIND) this.#take(this.engine.reportInvalidPool(p.key, p.errors.map(withoutVersion)));
    }
    this.#take(changes);
    // Level-triggered: whatever differs from what the API holds gets written.
    for (const s of this.engine.services()) this.#queueService(s.key);
    for (const p of this.engine.pools()) this.#queuePool(p.name);
    this.stats.adopted = services.filter((s) => (s.status?.loadBalancer?.ingress ?? []).some((i) => i.ip)).length;
    return this.stats.adopted;
  }

  /** One batch of source events, in order. */
  apply(events: readonly SourceEvent[]): void {
    for (const e of events) {
      if (e.type === "upsert") {
        if (e.resource.kind === SERVICE_KIND) this.#take(this.engine.upsertService(e.resource.object as Service));
        else if (e.resource.kind === POOL_KIND) this.#take(this.engine.upsertPool(e.resource.object as CiliumLoadBalancerIPPool));
      } else if (e.type === "delete") {
        if (e.kind === SERVICE_KIND) {
          this.#released.delete(e.key);
          this.#take(this.engine.deleteService(e.key));
        } else if (e.kind === POOL_KIND) this.#take(this.engine.deletePool(e.key));
      } else if (e.type === "invalid" && e.kind === POOL_KIND && e.key !== undefined) {
        this.#take(this.engine.reportInvalidPool(e.key, e.errors.map(withoutVersion)));
      }
    }
  }

  #take(changes: IpamChanges): void {
    for (const u of changes.services) {
      if (this.engine.serviceStatus(u.key) === undefined) this.#released.set(u.key, u.status);
      else this.#released.delete(u.key);
      this.#queueService(u.key);
    }
    for (const p of changes.pools) this.#queuePool(p.name);
  }

  #queueService(key: string): void {
    this.#o.queue.add(`svc/${key}`, () => this.#writeService(key));
  }

  #queuePool(name: string): void {
    this.#o.queue.add(`pool/${name}`, () => this.#writePool(name));
  }

  async #writeService(key: string): Promise<void> {
    const desired = this.engine.serviceStatus(key) ?? this.#released.get(key);
    const current = this.#o.store.get<Service>(SERVICE_KIND, key);
    if (desired === undefined || current === undefined) return;
    const text = canonicalServiceStatus(desired);
    if (canonicalServiceStatus(current.status) === text) {
      this.#released.delete(key);
      this.#recent.forget(key);
      return;
    }
    if (this.#recent.inFlight(key, text, this.#o.store.seenVersion(SERVICE_KIND, key))) return;
    const at = splitKey(key);
    const r = await replaceStatus(this.#o.client, SERVICES, at, current.status !== undefined, desired, FIELD_MANAGER.lbIpam, this.#o.fence);
    if (r.outcome !== "written") return;
    this.#recent.record(key, text, r.resourceVersion);
    this.stats.serviceWrites++;
    if (this.#released.get(key) === desired) this.#released.delete(key);
    const bad = desired.conditions?.find((c) => c.type === SERVICE_INVALID);
    const hadBad = current.status?.conditions?.find((c) => c.type === SERVICE_INVALID);
    if (bad && bad.message !== hadBad?.message) {
      void this.#o.events?.record(
        { apiVersion: "v1", kind: "Service", namespace: at.namespace, name: at.name, uid: current.metadata.uid },
        { type: "Warning", reason: "InvalidLoadBalancerRequest", action: "Allocate", note: bad.message },
      );
    }
  }

  async #writePool(name: string): Promise<void> {
    const desired = this.engine.poolStatus(name);
    const current = this.#o.store.get<CiliumLoadBalancerIPPool>(POOL_KIND, name);
    if (desired === undefined) return;
    // A pool whose only version is invalid has no typed copy: write its condition anyway ("add" replaces too).
    if (current === undefined && !this.#o.store.problem(POOL_KIND, name)) return;
    const text = canonicalPoolStatus(desired);
    if (current !== undefined && canonicalPoolStatus(current.status) === text) return;
    if (this.#recent.inFlight(`pool/${name}`, text, this.#o.store.seenVersion(POOL_KIND, name))) return;
    const r = await replaceStatus(this.#o.client, LB_IP_POOLS, { name }, current?.status != null, desired, FIELD_MANAGER.lbIpam, this.#o.fence);
    if (r.outcome !== "written") return;
    this.#recent.record(`pool/${name}`, text, r.resourceVersion);
    this.stats.poolWrites++;
  }
}
