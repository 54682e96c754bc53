/**
 * LB-IPAM as an incremental, pure engine (spec/cilium-behaviour.md section I).
 *
 * Feed it pool and Service events; each call returns the statuses to write:
 * for every affected Service its full desired status (ingress list and
 * conditions, as Cilium's `replace /status` patch carries it) and for every
 * affected pool its conditions. A status is returned only when it differs
 * from what the object last carried or what was last returned (I13), so any
 * writer (the file-mode state, or a Kubernetes leader patching the status
 * subresource) writes exactly what changed.
 *
 * No I/O and no clock: lastTransitionTime comes from the injected `now`.
 * Work per event follows the event: a Service event touches that Service
 * and whoever was waiting for what it released; a pool event revalidates the
 * Services holding that pool's addresses and the unsatisfied ones (I15).
 *
 * @example
 * ```ts
 * const ipam = new LbIpam({ now: () => new Date() });
 * ipam.upsertPool(pool);
 * const { services } = ipam.upsertService(svc);
 * // services[0].status.loadBalancer.ingress → [{ ip: "10.0.0.0" }]
 * ```
 */
import type { CiliumLoadBalancerIPPool, CiliumLoadBalancerIPPoolSpec } from "../control/schemas/lb-ip-pool.ts";
import type { Service } from "../control/schemas/service.ts";
import { serviceKey } from "../control/schemas/service.ts";
import { silentLogger } from "../log.ts";
import type { Logger } from "../log.ts";
import { Allocator, enabled } from "./_allocator.ts";
import { incomingStatus, newRec, parseTime, poolStatusOf, setBase, setPoolConditions, statusOf } from "./_status.ts";
import type { PoolRec, Range, SvcRec } from "./_types.ts";
import { ipKey, newOp } from "./_types.ts";
import { findCondition, normalizeConditions, Reason, SERVICE_CONDITION, SERVICE_INVALID, stableJson } from "./conditions.ts";
import { findConflicts } from "./conflicts.ts";
import { LbRange, parseBlocks } from "./range.ts";
import type { RangeSpec } from "./range.ts";
import { BGP_CLASS, buildView, isResponsible, L2_CLASS } from "./service-view.ts";
import type { ViewOptions } from "./service-view.ts";
import type { IpamChanges, LbIpamOptions, PoolStatus, PoolStatusUpdate, PoolSummary, ServiceStatus, ServiceStatusUpdate, ServiceSummary } from "./types.ts";

export type {
  IpamChanges,
  LbIpamOptions,
  PoolStatus,
  PoolStatusUpdate,
  PoolSummary,
  ServiceStatus,
  ServiceStatusUpdate,
  ServiceSummary,
} from "./types.ts";

export class LbIpam {
  readonly #o: Required<Omit<LbIpamOptions, "logger">>;
  readonly #view: ViewOptions;
  readonly #log: Logger;
  #alloc: Allocator;
  readonly #pools = new Map<string, PoolRec>();
  /** Pools in age order (I5, I7). */
  #order: PoolRec[] = [];
  /** Latest version of every Service seen, LB-IPAM's or not (dormancy, I1/I2). */
  readonly #objects = new Map<string, Service>();
  /** The Services LB-IPAM serves. */
  readonly #svcs = new Map<string, SvcRec>();
  /** Status updates for Services no longer served (I2). */
  #extra: ServiceStatusUpdate[] = [];
  #bulk = false;
  #sleepAfter = false;

  constructor(options: LbIpamOptions) {
    this.#o = {
      now: options.now,
      ipv4: options.ipv4 ?? true,
      ipv6: options.ipv6 ?? false,
      defaultLBServiceIPAM: options.defaultLBServiceIPAM ?? "lbipam",
      bgpControlPlane: options.bgpControlPlane ?? true,
      l2Announcements: options.l2Announcements ?? false,
      protocolAwareSharing: options.protocolAwareSharing ?? false,
      permitDifferentPods: options.permitDifferentPods ?? false,
      reservedSharingQuirk: options.reservedSharingQuirk ?? true,
    };
    this.#log = (options.logger ?? silentLogger).child({ subsys: "lbipam" });
    const classes: string[] = [];
    if (this.#o.bgpControlPlane) classes.push(BGP_CLASS);
    if (this.#o.l2Announcements) classes.push(L2_CLASS);
    this.#view = {
      ipv4: this.#o.ipv4,
      ipv6: this.#o.ipv6,
      defaultLBServiceIPAM: this.#o.defaultLBServiceIPAM,
      classes,
      protocolAwareSharing: this.#o.protocolAwareSharing,
      permitDifferentPods: this.#o.permitDifferentPods,
    };
    this.#alloc = this.#newAllocator();
  }

