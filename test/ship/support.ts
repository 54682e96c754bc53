/**
 * Shared by the test/ship tests: run commands, build herald into a
 * temporary folder, and make temporary folders that are removed afterwards.
 */
import { execFile } from "node:child_process";
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin", "/usr/bin", "/bin"].filter(Boolean);
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  throw new Error(`Cannot run this test: "${name}" is missing (Debian package ${debianPackage})`);
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

/** `Key=value` lines by section; a key set twice keeps every value. */
export function parseUnit(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    const eq = line.indexOf("=");
    const key = `${section}.${line.slice(0, eq)}`;
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1)]);
  }
  return keys;
}

/**
 * `systemd-analyze verify` of a unit whose ExecStart binary is `herald`
 * (an executable somewhere): stdout+stderr, empty when systemd has nothing to say.
 */
export async function verifyUnit(unitText: string, herald: string, cleanupList: Array<() => void>): Promise<{ code: number; output: string }> {
  const analyze = tool("systemd-analyze", "systemd");
  const dir = tempDir("unit", cleanupList);
  const unit = join(dir, "herald.service");
  writeFileSync(unit, unitText.replaceAll("/usr/local/bin/herald", herald));
  const r = await run(analyze, ["verify", unit]);
  return { code: r.code, output: (r.stdout + r.stderr).trim() };
}
