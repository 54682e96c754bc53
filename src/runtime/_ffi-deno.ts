/**
 * The Deno binder: `Deno.dlopen` over the shared symbol table. Private to
 * src/runtime; use `ffi.ts`.
 */
import type { FfiTable, FfiType } from "./ffi-symbols.ts";
import type { OpenedLibrary } from "./ffi.ts";

// 64-bit results come back as number | bigint; callers get plain numbers
// (every value herald reads fits in 53 bits).
const WIDE: ReadonlySet<FfiType> = new Set(["u64", "usize", "isize"]);

type DenoFfi = {
  dlopen(file: string, symbols: Record<string, unknown>): { symbols: Record<string, (...a: unknown[]) => unknown> };
  UnsafePointerView: new (p: unknown) => { getInt32(offset?: number): number };
};

export function openWithDeno<T extends FfiTable>(file: string, table: T): OpenedLibrary<T> {
  const deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;
  const defs: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(table)) {
    defs[name] = { parameters: [...s.params], result: s.result, nonblocking: s.nonblocking ?? false };
  }
  const lib = deno.dlopen(file, defs);
  const symbols: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(table)) {
    const fn = lib.symbols[name];
    if (WIDE.has(s.result)) {
      symbols[name] = s.nonblocking
        ? async (...a: unknown[]) => Number(await (fn(...a) as Promise<number | bigint>))
        : (...a: unknown[]) => Number(fn(...a) as number | bigint);
    } else {
      symbols[name] = fn;
    }
  }
  const errnoLocation = lib.symbols.__errno_location;
  return {
    symbols: symbols as OpenedLibrary<T>["symbols"],
    errno: () => {
      if (!errnoLocation) throw new Error(`Cannot read errno: "${file}" has no __errno_location`);
      return new deno.UnsafePointerView(errnoLocation()).getInt32(0);
    },
  };
}
