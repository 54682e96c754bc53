/**
 * The BPF object (bpf/herald_lb.c compiled by bpf/build): where it is, and
 * building it when missing or older than its source (tests, bench, build).
 *
 * The agent only reads the object. A release build (scripts/build) embeds
 * it in the bundle's build stamp, so the bundle and the binary compiled from
 * it need no bpf/ folder; from source it is read from bpf/.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { embeddedFile } from "../version.ts";

export const PROGRAM_NAME = "herald_lb";

const BPF_DIR = fileURLToPath(new URL("../../bpf/", import.meta.url));

/** bpf/herald_lb.o beside the sources (or inside the compiled binary). */
export function defaultObjectPath(): string {
  return `${BPF_DIR}${PROGRAM_NAME}.o`;
}

/** The object at `path`; without one, the embedded object or bpf/herald_lb.o. */
export function readProgramObject(path?: string): Uint8Array {
  if (path === undefined) {
    const embedded = embeddedFile(`bpf/${PROGRAM_NAME}.o`);
    if (embedded) return embedded;
    path = defaultObjectPath();
  }
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    throw new Error(`Cannot read BPF object "${path}": ${code} (build it with bpf/build)`);
  }
}

/** True when the object is missing or older than a C source or header in bpf/. */
export function objectIsStale(path = defaultObjectPath()): boolean {
  if (!existsSync(path)) return true;
  const built = statSync(path).mtimeMs;
  return readdirSync(BPF_DIR)
    .filter((f) => f.endsWith(".c") || f.endsWith(".h") || f === "build")
    .some((f) => statSync(BPF_DIR + f).mtimeMs > built);
}

/**
 * Compiles bpf/*.c with clang (bpf/build) when the object is stale; returns
 * its path. Fails with clang's output when clang is missing or refuses.
 */
export function buildProgramObject(): Promise<string> {
  const path = defaultObjectPath();
  if (!objectIsStale(path)) return Promise.resolve(path);
  return new Promise((resolve, reject) => {
    execFile("bash", [`${BPF_DIR}build`], (err, _stdout, stderr) => {
      if (err) reject(new Error(`Cannot build the BPF object with bpf/build: ${stderr.trim() || err.message}`));
      else resolve(path);
    });
  });
}
