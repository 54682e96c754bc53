/**
 * Version and build facts for `herald version`.
 *
 * The version comes from package.json. Commit and build date are stamped by
 * scripts/build into the bundle (globalThis.__HERALD_BUILD__); a checkout run
 * from source reports "dev".
 */
import pkg from "../package.json" with { type: "json" };

interface BuildStamp {
  commit: string;
  date: string;
}

const stamp = (globalThis as { __HERALD_BUILD__?: BuildStamp }).__HERALD_BUILD__;

export const VERSION: string = pkg.version;
export const COMMIT: string = stamp?.commit ?? "dev";
export const BUILD_DATE: string = stamp?.date ?? "dev";

/** "deno 2.9.6" or "node v20.20.2". */
export function runtimeDescription(): string {
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  return deno ? `deno ${deno.version.deno}` : `node ${process.version}`;
}
