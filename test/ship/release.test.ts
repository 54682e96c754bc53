/**
 * `scripts/build --release`: the artifacts and SHA256SUMS, the tarball's
 * layout, and install.sh from the unpacked tarball into a temporary root
 * (every installed file with its mode and owner, idempotency, upgrade
 * keeping the admin's config, uninstall, purge, and its refusals).
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build, type Built, ok, ROOT, run, tempDir, tool, verifyUnit } from "./support.ts";

const cleanup: Array<() => void> = [];
afterAll(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

let built: Built;
let name: string;
/** The unpacked release: <unpacked>/herald-<version>-linux-amd64/. */
let release: string;

beforeAll(async () => {
  built = await build(join(tempDir("release-out", cleanup), "dist"), true);
  name = `herald-${built.version}-linux-amd64`;
  const unpacked = tempDir("release-unpacked", cleanup);
  await ok("tar", ["-xzf", join(built.out, `${name}.tar.gz`), "-C", unpacked]);
  release = join(unpacked, name);
}, 300_000);

/** Every path under dir (relative), directories with a trailing slash. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    const rel = relative(base, p);
    return e.isDirectory() ? [`${rel}/`, ...walk(p, base)] : [rel];
  }).sort();
}

describe("scripts/build --release", () => {
  it("writes the program, the bundle, the tarball and SHA256SUMS that sha256sum accepts", async () => {
    const program = built.compiled ? ["herald"] : ["herald", "deno"];
    const sums = readFileSync(join(built.out, "SHA256SUMS"), "utf8").trim().split("\n");
    expect(sums.map((l) => l.replace(/^[0-9a-f]{64} {2}/, ""))).toEqual([...program, "herald.js", `${name}.tar.gz`]);
    const r = await ok("sha256sum", ["-c", "SHA256SUMS"], { cwd: built.out });
    expect(r.stdout.trim().split("\n").every((l) => l.endsWith(": OK"))).toBe(true);
  });

  it("says in one line that denort is missing, and still ships the whole program", () => {
    if (built.compiled) {
      expect(built.stderr).toBe("");
      return;
    }
    expect(built.stderr.trim().split("\n")).toHaveLength(1);
    expect(built.stderr).toMatch(/^herald build: no denort for x86_64-unknown-linux-gnu .*DENORT_BIN/);
    // The launcher is a static executable: it runs where there is no shell and no libc.
    expect(readFileSync(join(built.out, "herald")).subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  });

  it("honours DENORT_BIN: compiles on that base and refuses a result that is not herald, with no fallback", async () => {
    const out = join(tempDir("release-denort", cleanup), "dist");
    const missing = await run(join(ROOT, "scripts/build"), ["--out", out], { env: { ...process.env, DENORT_BIN: join(out, "no-such-denort") } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`scripts/build: Cannot compile herald: DENORT_BIN names a missing file "${join(out, "no-such-denort")}"\n`);
    // /bin/true as the base: deno compile succeeds, but the result is not herald.
    const wrong = await run(join(ROOT, "scripts/build"), ["--out", out], { env: { ...process.env, DENORT_BIN: tool("true", "coreutils") } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^scripts\/build: Cannot use the compiled binary: "herald --version" printed "true \(GNU coreutils\)[^"]*", expected "herald /);
    expect(readdirSync(out)).toEqual(["herald.js"]);
  }, 120_000);

  it("packs the program, install.sh and all of deploy/ under herald-<version>-linux-amd64/", async () => {
    const r = await ok("tar", ["-tvzf", join(built.out, `${name}.tar.gz`)]);
    const entries = r.stdout.trim().split("\n").map((l) => {
      const [mode, owner, , , , ...rest] = l.split(/\s+/);
      return { mode, owner, path: rest.join(" ") };
    });
    expect(entries.every((e) => e.owner === "0/0" && e.path.startsWith(`${name}/`))).toBe(true);
    const modes = Object.fromEntries(entries.map((e) => [e.path.slice(name.length + 1), e.mode]));
    expect(modes["install.sh"]).toBe("-rwxr-xr-x");
    expect(modes["herald"]).toBe("-rwxr-xr-x");
    if (!built.compiled) {
      expect(modes["deno"]).toBe("-rwxr-xr-x");
      expect(modes["herald.js"]).toBe("-rw-r--r--");
    }
    // deploy/ as in the checkout: the unit, the config skeleton, and the Kubernetes manifests where they exist.
    const deploy = ["deploy/", ...walk(join(ROOT, "deploy")).map((p) => `deploy/${p}`)];
    expect(deploy).toEqual(expect.arrayContaining(["deploy/herald.service", "deploy/config/", "deploy/config/herald.yaml"]));
    expect(walk(release).filter((p) => p.startsWith("deploy/"))).toEqual(deploy);
    expect(readFileSync(join(release, "install.sh"), "utf8")).toBe(readFileSync(join(ROOT, "scripts/install.sh"), "utf8"));
  });
});

/** A packaging root with the account files useradd --prefix needs. */
function packagingRoot(): string {
  const root = tempDir("install-root", cleanup);
  mkdirSync(join(root, "etc"));
  const accounts = { passwd: "root:x:0:0:root:/root:/bin/sh", group: "root:x:0:", shadow: "root:*:19000:0:99999:7:::", gshadow: "root:*::" };
  for (const [file, line] of Object.entries(accounts)) writeFileSync(join(root, "etc", file), `${line}\n`);
  return root;
}

