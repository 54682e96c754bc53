/**
 * The shipped program, run the way it ships: scripts/build's single-file
 * bundle (dist/herald.js) and its `herald` entry point, copied into an empty
 * folder with only the deno runtime beside them: no node_modules, no source
 * tree, an empty DENO_DIR (so nothing can come from a package cache).
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readProgramObject } from "../../src/datapath/program.ts";
import { generateCRDs } from "../../scripts/gen-crds.ts";
import { startApiServer } from "../support/apiserver/mod.ts";
import { build, type Built, DENO, ok, ROOT, run, tempDir } from "./support.ts";

const cleanup: Array<() => void> = [];
afterAll(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

let built: Built;
/** An empty folder holding herald.js and deno, and the built `herald` entry point. */
let shipped: string;
let env: Record<string, string>;

beforeAll(async () => {
  built = await build(join(tempDir("bundle-out", cleanup), "dist"));
  shipped = tempDir("bundle-run", cleanup);
  copyFileSync(join(built.out, "herald.js"), join(shipped, "herald.js"));
  copyFileSync(realpathSync(DENO), join(shipped, "deno"));
  // The entry point: a compiled binary on its own, or the launcher, which runs the deno and herald.js beside it.
  const entry = join(shipped, "bin");
  mkdirSync(entry);
  for (const f of ["herald", "deno", "herald.js"]) if (existsSync(join(built.out, f))) copyFileSync(join(built.out, f), join(entry, f));
  await ok("chmod", ["0755", join(shipped, "deno"), ...["herald", "deno"].map((f) => join(entry, f)).filter(existsSync)]);
  // Nothing from the checkout: no PATH to it, an empty deno cache, a home with nothing in it.
  const home = tempDir("bundle-home", cleanup);
  env = { PATH: "/usr/bin:/bin", HOME: home, DENO_DIR: join(home, "deno-dir"), DENO_NO_UPDATE_CHECK: "1" };
}, 300_000);

const VERSION_LINE = (b: Built) =>
  new RegExp(`^herald ${b.version.replaceAll(".", "\\.")} \\(commit ${b.commit}, built ${b.date}, deno \\d+\\.\\d+\\.\\d+\\)\\n$`);

