/**
 * libbpf, the program part: load a BPF object whose maps are replaced by
 * herald's pinned maps, and attach its program at tc ingress of a device
 * (bpf_tc_hook_create + bpf_tc_attach, a clsact qdisc with a direct-action
 * filter). Filters stay attached when the agent exits, so forwarding goes on
 * across restarts; a restart replaces the filter in place.
 */
import { lastErrno, libbpf, libc } from "./ffi.ts";
import type { Pointer } from "./ffi.ts";
import { check, ErrnoError } from "./errno.ts";
import { cString } from "./sockaddr.ts";

const BPF_TC_INGRESS = 1;
const BPF_TC_F_REPLACE = 1;
const TC_HOOK_SIZE = 24;
const TC_OPTS_SIZE = 32;
const EEXIST = 17;
const ENOENT = 2;
/** bpf_tc_query on a device without a clsact qdisc answers EINVAL. */
const EINVAL_NO_QDISC = 22;

export interface LoadedProgram {
  /** The program's fd, valid until close(). */
  readonly fd: number;
  /** Releases the object; attached filters keep their own reference. */
  close(): void;
}

/**
 * Opens an ELF object from memory, swaps each named map for the given fd
 * (bpf_map__reuse_fd), loads it and returns the named program.
 */
export function loadProgram(elf: Uint8Array, programName: string, maps: Readonly<Record<string, number>>): LoadedProgram {
  const c = libc();
  const b = libbpf();
  // libbpf keeps pointing at the image until load; JS buffers may move, so copy it out.
  const image = c.malloc(elf.length);
  if (image === null) throw new Error(`Cannot load BPF program "${programName}": out of memory`);
  let obj: Pointer = null;
  try {
    c.memcpy(image, elf, elf.length);
    obj = b.bpf_object__open_mem(image, elf.length, null);
    if (obj === null) throw new ErrnoError(`open BPF object for "${programName}"`, lastErrno());
    for (const [name, fd] of Object.entries(maps)) {
      const map = b.bpf_object__find_map_by_name(obj, cString(name));
      if (map === null) throw new Error(`Cannot load BPF program "${programName}": the object has no map "${name}"`);
      check(`use pinned map for "${name}"`, b.bpf_map__reuse_fd(map, fd));
    }
    check(`load BPF program "${programName}" (the kernel verifier refused it or BPF is not permitted)`, b.bpf_object__load(obj));
    const prog = b.bpf_object__find_program_by_name(obj, cString(programName));
    if (prog === null) throw new Error(`Cannot load BPF program "${programName}": the object has no such program`);
    const fd = check(`get the fd of BPF program "${programName}"`, b.bpf_program__fd(prog));
    const loaded = obj;
    obj = null;
    let closed = false;
    return {
      fd,
      close() {
        if (!closed) b.bpf_object__close(loaded);
        closed = true;
      },
    };
  } finally {
    if (obj !== null) b.bpf_object__close(obj);
    c.free(image);
  }
}

/**
 * Runs a libbpf call whose expected failures (an existing qdisc, a missing
 * filter) herald handles itself, without libbpf printing the kernel's
 * message for them to stderr; real failures still come back as errors.
 */
function quietly<T>(fn: () => T): T {
  const b = libbpf();
  const printer = b.libbpf_set_print(null);
  try {
    return fn();
  } finally {
    b.libbpf_set_print(printer);
  }
}

/** The interface index of a device name in the calling thread's network namespace. */
export function interfaceIndex(name: string): number {
  const index = libc().if_nametoindex(cString(name));
  if (index === 0) throw new ErrnoError(`find network device "${name}"`, lastErrno());
  return index;
}

/** Where a filter sits: herald uses one fixed handle and priority per device. */
export interface TcFilterId {
  handle: number;
  priority: number;
}

function hook(ifindex: number): Uint8Array {
  const h = new Uint8Array(TC_HOOK_SIZE);
  const v = new DataView(h.buffer);
  v.setBigUint64(0, BigInt(TC_HOOK_SIZE), true);
  v.setInt32(8, ifindex, true);
  v.setUint32(12, BPF_TC_INGRESS, true);
  return h;
}

function tcOpts(id: TcFilterId, progFd = 0, flags = 0): Uint8Array {
  const o = new Uint8Array(TC_OPTS_SIZE);
  const v = new DataView(o.buffer);
  v.setBigUint64(0, BigInt(TC_OPTS_SIZE), true);
  v.setInt32(8, progFd, true);
  v.setUint32(12, flags, true);
  v.setUint32(20, id.handle, true);
  v.setUint32(24, id.priority, true);
  return o;
}

/** Attaches (or replaces) the program at tc ingress of `ifindex`; creates the clsact qdisc if needed. */
export function attachTcIngress(ifindex: number, progFd: number, id: TcFilterId, device = String(ifindex)): void {
  const h = hook(ifindex);
  // An existing clsact qdisc is the normal case after a restart.
  const r = quietly(() => libbpf().bpf_tc_hook_create(h));
  if (r < 0 && r !== -EEXIST) throw new ErrnoError(`create the clsact qdisc on "${device}"`, -r);
  check(`attach BPF program at tc ingress of "${device}"`, libbpf().bpf_tc_attach(h, tcOpts(id, progFd, BPF_TC_F_REPLACE)));
}

/** Removes herald's filter from tc ingress of `ifindex`; false when none was there. */
export function detachTcIngress(ifindex: number, id: TcFilterId, device = String(ifindex)): boolean {
  const r = quietly(() => libbpf().bpf_tc_detach(hook(ifindex), tcOpts(id)));
  if (r === -ENOENT) return false;
  check(`detach BPF program from tc ingress of "${device}"`, r);
  return true;
}

/** The id of the program attached by herald at tc ingress of `ifindex`, if any. */
export function queryTcIngress(ifindex: number, id: TcFilterId): number | undefined {
  const opts = tcOpts(id);
  const r = quietly(() => libbpf().bpf_tc_query(hook(ifindex), opts));
  if (r === -ENOENT || r === -EINVAL_NO_QDISC) return undefined;
  check(`query tc ingress of device ${ifindex}`, r);
  return new DataView(opts.buffer).getUint32(16, true);
}
