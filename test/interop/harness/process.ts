/**
 * Child processes for the interop harness: long-running daemons
 * (`spawnProcess`) and short commands (`run`), optionally inside a network
 * namespace.
 *
 * Namespaces are entered with `nsenter --net=/run/netns/NS`, not
 * `ip netns exec`: the latter remounts /sys and hides /sys/fs/bpf, which
 * herald's datapath needs. nsenter with only `--net` does not fork, so the
 * PID we hold is the daemon's own PID: freeze/thaw and stop signal exactly it.
 *
 * Every daemon is started through `setpriv --pdeathsig KILL`, so that a test
 * worker that dies (vitest timeout, SIGKILL) cannot leave daemons behind. The
 * signal fires when the spawning thread exits; Node and Deno both spawn from
 * the main thread.
 */
import { spawn } from "node:child_process";

/** Where a command runs: a namespace name (under /run/netns) or the root namespace. */
export interface InNamespace {
  /** Name of a namespace under /run/netns; absent = the root namespace. */
  netns?: string;
}

/** Prefixes argv so that it runs inside `netns` (no fork: the PID stays the program's). */
export function namespaceArgv(netns: string | undefined, argv: readonly string[]): string[] {
  return netns === undefined ? [...argv] : ["nsenter", `--net=/run/netns/${netns}`, "--", ...argv];
}

export interface RunOptions extends InNamespace {
  /** Written to stdin, then stdin is closed. */
  input?: string;
  /** Kill the command (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  /** Resolve instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  cwd?: string;
  env?: Record<string, string>;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when killed by a signal. */
  code: number | null;
}

/** Quotes argv for messages only (never passed to a shell). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
}

/**
 * Runs a short command to completion and returns its output.
 *
 * @example
 * ```ts
 * const { stdout } = await run("birdc", ["-s", sock, "show", "status"]);
 * await run("ip", ["link", "set", "lo", "up"], { netns: "hx-1234-0" });
 * ```
 */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const argv = namespaceArgv(options.netns, [cmd, ...args]);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } : undefined,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`Cannot run ${formatArgv(argv)}: ${e.message}`));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      const result = { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), code };
      if (timedOut) {
        reject(new Error(`Cannot run ${formatArgv(argv)}: no exit after ${timeoutMs} ms`));
      } else if (code !== 0 && !options.allowFailure) {
        const detail = (result.stderr.trim() || result.stdout.trim()).slice(-2000);
        reject(new Error(`Cannot run ${formatArgv(argv)}: exit code ${code}${detail ? `: ${detail}` : ""}`));
      } else {
        resolve(result);
      }
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

export interface SpawnOptions extends InNamespace {
  /** Names the process in messages ("bird n1"). */
  name?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** How much of the combined stdout+stderr to keep (the tail); default 256 KiB. */
  keepOutputBytes?: number;
  /** Called with each chunk of output (e.g. to parse a daemon's log as it runs). */
  onOutput?: (text: string) => void;
}

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/**
 * A long-running child process that we own and end by PID only.
 * Output (stdout and stderr interleaved) is kept for failure messages.
 */
export class ManagedProcess {
  readonly pid: number;
  readonly name: string;
  readonly argv: readonly string[];
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  #exit: ExitStatus | undefined;
  #chunks: string[] = [];
  #bytes = 0;
  readonly #keep: number;

  constructor(cmd: string, args: readonly string[], options: SpawnOptions = {}) {
    this.argv = [cmd, ...args];
    this.name = options.name ?? cmd;
    this.#keep = options.keepOutputBytes ?? 256 * 1024;
    const argv = ["setpriv", "--pdeathsig", "KILL", "--", ...namespaceArgv(options.netns, this.argv)];
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } : undefined,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let spawnError: Error | undefined;
    this.exited = new Promise<ExitStatus>((resolve) => {
      child.once("error", (e) => {
        spawnError = e;
        this.#exit = { code: null, signal: null };
        this.#append(`[harness] cannot spawn ${formatArgv(argv)}: ${e.message}\n`);
        resolve(this.#exit);
      });
      child.once("exit", (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    const onData = (b: Buffer) => {
      const text = b.toString("utf8");
      this.#append(text);
      options.onOutput?.(text);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    if (child.pid === undefined) {
      throw new Error(`Cannot start ${this.name}: spawn ${formatArgv(argv)} failed${spawnError ? `: ${spawnError.message}` : ""}`);
    }
    this.pid = child.pid;
  }

  #append(text: string): void {
    this.#chunks.push(text);
    this.#bytes += text.length;
    while (this.#bytes > this.#keep && this.#chunks.length > 1) {
      this.#bytes -= this.#chunks.shift()!.length;
    }
  }

  /** Undefined while running. */
  get exitStatus(): ExitStatus | undefined {
    return this.#exit;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** The kept tail of stdout+stderr. */
  output(maxChars = 8000): string {
    const all = this.#chunks.join("");
    return all.length > maxChars ? "…" + all.slice(-maxChars) : all;
  }

  /** Sends a signal to this PID (no-op once exited). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
    }
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing (hold timers run out). */
  freeze(): void {
    this.signal("SIGSTOP");
  }

  /** SIGCONT after `freeze()`. */
  thaw(): void {
    this.signal("SIGCONT");
  }

  /**
   * Ends the process: `signal` (default SIGTERM), then SIGKILL after
   * `graceMs`. A frozen process is thawed first so it can act on SIGTERM.
   * Idempotent.
   */
  async stop(options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<ExitStatus> {
    if (!this.running) return this.#exit!;
    const sig = options.signal ?? "SIGTERM";
    this.signal(sig);
    if (sig !== "SIGKILL") this.signal("SIGCONT");
    const grace = options.graceMs ?? 3000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), grace))),
    ]);
    clearTimeout(timer);
    if (killed) this.signal("SIGKILL");
    return await this.exited;
  }
}

/** Starts a long-running process (see `ManagedProcess`). */
export function spawnProcess(cmd: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
  return new ManagedProcess(cmd, args, options);
}

/** Peak resident set size (VmHWM) of a live process, in bytes; undefined once it is gone. */
export async function peakRss(pid: number): Promise<number | undefined> {
  const { readFile } = await import("node:fs/promises");
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
