/**
 * `Harness`: a `Scope` with the harness's building blocks as methods, so a
 * test reads as a description of its topology. Everything made through it
 * is undone by `close()` (which `useHarness()` calls after the file).
 */
import { type BirdDaemon, startBird } from "./bird.ts";
import type { DaemonOptions } from "./daemon.ts";
import { type FrrDaemon, startFrr } from "./frr.ts";
import { type GobgpDaemon, startGobgp } from "./gobgp.ts";
import { addRoute, createLink, createNamespace, type Link, type Namespace, namespacePair, type NamespaceOptions, twoHop, type TwoHop } from "./netns.ts";
import type { ManagedProcess, SpawnOptions } from "./process.ts";
import { Scope, type ScopeOptions } from "./scope.ts";
import type { BgpDaemon, DaemonKind } from "./types.ts";

export class Harness extends Scope {
  constructor(options: ScopeOptions, parent?: Scope) {
    super(options, parent);
  }

  /** A child harness with its own cleanup (e.g. per test: see `perTest()`). */
  override child(): Harness {
    const child = new Harness({ prefix: this.prefix }, this);
    this.defer(() => child.close());
    return child;
  }

  /** A new namespace with `lo` up and IPv6 DAD off. */
  namespace(options?: NamespaceOptions): Promise<Namespace> {
    return createNamespace(this, options);
  }

  /** A veth pair between two namespaces (or `ROOT` and a namespace). */
  link(a: Namespace, b: Namespace): Promise<Link> {
    return createLink(this, a, b);
  }

  /** Two new namespaces joined by a link. */
  pair(): Promise<{ a: Namespace; b: Namespace; link: Link }> {
    return namespacePair(this);
  }

  /** A — router — B (see `twoHop`). */
  twoHop(ends?: { a?: Namespace; b?: Namespace }): Promise<TwoHop> {
    return twoHop(this, ends);
  }

  /** A static route in `ns`, removed at close. */
  route(ns: Namespace, prefix: string, via: string): Promise<void> {
    return addRoute(this, ns, prefix, via);
  }

  bird(options: DaemonOptions): Promise<BirdDaemon> {
    return startBird(this, options);
  }

  gobgp(options: DaemonOptions): Promise<GobgpDaemon> {
    return startGobgp(this, options);
  }

  frr(options: DaemonOptions): Promise<FrrDaemon> {
    return startFrr(this, options);
  }

  /** Starts a daemon by kind, for tests that run one scenario against each daemon. */
  daemon(kind: DaemonKind, options: DaemonOptions): Promise<BgpDaemon> {
    switch (kind) {
      case "bird":
        return this.bird(options);
      case "gobgp":
        return this.gobgp(options);
      case "frr":
        return this.frr(options);
    }
  }

  /** Starts a command in `ns`; stopped (by PID) at close. */
  spawn(ns: Namespace, cmd: string, args: readonly string[], options: Omit<SpawnOptions, "netns"> = {}): ManagedProcess {
    const proc = ns.spawn(cmd, args, options);
    this.trackPid(proc.pid);
    this.defer(async () => {
      await proc.stop();
      this.untrackPid(proc.pid);
    });
    return proc;
  }

  /** Runs a TypeScript module under the current runtime in `ns`; stopped at close. */
  script(ns: Namespace, modulePath: string, args: readonly string[] = [], options: Omit<SpawnOptions, "netns"> = {}): ManagedProcess {
    return ns.spawnScript(this, modulePath, args, options);
  }
}

/** A harness for scripts (benchmarks): close it in `finally`. */
export function createHarness(prefix: string): Harness {
  return new Harness({ prefix });
}
