/**
 * `scripts/build-image [--local-base | --base IMAGE] [--tag TAG] [--dist DIR]`:
 * the container image (Containerfile) from scripts/build's output.
 *
 * The Containerfile only COPYs (no RUN), so an image builds without a
 * registry or a working container runtime. This script prepares its build
 * context:
 * - `libs/`: libbpf.so.1 (the datapath's FFI) and what it links (libelf,
 *   libz), plus iproute2's `ip` (the agent reads host facts with `ip -j`)
 *   and its libraries, taken from this host's Debian packages. The base
 *   provides glibc, so build on the Debian release the base is made from
 *   (Debian 12 for the default distroless cc-debian12).
 * - `herald/`: /usr/local/bin/herald, the compiled binary; or, where the
 *   build had no denort, the launcher, deno and herald.js in
 *   /usr/local/lib/herald with /usr/local/bin/herald pointing at the launcher.
 *
 * `--local-base` builds on `localhost/herald-base:<hash>` instead of the
 * public default: the same contents as distroless cc (glibc, libgcc_s,
 * CA certificates, a nonroot user 65532, no shell) assembled from this
 * host's files and imported once; later builds reuse it while the host's
 * libraries are unchanged.
 */
import { execFile, type ExecFileException } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { build, ROOT } from "./build.ts";

const LIBDIR = "usr/lib/x86_64-linux-gnu";
/** What the base image provides (glibc and libgcc_s): not copied into the image's own layer. */
const BASE_LIBS = /^(ld-linux-x86-64\.so\.2|lib(c|m|dl|pthread|rt|resolv|util|anl|nsl|nss_\w+|mvec|BrokenLocale|thread_db)\.so\.\d+|libgcc_s\.so\.1)$/;
/** Loaded with dlopen, so ldd of the program does not show them. */
const APP_ELF = ["libbpf.so.1"];
const APP_TOOLS = ["ip"];
export const NONROOT = 65532;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(cmd, args, { cwd: ROOT, maxBuffer: 64 << 20 }, (err: ExecFileException | null, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) || (err && typeof err.code !== "number" ? err.message : "") });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function mustRun(what: string, cmd: string, args: string[]): Promise<Run> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`Cannot ${what}: ${cmd} ${args.join(" ")} exited with ${r.code}\n${(r.stderr || r.stdout).trim()}`);
  return r;
}

/** Where a library or tool lives on this host (`ldconfig -p`, PATH). */
async function hostPath(name: string): Promise<string> {
  if (name.includes(".so")) {
    const cache = await mustRun("list the host's libraries", "/sbin/ldconfig", ["-p"]);
    const line = cache.stdout.split("\n").find((l) => l.trim().startsWith(`${name} `) && l.includes("x86-64"));
    if (!line) throw new Error(`Cannot find "${name}" on this host: install its Debian package (libbpf1)`);
    return line.slice(line.indexOf("=> ") + 3).trim();
  }
  for (const dir of ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`Cannot find "${name}" on this host: install its Debian package (iproute2)`);
}

/** The shared libraries an ELF file needs, by soname → host path (ldd). */
async function needed(elf: string): Promise<Map<string, string>> {
  const r = await mustRun(`list the libraries of "${elf}"`, "ldd", [elf]);
  const libs = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const m = /^\s*(\S+) => (\/\S+)/.exec(line);
    if (m) libs.set(m[1], m[2]);
    else if (/not found/.test(line)) throw new Error(`Cannot package "${elf}": ${line.trim()}`);
  }
  return libs;
}

/** Copies a host file (symlinks followed) to rootfs/dest with the given mode. */
function put(rootfs: string, dest: string, source: string, mode: number): void {
  const target = join(rootfs, dest);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(realpathSync(source), target);
  chmodSync(target, mode);
}

