/**
 * LB-IPAM for file mode (no Kubernetes): source events → engine → state file.
 *
 * The state file stands in for the status subresources: before a Service or
 * pool reaches the engine, the status stored for it is put back on the
 * object, exactly as a cluster would return it, and each status the engine
 * hands out is stored. So the first batch after a restart is adopted like
 * Service status in a cluster (I12) and no address moves. Pools get their
 * first-seen time as creationTimestamp when the manifest has none, so pool
 * age (I5, I7) survives restarts too.
 *
 * Saves are coalesced: many changes within `saveDelayMs` make one write,
 * and a write holds only the entries changed since the last one (a journal
 * line; state-store.ts rewrites the whole snapshot only now and then).
 *
 * @example
 * ```ts
 * const ipam = new FileModeLbIpam({ stateDir: "/var/lib/herald" });
 * await ipam.open();                 // throws StateFileError on a damaged file
 * await source.start((events) => ipam.apply(events));
 * …
 * await ipam.close();                // writes what is pending
 * ```
 */
import type { CiliumLoadBalancerIPPool } from "../control/schemas/lb-ip-pool.ts";
import type { Service } from "../control/schemas/service.ts";
import { silentLogger } from "../log.ts";
import type { Logger } from "../log.ts";
import type { SourceEvent } from "../source/types.ts";
import { formatTime } from "./conditions.ts";
import { LbIpam } from "./engine.ts";
import type { IpamChanges, LbIpamOptions, ServiceStatus } from "./engine.ts";
import { emptyState, STATE_FILE } from "./state-file.ts";
import type { LbIpamState } from "./state-file.ts";
import type { JournalChanges } from "./state-journal.ts";
import { type SnapshotWriter, StateStore } from "./state-store.ts";

export const POOL_KIND = "CiliumLoadBalancerIPPool";
export const SERVICE_KIND = "Service";

export interface FileModeOptions extends Omit<LbIpamOptions, "now"> {
  stateDir: string;
  /** Clock for lastTransitionTime and first-seen times (default: the system clock). */
  now?: () => Date;
  /** Quiet period before a save; default 100 ms. */
  saveDelayMs?: number;
  /** Called with every non-empty change set (API snapshots, metrics). */
  onChanges?: (changes: IpamChanges) => void;
  /** How a whole state (a snapshot) is written; saveState unless a test counts the writes. */
  write?: SnapshotWriter;
}

export class FileModeLbIpam {
  readonly #o: FileModeOptions;
  readonly #now: () => Date;
  readonly #log: Logger;
  readonly engine: LbIpam;
  readonly #store: StateStore;
  #state: LbIpamState = emptyState();
  /** Entries changed since the last save began: what the next save writes. */
  #changedServices = new Set<string>();
  #changedPools = new Set<string>();
  #opened = false;
  #initial = true;
  #dirty = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #saving: Promise<void> | undefined;
  #closed = false;

  constructor(options: FileModeOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    this.#log = (options.logger ?? silentLogger).child({ subsys: "lbipam" });
    this.engine = new LbIpam({ ...options, now: this.#now });
    this.#store = new StateStore(options.stateDir, options.write);
  }

  /** Reads the state file. Throws StateFileError if it is damaged; a missing file is a first start. */
  async open(): Promise<void> {
    const { state, fresh, journal } = await this.#store.open();
    this.#state = state;
    this.#opened = true;
    if (journal && journal.tornBytes > 0) {
      // A save cut short by a crash: it never completed, so nothing it held was relied on after a restart.
      this.#log.warn("Dropped the torn last line of the LB-IPAM journal (a save cut short)", {
        file: `${this.#o.stateDir}/lbipam.journal`,
        bytes: journal.tornBytes,
      });
    }
    this.#log.info("LB-IPAM state loaded", {
      file: `${this.#o.stateDir}/${STATE_FILE}`,
      services: Object.keys(this.#state.services).length,
      pools: Object.keys(this.#state.pools).length,
      journal_records: journal?.records ?? 0,
      fresh,
    });
  }

