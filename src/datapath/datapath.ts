/**
 * The Datapath: herald's side of the eBPF service map. It holds, in memory,
 * what the pinned maps hold (read back from them at open, so an agent
 * restart reconciles instead of recreating), computes what they should hold
 * from Services and EndpointSlices, and applies only the difference, in the
 * order of `plan.ts`.
 *
 * Backend lists are stored once per distinct content and shared, with a
 * reference count, by every frontend that has that list (a Service's
 * LoadBalancer IP and cluster IP usually do); see table.ts.
 *
 * @example
 * ```ts
 * const dp = Datapath.open({ pinDir: "/sys/fs/bpf/herald" });
 * dp.sync(services, slices);          // first call after open: full reconcile
 * dp.upsertService(svc, itsSlices);   // then incremental changes
 * dp.attach(["eth0"]);                // tc ingress
 * dp.entries();                       // what it holds
 * ```
 */
import type { Service } from "../control/schemas/service.ts";
import { serviceKey } from "../control/schemas/service.ts";
import type { EndpointSlice } from "../control/schemas/endpoint-slice.ts";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { closeBpfFd, deleteElem, dumpMap, updateElem } from "../runtime/bpf.ts";
import { ensureBpffs } from "../runtime/bpffs.ts";
import { attachTcIngress, detachTcIngress, interfaceIndex, loadProgram } from "../runtime/bpf-program.ts";
import type { LoadedProgram, TcFilterId } from "../runtime/bpf-program.ts";
import { withNetns } from "../runtime/netns.ts";
import { FrontendClaims } from "./claims.ts";
import { desiredFrontends, serviceFrontends, slicesByService } from "./desired.ts";
import type { DesiredFrontend, DesiredOptions } from "./desired.ts";
import {
  BACKEND_VALUE_SIZE,
  decodeBackend,
  decodeFrontendKey,
  decodeFrontendValue,
  decodeSlot,
  encodeBackend,
  encodeFrontendKey,
  encodeFrontendValue,
  encodeSlot,
  FRONTEND_KEY_SIZE,
  FRONTEND_VALUE_SIZE,
  frontendId,
  SLOT_KEY_SIZE,
} from "./layout.ts";
import type { Backend, Frontend, SlotRange } from "./layout.ts";
import { DEFAULT_MAP_SIZES, openMaps } from "./maps.ts";
import type { MapName, MapSizes } from "./maps.ts";
import { PROGRAM_NAME, readProgramObject } from "./program.ts";
import { ServiceTable } from "./table.ts";
import type { ApplyOutcome, MapWriter } from "./table.ts";

export const DEFAULT_PIN_DIR = "/sys/fs/bpf/herald";

/** herald's tc filter on every device: handle and priority 0x4852 ("HR"). */
export const TC_FILTER: TcFilterId = { handle: 0x4852, priority: 0x4852 };

export interface DatapathOptions extends DesiredOptions {
  /** Where the maps are pinned (bpffs; names without dots). Default /sys/fs/bpf/herald. */
  pinDir?: string;
  sizes?: Partial<MapSizes>;
  log?: Logger;
}

/** A frontend and the backends it forwards to, as held in memory or read from the maps. */
export interface DatapathEntry {
  frontend: Frontend;
  backends: Backend[];
}

export interface ApplyResult extends ApplyOutcome {
  /** Frontends claimed by several Services (the first `namespace/name` wins). */
  conflicts: { frontend: string; services: string[] }[];
}

export interface AttachOptions {
  /** The BPF object (bytes or a file path); default: bpf/herald_lb.o next to the sources. */
  object?: Uint8Array | string;
  /** Network namespace (e.g. /run/netns/NAME) the devices live in; default: the agent's. */
  netns?: string;
}

export class Datapath {
  readonly pinDir: string;
  readonly sizes: Readonly<MapSizes>;
  /** What happened to each map at open (for the agent's start-up log). */
  readonly opened: { reopened: MapName[]; recreated: { name: MapName; reason: string }[]; mountedBpffs: boolean };
  #fds: Record<MapName, number>;
  #log: Logger;
  #options: DesiredOptions;
  #table: ServiceTable;
  #claims = new FrontendClaims();
  /** Frontends whose last write failed: retried with every later change. */
  #retry = new Set<string>();
  #program: LoadedProgram | undefined;
  #attached = new Map<string, { device: string; netns?: string }>();
  #closed = false;

