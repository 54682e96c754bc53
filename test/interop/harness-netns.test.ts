import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type ManagedProcess, type Namespace, ROOT, run, Scope, scriptArgv, useHarness, waitFor } from "./harness/mod.ts";

const h = useHarness("hn");
const echo = fileURLToPath(new URL("./harness/fixtures/tcp-echo.ts", import.meta.url));
const abandon = fileURLToPath(new URL("./harness/fixtures/abandon.ts", import.meta.url));

async function netnsNames(): Promise<string[]> {
  const { stdout } = await run("ip", ["netns", "list"]);
  return stdout.split("\n").map((l) => l.split(" ")[0]).filter(Boolean);
}

async function startEcho(ns: Namespace, address: string): Promise<ManagedProcess> {
  const server = h.script(ns, echo, ["listen", address, "7007"]);
  await waitFor(() => server.output(), (o) => o.includes("listening"), {
    what: `echo server in ${ns.label}`,
    context: () => server.output(),
  });
  return server;
}

function echoFromHere(address: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port: 7007 }, () => socket.write(text));
    socket.setTimeout(5000, () => socket.destroy(new Error(`Cannot reach ${address}: timeout`)));
    socket.once("data", (d) => {
      resolve(d.toString());
      socket.end();
    });
    socket.once("error", reject);
  });
}

describe("namespaces", () => {
  it("createNamespace() names it <prefix>-<pid>-<n> and brings lo up", async () => {
    const ns = await h.namespace();
    expect(ns.name).toMatch(new RegExp(`^hn-${process.pid}-\\d+$`));
    expect(await netnsNames()).toContain(ns.name);
    const { stdout } = await ns.run("ip", ["-j", "link", "show", "lo"]);
    expect(JSON.parse(stdout)[0].flags).toContain("UP");
    expect(await ns.addresses()).toEqual(expect.arrayContaining(["127.0.0.1", "::1"]));
  });

  it("createLink(ROOT, ns) carries IPv4 and IPv6 between the root namespace and a namespace", async () => {
    const ns = await h.namespace();
    const link = await h.link(ROOT, ns);
    expect(link.a.ifname.length).toBeLessThanOrEqual(15);
    expect(link.a.ipv4).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(link.b.ipv6).toMatch(/^fd48:6572:/);
    expect(link.b.linkLocal).toMatch(/^fe80::/);
    // DAD is off: nothing is tentative, the addresses are usable at once.
    const { stdout } = await ns.run("ip", ["-6", "addr", "show", "tentative"]);
    expect(stdout.trim()).toBe("");
    await startEcho(ns, "::");
    expect(await echoFromHere(link.b.ipv4, "v4")).toBe("v4");
    expect(await echoFromHere(link.b.ipv6, "v6")).toBe("v6");
  });

  it("createLink(a, b) joins two namespaces and commands run inside them", async () => {
    const { a, b, link } = await h.pair();
    await startEcho(b, "::");
    const [cmd, ...args] = scriptArgv(echo, ["connect", link.b.ipv6, "7007", "hello"]);
    const { stdout } = await a.run(cmd, args);
    expect(stdout.trim()).toBe("echo: hello");
    // The root namespace has no route into a namespace pair.
    const { stdout: routes } = await run("ip", ["-4", "route", "show", link.ipv4Prefix]);
    expect(routes.trim()).toBe("");
  });

  it("twoHop() forwards between A and B through the router namespace", async () => {
    const t = await h.twoHop({ a: ROOT });
    await startEcho(t.b, "::");
    expect(await echoFromHere(t.right.b.ipv4, "two hops v4")).toBe("two hops v4");
    expect(await echoFromHere(t.right.b.ipv6, "two hops v6")).toBe("two hops v6");
    const { stdout } = await run("ip", ["-j", "route", "get", t.right.b.ipv4]);
    expect(JSON.parse(stdout)[0].gateway).toBe(t.left.b.ipv4);
  });
});

describe("cleanup", () => {
  it("close() removes namespaces, links, routes, processes and the temp dir", async () => {
    const c = h.child();
    const ns = await c.namespace();
    const link = await c.link(ROOT, ns);
    const t = await c.twoHop({ a: ROOT });
    const sleeper = c.spawn(ns, "sleep", ["600"]);
    const dir = c.dir;
    await c.close();
    expect(await netnsNames()).not.toContain(ns.name);
    expect(await netnsNames()).not.toContain(t.router.name);
    expect((await run("ip", ["link", "show", link.a.ifname], { allowFailure: true })).code).not.toBe(0);
    expect((await run("ip", ["route", "show", t.right.ipv4Prefix])).stdout.trim()).toBe("");
    expect(sleeper.running).toBe(false);
    expect(existsSync(`/proc/${sleeper.pid}`)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  /** Runs fixtures/abandon.ts, returns its process and what it created. */
  async function abandoned(prefix: string) {
    const [cmd, ...args] = scriptArgv(abandon, [prefix]);
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const line = await waitFor(() => out, (o) => o.includes("\n"), { what: "abandon.ts to report", timeoutMs: 20_000, context: () => err });
    const made = JSON.parse(line.trim()) as { netns: string; ifname: string; pid: number; dir: string };
    return { child, exited, made };
  }

  it("a harness process ended by SIGTERM still deletes its namespaces, processes and files", async () => {
    const { child, exited, made } = await abandoned("hy");
    expect(await netnsNames()).toContain(made.netns);
    child.kill("SIGTERM");
    await exited;
    expect(await netnsNames()).not.toContain(made.netns);
    // The kernel tears a deleted namespace's veth pair down asynchronously.
    await waitFor(
      async () => (await run("ip", ["link", "show", made.ifname], { allowFailure: true })).code,
      (code) => code !== 0,
      { what: `link ${made.ifname} to go`, timeoutMs: 3000 },
    );
    await waitFor(() => !existsSync(`/proc/${made.pid}`), (gone) => gone, { what: `pid ${made.pid} to end`, timeoutMs: 3000 });
    expect(existsSync(made.dir)).toBe(false);
  });

  it("a harness process killed by SIGKILL leaves no process, and the next harness sweeps its namespace", async () => {
    const { child, exited, made } = await abandoned("hz");
    child.kill("SIGKILL");
    await exited;
    // The daemon dies with its parent (parent-death signal) …
    await waitFor(() => !existsSync(`/proc/${made.pid}`), (gone) => gone, { what: `pid ${made.pid} to end`, timeoutMs: 3000 });
    // … the namespace and temp dir stay until a harness with that prefix starts.
    expect(await netnsNames()).toContain(made.netns);
    const next = new Scope({ prefix: "hz" });
    await next.close();
    expect(await netnsNames()).not.toContain(made.netns);
    expect(existsSync(made.dir)).toBe(false);
  });
});