describe("scripts/build bundle (dist/herald.js)", () => {
  it("stamps version, git commit and build date", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(built.version).toBe(pkg.version);
    expect(built.commit).toMatch(/^[0-9a-f]{12}(-dirty)?$/);
    expect(built.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const head = readFileSync(join(built.out, "herald.js"), "utf8").split("\n", 1)[0];
    expect(head).toMatch(/^globalThis\.__HERALD_BUILD__ = Object\.freeze\(\{"version":/);
  });

  it("carries the BPF object, so the agent needs no bpf/ folder", () => {
    const head = readFileSync(join(built.out, "herald.js"), "utf8").split("\n", 1)[0];
    const stamp = JSON.parse(head.slice(head.indexOf("(") + 1, head.lastIndexOf(")"))) as { files: Record<string, string> };
    const object = Buffer.from(stamp.files["bpf/herald_lb.o"], "base64");
    expect(object.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(object.equals(readFileSync(join(ROOT, "bpf/herald_lb.o")))).toBe(true);
  });

  it("readProgramObject() prefers the embedded object over bpf/ (the stamp is read when asked)", () => {
    const g = globalThis as { __HERALD_BUILD__?: unknown };
    const marker = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
    g.__HERALD_BUILD__ = { version: "0.0.0", commit: "test", date: "test", files: { "bpf/herald_lb.o": Buffer.from(marker).toString("base64") } };
    try {
      expect(readProgramObject()).toEqual(marker);
      // An explicit path still reads that file.
      expect(readProgramObject(join(ROOT, "bpf/herald_lb.o")).length).toBe(readFileSync(join(ROOT, "bpf/herald_lb.o")).length);
    } finally {
      delete g.__HERALD_BUILD__;
    }
  });

  it("inlines the npm packages and leaves koffi (Node's FFI) out", () => {
    const text = readFileSync(join(built.out, "herald.js"), "utf8");
    for (const pkg of ["yaml", "zod"]) expect(text).toContain(`// node_modules/${pkg}/`);
    expect(text).not.toContain("// node_modules/koffi/");
    // Only node: built-ins are imported; everything else is inside the file.
    const imports = [...text.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    expect(imports.every((s) => s.startsWith("node:"))).toBe(true);
  });

  it("runs from an empty folder with deno alone: --version and version", async () => {
    for (const argv of [["--version"], ["version"]]) {
      const r = await run(join(shipped, "deno"), ["run", "--allow-all", "--no-config", "--no-remote", "--no-npm", "herald.js", ...argv], { cwd: shipped, env });
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(VERSION_LINE(built));
      expect(r.code).toBe(0);
    }
  });

  it("runs behind the same `herald` entry point (compiled binary or launcher)", async () => {
    const r = await run(join(shipped, "bin/herald"), ["--version"], { cwd: shipped, env });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(VERSION_LINE(built));
    expect(r.code).toBe(0);
    if (!built.compiled) {
      expect(built.stderr.trim().split("\n").filter((l) => /denort/.test(l))).toHaveLength(1);
    }
  });
});

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: "127.0.0.1", port }, () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

describe("herald collect from the bundle", () => {
  it("listens on --listen and prints its banner, and stops on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn(join(shipped, "bin/herald"), ["collect", "--listen", `127.0.0.1:${port}`, "--asn", "65000"], { cwd: shipped, env, stdio: ["ignore", "pipe", "pipe"] });
    cleanup.push(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")));
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const deadline = Date.now() + 20_000;
    while (!out.includes(`listening on 127.0.0.1:${port}`)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`herald collect did not listen:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await connects(port)).toBe(true);
    process.kill(child.pid!, "SIGTERM");
    expect(await exited).toBe(0);
  }, 60_000);
});

describe("herald agent from the bundle", () => {
  it("starts on the shipped config skeleton, answers /healthz, and stops on SIGTERM", async () => {
    const conf = tempDir("bundle-conf", cleanup);
    copyFileSync(join(ROOT, "deploy/config/herald.yaml"), join(conf, "herald.yaml"));
    const state = tempDir("bundle-state", cleanup);
    const port = await freePort();
    const child = spawn(join(shipped, "bin/herald"), ["agent", "--config-dir", conf, "--node-name", "ship-test", "--state-dir", state, "--no-datapath", "--api", `127.0.0.1:${port}`], { cwd: shipped, env, stdio: ["ignore", "pipe", "pipe"] });
    cleanup.push(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")));
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (status !== 200) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`herald agent did not answer /healthz:\n${log}`);
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then(async (r) => (await r.body?.cancel(), r.status), () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(child.pid!, "SIGTERM");
    expect(await exited).toBe(0);
  }, 60_000);
});

describe("herald agent from the bundle, Kubernetes mode", () => {
  // Kubernetes mode (and @kubernetes/client-node) is loaded only when asked for: the bundle must carry it all the same.
  it("leads, allocates a Service's LoadBalancer IP through the API server double, and stops on SIGTERM", async () => {
    const api = await startApiServer();
    cleanup.push(() => void api.stop());
    for (const crd of generateCRDs()) api.put(crd);
    api.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "herald" } });
    api.put({ apiVersion: "v1", kind: "Node", metadata: { name: "ship-kube" }, status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }] } });
    api.put({ apiVersion: "cilium.io/v2", kind: "CiliumLoadBalancerIPPool", metadata: { name: "pool" }, spec: { blocks: [{ cidr: "198.51.100.0/30" }] } });
    api.put({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }] } });
    const kubeconfig = join(tempDir("bundle-kube", cleanup), "kubeconfig");
    writeFileSync(kubeconfig, api.kubeconfig());
    const port = await freePort();
    const child = spawn(join(shipped, "bin/herald"), [
      "agent", "--kubeconfig", kubeconfig, "--node-name", "ship-kube", "--no-datapath", "--api", `127.0.0.1:${port}`,
      "--lease-namespace", "herald", "--leader-election-retry-period", "200ms",
    ], { cwd: shipped, env, stdio: ["ignore", "pipe", "pipe"] });
    cleanup.push(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")));
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const deadline = Date.now() + 30_000;
    const ingress = () => (api.get("v1", "Service", "web", "default") as { status?: { loadBalancer?: { ingress?: Array<{ ip: string }> } } }).status?.loadBalancer?.ingress;
    while (!ingress()?.length) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`herald agent did not allocate in Kubernetes mode:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ingress()).toEqual([{ ip: "198.51.100.0" }]);
    expect(api.find("coordination.k8s.io/v1", "Lease", "herald-operator", "herald")).toBeDefined();
    process.kill(child.pid!, "SIGTERM");
    expect(await exited).toBe(0);
  }, 60_000);
});