/** One line per installed path: "mode uid:gid path [-> target]". */
function listing(root: string): string[] {
  return walk(root)
    .filter((p) => !/^etc\/(passwd|group|shadow|gshadow)-?$/.test(p))
    .map((p) => {
      const full = join(root, p);
      const st = lstatSync(full);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
      const link = st.isSymbolicLink() ? ` -> ${readlinkSync(full)}` : "";
      return `${mode} ${st.uid}:${st.gid} ${p}${link}`;
    });
}

function heraldIds(root: string): { uid: number; gid: number } {
  const line = readFileSync(join(root, "etc/passwd"), "utf8").split("\n").find((l) => l.startsWith("herald:"));
  if (!line) throw new Error("no herald user in etc/passwd");
  const [, , uid, gid, , home, shell] = line.split(":");
  expect(home).toBe("/var/lib/herald");
  expect(shell).toBe("/usr/sbin/nologin");
  return { uid: Number(uid), gid: Number(gid) };
}

describe("install.sh", () => {
  const install = (args: string[], env?: Record<string, string | undefined>) => run(join(release, "install.sh"), args, { cwd: release, env: env ?? process.env });

  it("installs the program, unit, config skeleton, user and state directory into --root, and enables the unit", async () => {
    tool("systemctl", "systemd");
    tool("useradd", "passwd");
    const root = packagingRoot();
    const r = await install(["--root", root]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { uid, gid } = heraldIds(root);
    const program = built.compiled
      ? ["0755 0:0 usr/local/bin/herald"]
      : [
        "0777 0:0 usr/local/bin/herald -> ../lib/herald/herald",
        "0755 0:0 usr/local/lib/herald/",
        "0755 0:0 usr/local/lib/herald/deno",
        "0755 0:0 usr/local/lib/herald/herald",
        "0644 0:0 usr/local/lib/herald/herald.js",
      ];
    const files = listing(root).filter((l) => !l.endsWith("/") || /herald\/$/.test(l));
    expect(files).toEqual([
      `0750 0:${gid} etc/herald/`,
      `0640 0:${gid} etc/herald/herald.yaml`,
      "0644 0:0 etc/systemd/system/herald.service",
      "0777 0:0 etc/systemd/system/multi-user.target.wants/herald.service -> /etc/systemd/system/herald.service",
      ...program,
      `0750 ${uid}:${gid} var/lib/herald/`,
    ].sort((a, b) => a.split(" ")[2].localeCompare(b.split(" ")[2])));
    expect(readFileSync(join(root, "etc/systemd/system/herald.service"), "utf8")).toBe(readFileSync(join(ROOT, "deploy/herald.service"), "utf8"));
    expect(readFileSync(join(root, "etc/herald/herald.yaml"), "utf8")).toBe(readFileSync(join(ROOT, "deploy/config/herald.yaml"), "utf8"));
    // The installed program runs, and the installed unit passes systemd-analyze verify.
    const v = await ok(join(root, "usr/local/bin/herald"), ["version"]);
    expect(v.stdout).toContain(`herald ${built.version} (commit ${built.commit}, built ${built.date}`);
    const verify = await verifyUnit(readFileSync(join(root, "etc/systemd/system/herald.service"), "utf8"), join(root, "usr/local/bin/herald"), cleanup);
    expect(verify.output).toBe("");
    expect(verify.code).toBe(0);
  }, 60_000);

  it("is idempotent: a second run changes nothing and keeps the admin's config (DESTDIR works like --root)", async () => {
    const root = packagingRoot();
    await ok(join(release, "install.sh"), ["--root", root]);
    const first = listing(root);
    const passwd = readFileSync(join(root, "etc/passwd"), "utf8");
    writeFileSync(join(root, "etc/herald/herald.yaml"), "# mine\n");
    const again = await install([], { ...process.env, DESTDIR: root });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`kept ${root}/etc/herald/herald.yaml`);
    expect(again.stdout).not.toContain("added system user");
    expect(listing(root)).toEqual(first);
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).toBe(passwd);
    expect(readFileSync(join(root, "etc/herald/herald.yaml"), "utf8")).toBe("# mine\n");
  }, 60_000);

  it("--uninstall removes the program and unit but keeps config, state and user; --purge removes those too", async () => {
    const root = packagingRoot();
    await ok(join(release, "install.sh"), ["--root", root]);
    writeFileSync(join(root, "var/lib/herald/allocations.json"), "{}");
    const u = await install(["--uninstall", "--root", root]);
    expect(u.code).toBe(0);
    const left = listing(root).filter((l) => !l.endsWith("/") || /herald\/$/.test(l));
    const { uid, gid } = heraldIds(root);
    expect(left).toEqual([
      `0750 0:${gid} etc/herald/`,
      `0640 0:${gid} etc/herald/herald.yaml`,
      `0750 ${uid}:${gid} var/lib/herald/`,
      `0644 0:0 var/lib/herald/allocations.json`,
    ]);
    // Uninstalling again is harmless.
    expect((await install(["--uninstall", "--root", root])).code).toBe(0);
    const p = await install(["--uninstall", "--purge", "--root", root]);
    expect(p.code).toBe(0);
    expect(listing(root).filter((l) => !l.endsWith("/"))).toEqual([]);
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).not.toContain("herald");
    expect(readFileSync(join(root, "etc/group"), "utf8")).not.toContain("herald");
  }, 60_000);

  it("refuses clearly when not root", async () => {
    const setpriv = tool("setpriv", "util-linux");
    const root = packagingRoot();
    const r = await run(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", join(release, "install.sh"), "--root", root], { cwd: release });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("install.sh: Cannot install herald: run as root (sudo " + join(release, "install.sh") + " ...)\n");
    expect(listing(root).filter((l) => !l.startsWith("0644 0:0 etc/"))).toEqual(["0755 0:0 etc/"]);
  });

  it("refuses clearly when systemd is absent or not running", async () => {
    // No systemctl on PATH: systemd is not installed.
    const bin = tempDir("install-nosystemd", cleanup);
    for (const t of ["dirname", "id"]) await ok("ln", ["-s", tool(t, "coreutils"), join(bin, t)]);
    const root = packagingRoot();
    const absent = await install(["--root", root], { PATH: bin });
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/^install\.sh: Cannot install herald: systemd is absent \(no systemctl\)/);
    // Without --root on a host where systemd is not PID 1 (/run hidden in a private mount namespace).
    const unshare = tool("unshare", "util-linux");
    const r = await run(unshare, ["--mount", "--propagation", "private", "sh", "-c", 'mount -t tmpfs none /run && exec "$0"', join(release, "install.sh")], { cwd: release });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^install\.sh: Cannot install herald: systemd is not running on this host \(\/run\/systemd\/system is missing\)/);
    expect(r.stdout).toBe("");
  });

  it("refuses unknown options and --purge without --uninstall", async () => {
    const a = await install(["--frobnicate"]);
    expect([a.code, a.stderr]).toEqual([1, 'install.sh: Cannot parse arguments: unknown option "--frobnicate" (see --help)\n']);
    const b = await install(["--purge"]);
    expect([b.code, b.stderr]).toEqual([1, "install.sh: Cannot purge: --purge goes with --uninstall\n"]);
  });
});
