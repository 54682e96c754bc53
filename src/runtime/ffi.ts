/**
 * Native calls for both runtimes, built from the one table in
 * `ffi-symbols.ts`: `Deno.dlopen` under Deno (so a `deno compile` binary
 * needs only libc and libbpf.so.1 on the host), koffi under Node.
 *
 * Libraries are opened lazily, once, on first use; a missing library is a
 * clear `Cannot load …` error the caller can turn into "running without the
 * datapath".
 *
 * @example
 * ```ts
 * const fd = libc().socket(AF_INET, SOCK_STREAM, 0);
 * if (fd < 0) throw errnoError("create socket", lastErrno());
 * ```
 */
import { LIBBPF, LIBC, LIBRARY_FILES } from "./ffi-symbols.ts";
import type { FfiSymbol, FfiTable, FfiType } from "./ffi-symbols.ts";
import { openWithDeno } from "./_ffi-deno.ts";
import { openWithKoffi } from "./_ffi-koffi.ts";

/** An opaque native pointer (`struct bpf_object *`, …); null is NULL. */
export type Pointer = { readonly __nativePointer: true } | null;

type ArgOf<T extends FfiType> = T extends "buffer" ? Uint8Array | null
  : T extends "pointer" ? Pointer
  : T extends "u64" | "usize" | "isize" ? number | bigint
  : number;
type ResultOf<T extends FfiType> = T extends "void" ? void : T extends "pointer" ? Pointer : number;
type ArgsOf<P extends readonly FfiType[]> = { -readonly [I in keyof P]: ArgOf<P[I]> };

/** The JavaScript signature of one table entry. */
export type Bound<S extends FfiSymbol> = S extends { nonblocking: true }
  ? (...args: ArgsOf<S["params"]>) => Promise<ResultOf<S["result"]>>
  : (...args: ArgsOf<S["params"]>) => ResultOf<S["result"]>;

export type Library<T extends FfiTable> = { readonly [K in keyof T]: Bound<T[K]> };

/** What a runtime binder returns: the functions and the thread's last errno. */
export interface OpenedLibrary<T extends FfiTable> {
  symbols: Library<T>;
  errno(): number;
}

/** The runtime the process runs under ("deno" or "node"). */
export const runtimeName: "deno" | "node" = "Deno" in globalThis ? "deno" : "node";

function open<T extends FfiTable>(file: string, table: T): OpenedLibrary<T> {
  try {
    return runtimeName === "deno" ? openWithDeno(file, table) : openWithKoffi(file, table);
  } catch (err) {
    throw new Error(`Cannot load "${file}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

let libcHandle: OpenedLibrary<typeof LIBC> | undefined;
let libbpfHandle: OpenedLibrary<typeof LIBBPF> | undefined;

function openedLibc(): OpenedLibrary<typeof LIBC> {
  return libcHandle ??= open(LIBRARY_FILES.libc, LIBC);
}

/** libc functions (throws `Cannot load "libc.so.6": …`). */
export function libc(): Library<typeof LIBC> {
  return openedLibc().symbols;
}

/** libbpf functions (throws `Cannot load "libbpf.so.1": …` where it is not installed). */
export function libbpf(): Library<typeof LIBBPF> {
  libbpfHandle ??= open(LIBRARY_FILES.libbpf, LIBBPF);
  return libbpfHandle.symbols;
}

/**
 * errno of the calling thread, right after a failed libc call (or a libbpf
 * call returning NULL). Read it before anything else can touch errno.
 */
export function lastErrno(): number {
  return openedLibc().errno();
}
