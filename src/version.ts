/**
 * Version and build facts for `herald version`, and the files a release
 * build carries inside the program.
 *
 * scripts/build stamps the bundle (and so the binary compiled from it) by
 * putting one statement in front of it:
 *
 * ```js
 * globalThis.__HERALD_BUILD__ = { version, commit, date, files: { "bpf/herald_lb.o": "<base64>" } };
 * ```
 *
 * A checkout run from source has no stamp: the version comes from
 * package.json, and commit and build date read "dev".
 */
import pkg from "../package.json" with { type: "json" };

/** What scripts/build stamps; see scripts/build.ts `buildStamp()`. */
export interface BuildStamp {
  version: string;
  /** `git rev-parse --short=12 HEAD`, with "-dirty" when tracked files differ from it. */
  commit: string;
  /** ISO 8601 UTC, from SOURCE_DATE_EPOCH when set (reproducible builds). */
  date: string;
  /** Files the program needs at run time, by path in the source tree, base64. */
  files?: Record<string, string>;
}

function stamp(): BuildStamp | undefined {
  return (globalThis as { __HERALD_BUILD__?: BuildStamp }).__HERALD_BUILD__;
}

export const VERSION: string = stamp()?.version ?? pkg.version;
export const COMMIT: string = stamp()?.commit ?? "dev";
export const BUILD_DATE: string = stamp()?.date ?? "dev";

/**
 * A file the build embedded (e.g. "bpf/herald_lb.o"), or undefined when
 * running from source, where it is read from the tree instead.
 */
export function embeddedFile(path: string): Uint8Array | undefined {
  const text = stamp()?.files?.[path];
  if (text === undefined) return undefined;
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** "deno 2.9.6" or "node v20.20.2". */
export function runtimeDescription(): string {
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  return deno ? `deno ${deno.version.deno}` : `node ${process.version}`;
}