/** libs/: libbpf and ip with their libraries, less what the base has. */
export async function prepareLibs(dir: string): Promise<string[]> {
  const files: string[] = [];
  const libs = new Map<string, string>();
  for (const name of APP_ELF) {
    const path = await hostPath(name);
    libs.set(name, path);
    for (const [so, p] of await needed(path)) libs.set(so, p);
  }
  for (const name of APP_TOOLS) {
    const path = await hostPath(name);
    put(dir, `usr/sbin/${name}`, path, 0o755);
    files.push(`/usr/sbin/${name}`);
    for (const [so, p] of await needed(path)) libs.set(so, p);
  }
  for (const [so, path] of [...libs].sort()) {
    if (BASE_LIBS.test(so)) continue;
    put(dir, `${LIBDIR}/${so}`, path, 0o644);
    files.push(`/${LIBDIR}/${so}`);
  }
  return files;
}

/** herald/: the program at /usr/local/bin/herald (see the module comment). */
export function prepareProgram(dir: string, dist: string): "compiled" | "launcher" {
  if (!existsSync(join(dist, "herald"))) throw new Error(`Cannot build the image: "${join(dist, "herald")}" is missing (run scripts/build)`);
  mkdirSync(join(dir, "usr/local/bin"), { recursive: true });
  if (!existsSync(join(dist, "deno"))) {
    put(dir, "usr/local/bin/herald", join(dist, "herald"), 0o755);
    return "compiled";
  }
  for (const [f, mode] of [["herald", 0o755], ["deno", 0o755], ["herald.js", 0o644]] as const) put(dir, `usr/local/lib/herald/${f}`, join(dist, f), mode);
  symlinkSync("../lib/herald/herald", join(dir, "usr/local/bin/herald"));
  return "launcher";
}

