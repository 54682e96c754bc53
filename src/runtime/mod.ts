/**
 * The few places where Deno and Node differ, and the native calls herald
 * makes through them. Nothing outside src/runtime touches `Deno.*` or koffi.
 *
 * - `ffi.ts`: libc and libbpf bound from one symbol table (`ffi-symbols.ts`)
 *   by `Deno.dlopen` (Deno, the compiled binary) or koffi (Node).
 * - `sockopt-transport.ts`: the BGP transport with TTL, GTSM and TCP-MD5
 *   (`socket.ts`, `sockaddr.ts`, `socket-fd.ts` underneath).
 * - `bpf.ts`, `bpf-program.ts`, `bpffs.ts`: BPF maps, the tc program and the
 *   BPF file system, for src/datapath.
 * - `netns.ts`: run code inside another network namespace (tests, attach).
 *
 * @example
 * ```ts
 * import { createSockoptTransport } from "./src/runtime/mod.ts";
 * const speaker = new Speaker({ transport: createSockoptTransport(), logger });
 * ```
 */
export { lastErrno, libbpf, libc, runtimeName } from "./ffi.ts";
export type { Pointer } from "./ffi.ts";
export { ErrnoError, errnoName } from "./errno.ts";
export { createSockoptTransport } from "./sockopt-transport.ts";
export { withNetns } from "./netns.ts";
