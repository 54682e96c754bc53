/**
 * Running a TypeScript module in a child process under the same runtime as
 * the caller (Deno natively, Node 20 through node-ts-hooks.mjs), e.g. herald
 * itself or a bench speaker inside a namespace.
 */
import { fileURLToPath } from "node:url";

export type Runtime = "deno" | "node";

/** The runtime executing this code. */
export function currentRuntime(): Runtime {
  return process.versions.deno !== undefined ? "deno" : "node";
}

const hooksUrl = new URL("./node-ts-hooks.mjs", import.meta.url).href;
const denoBin = fileURLToPath(new URL("../../../node_modules/.bin/deno", import.meta.url));

/**
 * argv that runs `modulePath` (a .ts file) with full permissions under
 * `runtime` (default: the current one).
 *
 * @example
 * ```ts
 * const [cmd, ...args] = scriptArgv("mod.ts", ["agent", "--config-dir", dir]);
 * ns.spawn(cmd, args, { name: "herald" });
 * ```
 */
export function scriptArgv(modulePath: string, args: readonly string[] = [], runtime = currentRuntime()): string[] {
  if (runtime === "deno") {
    const deno = currentRuntime() === "deno" ? process.execPath : denoBin;
    return [deno, "run", "-A", modulePath, ...args];
  }
  const node = currentRuntime() === "node" ? process.execPath : "node";
  const register = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(hooksUrl)})`;
  return [node, "--import", register, modulePath, ...args];
}
