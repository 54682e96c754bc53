/**
 * The Node binder: koffi over the shared symbol table. Private to
 * src/runtime; use `ffi.ts`.
 *
 * koffi is required by a computed name so that `deno compile` does not pull
 * its native addons into the Deno binary, which never uses them.
 */
import { createRequire } from "node:module";
import type { FfiTable, FfiType } from "./ffi-symbols.ts";
import type { OpenedLibrary } from "./ffi.ts";

const KOFFI_TYPES: Record<FfiType, string> = {
  i32: "int32_t",
  u32: "uint32_t",
  u64: "uint64_t",
  usize: "size_t",
  isize: "intptr_t",
  buffer: "void *",
  pointer: "void *",
  void: "void",
};
const WIDE: ReadonlySet<FfiType> = new Set(["u64", "usize", "isize"]);

type KoffiFunction = ((...a: unknown[]) => unknown) & { async(...a: unknown[]): void };
interface Koffi {
  load(file: string): { func(name: string, result: string, params: string[]): KoffiFunction };
  errno(): number;
}

let koffi: Koffi | undefined;

function loadKoffi(): Koffi {
  const name = ["ko", "ffi"].join("");
  return koffi ??= createRequire(import.meta.url)(name) as Koffi;
}

export function openWithKoffi<T extends FfiTable>(file: string, table: T): OpenedLibrary<T> {
  const k = loadKoffi();
  const lib = k.load(file);
  const symbols: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(table)) {
    const fn = lib.func(name, KOFFI_TYPES[s.result], s.params.map((p) => KOFFI_TYPES[p]));
    const toJs = WIDE.has(s.result) ? (v: unknown) => Number(v as number | bigint) : (v: unknown) => v;
    symbols[name] = s.nonblocking
      ? (...a: unknown[]) =>
        new Promise((resolve, reject) =>
          fn.async(...a, (err: unknown, res: unknown) => (err ? reject(err) : resolve(toJs(res))))
        )
      : WIDE.has(s.result)
      ? (...a: unknown[]) => toJs(fn(...a))
      : fn;
  }
  return { symbols: symbols as OpenedLibrary<T>["symbols"], errno: () => k.errno() };
}
