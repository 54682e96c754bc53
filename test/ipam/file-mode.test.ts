/**
 * File mode: source events → engine → state file, and back after a restart
 * (I12 through the state file; pool age kept with first-seen times, I5/I7).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CiliumLoadBalancerIPPool } from "../../src/control/schemas/lb-ip-pool.ts";
import type { Service } from "../../src/control/schemas/service.ts";
import { FileModeLbIpam } from "../../src/ipam/file-mode.ts";
import type { FileModeOptions } from "../../src/ipam/file-mode.ts";
import { StateFileError } from "../../src/ipam/state-file.ts";
import { loadState, saveState } from "../../src/ipam/state-store.ts";
import type { LbIpamState } from "../../src/ipam/state-file.ts";
import type { SourceEvent } from "../../src/source/types.ts";
import { createLogger } from "../../src/log.ts";
import { pool, svc, testClock } from "./_fixtures.ts";

let dir: string;
const open: FileModeLbIpam[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herald-lbipam-file-"));
});
afterEach(async () => {
  for (const m of open.splice(0)) await m.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A manifest as users write it: no creationTimestamp, no status. */
function manifestPool(name: string, blocks: string[]): CiliumLoadBalancerIPPool {
  const p = pool(name, blocks);
  return { ...p, metadata: { name } };
}
const upsertPool = (p: CiliumLoadBalancerIPPool): SourceEvent => ({
  type: "upsert",
  resource: { kind: "CiliumLoadBalancerIPPool", key: p.metadata.name, object: p, origin: { file: "pools.yaml" } },
});
const upsertSvc = (s: Service): SourceEvent => ({
  type: "upsert",
  resource: { kind: "Service", key: `${s.metadata.namespace}/${s.metadata.name}`, object: s, origin: { file: "svc.yaml" } },
});

async function start(options: Partial<FileModeOptions> = {}) {
  const clock = testClock();
  const m = new FileModeLbIpam({ stateDir: dir, now: clock.now, saveDelayMs: 5, ...options });
  open.push(m);
  await m.open();
  return { m, clock };
}

const ipsOf = (m: FileModeLbIpam, key: string) => m.engine.serviceStatus(key)?.loadBalancer.ingress?.map((i) => i.ip);
/** What is on disk: the snapshot and the journal after it. */
const readState = async (): Promise<LbIpamState> => (await loadState(dir))!;

