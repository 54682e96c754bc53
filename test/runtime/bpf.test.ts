/**
 * The libbpf map layer and bpffs handling against the kernel (root, bpffs):
 * create/pin/reopen, batched walks that agree with key-by-key walks, and
 * mounting bpffs where none is mounted.
 */
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  BPF_MAP_TYPE_HASH,
  closeBpfFd,
  createMap,
  deleteElem,
  dumpMap,
  dumpMapByKey,
  lookupElem,
  mapInfo,
  openPinned,
  pinObject,
  updateElem,
} from "../../src/runtime/bpf.ts";
import { ensureBpffs, isBpffs } from "../../src/runtime/bpffs.ts";

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

function hashMap(maxEntries: number): number {
  const fd = createMap({ type: BPF_MAP_TYPE_HASH, name: "herald_t_map", keySize: 4, valueSize: 8, maxEntries });
  cleanup.push(() => closeBpfFd(fd));
  return fd;
}

describe("bpf maps", () => {
  it("createMap() makes the map described, and mapInfo() reads it back", () => {
    const fd = hashMap(128);
    expect(mapInfo(fd)).toMatchObject({ type: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 128, name: "herald_t_map" });
  });

  it("update, lookup and delete one element; absent keys are not errors", () => {
    const fd = hashMap(8);
    const value = new Uint8Array(8);
    expect(lookupElem(fd, u32(1), value, "x")).toBe(false);
    updateElem(fd, u32(1), Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), "x");
    expect(lookupElem(fd, u32(1), value, "x")).toBe(true);
    expect([...value]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(deleteElem(fd, u32(1), "x")).toBe(true);
    expect(deleteElem(fd, u32(1), "x")).toBe(false);
  });

  it("a full map refuses new keys with a clear error", () => {
    const fd = hashMap(2);
    updateElem(fd, u32(1), new Uint8Array(8), "slot 1");
    updateElem(fd, u32(2), new Uint8Array(8), "slot 2");
    expect(() => updateElem(fd, u32(3), new Uint8Array(8), "slot 3")).toThrow("Cannot write slot 3: E2BIG (map is full)");
  });

  it("dumpMap() walks in batches and agrees with a key-by-key walk (10,000 elements)", () => {
    const fd = hashMap(16384);
    for (let i = 0; i < 10_000; i++) {
      const v = new Uint8Array(8);
      new DataView(v.buffer).setFloat64(0, i * 1.5, true);
      updateElem(fd, u32(i * 7), v, "x");
    }
    const byBatch = dumpMap(fd, 4, 8, "x");
    const byKey = dumpMapByKey(fd, 4, 8, "x");
    expect(byBatch).toHaveLength(10_000);
    const norm = (es: [Uint8Array, Uint8Array][]) => es.map(([k, v]) => `${[...k]}=${[...v]}`).sort();
    expect(norm(byBatch)).toEqual(norm(byKey));
    expect(dumpMap(hashMap(4), 4, 8, "empty")).toEqual([]);
  });

  it("pinObject() and openPinned() share one map through bpffs", () => {
    const dir = `/sys/fs/bpf/herald_test_rt_${process.pid}`;
    ensureBpffs(dir);
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const fd = hashMap(4);
    pinObject(fd, `${dir}/m`);
    const again = openPinned(`${dir}/m`)!;
    cleanup.push(() => closeBpfFd(again));
    expect(mapInfo(again).id).toBe(mapInfo(fd).id);
    expect(openPinned(`${dir}/absent`)).toBeUndefined();
    expect(() => pinObject(fd, `${dir}/m`)).toThrow(`Cannot pin BPF object at "${dir}/m": EEXIST (already exists)`);
  });
});

describe("ensureBpffs()", () => {
  it("mounts bpffs where none is mounted, and only below its mount point", () => {
    const base = mkdtempSync(`${tmpdir()}/heraldbpffs`);
    cleanup.push(() => rmSync(base, { recursive: true, force: true }));
    expect(isBpffs(base)).toBe(false);
    expect(() => ensureBpffs("/tmp/elsewhere/x", { mountAt: base })).toThrow(
      'Cannot use BPF pin directory "/tmp/elsewhere/x": it is not on a BPF file system (mount -t bpf bpf DIR)',
    );
    expect(ensureBpffs(`${base}/herald`, { mountAt: base })).toBe(true);
    cleanup.push(() => execFileSync("umount", [base]));
    expect(isBpffs(`${base}/herald`)).toBe(true);
    expect(ensureBpffs(`${base}/herald`, { mountAt: base })).toBe(false); // already there
  });

  it("waits for another process mounting at the same place instead of stacking a second mount", () => {
    const base = mkdtempSync(`${tmpdir()}/heraldbpffs`);
    cleanup.push(() => rmSync(base, { recursive: true, force: true }));
    const lock = `${tmpdir()}/herald-bpffs-${base.replace(/\W/g, "_")}.lock`;
    writeFileSync(lock, ""); // another process is mounting…
    cleanup.push(() => rmSync(lock, { force: true }));
    spawn("sh", ["-c", `sleep 0.3 && mount -t bpf bpf ${base}`], { stdio: "ignore" }); // …and is done in 0.3 s
    cleanup.push(() => execFileSync("umount", [base]));
    expect(isBpffs(base)).toBe(false);
    expect(ensureBpffs(`${base}/herald`, { mountAt: base })).toBe(false);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.split(" ")[4] === base);
    expect(mounts).toHaveLength(1);
  });

  it("refuses names with dots before bpffs does", () => {
    expect(() => ensureBpffs("/sys/fs/bpf/herald.v1")).toThrow('Cannot use BPF pin directory "/sys/fs/bpf/herald.v1": bpffs refuses names with dots');
  });
});
