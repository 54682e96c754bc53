/**
 * Runs the real kubectl (/usr/bin/kubectl) against a double: a private
 * kubeconfig and discovery cache per test file, so runs never share state.
 * A missing kubectl is a failure, not a skip.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiServerDouble } from "../support/apiserver/mod.ts";

export const KUBECTL = "/usr/bin/kubectl";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class Kubectl {
  readonly dir: string;
  readonly kubeconfig: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.kubeconfig = join(dir, "kubeconfig");
  }

  static async forDouble(api: ApiServerDouble): Promise<Kubectl> {
    if (!existsSync(KUBECTL)) {
      throw new Error(`Cannot run kubectl tests: ${KUBECTL} is missing (install kubectl; these tests compare the double with a real client)`);
    }
    const k = new Kubectl(await mkdtemp(join(tmpdir(), `herald-kubectl-${process.pid}-`)));
    await writeFile(k.kubeconfig, api.kubeconfig());
    return k;
  }

  /** Writes a manifest into the private directory and returns its path. */
  async file(name: string, text: string): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, text);
    return path;
  }

  #env(): NodeJS.ProcessEnv {
    return { ...process.env, KUBECONFIG: this.kubeconfig, KUBECACHEDIR: join(this.dir, "cache"), HOME: this.dir };
  }

  run(args: string[], input?: string): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(KUBECTL, args, { env: this.#env(), stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(input ?? "");
    });
  }

  /** Runs and expects success; returns stdout. */
  async ok(args: string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** Starts a long-running kubectl (watch); `stop()` ends it by pid and returns its output. */
  start(args: string[]): { stop(): Promise<Run>; output(): string } {
    const child = spawn(KUBECTL, args, { env: this.#env(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const closed = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
    return {
      output: () => stdout,
      stop: async () => {
        child.kill("SIGTERM");
        const code = await closed;
        return { code, stdout, stderr };
      },
    };
  }

  cleanup(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

/** Waits until `check()` holds (polling), or fails with `what`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Cannot see ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
