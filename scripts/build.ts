/**
 * `scripts/build [--release] [--out DIR]`: herald as one program.
 *
 * 1. `deno bundle mod.ts` → OUT/herald.js, one self-contained JavaScript file
 *    (npm packages inlined; koffi stays out because src/runtime requires it
 *    by a computed name and only under Node), stamped with the version, git
 *    commit, build date and the BPF object (see src/version.ts).
 * 2. `deno compile` of that bundle → OUT/herald (linux x86_64). deno compile
 *    needs denort, the runtime without the tooling: DENORT_BIN names one for
 *    air-gapped build hosts, otherwise deno downloads it. Where it cannot be
 *    had, the build says so in one line and OUT/herald becomes a small static
 *    launcher (scripts/build-launcher.c) that runs OUT/herald.js with
 *    OUT/deno, the runtime this build ran on: the same `herald` entry point.
 * 3. `--release` also type-checks, and writes
 *    OUT/herald-<version>-linux-amd64.tar.gz (the program, install.sh and
 *    deploy/) and OUT/SHA256SUMS.
 *
 * Why compile the bundle rather than mod.ts: the binary then runs exactly
 * the code the bundle tests prove, carries no node_modules, and avoids
 * `deno compile` 2.9's stack overflow on this project's module graph.
 */
import { execFile, type ExecFileException } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { buildProgramObject } from "../src/datapath/program.ts";
import type { BuildStamp } from "../src/version.ts";

export const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const TARGET = "x86_64-unknown-linux-gnu";
const RELEASE_ARCH = "linux-amd64";
/** Files the bundle carries for run time (paths as in the source tree). */
const EMBEDDED_FILES = ["bpf/herald_lb.o"];

export interface BuildOptions {
  /** Output folder (default dist/). */
  out: string;
  release: boolean;
  /** One-line progress and notices (default: stderr). */
  log?: (line: string) => void;
}

export interface BuildResult {
  facts: BuildStamp;
  /** OUT/herald.js */
  bundle: string;
  /** OUT/herald: the compiled binary, or the launcher when `compiled` is false. */
  herald: string;
  compiled: boolean;
  /** Why there is no compiled binary (the one line the build printed). */
  notice?: string;
  /** Release only: the tarball and SHA256SUMS. */
  tarball?: string;
  sums?: string;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, maxBuffer: 64 << 20 }, (err: ExecFileException | null, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) || (err && typeof err.code !== "number" ? err.message : "") });
    });
  });
}

async function mustRun(what: string, cmd: string, args: string[], options?: Parameters<typeof run>[2]): Promise<Run> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`Cannot ${what}: ${cmd} ${args.join(" ")} exited with ${r.code}\n${stripAnsi(r.stderr || r.stdout).trim()}`);
  return r;
}

const ESC = String.fromCharCode(27);
const stripAnsi = (s: string) => s.replaceAll(new RegExp(`${ESC}\\[[0-9;]*m`, "g"), "");

/** Version, commit and date of this build. */
export async function buildFacts(): Promise<BuildStamp> {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  let commit = "unknown";
  const head = await run("git", ["rev-parse", "--short=12", "HEAD"]);
  if (head.code === 0) {
    const status = await run("git", ["status", "--porcelain", "--untracked-files=no"]);
    commit = head.stdout.trim() + (status.stdout.trim() ? "-dirty" : "");
  }
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const date = (epoch && /^\d+$/.test(epoch) ? new Date(Number(epoch) * 1000) : new Date()).toISOString().replace(/\.\d{3}Z$/, "Z");
  return { version: pkg.version, commit, date };
}

/** The statement scripts/build puts in front of the bundle. */
export function stampStatement(stamp: BuildStamp): string {
  return `globalThis.__HERALD_BUILD__ = Object.freeze(${JSON.stringify(stamp)});\n`;
}

/** The deno binary this build runs on (the runtime the launcher ships). */
function denoBinary(): string {
  const exe = process.execPath;
  if (!/deno$/.test(basename(exe))) throw new Error(`Cannot build: run scripts/build with deno (node_modules/.bin/deno), not "${exe}"`);
  return exe;
}

