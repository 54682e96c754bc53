/**
 * libbpf, the low-level part: create, pin, reopen and inspect BPF maps, and
 * read and write their elements as raw bytes. Layouts are the caller's
 * business (src/datapath/layout.ts); this module only moves bytes.
 */
import { libbpf, libc } from "./ffi.ts";
import { check, ErrnoError } from "./errno.ts";
import { cString } from "./sockaddr.ts";

export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_LRU_HASH = 9;
export const BPF_ANY = 0n;

/** What the kernel says about a map (struct bpf_map_info, the fields herald checks). */
export interface MapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

export interface MapSpec {
  type: number;
  /** Kernel-side name, at most 15 characters of [A-Za-z0-9_.]. */
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
}

/** sizeof(struct bpf_map_create_opts) in libbpf 1.1. */
const MAP_CREATE_OPTS_SIZE = 48;
/** sizeof(struct bpf_map_info) in Linux 6.x. */
const MAP_INFO_SIZE = 88;

export function createMap(spec: MapSpec): number {
  const opts = new Uint8Array(MAP_CREATE_OPTS_SIZE);
  const view = new DataView(opts.buffer);
  view.setBigUint64(0, BigInt(MAP_CREATE_OPTS_SIZE), true);
  view.setUint32(28, spec.flags ?? 0, true); // map_flags
  return check(
    `create BPF map "${spec.name}"`,
    libbpf().bpf_map_create(spec.type, cString(spec.name), spec.keySize, spec.valueSize, spec.maxEntries, opts),
  );
}

export function pinObject(fd: number, path: string): void {
  check(`pin BPF object at "${path}"`, libbpf().bpf_obj_pin(fd, cString(path)));
}

/** Opens a pinned object; undefined when nothing is pinned there (ENOENT). */
export function openPinned(path: string): number | undefined {
  const fd = libbpf().bpf_obj_get(cString(path));
  if (fd === -2) return undefined;
  return check(`open pinned BPF object "${path}"`, fd);
}

export function mapInfo(fd: number): MapInfo {
  const info = new Uint8Array(MAP_INFO_SIZE);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, MAP_INFO_SIZE, true);
  check(`read BPF map info of fd ${fd}`, libbpf().bpf_obj_get_info_by_fd(fd, info, len));
  const v = new DataView(info.buffer);
  const nameBytes = info.subarray(24, 40);
  const end = nameBytes.indexOf(0);
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    keySize: v.getUint32(8, true),
    valueSize: v.getUint32(12, true),
    maxEntries: v.getUint32(16, true),
    flags: v.getUint32(20, true),
    name: new TextDecoder().decode(end < 0 ? nameBytes : nameBytes.subarray(0, end)),
  };
}

export function updateElem(fd: number, key: Uint8Array, value: Uint8Array, what: string): void {
  const r = libbpf().bpf_map_update_elem(fd, key, value, BPF_ANY);
  if (r < 0) throw new ErrnoError(`write ${what}`, -r);
}

/** Deletes a key; false when it was not there. */
export function deleteElem(fd: number, key: Uint8Array, what: string): boolean {
  const r = libbpf().bpf_map_delete_elem(fd, key);
  if (r === -2) return false;
  if (r < 0) throw new ErrnoError(`delete ${what}`, -r);
  return true;
}

/** Reads a value into `value`; false when the key is absent. */
export function lookupElem(fd: number, key: Uint8Array, value: Uint8Array, what: string): boolean {
  const r = libbpf().bpf_map_lookup_elem(fd, key, value);
  if (r === -2) return false;
  if (r < 0) throw new ErrnoError(`read ${what}`, -r);
  return true;
}

/** Elements per bpf_map_lookup_batch call: far more than a hash bucket ever holds. */
const BATCH = 4096;

/**
 * Every (key, value) of a hash map, as copies: in batches
 * (bpf_map_lookup_batch, one syscall per 4096 elements), or one element at a
 * time where the kernel has no batch operations for the map. herald is the
 * only writer of the maps it walks, so nothing moves during the walk.
 */
export function dumpMap(fd: number, keySize: number, valueSize: number, what: string): [Uint8Array, Uint8Array][] {
  const lib = libbpf();
  const out: [Uint8Array, Uint8Array][] = [];
  // For hash maps the batch token is a 4-byte bucket index; for others, a key.
  const token = new Uint8Array(Math.max(keySize, 8));
  let inBatch: Uint8Array | null = null;
  const count = new Uint8Array(4);
  const countView = new DataView(count.buffer);
  for (;;) {
    const keys = new Uint8Array(BATCH * keySize);
    const values = new Uint8Array(BATCH * valueSize);
    countView.setUint32(0, BATCH, true);
    const r = lib.bpf_map_lookup_batch(fd, inBatch, token, keys, values, count, null);
    if (r < 0 && r !== -2 && inBatch === null && (r === -22 || r === -95 || r === -524)) {
      return dumpMapByKey(fd, keySize, valueSize, what); // EINVAL/EOPNOTSUPP/ENOTSUPP: no batch ops
    }
    if (r < 0 && r !== -2) throw new ErrnoError(`walk ${what}`, -r);
    const n = countView.getUint32(0, true);
    for (let i = 0; i < n; i++) {
      out.push([keys.slice(i * keySize, (i + 1) * keySize), values.slice(i * valueSize, (i + 1) * valueSize)]);
    }
    if (r === -2) return out; // ENOENT: that was the last batch
    inBatch = token.slice();
  }
}

/** The same walk with bpf_map_get_next_key and a lookup per element. */
export function dumpMapByKey(fd: number, keySize: number, valueSize: number, what: string): [Uint8Array, Uint8Array][] {
  const lib = libbpf();
  const out: [Uint8Array, Uint8Array][] = [];
  let prev: Uint8Array | null = null;
  for (;;) {
    const next = new Uint8Array(keySize);
    const r = lib.bpf_map_get_next_key(fd, prev, next);
    if (r === -2) break; // ENOENT: the last key
    if (r < 0) throw new ErrnoError(`walk ${what}`, -r);
    const value = new Uint8Array(valueSize);
    if (lookupElem(fd, next, value, what)) out.push([next, value]);
    prev = next;
  }
  return out;
}

/** Closes a map or program fd. */
export function closeBpfFd(fd: number): void {
  libc().close(fd);
}
