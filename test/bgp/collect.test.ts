import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Speaker } from "../../src/bgp/speaker.ts";
import { collectCommand, defaultRouterId, startCollector } from "../../src/cli/collect.ts";
import { UsageError } from "../../src/cli/args.ts";
import { parseCommunity } from "../../src/bgp/wire/mod.ts";
import { currentRuntime, scriptArgv } from "../interop/harness/runtime.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = join(ROOT, "node_modules/.bin/deno");
const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A sender that peers with the collector and announces, then withdraws one prefix. */
async function sender(port: number, address: string) {
  const a = new Speaker();
  cleanup.push(() => a.close());
  await a.setInstance({ name: "a", asn: 65001, routerId: "10.0.0.1" });
  a.setPeer("a", { name: "c", address, asn: 65000, port, localAddress: "127.0.0.1", timers: { holdTimeSeconds: 3, keepaliveSeconds: 1, connectRetrySeconds: 1 } });
  a.announce("a", "c", "ipv4/unicast", ["10.1.0.0/24"], { med: 5, communities: [parseCommunity("65001:99")!, parseCommunity("no-export")!], largeCommunities: [[1, 2, 3]] });
  a.announce("a", "c", "ipv6/unicast", ["fd00:1::/64"]);
  return a;
}

describe("herald collect", () => {
  it("prints each received prefix with its attributes, End-of-RIB, and withdraws (table)", async () => {
    let out = "";
    const c = await startCollector({ listen: { host: "127.0.0.4", port: 0 }, asn: 65000, routerId: "127.0.0.4", format: "table", families: ["ipv4/unicast", "ipv6/unicast"], logLevel: "error" }, (t) => void (out += t));
    cleanup.push(c.stop);
    const a = await sender(c.port, "127.0.0.4");
    await until(() => out.includes("End-of-RIB ipv6/unicast"), "End-of-RIB");
    a.withdraw("a", "c", "ipv4/unicast", ["10.1.0.0/24"]);
    await until(() => out.includes("withdraw"), "withdraw");
    const lines = out.split("\n");
    expect(lines.find((l) => l.startsWith("TIME"))).toMatch(/^TIME\s+PEER\s+PEER AS\s+ACTION\s+PREFIX\s+NEXT HOP\s+ATTRS$/);
    expect(lines.find((l) => l.includes("10.1.0.0/24") && l.includes("announce"))).toMatch(
      /127\.0\.0\.1\s+65001\s+announce\s+10\.1\.0\.0\/24\s+127\.0\.0\.1\s+\[\{Origin: i\} \{AsPath: 65001\} \{Nexthop: 127\.0\.0\.1\} \{Med: 5\} \{Communities: 65001:99, no-export\} \{LargeCommunity: \[ 1:2:3\]\}\]$/,
    );
    expect(lines.find((l) => l.includes("fd00:1::/64"))).toContain("{MpReach(ipv6-unicast): {Nexthop: ::ffff:127.0.0.1, NLRIs: [fd00:1::/64]}}");
    expect(lines.find((l) => l.includes("withdraw"))).toMatch(/65001\s+withdraw\s+10\.1\.0\.0\/24$/);
    expect(lines.some((l) => /^# \S+ peer 127\.0\.0\.1 AS 65001: established$/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes("End-of-RIB ipv4/unicast, 1 prefixes"))).toBe(true);
  });

  it("prints JSON lines with -o json, and only sessions and End-of-RIB counts with -o summary", async () => {
    let json = "";
    let summary = "";
    const cj = await startCollector({ listen: { host: "127.0.0.5", port: 0 }, asn: 65000, routerId: "127.0.0.5", format: "json", families: ["ipv4/unicast"], logLevel: "error" }, (t) => void (json += t));
    const cs = await startCollector({ listen: { host: "127.0.0.6", port: 0 }, asn: 65000, routerId: "127.0.0.6", format: "summary", families: ["ipv4/unicast"], logLevel: "error" }, (t) => void (summary += t));
    cleanup.push(cj.stop, cs.stop);
    await sender(cj.port, "127.0.0.5");
    await sender(cs.port, "127.0.0.6");
    await until(() => json.includes('"end-of-rib"') && summary.includes("End-of-RIB"), "End-of-RIB");
    const objs = json.trim().split("\n").map((l) => JSON.parse(l));
    expect(objs.find((o) => o.type === "announce")).toMatchObject({
      peer: "127.0.0.1",
      peerAsn: 65001,
      family: "ipv4/unicast",
      prefix: "10.1.0.0/24",
      attributes: { origin: "igp", asPath: [65001], nextHop: "127.0.0.1", med: 5, communities: ["65001:99", "no-export"], largeCommunities: ["1:2:3"] },
    });
    expect(objs.find((o) => o.type === "end-of-rib")).toMatchObject({ family: "ipv4/unicast", received: 1 });
    expect(objs.some((o) => o.type === "state" && o.state === "established")).toBe(true);
    expect(summary).not.toContain("10.1.0.0/24");
    expect(summary).toMatch(/End-of-RIB ipv4\/unicast, 1 prefixes, \d+ ms after the session came up/);
  });

  it("refuses bad flags with usage errors", async () => {
    await expect(collectCommand(["--asn", "1"])).rejects.toThrow(UsageError);
    await expect(collectCommand(["--listen", "127.0.0.1:1790"])).rejects.toThrow("--asn N is required");
    await expect(collectCommand(["--listen", "127.0.0.1", "--asn", "1"])).rejects.toThrow(/--listen must be HOST:PORT/);
    await expect(collectCommand(["--listen", "127.0.0.1:1", "--asn", "1", "-o", "xml"])).rejects.toThrow('-o must be "table", "json" or "summary": current value is "xml"');
    expect(defaultRouterId("10.1.2.3")).toBe("10.1.2.3");
    expect(defaultRouterId("0.0.0.0")).toBe("192.0.2.255");
  });
});

/** Runs argv, waits for the "listening" line, peers, and returns the output after SIGTERM. */
async function runChild(argv: string[], address: string): Promise<{ out: string; code: number | null }> {
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  cleanup.push(() => void (child.exitCode === null && child.kill("SIGKILL")));
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  // "listening on HOST:PORT" (table) or {"type":"listening",…,"port":PORT} (json)
  const listening = /listening on [^ ]+:(\d+)|"type":"listening".*"port":(\d+)/;
  await until(() => listening.test(out) || child.exitCode !== null, `collector to listen (stderr: ${err})`, 20_000);
  const m = listening.exec(out);
  const port = Number(m?.[1] ?? m?.[2]);
  expect(port).toBeGreaterThan(0);
  const a = await sender(port, address);
  await until(() => out.includes("End-of-RIB ipv4/unicast") || out.includes('"type":"end-of-rib"'), "End-of-RIB from the child");
  await a.close();
  // process.kill, not child.kill: Deno's child_process then reports the exit code the program chose.
  process.kill(child.pid!, "SIGTERM");
  return { out, code: await exited };
}

describe("herald collect as a program", () => {
  it(`runs from mod.ts under ${currentRuntime()}`, async () => {
    const { out, code } = await runChild(scriptArgv("mod.ts", ["collect", "--listen", "127.0.0.7:0", "--asn", "65000"]), "127.0.0.7");
    expect(out).toMatch(/announce\s+10\.1\.0\.0\/24/);
    expect(code).toBe(0);
  }, 60_000);

  it("runs from a deno bundle of mod.ts (no dynamic imports)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-bundle-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const bundle = join(dir, "herald.mjs");
    const built = spawn(DENO, ["bundle", "--platform", "node", "-o", bundle, "mod.ts"], { cwd: ROOT, stdio: "ignore" });
    expect(await new Promise((r) => built.on("exit", r))).toBe(0);
    const argv = currentRuntime() === "node" ? [process.execPath, bundle] : [DENO, "run", "-A", bundle];
    const { out, code } = await runChild([...argv, "collect", "--listen", "127.0.0.8:0", "--asn", "65000", "-o", "json"], "127.0.0.8");
    expect(out.split("\n").filter(Boolean).map((l) => JSON.parse(l)).some((o) => o.type === "announce" && o.prefix === "10.1.0.0/24")).toBe(true);
    expect(code).toBe(0);
  }, 60_000);
});