  private constructor(pinDir: string, sizes: MapSizes, options: DatapathOptions, mountedBpffs: boolean) {
    this.pinDir = pinDir;
    this.sizes = sizes;
    this.#log = options.log ?? silentLogger;
    this.#options = { nodeName: options.nodeName };
    const maps = openMaps(pinDir, sizes);
    this.#fds = maps.fds;
    this.opened = { reopened: maps.reopened, recreated: maps.recreated, mountedBpffs };
    for (const r of maps.recreated) {
      this.#log.warn("Recreated BPF map with a different layout", { map: r.name, reason: r.reason });
    }
    this.#table = new ServiceTable(kernelWriter(this.#fds), sizes.backendSlots);
    try {
      const { frontends, slots } = this.#dump();
      const orphans = this.#table.adopt(frontends, slots);
      if (frontends.length || orphans) {
        this.#log.info("Reopened BPF service maps", { frontends: frontends.length, orphanSlots: orphans });
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Opens (or creates) the pinned maps and reads back what they hold.
   * Throws `Cannot …` errors (no bpffs, no permission, no libbpf); see
   * `openDatapath` for the variant that returns a reason instead.
   */
  static open(options: DatapathOptions = {}): Datapath {
    const pinDir = (options.pinDir ?? DEFAULT_PIN_DIR).replace(/\/+$/, "");
    const mounted = ensureBpffs(pinDir);
    return new Datapath(pinDir, { ...DEFAULT_MAP_SIZES, ...options.sizes }, options, mounted);
  }

  /** The services and backends maps as the kernel holds them. */
  #dump(): { frontends: [Frontend, SlotRange][]; slots: Map<number, Backend> } {
    const slots = new Map<number, Backend>();
    for (const [k, v] of dumpMap(this.#fds.backends, SLOT_KEY_SIZE, BACKEND_VALUE_SIZE, "backends map")) {
      slots.set(decodeSlot(k), decodeBackend(v));
    }
    const frontends: [Frontend, SlotRange][] = [];
    for (const [k, v] of dumpMap(this.#fds.services, FRONTEND_KEY_SIZE, FRONTEND_VALUE_SIZE, "services map")) {
      frontends.push([decodeFrontendKey(k), decodeFrontendValue(v)]);
    }
    return { frontends, slots };
  }

  /**
   * Makes the maps hold exactly the frontends of `services` (full
   * reconcile): call it first after open. Only Services whose frontends
   * changed since the last call cause map writes.
   */
  sync(services: readonly Service[], slices: readonly EndpointSlice[]): ApplyResult {
    const desired = desiredFrontends(services, slices, this.#options);
    const touched = new Set<string>();
    for (const [key, frontends] of desired) for (const id of this.#claims.set(key, frontends)) touched.add(id);
    for (const key of [...this.#claims.services()]) {
      if (!desired.has(key)) for (const id of this.#claims.set(key, undefined)) touched.add(id);
    }
    // Leftovers from before a restart that no Service claims.
    for (const id of this.#table.ids()) if (!this.#claims.has(id)) touched.add(id);
    return this.#applyTouched(touched);
  }

  /** Adds or updates one Service; `slices` are that Service's EndpointSlices. */
  upsertService(service: Service, slices: readonly EndpointSlice[]): ApplyResult {
    const key = serviceKey(service);
    const own = slicesByService(slices).get(key) ?? [];
    return this.#applyTouched(this.#claims.set(key, serviceFrontends(service, own, this.#options)));
  }

  /** Removes one Service (`namespace/name`). */
  deleteService(key: string): ApplyResult {
    return this.#applyTouched(this.#claims.set(key, undefined));
  }

  #applyTouched(touched: Set<string>): ApplyResult {
    this.#assertOpen();
    for (const id of this.#retry) touched.add(id);
    const changes: [string, DesiredFrontend | null][] = [];
    for (const id of touched) changes.push([id, this.#claims.resolve(id)]);
    const result: ApplyResult = { ...this.#table.apply(changes), conflicts: [] };
    if (result.failed.length && (result.deleted || result.upserted)) {
      // Slots freed at the end of this apply may be what the failed ones lacked.
      const again = this.#table.apply(result.failed.map((f) => [f.frontend, this.#claims.resolve(f.frontend)] as const));
      result.upserted += again.upserted;
      result.deleted += again.deleted;
      result.failed = again.failed;
    }
    this.#retry = new Set(result.failed.map((f) => f.frontend));
    result.conflicts = this.#claims.conflicts(touched);
    for (const c of result.conflicts) {
      this.#log.warn("Frontend claimed by several Services; the first wins", { frontend: c.frontend, services: c.services });
    }
    if (result.failed.length) {
      this.#log.warn("Some datapath updates failed", { failed: result.failed.length, first: result.failed[0].error });
    }
    return result;
  }

  /** What herald holds (and has written), sorted by frontend. */
  entries(): DatapathEntry[] {
    return sortEntries([...this.#table.entries()]);
  }

  /** What the kernel maps hold, read back through libbpf, sorted by frontend. */
  readMaps(): DatapathEntry[] {
    this.#assertOpen();
    const { frontends, slots } = this.#dump();
    const out: DatapathEntry[] = [];
    for (const [frontend, { first, count }] of frontends) {
      const backends: Backend[] = [];
      for (let i = 0; i < count; i++) {
        const be = slots.get(first + i);
        if (!be) throw new Error(`Cannot read frontend ${frontendId(frontend)}: backend slot ${first + i} is missing`);
        backends.push(be);
      }
      out.push({ frontend, backends });
    }
    return sortEntries(out);
  }

  /** Counts for logs and metrics. */
  stats(): { frontends: number; backendLists: number; slotsUsed: number; slotsFree: number } {
    return this.#table.stats();
  }

  /**
   * Loads the BPF program (once) with these maps and attaches it at tc
   * ingress of each device, replacing herald's earlier filter there. Attach
   * every device that clients' and backends' packets arrive on: replies
   * must pass through the program to be reverse-NATed.
   */
  attach(devices: readonly string[], options: AttachOptions = {}): void {
    this.#assertOpen();
    if (!this.#program) {
      const elf = options.object instanceof Uint8Array ? options.object : readProgramObject(options.object);
      this.#program = loadProgram(elf, PROGRAM_NAME, this.#fds);
    }
    const progFd = this.#program.fd;
    for (const device of devices) {
      const run = () => attachTcIngress(interfaceIndex(device), progFd, TC_FILTER, device);
      if (options.netns) withNetns(options.netns, run);
      else run();
      this.#attached.set(`${options.netns ?? ""}|${device}`, { device, netns: options.netns });
    }
    this.#log.info("Attached BPF service load balancer", { devices: devices.join(","), netns: options.netns });
  }

  /** Removes herald's filter from devices attached by this Datapath (all of them by default). */
  detach(devices?: readonly string[], netns?: string): void {
    for (const [key, a] of [...this.#attached]) {
      if (devices && (!devices.includes(a.device) || a.netns !== netns)) continue;
      const run = () => detachTcIngress(interfaceIndex(a.device), TC_FILTER, a.device);
      if (a.netns) withNetns(a.netns, run);
      else run();
      this.#attached.delete(key);
    }
  }

  /**
   * Closes file descriptors only: maps stay pinned and filters attached, so
   * forwarding continues while the agent restarts.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#program?.close();
    for (const fd of Object.values(this.#fds)) closeBpfFd(fd);
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`Cannot use the datapath at "${this.pinDir}": it is closed`);
  }
}

/** Writes go to the pinned maps, one element per call (each update is atomic for the program). */
function kernelWriter(fds: Record<MapName, number>): MapWriter {
  return {
    putBackend: (slot, be) => updateElem(fds.backends, encodeSlot(slot), encodeBackend(be), `backend slot ${slot}`),
    deleteBackend: (slot) => void deleteElem(fds.backends, encodeSlot(slot), `backend slot ${slot}`),
    putFrontend: (f, range) =>
      updateElem(fds.services, encodeFrontendKey(f), encodeFrontendValue(range), `frontend ${frontendId(f)} to the services map`),
    deleteFrontend: (f) => void deleteElem(fds.services, encodeFrontendKey(f), `frontend ${frontendId(f)} from the services map`),
  };
}

function sortEntries(entries: DatapathEntry[]): DatapathEntry[] {
  const key = (e: DatapathEntry) => frontendId(e.frontend);
  return entries.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
