/**
 * The four pinned maps under the pin directory: created when absent,
 * reopened when present with the expected layout.
 *
 * A pinned map whose layout differs (type, key or value size, max entries,
 * flags, or the versioned kernel name, e.g. after an upgrade that changed a
 * struct or after `--bpf-max-*` changed) is **recreated, with a warning**:
 * herald rebuilds services and backends from Kubernetes anyway, and the old
 * program keeps forwarding with the old maps until the new one replaces it.
 * Only flow state (ct, revnat) is lost; established flows then pick a
 * backend again.
 */
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import {
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  closeBpfFd,
  createMap,
  mapInfo,
  openPinned,
  pinObject,
} from "../runtime/bpf.ts";
import type { MapSpec } from "../runtime/bpf.ts";
import {
  BACKEND_VALUE_SIZE,
  CT_VALUE_SIZE,
  FLOW_KEY_SIZE,
  FRONTEND_KEY_SIZE,
  FRONTEND_VALUE_SIZE,
  REVNAT_VALUE_SIZE,
  SLOT_KEY_SIZE,
} from "./layout.ts";

/** The maps, by the name of their pin file and of the map in bpf/herald_lb.c. */
export type MapName = "services" | "backends" | "ct" | "revnat";
export const MAP_NAMES: readonly MapName[] = ["services", "backends", "ct", "revnat"];

export interface MapSizes {
  /** Entries of the services map: one per (address, port, protocol). */
  frontends: number;
  /** Entries of the backends map: slots shared by frontends with the same backend list. */
  backendSlots: number;
  /** Entries of each flow map (ct, revnat); least recently used flows are evicted. */
  flows: number;
}

export const DEFAULT_MAP_SIZES: Readonly<MapSizes> = { frontends: 65536, backendSlots: 262144, flows: 65536 };

/** BPF_F_NO_PREALLOC: memory is taken per entry, not all at creation (not for LRU maps). */
const NO_PREALLOC = 1;

export function mapSpecs(sizes: MapSizes): Record<MapName, MapSpec> {
  return {
    // Kernel names carry the layout version: change it with any struct change.
    services: {
      type: BPF_MAP_TYPE_HASH,
      name: "herald_svc_v1",
      keySize: FRONTEND_KEY_SIZE,
      valueSize: FRONTEND_VALUE_SIZE,
      maxEntries: sizes.frontends,
      flags: NO_PREALLOC,
    },
    backends: {
      type: BPF_MAP_TYPE_HASH,
      name: "herald_be_v1",
      keySize: SLOT_KEY_SIZE,
      valueSize: BACKEND_VALUE_SIZE,
      maxEntries: sizes.backendSlots,
      flags: NO_PREALLOC,
    },
    ct: { type: BPF_MAP_TYPE_LRU_HASH, name: "herald_ct_v1", keySize: FLOW_KEY_SIZE, valueSize: CT_VALUE_SIZE, maxEntries: sizes.flows },
    revnat: {
      type: BPF_MAP_TYPE_LRU_HASH,
      name: "herald_rnat_v1",
      keySize: FLOW_KEY_SIZE,
      valueSize: REVNAT_VALUE_SIZE,
      maxEntries: sizes.flows,
    },
  };
}

/** Why a pinned map cannot be reused, or undefined when it matches. */
export function incompatibility(fd: number, spec: MapSpec): string | undefined {
  const info = mapInfo(fd);
  const diffs: string[] = [];
  const cmp = (what: string, have: string | number, want: string | number) => {
    if (have !== want) diffs.push(`${what} is ${JSON.stringify(have)}, expected ${JSON.stringify(want)}`);
  };
  cmp("name", info.name, spec.name);
  cmp("type", info.type, spec.type);
  cmp("key size", info.keySize, spec.keySize);
  cmp("value size", info.valueSize, spec.valueSize);
  cmp("max entries", info.maxEntries, spec.maxEntries);
  cmp("flags", info.flags, spec.flags ?? 0);
  return diffs.length ? diffs.join(", ") : undefined;
}

export interface OpenedMaps {
  fds: Record<MapName, number>;
  /** Maps that were already pinned with the right layout. */
  reopened: MapName[];
  /** Maps that were pinned with another layout and have been replaced, and why. */
  recreated: { name: MapName; reason: string }[];
}

/** Opens or creates every map under `pinDir` (which must exist on a bpffs). */
export function openMaps(pinDir: string, sizes: MapSizes): OpenedMaps {
  const specs = mapSpecs(sizes);
  const fds: Partial<Record<MapName, number>> = {};
  const reopened: MapName[] = [];
  const recreated: { name: MapName; reason: string }[] = [];
  try {
    for (const name of MAP_NAMES) {
      const path = join(pinDir, name);
      const spec = specs[name];
      let fd = openPinned(path);
      if (fd !== undefined) {
        const reason = incompatibility(fd, spec);
        if (reason === undefined) {
          fds[name] = fd;
          reopened.push(name);
          continue;
        }
        closeBpfFd(fd);
        unlinkSync(path);
        recreated.push({ name, reason });
      }
      fd = createMap(spec);
      fds[name] = fd;
      pinObject(fd, path);
    }
  } catch (err) {
    for (const fd of Object.values(fds)) closeBpfFd(fd);
    throw err;
  }
  return { fds: fds as Record<MapName, number>, reopened, recreated };
}
