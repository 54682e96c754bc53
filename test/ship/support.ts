/**
 * Shared by the test/ship tests: run commands, build herald into a
 * temporary folder, and make temporary folders that are removed afterwards.
 */
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DENO = join(ROOT, "node_modules/.bin/deno");

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** Runs a command to completion; never throws for a non-zero exit. */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<Ran> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 256 << 20, encoding: "utf8" }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      done({ code, stdout, stderr: stderr || (err && typeof err.code !== "number" ? err.message : "") });
    });
  });
}

/** Like run(), but a non-zero exit fails with the command's output. */
export async function ok(cmd: string, args: string[], options: RunOptions = {}): Promise<Ran> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

/** The path of a tool the test needs; fails (does not skip) when it is missing. */
export function tool(name: string, debianPackage: string): string {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8", env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path) throw new Error(`Cannot run this test: "${name}" is missing (Debian package ${debianPackage})`);
  return path;
}

/** A temporary folder (world-readable, so dropped-privilege runs can enter it). */
export function tempDir(prefix: string, cleanup: Array<() => void>): string {
  const dir = mkdtempSync(join(tmpdir(), `herald-${prefix}-${process.pid}-`));
  chmodSync(dir, 0o755);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Built {
  out: string;
  /** The facts the build printed: "herald VERSION (commit C, built D)". */
  version: string;
  commit: string;
  date: string;
  /** True for a deno-compiled dist/herald; false for the launcher + deno. */
  compiled: boolean;
  stderr: string;
}

/** scripts/build [--release] --out OUT, and what it reported. */
export async function build(out: string, release = false): Promise<Built> {
  const r = await ok(join(ROOT, "scripts/build"), [...(release ? ["--release"] : []), "--out", out], { timeoutMs: 300_000 });
  const m = /^herald (\S+) \(commit (\S+), built (\S+)\)/m.exec(r.stdout);
  if (!m) throw new Error(`scripts/build printed no summary:\n${r.stdout}`);
  return { out, version: m[1], commit: m[2], date: m[3], compiled: /herald \(compiled/.test(r.stdout), stderr: r.stderr };
}
