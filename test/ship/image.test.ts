/**
 * The container image: scripts/build-image builds Containerfile with podman
 * on the local base (no registry here), and the image's file system, exported
 * and entered with chroot as uid 65532 (containers cannot run on this host),
 * runs `herald version` and `herald plan -o json` and holds the libraries
 * herald loads, with no shell.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build, type Built, ok, ROOT, run, tempDir, tool } from "./support.ts";

const cleanup: Array<() => void> = [];
const removeImage: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of removeImage.splice(0)) await f();
  for (const f of cleanup.splice(0).reverse()) f();
});

const TAG = `localhost/herald-ship-test-${process.pid}:latest`;
let podman: string;
let built: Built;
let rootfs: string;
let config: { User: string; Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string> };

beforeAll(async () => {
  podman = tool("podman", "podman");
  tool("unshare", "util-linux");
  tool("chroot", "coreutils");
  built = await build(join(tempDir("image-dist", cleanup), "dist"));
  removeImage.push(() => run(podman, ["rmi", "--force", TAG]));
  const b = await ok(join(ROOT, "scripts/build-image"), ["--local-base", "--dist", built.out, "--tag", TAG], { timeoutMs: 300_000 });
  expect(b.stdout).toMatch(new RegExp(`^${TAG} [0-9a-f]{64} \\((compiled|launcher), base localhost/herald-base:[0-9a-f]{12}\\)`));
  config = JSON.parse((await ok(podman, ["image", "inspect", "--format", "{{json .Config}}", TAG])).stdout);
  // Export the image's file system: create (not run) a container and untar it as root, owners kept.
  const dir = tempDir("image-rootfs", cleanup);
  const ctr = (await ok(podman, ["create", "--network=none", TAG])).stdout.trim();
  try {
    await ok(podman, ["export", "--output", join(dir, "rootfs.tar"), ctr]);
  } finally {
    await run(podman, ["rm", "--force", ctr]);
  }
  rootfs = join(dir, "rootfs");
  mkdirSync(rootfs);
  await ok("tar", ["-xf", join(dir, "rootfs.tar"), "-C", rootfs]);
}, 300_000);

/** Runs a program inside the image's file system as uid 65532, with its own /proc. */
function inImage(argv: string[], user = "65532:65532") {
  return run("unshare", ["--pid", "--fork", `--mount-proc=${join(rootfs, "proc")}`, "chroot", `--userspec=${user}`, rootfs, ...argv]);
}

describe("Containerfile image", () => {
  it("runs herald as 65532 by default, with the build's labels", () => {
    expect(config.User).toBe("65532:65532");
    expect(config.Entrypoint).toEqual(["/usr/local/bin/herald"]);
    expect(config.Cmd).toEqual(["agent"]);
    expect(config.Labels).toMatchObject({
      "org.opencontainers.image.version": built.version,
      "org.opencontainers.image.revision": built.commit,
      "org.opencontainers.image.created": built.date,
    });
  });

  it("has no shell", () => {
    for (const sh of ["sh", "bash", "dash", "ash", "busybox"]) {
      for (const dir of ["usr/bin", "usr/sbin", "usr/local/bin"]) expect(existsSync(join(rootfs, dir, sh)), `${dir}/${sh}`).toBe(false);
    }
    expect(readdirSync(join(rootfs, "usr/bin"))).toEqual([]);
  });

  it("holds libbpf.so.1 with libelf and libz, and glibc, all resolvable inside", async () => {
    const lib = join(rootfs, "usr/lib/x86_64-linux-gnu");
    for (const f of ["libbpf.so.1", "libelf.so.1", "libz.so.1", "libc.so.6", "ld-linux-x86-64.so.2", "libgcc_s.so.1"]) expect(existsSync(join(lib, f)), f).toBe(true);
    const r = await inImage(["/usr/lib64/ld-linux-x86-64.so.2", "--list", "/usr/lib/x86_64-linux-gnu/libbpf.so.1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("not found");
    expect(r.stdout).toMatch(/libelf\.so\.1 => \/lib\/x86_64-linux-gnu\/libelf\.so\.1/);
    expect(r.stdout).toMatch(/libz\.so\.1 => \/lib\/x86_64-linux-gnu\/libz\.so\.1/);
    // The agent reads host facts with `ip -j`.
    const ip = await inImage(["/usr/sbin/ip", "-V"]);
    expect(ip.stdout).toMatch(/^ip utility, iproute2-/);
  });

  it("keeps the program behind /usr/local/bin/herald", () => {
    const entry = join(rootfs, "usr/local/bin/herald");
    if (built.compiled) {
      expect(lstatSync(entry).isFile()).toBe(true);
    } else {
      expect(lstatSync(entry).isSymbolicLink()).toBe(true);
      expect(readdirSync(join(rootfs, "usr/local/lib/herald")).sort()).toEqual(["deno", "herald", "herald.js"]);
    }
  });

  it("herald version runs inside as the nonroot user", async () => {
    const r = await inImage(["/usr/local/bin/herald", "version"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`herald ${built.version} (commit ${built.commit}, built ${built.date}, deno ${/deno ([\d.]+)\)/.exec(r.stdout)?.[1]})\n`);
    expect(r.code).toBe(0);
  });

  it("herald plan -o json runs inside on the example config directory", async () => {
    const demo = join(rootfs, "tmp/demo");
    mkdirSync(demo);
    for (const f of readdirSync(join(ROOT, "examples/demo"))) copyFileSync(join(ROOT, "examples/demo", f), join(demo, f));
    const r = await inImage(["/usr/local/bin/herald", "plan", "--config-dir", "/tmp/demo", "--node-name", "demo", "-o", "json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { node: string; instances: Array<{ name: string; localASN: number; peers: unknown[] }> };
    expect(plan.node).toBe("demo");
    expect(Array.isArray(plan.instances)).toBe(true);
    expect(plan.instances[0]).toMatchObject({ name: "demo", localASN: 65001 });
    expect(plan.instances[0].peers.length).toBeGreaterThan(0);
    // Same answer as from the checkout.
    const here = await ok(join(ROOT, "node_modules/.bin/deno"), ["run", "-A", "mod.ts", "plan", "--config-dir", "examples/demo", "--node-name", "demo", "-o", "json"]);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(here.stdout));
    expect(readFileSync(join(rootfs, "etc/passwd"), "utf8")).toMatch(/^nonroot:x:65532:65532:/m);
  });
});
