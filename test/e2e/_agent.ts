/**
 * Helpers for end-to-end tests: herald's agent as a child process of the
 * current runtime (so it can be SIGKILLed), manifests written to a temp
 * directory, and the agent's API.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, type Harness, type ManagedProcess, type Namespace, ROOT, waitFor } from "../interop/harness/mod.ts";

export interface AgentProcess {
  proc: ManagedProcess;
  api: string;
  /** GET a path of the API; parsed JSON. */
  get<T = unknown>(path: string): Promise<T>;
  /** Resolves when /readyz says ok. */
  ready(timeoutMs?: number): Promise<void>;
}

export interface AgentDirs {
  configDir: string;
  stateDir: string;
}

let seq = 0;

/** A config dir and a state dir under the harness's temp dir. */
export function agentDirs(h: Harness): AgentDirs {
  const base = join(h.dir, `agent-${seq++}`);
  const configDir = join(base, "config");
  const stateDir = join(base, "state");
  mkdirSync(configDir, { recursive: true });
  mkdirSync(stateDir, { recursive: true });
  return { configDir, stateDir };
}

/** Writes a manifest file atomically (write + rename, as editors do). */
export function writeManifest(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

/** Starts `herald agent` in `ns` (default: root namespace) with --no-datapath unless `extra` says otherwise. */
export async function startAgent(
  h: Harness,
  dirs: AgentDirs,
  o: { nodeName: string; extra?: string[]; ns?: Namespace; apiPort?: number },
): Promise<AgentProcess> {
  const port = o.apiPort ?? await freePort();
  const api = `127.0.0.1:${port}`;
  const args = [
    "agent",
    "--config-dir", dirs.configDir,
    "--state-dir", dirs.stateDir,
    "--node-name", o.nodeName,
    "--api", api,
    ...(o.extra ?? ["--no-datapath"]),
  ];
  const proc = h.script(o.ns ?? ROOT, "mod.ts", args, { name: `herald agent ${o.nodeName}` });
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`http://${api}${path}`);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  };
  const ready = async (timeoutMs = 20_000) => {
    await waitFor(async () => {
      if (!proc.running) throw new Error(`herald agent exited: ${JSON.stringify(proc.exitStatus)}\n${proc.output()}`);
      try {
        return (await fetch(`http://${api}/readyz`)).status;
      } catch {
        return 0;
      }
    }, (s) => s === 200, { what: `herald agent ${o.nodeName} to be ready`, timeoutMs, intervalMs: 50 });
  };
  return { proc, api, get, ready };
}