describe("FileModeLbIpam", () => {
  it("keeps every address across a restart, whatever order the manifests come in", async () => {
    const { m } = await start();
    m.apply([upsertPool(manifestPool("a", ["10.0.0.0/28"])), ...["s1", "s2", "s3", "s4"].map((n) => upsertSvc(svc(n)))]);
    m.apply([{ type: "delete", kind: "Service", key: "default/s2" }]);
    await m.close();
    expect(Object.keys((await readState()).services).sort()).toEqual(["default/s1", "default/s3", "default/s4"]);

    const { m: again } = await start();
    // New order, a new Service first, s4 deleted while herald was down.
    again.apply([upsertSvc(svc("new")), upsertSvc(svc("s3")), upsertSvc(svc("s1")), upsertPool(manifestPool("a", ["10.0.0.0/28"]))]);
    expect(ipsOf(again, "default/s1")).toEqual(["10.0.0.0"]);
    expect(ipsOf(again, "default/s3")).toEqual(["10.0.0.2"]);
    expect(ipsOf(again, "default/new")).toEqual(["10.0.0.1"]); // the hole s2 left
    await again.flush();
    expect(Object.keys((await readState()).services).sort()).toEqual(["default/new", "default/s1", "default/s3"]);
  });

  it("remembers when each pool was first seen, so pool age survives restarts (I5, I7)", async () => {
    const { m, clock } = await start();
    m.apply([upsertPool(manifestPool("zz-old", ["10.0.0.0/24"]))]);
    clock.tick(60);
    m.apply([upsertPool(manifestPool("aa-new", ["10.0.0.0/25"]))]);
    const conflictOf = (x: FileModeLbIpam, name: string) =>
      x.engine.poolStatus(name)?.conditions?.find((c) => c.type === "cilium.io/PoolConflict")?.status;
    expect([conflictOf(m, "zz-old"), conflictOf(m, "aa-new")]).toEqual(["False", "True"]);
    await m.close();
    expect((await readState()).pools["aa-new"].firstSeen).toBe("2026-01-01T00:01:00Z");

    // Without first-seen times, "aa-new" would sort first by name and win.
    const { m: again } = await start();
    again.apply([upsertPool(manifestPool("aa-new", ["10.0.0.0/25"])), upsertPool(manifestPool("zz-old", ["10.0.0.0/24"]))]);
    expect([conflictOf(again, "zz-old"), conflictOf(again, "aa-new")]).toEqual(["False", "True"]);
  });

  it("refuses to start from a damaged state file", async () => {
    writeFileSync(join(dir, "lbipam.json"), '{"kind":"HeraldLbIpamState","version":1,"sha256":"00","state":{"serv');
    const m = new FileModeLbIpam({ stateDir: dir, now: testClock().now });
    await expect(m.open()).rejects.toBeInstanceOf(StateFileError);
    await expect(m.open()).rejects.toThrow(`Cannot load LB-IPAM state "${join(dir, "lbipam.json")}": the file is not complete JSON`);
  });

  it("journals later saves, and drops a torn last journal line at start with a warning naming the file", async () => {
    const { m } = await start();
    m.apply([upsertPool(manifestPool("a", ["10.0.0.0/28"])), upsertSvc(svc("s1"))]);
    await m.flush(); // the first save: a snapshot
    m.apply([upsertSvc(svc("s2"))]);
    await m.flush();
    m.apply([upsertSvc(svc("s3"))]);
    await m.close();
    const journal = join(dir, "lbipam.journal");
    const text = readFileSync(journal, "utf8");
    expect(text.trim().split("\n")).toHaveLength(2);
    writeFileSync(journal, text.slice(0, -10)); // the crash came during the last append
    const lines: string[] = [];
    const { m: again } = await start({ logger: createLogger({ write: (l) => lines.push(l) }) });
    expect(lines.find((l) => l.includes("Dropped the torn last line of the LB-IPAM journal"))).toContain(`file=${journal}`);
    again.apply([upsertPool(manifestPool("a", ["10.0.0.0/28"])), upsertSvc(svc("s1")), upsertSvc(svc("s2")), upsertSvc(svc("s3"))]);
    expect(["s1", "s2", "s3"].map((n) => ipsOf(again, `default/${n}`))).toEqual([["10.0.0.0"], ["10.0.0.1"], ["10.0.0.2"]]);
  });

  it("coalesces many changes into few writes and writes what is pending on close", async () => {
    let writes = 0;
    const { m } = await start({
      saveDelayMs: 50,
      write: async (d, s) => {
        writes++;
        return saveState(d, s);
      },
    });
    m.apply([upsertPool(manifestPool("a", ["10.0.0.0/24"]))]);
    for (let n = 0; n < 50; n++) m.apply([upsertSvc(svc(`s${n}`))]);
    await m.close();
    expect(writes).toBe(1);
    expect(Object.keys((await readState()).services)).toHaveLength(50);
  });

  it("reports an invalid pool document on the pool and keeps serving from the others", async () => {
    const { m } = await start();
    m.apply([
      upsertPool(manifestPool("good", ["10.0.0.0/30"])),
      { type: "invalid", kind: "CiliumLoadBalancerIPPool", key: "broken", origin: { file: "pools.yaml", line: 9 }, errors: ["pools.yaml:12: spec.disabled: expected boolean"] },
      upsertSvc(svc("s1")),
    ]);
    expect(ipsOf(m, "default/s1")).toEqual(["10.0.0.0"]);
    await m.flush();
    const conds = (await readState()).pools.broken.status.conditions ?? [];
    expect(conds.find((c) => c.type === "herald.io/InvalidSpec")).toMatchObject({ status: "True", message: "pools.yaml:12: spec.disabled: expected boolean" });
  });

  it("drops state of deleted pools and Services", async () => {
    const { m } = await start();
    m.apply([upsertPool(manifestPool("a", ["10.0.0.0/30"])), upsertPool(manifestPool("b", ["10.0.1.0/30"])), upsertSvc(svc("s1"))]);
    m.apply([{ type: "delete", kind: "CiliumLoadBalancerIPPool", key: "b" }, { type: "delete", kind: "Service", key: "default/s1" }]);
    await m.flush();
    expect(Object.keys((await readState()).pools)).toEqual(["a"]);
    expect((await readState()).services).toEqual({});
  });

  it("keeps no state of a pool or Service created and deleted in one batch (I12: a new Service with that name starts afresh)", async () => {
    const { m } = await start();
    m.apply([upsertPool(manifestPool("a", ["10.0.0.0/30"]))]);
    m.apply([
      upsertPool(manifestPool("b", ["10.0.1.0/30"])),
      upsertSvc(svc("s1", { lbIP: "10.0.0.3" })),
      { type: "delete", kind: "CiliumLoadBalancerIPPool", key: "b" },
      { type: "delete", kind: "Service", key: "default/s1" },
    ]);
    await m.flush();
    expect(Object.keys((await readState()).pools)).toEqual(["a"]);
    expect((await readState()).services).toEqual({});
    // Created again without a request: a fresh Service, not the old one's address.
    m.apply([upsertSvc(svc("s1"))]);
    expect(ipsOf(m, "default/s1")).toEqual(["10.0.0.0"]);
  });

  it("retries a failed save in the background and logs it (the writer retries, I16)", async () => {
    let failures = 1;
    let writes = 0;
    const lines: string[] = [];
    const { m } = await start({
      saveDelayMs: 5,
      logger: createLogger({ write: (l) => lines.push(l) }),
      write: async (d, s) => {
        writes++;
        if (failures-- > 0) throw new Error("no space left on device");
        return saveState(d, s);
      },
    });
    m.apply([upsertPool(manifestPool("a", ["10.0.0.0/30"])), upsertSvc(svc("s1"))]);
    await new Promise((r) => setTimeout(r, 1300));
    expect(writes).toBe(2);
    expect(lines.some((l) => l.includes("Cannot save LB-IPAM state, will retry") && l.includes("no space left on device"))).toBe(true);
    expect((await readState()).services["default/s1"].loadBalancer.ingress).toEqual([{ ip: "10.0.0.0" }]);
  });

  it("flush() rejects when the state cannot be written, and a later flush writes it", async () => {
    let fail = true;
    const { m } = await start({
      saveDelayMs: 10_000,
      write: async (d, s) => {
        if (fail) throw new Error("Cannot save LB-IPAM state: read-only file system");
        return saveState(d, s);
      },
    });
    m.apply([upsertPool(manifestPool("a", ["10.0.0.0/30"]))]);
    await expect(m.flush()).rejects.toThrow("read-only file system");
    fail = false;
    await m.flush();
    expect(Object.keys((await readState()).pools)).toEqual(["a"]);
  });

  it("refuses events before open()", () => {
    const m = new FileModeLbIpam({ stateDir: dir, now: testClock().now });
    expect(() => m.apply([])).toThrow("Cannot apply LB-IPAM events: open() has not been called");
  });
});