  #newAllocator(): Allocator {
    return new Allocator({ view: this.#view, reservedSharingQuirk: this.#o.reservedSharingQuirk, now: this.#o.now, log: this.#log });
  }

  /** A3: without any pool, LB-IPAM waits and touches no Service. */
  get dormant(): boolean {
    return this.#pools.size === 0;
  }

  // ---- events ---------------------------------------------------------------

  /**
   * The initial state, all at once (start-up, `herald plan`): every address
   * already in a Service status is adopted before anything new is allocated
   * (I12), so a restart never moves an address. On an engine that already
   * holds state this is the same as upserting each object.
   */
  load(pools: readonly CiliumLoadBalancerIPPool[], services: readonly Service[]): IpamChanges {
    return this.#run(() => {
      const fresh = this.#pools.size === 0 && this.#objects.size === 0;
      if (!fresh) {
        for (const p of pools) this.#upsertPool(p);
        for (const s of services) this.#upsertService(s);
        return;
      }
      this.#bulk = true;
      try {
        for (const s of services) this.#objects.set(serviceKey(s), s);
        for (const p of pools) this.#upsertPool(p);
      } finally {
        this.#bulk = false;
      }
      if (this.#pools.size > 0) {
        this.#sortPools();
        this.#settleConflicts();
        this.#wake();
      }
    });
  }

  upsertPool(pool: CiliumLoadBalancerIPPool): IpamChanges {
    return this.#run(() => this.#upsertPool(pool));
  }

  deletePool(name: string): IpamChanges {
    return this.#run(() => {
      const rec = this.#pools.get(name);
      if (rec === undefined) return;
      const affected = new Set<SvcRec>();
      for (const r of rec.ranges) this.#alloc.dropRange(r, affected);
      this.#pools.delete(name);
      this.#alloc.op.pools.delete(rec);
      this.#sortPools();
      this.#settleConflicts();
      this.#revalidate(affected);
      // A3: the last pool's deletion is processed, then LB-IPAM goes dormant.
      if (this.#pools.size === 0) this.#sleepAfter = true;
    });
  }

  /**
   * A pool document that failed validation: reported on the pool (condition
   * and log line); its last valid version, if any, stays in force.
   */
  reportInvalidPool(name: string, errors: readonly string[]): IpamChanges {
    return this.#run(() => {
      const wasDormant = this.dormant;
      const isNew = !this.#pools.has(name);
      const rec = this.#poolRec(name);
      this.#setErrors(rec, [...errors], Reason.invalidManifest);
      if (wasDormant) this.#awaken();
      else if (isNew) this.#reorder();
    });
  }

  upsertService(svc: Service): IpamChanges {
    return this.#run(() => this.#upsertService(svc));
  }

  /**
   * Forgets a Service (by `namespace/name` or the object): its addresses go
   * back to the pool, shared ones when their last holder leaves (I11).
   */
  deleteService(service: string | Service): IpamChanges {
    const key = typeof service === "string" ? service : serviceKey(service);
    return this.#run(() => {
      this.#objects.delete(key);
      const rec = this.#svcs.get(key);
      if (rec === undefined) return;
      this.#alloc.forget(rec);
      this.#svcs.delete(key);
    });
  }

  // ---- queries --------------------------------------------------------------

  /** The status LB-IPAM wants on a Service it serves. */
  serviceStatus(key: string): ServiceStatus | undefined {
    const rec = this.#svcs.get(key);
    return rec === undefined ? undefined : statusOf(rec);
  }

  services(): ServiceSummary[] {
    return [...this.#svcs.values()].map((rec) => ({
      key: rec.view.key,
      namespace: rec.view.namespace,
      name: rec.view.name,
      ips: rec.ingress.flatMap((i) => (i.ip ? [i.ip] : [])),
      satisfied: !this.#alloc.unsatisfied.has(rec),
      condition: findCondition(rec.conditions, SERVICE_CONDITION),
    }));
  }

  pools(): PoolSummary[] {
    return this.#order.map((p) => {
      const ranges = p.ranges.map((r) => ({ range: r.text, total: r.size, available: r.available, used: r.used, enabled: enabled(r), fragments: r.fragments }));
      return {
        name: p.name,
        total: ranges.reduce((n, r) => n + r.total, 0n),
        available: ranges.reduce((n, r) => n + r.available, 0n),
        used: ranges.reduce((n, r) => n + r.used, 0),
        disabled: p.spec?.disabled === true,
        conflict: p.conflict,
        errors: [...p.errors],
        ranges,
      };
    });
  }

  /** The status LB-IPAM wants on a pool. */
  poolStatus(name: string): PoolStatus | undefined {
    const rec = this.#pools.get(name);
    if (rec === undefined) return undefined;
    setPoolConditions(rec, this.#o.now);
    return { conditions: rec.conditions.map((c) => ({ ...c })) };
  }

  // ---- services -------------------------------------------------------------

  #upsertService(svc: Service): void {
    const key = serviceKey(svc);
    this.#objects.set(key, svc);
    if (this.dormant) return;
    const rec = this.#svcs.get(key);
    if (!isResponsible(svc, this.#view)) {
      if (rec === undefined) return;
      // I2: release everything and clear the status LB-IPAM wrote.
      this.#alloc.forget(rec);
      this.#svcs.delete(key);
      const before = incomingStatus(svc);
      const conditions = (before.conditions ?? []).filter((c) => c.type !== SERVICE_CONDITION && c.type !== SERVICE_INVALID);
      const after: ServiceStatus = { loadBalancer: {} };
      if (conditions.length > 0) after.conditions = conditions;
      // Also when the object does not show LB-IPAM's last write yet: that
      // write may still land (Cilium patches from its own copy every time).
      const text = stableJson(after);
      if (text !== stableJson(before) || text !== rec.known) {
        this.#extra.push({ key, namespace: rec.view.namespace, name: rec.view.name, status: after });
      }
      return;
    }
    const view = buildView(svc, this.#view);
    if (rec === undefined) {
      const fresh = newRec(view, svc);
      this.#svcs.set(key, fresh);
      this.#process(fresh);
      return;
    }
    const oldKey = rec.view.sharingKey;
    rec.view = view;
    if (oldKey !== view.sharingKey) this.#alloc.rekey(rec, oldKey);
    // Its ports, policy or namespaces may have changed: whoever waits for its
    // addresses or its sharing group may fit now.
    for (const a of rec.allocs) this.#alloc.op.ips.add(ipKey(a.family, a.value));
    if (view.sharingKey !== "") this.#alloc.op.keys.add(view.sharingKey);
    setBase(rec, svc);
    this.#process(rec);
  }

  /** One full pass over a Service: I10, I12, then satisfy. */
  #process(rec: SvcRec): void {
    this.#alloc.stripInvalid(rec);
    this.#alloc.stripOrImport(rec);
    if (!this.#alloc.isSatisfied(rec)) this.#alloc.satisfy(rec);
    this.#alloc.finish(rec);
  }

  /** I15: Services that held addresses of a changed pool (satisfied first), then every unsatisfied one. */
  #revalidate(affected: Set<SvcRec>): void {
    const live = (rec: SvcRec) => this.#svcs.get(rec.view.key) === rec;
    // Every holder re-adopts what it may still hold before any of them gets a
    // new address: one that lost its block must not take an address of the
    // widened block that another holder (satisfied or not) is about to re-adopt.
    for (const rec of affected) {
      if (!live(rec)) continue;
      this.#alloc.stripInvalid(rec);
      this.#alloc.stripOrImport(rec);
    }
    for (const rec of affected) if (live(rec) && !this.#alloc.unsatisfied.has(rec)) this.#process(rec);
    for (const rec of [...this.#alloc.unsatisfied.keys()]) if (live(rec)) this.#process(rec);
  }

  /** Leaves dormancy: adopt every Service's addresses first, then allocate (A3, I12). */
  #wake(): void {
    for (const [key, svc] of this.#objects) {
      if (!isResponsible(svc, this.#view) || this.#svcs.has(key)) continue;
      const rec = newRec(buildView(svc, this.#view), svc);
      this.#svcs.set(key, rec);
      this.#alloc.stripOrImport(rec);
    }
    // One at a time, with the waiters each one wakes, as if they had come
    // one by one: a Service waiting for a shared address gets it before a
    // later one that would clash with it (first come, first served).
    for (const rec of this.#svcs.values()) {
      if (!this.#alloc.isSatisfied(rec)) this.#alloc.satisfy(rec);
      this.#alloc.finish(rec);
      this.#alloc.retryWaiting();
    }
  }

  #awaken(): void {
    if (this.#bulk) return;
    this.#sortPools();
    this.#settleConflicts();
    this.#wake();
  }

  /** A3: the last pool is gone; keep each Service as last written, drop all state. */
  #sleep(): void {
    for (const [key, rec] of this.#svcs) {
      const svc = this.#objects.get(key);
      if (svc !== undefined) this.#objects.set(key, { ...svc, status: statusOf(rec) });
    }
    this.#svcs.clear();
    this.#alloc = this.#newAllocator();
  }

  // ---- pools ----------------------------------------------------------------

  #poolRec(name: string): PoolRec {
    let rec = this.#pools.get(name);
    if (rec === undefined) {
      rec = { name, spec: null, generation: undefined, created: Infinity, ranges: [], conflict: null, errors: [], errorReason: "", conditions: [], known: "" };
      this.#pools.set(name, rec);
    }
    this.#alloc.op.pools.add(rec);
    return rec;
  }

  #upsertPool(pool: CiliumLoadBalancerIPPool): void {
    const name = pool.metadata.name;
    const wasDormant = this.dormant;
    const isNew = !this.#pools.has(name);
    const rec = this.#poolRec(name);
    rec.generation = pool.metadata.generation;
    const created = parseTime(pool.metadata.creationTimestamp);
    const reorder = isNew || created !== rec.created;
    rec.created = created;
    if (pool.status?.conditions != null) {
      rec.conditions = normalizeConditions(pool.status.conditions);
      rec.known = stableJson(poolStatusOf(rec));
    }
    const { ranges: specs, errors } = parseBlocks(pool.spec.blocks ?? [], name);
    if (errors.length > 0) {
      // I3: this pool's update fails; the last valid version stays in force.
      this.#setErrors(rec, errors, Reason.invalidBlock);
      if (wasDormant) this.#awaken();
      else if (reorder) this.#reorder();
      return;
    }
    this.#setErrors(rec, [], "");
    if (rec.spec !== null && stableJson(rec.spec) === stableJson(pool.spec)) {
      if (reorder) this.#reorder();
      return;
    }
    this.#applySpec(rec, pool.spec, specs, wasDormant);
  }

  #setErrors(rec: PoolRec, errors: string[], reason: string): void {
    if (errors.length > 0 && stableJson(errors) !== stableJson(rec.errors)) {
      this.#log.error(
        rec.spec === null
          ? "Invalid CiliumLoadBalancerIPPool, nothing is allocated from it"
          : "Invalid CiliumLoadBalancerIPPool update, keeping the last valid version in force",
        { pool: rec.name, error: errors.join("; ") },
      );
    }
    rec.errors = errors;
    rec.errorReason = reason;
  }

  /** Pool order may have changed (a new pool, another creationTimestamp): conflicts may too. */
  #reorder(): void {
    if (this.#bulk) return;
    this.#sortPools();
    if (this.#settleConflicts()) this.#revalidate(new Set());
  }

  #applySpec(rec: PoolRec, spec: CiliumLoadBalancerIPPoolSpec, specs: RangeSpec[], wasDormant: boolean): void {
    const affected = new Set<SvcRec>();
    for (const r of rec.ranges) for (const [, slot] of r.held()) for (const h of slot.holders) affected.add(h);
    const reserve = spec.allowFirstLastIPs === "No";
    const old = [...rec.ranges];
    const next: Range[] = [];
    for (const s of specs) {
      // I15: blocks are matched by their exact [start, stop].
      const i = old.findIndex((r) => r.family === s.family && r.start === s.start && r.end === s.end);
      let r: Range;
      if (i >= 0) {
        r = old.splice(i, 1)[0];
        if (r.fromCidr !== s.fromCidr) {
          this.#freed(r, r.setReserved(false));
          r.fromCidr = s.fromCidr;
        }
      } else {
        r = new LbRange<SvcRec, PoolRec>(rec, s);
      }
      // I4: switching allowFirstLastIPs frees or reserves, never revokes.
      const on = reserve && r.reservable().length > 0;
      if (r.reserving !== on) this.#freed(r, r.setReserved(on));
      next.push(r);
    }
    for (const r of old) this.#alloc.dropRange(r, affected);
    rec.ranges = next;
    rec.spec = spec;
    if (this.#bulk) return;
    this.#sortPools();
    this.#settleConflicts();
    if (wasDormant) this.#wake();
    else this.#revalidate(affected);
  }

  #freed(r: Range, ips: bigint[]): void {
    if (ips.length === 0) return;
    this.#alloc.op.freed.add(r);
    for (const ip of ips) this.#alloc.op.ips.add(ipKey(r.family, ip));
  }

  /** Age order (I5, I7): creationTimestamp, then name; no timestamp counts as newest. */
  #sortPools(): void {
    this.#order = [...this.#pools.values()].sort((a, b) =>
      a.created !== b.created ? (a.created < b.created ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
    this.#alloc.ranges = this.#order.flatMap((p) => p.ranges);
  }

  /** I5: recomputes every pool's conflict; true if any changed. */
  #settleConflicts(): boolean {
    const found = findConflicts(this.#order.map((p) => ({ name: p.name, ranges: p.ranges })));
    let changed = false;
    for (const p of this.#order) {
      const c = found.get(p.name) ?? null;
      if (stableJson(c) === stableJson(p.conflict)) continue;
      changed = true;
      if (c !== null) {
        this.#log.warn(`Pool '${p.name}' conflicts since range '${c.range}' overlaps range '${c.otherRange}' from IP Pool '${c.otherPool}'`, {
          pool: p.name,
        });
      } else {
        this.#log.info("Pool conflict resolved", { pool: p.name });
      }
      p.conflict = c;
      this.#alloc.op.pools.add(p);
      // A pool that stops conflicting offers addresses again.
      if (c === null) for (const r of p.ranges) if (r.available > 0n) this.#alloc.op.freed.add(r);
    }
    return changed;
  }

  // ---- one call -------------------------------------------------------------

  #run(fn: () => void): IpamChanges {
    this.#alloc.op = newOp();
    this.#extra = [];
    fn();
    this.#alloc.retryWaiting();
    const services: ServiceStatusUpdate[] = [];
    for (const rec of this.#alloc.op.touched) {
      if (this.#svcs.get(rec.view.key) !== rec) continue;
      const status = statusOf(rec);
      const text = stableJson(status);
      if (text === rec.known) continue;
      rec.known = text;
      services.push({ key: rec.view.key, namespace: rec.view.namespace, name: rec.view.name, status });
    }
    services.push(...this.#extra);
    const pools: PoolStatusUpdate[] = [];
    for (const p of this.#alloc.op.pools) {
      if (this.#pools.get(p.name) !== p) continue;
      setPoolConditions(p, this.#o.now);
      const status = poolStatusOf(p);
      const text = stableJson(status);
      if (text === p.known) continue;
      p.known = text;
      pools.push({ name: p.name, status });
    }
    if (this.#sleepAfter) {
      this.#sleepAfter = false;
      this.#sleep();
    }
    return { services, pools };
  }
}
