/**
 * The harness scope: names, a temp dir and cleanup for one test file (or one
 * test). Everything the harness creates — namespaces, veth pairs, daemons,
 * files — registers its own undo here, and `close()` runs them in reverse.
 *
 * Names are `<prefix>-<pid>-<n>`: the prefix is unique to the test file, the
 * pid makes parallel runs of the same file distinct, and n counts within the
 * process. Interface names must fit IFNAMSIZ (15 characters), so prefixes are
 * short.
 *
 * When the process ends without `close()` (crash, Ctrl-C, vitest killing a
 * worker), an exit hook still deletes namespaces and kills daemons by PID,
 * and daemons die with their parent anyway (see process.ts). A new scope also
 * sweeps namespaces and temp dirs left behind by dead processes that used the
 * same prefix.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Longest interface name Linux accepts (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

type Cleanup = () => void | Promise<void>;

/** Undo steps that must also run synchronously at process exit. */
interface ExitUndo {
  netns: Set<string>;
  pids: Set<number>;
  dirs: Set<string>;
}

const atExit: ExitUndo = { netns: new Set(), pids: new Set(), dirs: new Set() };
let exitHookInstalled = false;

function undoAtExitSync(): void {
  for (const pid of atExit.pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  }
  for (const ns of atExit.netns) spawnSync("ip", ["netns", "delete", ns], { stdio: "ignore" });
  for (const dir of atExit.dirs) rmSync(dir, { recursive: true, force: true });
  atExit.pids.clear();
  atExit.netns.clear();
  atExit.dirs.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", undoAtExitSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      undoAtExitSync();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

const processCounter = { n: 0 };

function pidAlive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Removes namespaces and temp dirs named `<prefix>-<pid>-…` whose pid is dead. */
function sweepStale(prefix: string): void {
  const re = new RegExp(`^${prefix}-(\\d+)-\\d+$`);
  let names: string[] = [];
  try {
    names = readdirSync("/run/netns");
  } catch { /* no namespaces at all */ }
  for (const name of names) {
    const m = re.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      spawnSync("ip", ["netns", "delete", name], { stdio: "ignore" });
    }
  }
  const dirRe = new RegExp(`^herald-${prefix}-(\\d+)-`);
  for (const name of readdirSync(tmpdir())) {
    const m = dirRe.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

export interface ScopeOptions {
  /**
   * Unique to the test file: lowercase letters and digits, starting with a
   * letter, at most 4 characters (so `<prefix>-<pid>-<n>` fits 15
   * characters even with 7-digit pids).
   */
  prefix: string;
}

/**
 * Owns names, a temp dir and undo steps. Create one per test file with
 * `useHarness()` (vitest) or `new Scope({ prefix })` (scripts), and close it.
 *
 * @example
 * ```ts
 * const scope = new Scope({ prefix: "hb" });
 * try {
 *   const name = scope.name();          // "hb-4242-0"
 *   scope.defer(() => console.log("undone last-in first-out"));
 * } finally {
 *   await scope.close();
 * }
 * ```
 */
export class Scope {
  readonly prefix: string;
  /** Removed by `close()`. */
  readonly dir: string;
  #undo: Cleanup[] = [];
  #closed = false;
  #parent: Scope | undefined;

  constructor(options: ScopeOptions, parent?: Scope) {
    if (!/^[a-z][a-z0-9]{0,3}$/.test(options.prefix)) {
      throw new Error(
        `Cannot create harness scope: prefix must be 1-4 lowercase letters or digits starting with a letter: current value is "${options.prefix}"`,
      );
    }
    this.prefix = options.prefix;
    this.#parent = parent;
    installExitHook();
    if (parent) {
      this.dir = mkdtempSync(join(parent.dir, "scope-"));
    } else {
      sweepStale(this.prefix);
      this.dir = mkdtempSync(join(tmpdir(), `herald-${this.prefix}-${process.pid}-`));
      atExit.dirs.add(this.dir);
    }
  }

  /** A child scope with its own undo list (e.g. per test), sharing names and temp root. */
  child(): Scope {
    const child = new Scope({ prefix: this.prefix }, this);
    this.defer(() => child.close());
    return child;
  }

  /**
   * A fresh name `<prefix>-<pid>-<n>`, unique in this process.
   * Throws when it would not fit an interface name.
   */
  name(): string {
    if (this.#parent) return this.#parent.name();
    const name = `${this.prefix}-${process.pid}-${processCounter.n++}`;
    if (name.length > IFNAME_MAX) {
      throw new Error(`Cannot name interface "${name}": longer than ${IFNAME_MAX} characters; use a shorter prefix`);
    }
    return name;
  }

  /** Registers an undo step; they run last-in first-out in `close()`. */
  defer(fn: Cleanup): void {
    if (this.#closed) throw new Error(`Cannot register cleanup: scope "${this.dir}" is closed`);
    this.#undo.push(fn);
  }

  /** Remembers a namespace to delete even if the process dies without `close()`. */
  trackNetns(name: string): void {
    atExit.netns.add(name);
  }

  untrackNetns(name: string): void {
    atExit.netns.delete(name);
  }

  /** Remembers a PID to SIGKILL if the process dies without `close()`. */
  trackPid(pid: number): void {
    atExit.pids.add(pid);
  }

  untrackPid(pid: number): void {
    atExit.pids.delete(pid);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs every undo step (last-in first-out), even when some fail, then
   * removes the temp dir. Throws an AggregateError with all failures.
   * Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const errors: unknown[] = [];
    while (this.#undo.length > 0) {
      const fn = this.#undo.pop()!;
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    atExit.dirs.delete(this.dir);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `Cannot clean up harness scope: ${errors.length} steps failed`);
  }
}
