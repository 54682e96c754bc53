/**
 * The interop harness: real BGP daemons (BIRD 2, GoBGP, FRR bgpd) in
 * network namespaces the test creates, for herald's interop, end-to-end and
 * benchmark work. Everything it makes is named `<prefix>-<pid>-<n>` and is
 * undone when the harness closes — also when a test fails, and (by exit
 * hooks, parent-death signals and a sweep at the next start) when the test
 * process dies.
 *
 * Building blocks:
 * - `useHarness(prefix)` (vitest) / `createHarness(prefix)` (scripts): a
 *   `Harness` owns names, a temp dir and cleanup.
 * - Topology: `h.namespace()`, `h.link(a, b)` (`ROOT` is the root namespace,
 *   where herald usually runs), `h.pair()`, `h.twoHop()` (A — router — B),
 *   `h.route()`. Links carry a 10.x /30 and an fd48:6572:… /64; ends are
 *   `link.a` / `link.b` with `.ipv4`, `.ipv6`, `.linkLocal`, `.ifname`.
 * - Processes: `ns.run(cmd, args)`, `h.spawn(ns, cmd, args)`,
 *   `h.script(ns, "mod.ts", args)` (herald under the current runtime; via
 *   `nsenter --net`, so /sys/fs/bpf stays visible).
 * - Daemons: `h.bird(o)`, `h.gobgp(o)`, `h.frr(o)`, `h.daemon(kind, o)`,
 *   all `BgpDaemon`: `peers()`, `peer(addr)`, `routes({peer, family})`,
 *   `routeCount()`, `announce()`, `withdraw()`, `stop({hard})`,
 *   `restart()`, `freeze()`/`thaw()`, `poke()`, `waitForPeer()`,
 *   `waitForRouteCount()`, `log()`.
 * - Waiting: `waitFor(probe, predicate, {what, timeoutMs, poke})` fails
 *   with what it last saw.
 *
 * Pitfalls the drivers handle are listed at the top of bird.ts, gobgp.ts and
 * frr.ts. Two matter when writing tests: gobgpd waits 5–10 s before its
 * first outgoing connect (make it `passive` and let the other side
 * connect), and BIRD may hold its last batch ~3 s (`poke: () => bird.poke()`
 * in `waitFor` when polling herald for routes BIRD sends).
 *
 * @example
 * ```ts
 * import { describe, expect, it } from "vitest";
 * import { ROOT, useHarness, waitFor } from "./harness/mod.ts";
 *
 * const h = useHarness("hx");
 *
 * it("BIRD receives herald's route with its communities", async () => {
 *   const ns = await h.namespace();
 *   const link = await h.link(ROOT, ns);             // herald: link.a (root), BIRD: link.b
 *   const bird = await h.bird({
 *     netns: ns, routerId: link.b.ipv4, asn: 65001,
 *     neighbors: [{ address: link.a.ipv4, asn: 65000, holdTime: 3 }],
 *   });
 *   // … start herald in the root namespace, peering with link.b.ipv4 AS 65001 …
 *   await bird.waitForPeer(link.a.ipv4);
 *   await bird.waitForRouteCount(1, { peer: link.a.ipv4 });
 *   const [route] = await bird.routes({ peer: link.a.ipv4 });
 *   expect(route).toMatchObject({ prefix: "192.0.2.10/32", asPath: [65000], communities: ["65000:100"] });
 * });
 * ```
 *
 * @module
 */

export { type BirdDaemon, birdStaticRoute, startBird } from "./bird.ts";
export { type DaemonOptions, familyOf, freePort, isLoopback, requireBinary } from "./daemon.ts";
export { type FrrDaemon, startFrr } from "./frr.ts";
export { type GobgpDaemon, startGobgp } from "./gobgp.ts";
export { createHarness, Harness } from "./harness.ts";
export { writeMrtRib, type MrtRoute } from "./mrt.ts";
export {
  addRoute,
  createLink,
  createNamespace,
  type Link,
  type LinkEnd,
  linkAddresses,
  Namespace,
  namespacePair,
  type NamespaceOptions,
  ROOT,
  twoHop,
  type TwoHop,
} from "./netns.ts";
export { type ExitStatus, ManagedProcess, peakRss, run, type RunOptions, type RunResult, spawnProcess, type SpawnOptions } from "./process.ts";
export { currentRuntime, type Runtime, scriptArgv } from "./runtime.ts";
export { Scope, type ScopeOptions } from "./scope.ts";
export type {
  BgpDaemon,
  DaemonConfig,
  DaemonKind,
  Family,
  ListenConfig,
  NeighborConfig,
  Origin,
  OriginatedRoute,
  PeerCapabilities,
  PeerStatus,
  Route,
  RouteQuery,
  SessionState,
} from "./types.ts";
export { perTest, useHarness } from "./vitest.ts";
export { delay, describeValue, waitFor, type WaitOptions, WaitTimeoutError } from "./wait.ts";