/** The local stand-in for distroless cc: glibc, libgcc_s, CA certificates, users, no shell. */
async function assembleBase(rootfs: string): Promise<void> {
  const pkgFiles = await mustRun("list libc6 and libgcc-s1", "dpkg", ["-L", "libc6", "libgcc-s1"]);
  const libs = pkgFiles.stdout.split("\n").filter((p) => /^\/(usr\/)?lib\/x86_64-linux-gnu\/[^/]+\.so[.\d]*$/.test(p) && existsSync(p));
  if (!libs.some((p) => p.endsWith("/libc.so.6"))) throw new Error("Cannot assemble the base: libc6's files were not found (a Debian host is needed)");
  for (const p of libs) put(rootfs, `${LIBDIR}/${basename(p)}`, p, 0o755);
  // Debian's merged /usr layout, as the Debian 12 based distroless images have it.
  for (const d of ["usr/bin", "usr/sbin", "usr/lib64", "etc/ssl/certs", "proc", "sys", "dev", "run", "var/lib"]) mkdirSync(join(rootfs, d), { recursive: true });
  symlinkSync("../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", join(rootfs, "usr/lib64/ld-linux-x86-64.so.2"));
  for (const d of ["bin", "sbin", "lib", "lib64"]) symlinkSync(`usr/${d}`, join(rootfs, d));
  writeFileSync(join(rootfs, "etc/passwd"), `root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`);
  writeFileSync(join(rootfs, "etc/group"), `root:x:0:\nnogroup:x:65534:\nnonroot:x:${NONROOT}:\n`);
  writeFileSync(join(rootfs, "etc/nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
  for (const f of ["etc/os-release", "etc/ssl/certs/ca-certificates.crt"]) if (existsSync(`/${f}`)) put(rootfs, f, `/${f}`, 0o644);
  for (const [d, mode, owner] of [["tmp", 0o1777, 0], ["root", 0o700, 0], ["home/nonroot", 0o700, NONROOT]] as const) {
    mkdirSync(join(rootfs, d), { recursive: true });
    chmodSync(join(rootfs, d), mode);
    chownSync(join(rootfs, d), owner, owner);
  }
}

/** Content hash of a folder's files (paths, modes, bytes, link targets). */
async function treeHash(dir: string): Promise<string> {
  const list = await mustRun("list the base files", "find", [dir, "-printf", "%P %m %y %l\\n"]);
  const h = createHash("sha256");
  for (const line of list.stdout.split("\n").sort()) {
    h.update(line + "\n");
    const rel = line.split(" ")[0];
    if (rel && line.split(" ")[2] === "f") h.update(readFileSync(join(dir, rel)));
  }
  return h.digest("hex").slice(0, 12);
}

/** localhost/herald-base:<hash>, imported once from this host's files. */
export async function localBase(engine: string, log: (line: string) => void): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), "herald-base-"));
  try {
    const rootfs = join(tmp, "rootfs");
    mkdirSync(rootfs);
    await assembleBase(rootfs);
    const image = `localhost/herald-base:${await treeHash(rootfs)}`;
    if ((await run(engine, ["image", "exists", image])).code === 0) return image;
    const tar = join(tmp, "rootfs.tar");
    await mustRun("pack the base", "tar", ["--sort=name", "--numeric-owner", "--mtime=@0", "-cf", tar, "-C", rootfs, "."]);
    await mustRun("import the base image", engine, [
      "import",
      "--change", `USER=${NONROOT}:${NONROOT}`,
      "--change", "ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "--change", "ENV=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
      "--change", "WORKDIR=/",
      "--message", "herald local base: glibc, libgcc_s, CA certificates from the host's Debian packages",
      tar, image,
    ]);
    log(`herald build-image: imported ${image} (local base from this host's Debian packages)`);
    return image;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface ImageOptions {
  /** scripts/build output (built into a temporary folder when absent). */
  dist?: string;
  /** A base image reference, or "local" for localhost/herald-base. Default: the Containerfile's. */
  base?: string;
  tag: string;
  /** The container tool (podman; it builds with buildah's library). */
  engine?: string;
  log?: (line: string) => void;
}

/** Builds the image; returns its id. */
export async function buildImage(options: ImageOptions): Promise<{ id: string; base: string; program: "compiled" | "launcher" }> {
  const log = options.log ?? ((line: string) => console.error(line));
  const engine = options.engine ?? "podman";
  const tmp = mkdtempSync(join(tmpdir(), "herald-image-"));
  try {
    let dist = options.dist;
    let facts: { version: string; commit: string; date: string } | undefined;
    if (!dist) {
      dist = join(tmp, "dist");
      facts = (await build({ out: dist, release: false, log })).facts;
    }
    facts ??= readStamp(join(dist, "herald.js"));
    const ctx = join(tmp, "context");
    await prepareLibs(join(ctx, "libs"));
    const program = prepareProgram(join(ctx, "herald"), resolve(dist));
    const base = options.base === "local" ? await localBase(engine, log) : options.base;
    const args = ["build", "--quiet", "--layers", "--file", join(ROOT, "Containerfile"), "--tag", options.tag];
    if (base) args.push("--build-arg", `BASE=${base}`);
    if (options.base === "local") args.push("--pull=never");
    args.push("--build-arg", `VERSION=${facts.version}`, "--build-arg", `REVISION=${facts.commit}`, "--build-arg", `CREATED=${facts.date}`, ctx);
    const r = await mustRun("build the image", engine, args);
    return { id: r.stdout.trim().split("\n").pop()!, base: base ?? "(Containerfile default)", program };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Version, commit and date from the stamp at the top of herald.js. */
function readStamp(bundle: string): { version: string; commit: string; date: string } {
  const head = readFileSync(bundle, "utf8").slice(0, 4096).split("\n", 1)[0];
  const m = /"version":"([^"]+)","commit":"([^"]+)","date":"([^"]+)"/.exec(head);
  if (!m) throw new Error(`Cannot read the build stamp of "${bundle}"`);
  return { version: m[1], commit: m[2], date: m[3] };
}

function usage(): string {
  return "Usage: scripts/build-image [--local-base | --base IMAGE] [--tag TAG] [--dist DIR]\n";
}

async function main(argv: string[]): Promise<number> {
  const options: ImageOptions = { tag: "localhost/herald:latest" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (!argv[i + 1]) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--local-base") options.base = "local";
    else if (a === "--base") options.base = value();
    else if (a === "--tag") options.tag = value();
    else if (a === "--dist") options.dist = value();
    else if (a === "-h" || a === "--help") {
      process.stdout.write(usage());
      return 0;
    } else {
      process.stderr.write(`scripts/build-image: unknown argument "${a}"\n${usage()}`);
      return 2;
    }
  }
  const started = performance.now();
  const r = await buildImage(options);
  console.log(`${options.tag} ${r.id} (${r.program}, base ${r.base}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    console.error(`scripts/build-image: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