/** OUT/herald.js: the stamped, self-contained bundle of mod.ts. */
export async function bundle(out: string, facts: BuildStamp): Promise<string> {
  await buildProgramObject();
  const files: Record<string, string> = {};
  for (const f of EMBEDDED_FILES) files[f] = readFileSync(join(ROOT, f)).toString("base64");
  const tmp = mkdtempSync(join(tmpdir(), "herald-bundle-"));
  try {
    const raw = join(tmp, "herald.js");
    await mustRun("bundle mod.ts", denoBinary(), ["bundle", "--quiet", "--output", raw, "mod.ts"]);
    const target = join(out, "herald.js");
    writeFileSync(target, stampStatement({ ...facts, files }) + readFileSync(raw, "utf8"));
    return target;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** True when deno compile failed only because it could not fetch denort. */
function denortMissing(stderr: string): boolean {
  return /denort|dl\.deno\.land|Setting up base binary/.test(stderr);
}

/**
 * OUT/herald compiled from the bundle; `{ compiled: false, notice }` when
 * denort cannot be had and DENORT_BIN is not set.
 */
export async function compile(bundlePath: string, out: string, facts: BuildStamp): Promise<{ compiled: boolean; notice?: string }> {
  const denort = process.env.DENORT_BIN;
  // Compile from a folder holding only the bundle, so no deno.json,
  // package.json or node_modules is picked up or embedded.
  const tmp = mkdtempSync(join(tmpdir(), "herald-compile-"));
  try {
    copyFileSync(bundlePath, join(tmp, "herald.js"));
    const target = resolve(out, "herald");
    // --no-check: the bundle is generated JavaScript (mod.ts is what gets type-checked, see --release);
    // checking it resolves the JSDoc `import('../types/…')` of inlined npm code (undici, via
    // @kubernetes/client-node for the agent's Kubernetes mode) to files a bundle does not have.
    const r = await run(denoBinary(), ["compile", "--quiet", "--no-check", "--allow-all", "--no-config", "--no-lock", "--target", TARGET, "--output", target, "herald.js"], { cwd: tmp });
    if (r.code === 0) {
      // The base binary (DENORT_BIN or downloaded) must really be denort: the result has to be herald.
      const v = await run(target, ["--version"], { cwd: tmp });
      const expected = `herald ${facts.version} (commit ${facts.commit}, built ${facts.date}, deno `;
      if (v.code !== 0 || !v.stdout.startsWith(expected)) {
        rmSync(target, { force: true });
        const got = (v.stdout || v.stderr).trim().split("\n")[0];
        throw new Error(`Cannot use the compiled binary: "herald --version" printed "${got}", expected "${expected}…" (is DENORT_BIN a denort for ${TARGET}?)`);
      }
      return { compiled: true };
    }
    const why = stripAnsi(r.stderr).trim();
    if (!denort && denortMissing(why)) {
      return { compiled: false, notice: `herald build: no denort for ${TARGET} (deno compile cannot download it; set DENORT_BIN=/path/to/denort), so ${target} is a launcher that runs herald.js with the deno beside it` };
    }
    throw new Error(`Cannot compile herald: deno compile exited with ${r.code}\n${why}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** OUT/herald as the static launcher, and OUT/deno beside it. */
export async function launcher(out: string): Promise<void> {
  // cc, or clang where it is the only compiler (the BPF object needs clang anyway).
  const cc = process.env.CC || ((await run("sh", ["-c", "command -v cc"])).code === 0 ? "cc" : "clang");
  await mustRun("build the herald launcher (a C compiler is needed where denort is missing)", cc, ["-static", "-Os", "-s", "-Wall", "-Werror", "-o", join(out, "herald"), join(ROOT, "scripts/build-launcher.c")]);
  const deno = join(out, "deno");
  rmSync(deno, { force: true });
  copyFileSync(denoBinary(), deno);
  chmodSync(deno, 0o755);
}

/** `sha256sum`-compatible lines for the files, named relative to their folder. */
export function sha256sums(paths: string[]): string {
  return paths.map((p) => `${createHash("sha256").update(readFileSync(p)).digest("hex")}  ${basename(p)}\n`).join("");
}

/** OUT/herald-<version>-linux-amd64.tar.gz: the program, install.sh and deploy/. */
export async function tarball(out: string, facts: BuildStamp, compiled: boolean): Promise<string> {
  const name = `herald-${facts.version}-${RELEASE_ARCH}`;
  const stage = mkdtempSync(join(tmpdir(), "herald-release-"));
  try {
    const dir = join(stage, name);
    mkdirSync(dir);
    for (const f of compiled ? ["herald"] : ["herald", "deno", "herald.js"]) copyFileSync(join(out, f), join(dir, f));
    copyFileSync(join(ROOT, "scripts/install.sh"), join(dir, "install.sh"));
    for (const f of ["herald", "deno", "install.sh"]) if (existsSync(join(dir, f))) chmodSync(join(dir, f), 0o755);
    cpSync(join(ROOT, "deploy"), join(dir, "deploy"), { recursive: true });
    const target = resolve(out, `${name}.tar.gz`);
    // Reproducible: sorted names, fixed owner and times (SOURCE_DATE_EPOCH or the build date).
    const mtime = `@${Math.floor(Date.parse(facts.date) / 1000)}`;
    await mustRun("write the release tarball", "tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", `--mtime=${mtime}`, "-I", "gzip -n", "-cf", target, "-C", stage, name]);
    return target;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** The whole build; see the module comment. */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  const out = resolve(options.out);
  const denort = process.env.DENORT_BIN;
  if (denort && !existsSync(denort)) throw new Error(`Cannot compile herald: DENORT_BIN names a missing file "${denort}"`);
  mkdirSync(out, { recursive: true });
  for (const f of ["herald", "deno", "herald.js", "SHA256SUMS"]) rmSync(join(out, f), { force: true });
  const facts = await buildFacts();
  if (options.release) await mustRun("type-check mod.ts", denoBinary(), ["check", "--quiet", "mod.ts"]);
  const bundlePath = await bundle(out, facts);
  const { compiled, notice } = await compile(bundlePath, out, facts);
  if (notice) {
    log(notice);
    await launcher(out);
  }
  const result: BuildResult = { facts, bundle: bundlePath, herald: join(out, "herald"), compiled, notice };
  if (options.release) {
    const tar = await tarball(out, facts, compiled);
    const sums = join(out, "SHA256SUMS");
    const listed = [...(compiled ? ["herald"] : ["herald", "deno"]), "herald.js"].map((f) => join(out, f));
    writeFileSync(sums, sha256sums([...listed, tar]));
    Object.assign(result, { tarball: tar, sums });
  }
  return result;
}

function usage(): string {
  return "Usage: scripts/build [--release] [--out DIR]\n";
}

async function main(argv: string[]): Promise<number> {
  let release = false;
  let out = join(ROOT, "dist");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--release") release = true;
    else if (a === "--out" && argv[i + 1]) out = argv[++i];
    else if (a.startsWith("--out=")) out = a.slice(6);
    else if (a === "-h" || a === "--help") {
      process.stdout.write(usage());
      return 0;
    } else {
      process.stderr.write(`scripts/build: unknown argument "${a}"\n${usage()}`);
      return 2;
    }
  }
  const started = performance.now();
  const r = await build({ out, release });
  const size = (p: string) => `${(statSync(p).size / 2 ** 20).toFixed(1)} MB`;
  const lines = [`${r.herald} (${r.compiled ? "compiled" : "launcher"}, ${size(r.herald)})`, `${r.bundle} (${size(r.bundle)})`];
  if (r.tarball) lines.push(`${r.tarball} (${size(r.tarball)})`, r.sums!);
  console.log(`herald ${r.facts.version} (commit ${r.facts.commit}, built ${r.facts.date}) in ${((performance.now() - started) / 1000).toFixed(1)} s:\n  ${lines.join("\n  ")}`);
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    console.error(`scripts/build: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
