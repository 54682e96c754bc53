/**
 * scripts/apiserver-double on its own: starts under Node (its shebang) and
 * under Deno, writes a kubeconfig kubectl can use, loads manifests, and
 * stops cleanly on SIGTERM.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { KUBECTL } from "./_kubectl.ts";
import { pool, poolCRD } from "./_fixtures.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `herald-double-script-${process.pid}-`));
  await writeFile(join(dir, "objects.yaml"), [pool("from-file"), poolCRD()].map((o) => stringify(o, { version: "1.1" })).join("---\n"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const closed = new Promise<number>((resolve) => child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return { child, closed, output: () => out };
}

async function waitFor(check: () => boolean, what: string, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Cannot see ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("scripts/apiserver-double", () => {
  for (const runtime of ["node", "deno"] as const) {
    it(`runs under ${runtime}, writes a kubeconfig for kubectl and loads manifests`, async () => {
      const kubeconfig = join(dir, `kubeconfig.${runtime}`);
      const args = ["--listen", "127.0.0.1:0", "--kubeconfig", kubeconfig, "--load", join(dir, "objects.yaml")];
      const p = runtime === "node"
        ? run("scripts/apiserver-double", args)
        : run("node_modules/.bin/deno", ["run", "-A", "scripts/apiserver-double", ...args]);
      try {
        await waitFor(() => p.output().includes("listening on"), "the listening line");
        expect(p.output()).toMatch(/API server double listening on http:\/\/127\.0\.0\.1:\d+ \(2 objects loaded\)/);
        expect(await readFile(kubeconfig, "utf8")).toMatch(/server: http:\/\/127\.0\.0\.1:\d+\n/);
        const k = run(KUBECTL, ["get", "ippools", "-o", "name"], { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, `cache-${runtime}`) });
        expect(await k.closed).toBe(0);
        expect(k.output()).toBe("ciliumloadbalancerippool.cilium.io/from-file\n");
      } finally {
        p.child.kill("SIGTERM");
      }
      // Deno's child_process reports a child that handled SIGTERM and
      // exited 0 as killed by the signal; the goodbye line is the proof.
      await p.closed;
      expect(p.output()).toContain("API server double stopped\n");
    }, 60_000);
  }

  it("refuses a bad --listen value with a usage error", async () => {
    const p = run("node_modules/.bin/deno", ["run", "-A", "scripts/apiserver-double", "--listen", "nowhere"]);
    expect(await p.closed).toBe(2);
    expect(p.output()).toContain('apiserver-double: --listen must be HOST:PORT (IPv6 as [addr]:port): current value is "nowhere"');
  }, 30_000);
});
