/**
 * The one table of native functions herald calls: libc for the socket
 * options node:net lacks (and a few file-system calls), libbpf for the eBPF
 * datapath. Both bindings (Deno.dlopen under Deno, koffi under Node) are
 * built from this table, so a signature is written exactly once.
 *
 * Types are a small neutral vocabulary:
 * - `i32`/`u32`/`u64`/`usize`/`isize`: integers (64-bit ones accept number or bigint);
 * - `buffer`: a `Uint8Array` (or null) whose memory the callee reads or fills;
 * - `pointer`: an opaque native pointer returned by one call and passed to
 *   another (e.g. `struct bpf_object *`); JavaScript never looks inside;
 * - `void`: no result.
 *
 * `nonblocking: true` marks calls that may block (poll): they run on a
 * helper thread and their binding returns a Promise.
 */

export type FfiType = "i32" | "u32" | "u64" | "usize" | "isize" | "buffer" | "pointer" | "void";

export interface FfiSymbol {
  readonly params: readonly FfiType[];
  readonly result: FfiType;
  readonly nonblocking?: boolean;
}

export type FfiTable = Readonly<Record<string, FfiSymbol>>;

/** The C library: sockets, poll/eventfd, namespaces and bpffs checks. */
export const LIBC = {
  socket: { params: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { params: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { params: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { params: ["i32", "buffer", "u32"], result: "i32" },
  listen: { params: ["i32", "i32"], result: "i32" },
  connect: { params: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { params: ["i32", "buffer", "buffer"], result: "i32" },
  close: { params: ["i32"], result: "i32" },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout): waits on a helper thread. */
  poll: { params: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  eventfd: { params: ["u32", "i32"], result: "i32" },
  write: { params: ["i32", "buffer", "usize"], result: "isize" },
  read: { params: ["i32", "buffer", "usize"], result: "isize" },
  /** open(2) with two arguments (no O_CREAT, so the variadic mode is never read). */
  open: { params: ["buffer", "i32"], result: "i32" },
  setns: { params: ["i32", "i32"], result: "i32" },
  if_nametoindex: { params: ["buffer"], result: "u32" },
  statfs: { params: ["buffer", "buffer"], result: "i32" },
  mount: { params: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  malloc: { params: ["usize"], result: "pointer" },
  free: { params: ["pointer"], result: "void" },
  memcpy: { params: ["pointer", "buffer", "usize"], result: "pointer" },
  /** Where errno lives for the calling thread (read right after a failed call under Deno). */
  __errno_location: { params: [], result: "pointer" },
} as const satisfies FfiTable;

/**
 * libbpf 1.x (Debian 12: libbpf1 1.1). In libbpf 1.0 mode every int-returning
 * call returns `-errno` on failure; pointer-returning calls return NULL and
 * set errno.
 */
export const LIBBPF = {
  bpf_map_create: { params: ["i32", "buffer", "u32", "u32", "u32", "buffer"], result: "i32" },
  bpf_obj_pin: { params: ["i32", "buffer"], result: "i32" },
  bpf_obj_get: { params: ["buffer"], result: "i32" },
  bpf_obj_get_info_by_fd: { params: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_update_elem: { params: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  bpf_map_lookup_elem: { params: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_delete_elem: { params: ["i32", "buffer"], result: "i32" },
  bpf_map_get_next_key: { params: ["i32", "buffer", "buffer"], result: "i32" },
  /** (fd, in_batch, out_batch, keys, values, count in/out, opts) */
  bpf_map_lookup_batch: { params: ["i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  /** The ELF image must stay put until load: it is given as malloc'd memory, not a JS buffer. */
  bpf_object__open_mem: { params: ["pointer", "usize", "buffer"], result: "pointer" },
  bpf_object__load: { params: ["pointer"], result: "i32" },
  bpf_object__close: { params: ["pointer"], result: "void" },
  bpf_object__find_program_by_name: { params: ["pointer", "buffer"], result: "pointer" },
  bpf_object__find_map_by_name: { params: ["pointer", "buffer"], result: "pointer" },
  bpf_map__reuse_fd: { params: ["pointer", "i32"], result: "i32" },
  bpf_program__fd: { params: ["pointer"], result: "i32" },
  /** libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn): NULL silences libbpf. */
  libbpf_set_print: { params: ["pointer"], result: "pointer" },
  bpf_tc_hook_create: { params: ["buffer"], result: "i32" },
  bpf_tc_hook_destroy: { params: ["buffer"], result: "i32" },
  bpf_tc_attach: { params: ["buffer", "buffer"], result: "i32" },
  bpf_tc_detach: { params: ["buffer", "buffer"], result: "i32" },
  bpf_tc_query: { params: ["buffer", "buffer"], result: "i32" },
} as const satisfies FfiTable;

/** Shared-object names, as the dynamic loader finds them on the host. */
export const LIBRARY_FILES = { libc: "libc.so.6", libbpf: "libbpf.so.1" } as const;