  /** A copy of the state as it would be saved now. */
  snapshot(): LbIpamState {
    return structuredClone(this.#state);
  }

  /**
   * Applies one batch of source events. The first batch is the complete
   * initial state: it is loaded in one go (adoption before allocation), and
   * stored entries for objects that disappeared while herald was down are dropped.
   */
  apply(events: readonly SourceEvent[]): IpamChanges {
    if (!this.#opened) throw new Error("Cannot apply LB-IPAM events: open() has not been called");
    const changes: IpamChanges = { services: [], pools: [] };
    // Stored as each call hands it out: a later delete in the same batch
    // must find (and drop) it, not have it stored again after it.
    const add = (c: IpamChanges) => {
      this.#record(c);
      changes.services.push(...c.services);
      changes.pools.push(...c.pools);
    };
    if (this.#initial) {
      this.#initial = false;
      const pools: CiliumLoadBalancerIPPool[] = [];
      const services: Service[] = [];
      const invalid: Array<[string, readonly string[]]> = [];
      for (const e of events) {
        if (e.type === "upsert" && e.resource.kind === POOL_KIND) pools.push(this.#pool(e.resource.object as CiliumLoadBalancerIPPool));
        else if (e.type === "upsert" && e.resource.kind === SERVICE_KIND) services.push(this.#service(e.resource.object as Service));
        else if (e.type === "invalid" && e.kind === POOL_KIND && e.key !== undefined) invalid.push([e.key, e.errors]);
      }
      const present = new Set(services.map((s) => `${s.metadata.namespace ?? "default"}/${s.metadata.name}`));
      for (const key of Object.keys(this.#state.services)) if (!present.has(key)) this.#forgetService(key);
      const poolNames = new Set([...pools.map((p) => p.metadata.name), ...invalid.map(([k]) => k)]);
      for (const name of Object.keys(this.#state.pools)) if (!poolNames.has(name)) this.#forgetPool(name);
      add(this.engine.load(pools, services));
      for (const [key, errors] of invalid) add(this.engine.reportInvalidPool(key, errors));
    } else {
      for (const e of events) {
        if (e.type === "upsert" && e.resource.kind === POOL_KIND) {
          add(this.engine.upsertPool(this.#pool(e.resource.object as CiliumLoadBalancerIPPool)));
        } else if (e.type === "upsert" && e.resource.kind === SERVICE_KIND) {
          add(this.engine.upsertService(this.#service(e.resource.object as Service)));
        } else if (e.type === "delete" && e.kind === POOL_KIND) {
          this.#forgetPool(e.key);
          add(this.engine.deletePool(e.key));
        } else if (e.type === "delete" && e.kind === SERVICE_KIND) {
          this.#forgetService(e.key);
          add(this.engine.deleteService(e.key));
        } else if (e.type === "invalid" && e.kind === POOL_KIND && e.key !== undefined) {
          add(this.engine.reportInvalidPool(e.key, e.errors));
        }
      }
    }
    if (changes.services.length > 0 || changes.pools.length > 0) this.#o.onChanges?.(changes);
    return changes;
  }

  /** Writes pending changes now; rejects if the write fails. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#saving !== undefined) await this.#saving;
    if (this.#dirty) await this.#save();
  }

  /** Flushes and stops scheduling saves. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  /** The pool as a cluster would return it: first-seen time as creationTimestamp, stored status. */
  #pool(p: CiliumLoadBalancerIPPool): CiliumLoadBalancerIPPool {
    const name = p.metadata.name;
    let stored = this.#state.pools[name];
    if (stored === undefined) {
      stored = { firstSeen: p.metadata.creationTimestamp ?? formatTime(this.#now()), status: {} };
      this.#state.pools[name] = stored;
      this.#changedPools.add(name);
      this.#markDirty();
    }
    return {
      ...p,
      metadata: { ...p.metadata, creationTimestamp: p.metadata.creationTimestamp ?? stored.firstSeen },
      status: p.status ?? { conditions: stored.status.conditions },
    };
  }

  #service(s: Service): Service {
    const key = `${s.metadata.namespace ?? "default"}/${s.metadata.name}`;
    const stored = this.#state.services[key];
    return s.status !== undefined || stored === undefined ? s : { ...s, status: stored };
  }

  #forgetService(key: string): void {
    if (key in this.#state.services) {
      delete this.#state.services[key];
      this.#changedServices.add(key);
      this.#markDirty();
    }
  }

  #forgetPool(name: string): void {
    if (name in this.#state.pools) {
      delete this.#state.pools[name];
      this.#changedPools.add(name);
      this.#markDirty();
    }
  }

  #record(changes: IpamChanges): void {
    for (const u of changes.services) {
      if (isEmpty(u.status)) delete this.#state.services[u.key];
      else this.#state.services[u.key] = structuredClone(u.status) as LbIpamState["services"][string];
      this.#changedServices.add(u.key);
      this.#markDirty();
    }
    for (const u of changes.pools) {
      // A pool known only from an invalid document is first seen now.
      const stored = this.#state.pools[u.name] ??= { firstSeen: formatTime(this.#now()), status: {} };
      // Replaced, not changed in place: a snapshot being written may hold the old entry.
      this.#state.pools[u.name] = { ...stored, status: structuredClone(u.status) as LbIpamState["pools"][string]["status"] };
      this.#changedPools.add(u.name);
      this.#markDirty();
    }
  }

  #markDirty(): void {
    this.#dirty = true;
    this.#schedule(this.#o.saveDelayMs ?? 100);
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#background(), delayMs);
  }

  #background(): void {
    this.#timer = undefined;
    if (this.#saving !== undefined) {
      // One write at a time; whatever changed meanwhile goes in the next one.
      void this.#saving.then(() => this.#dirty && this.#schedule(this.#o.saveDelayMs ?? 100));
      return;
    }
    if (!this.#dirty) return;
    this.#save().then(
      () => this.#dirty && this.#schedule(this.#o.saveDelayMs ?? 100),
      (e) => {
        this.#log.error("Cannot save LB-IPAM state, will retry", { error: e });
        // Retry after a pause instead of spinning on a full or read-only disk.
        this.#schedule(1000);
      },
    );
  }

  /**
   * The state as it is now, for a snapshot write that finishes later.
   * Entries are replaced, never changed in place (#record stores fresh
   * copies), so copying the two maps is a consistent snapshot, at a fraction
   * of a deep clone's cost.
   */
  #wholeState(): LbIpamState {
    return { services: { ...this.#state.services }, pools: { ...this.#state.pools } };
  }

  /** The entries changed since the last save, as they are now (null: gone), and a fresh set for what follows. */
  #takeChanges(): { changes: JournalChanges; services: Set<string>; pools: Set<string> } {
    const services = this.#changedServices;
    const pools = this.#changedPools;
    this.#changedServices = new Set();
    this.#changedPools = new Set();
    const changes: JournalChanges = { services: {}, pools: {} };
    for (const key of services) changes.services[key] = this.#state.services[key] ?? null;
    for (const name of pools) changes.pools[name] = this.#state.pools[name] ?? null;
    return { changes, services, pools };
  }

  /** One write of what changed; rejects on failure (the state stays dirty, the changes pending). */
  #save(): Promise<void> {
    this.#dirty = false;
    const taken = this.#takeChanges();
    const done = this.#store.save(taken.changes, () => this.#wholeState())
      .then(() => {})
      .catch((e) => {
        this.#dirty = true;
        for (const key of taken.services) this.#changedServices.add(key);
        for (const name of taken.pools) this.#changedPools.add(name);
        throw e;
      })
      .finally(() => {
        this.#saving = undefined;
      });
    this.#saving = done.catch(() => {});
    return done;
  }
}

function isEmpty(s: ServiceStatus): boolean {
  return (s.loadBalancer.ingress ?? []).length === 0 && (s.conditions ?? []).length === 0;
}
