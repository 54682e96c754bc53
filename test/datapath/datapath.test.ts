/**
 * The Datapath against the kernel: what herald holds must be what bpftool
 * reads from the pinned maps, after Services and endpoints are added,
 * changed and deleted, and after a restart (maps reopened and reconciled,
 * not recreated). Needs root and bpffs; fails without them.
 */
import { afterEach, describe, expect, it } from "vitest";
import { existsSync, writeFileSync } from "node:fs";
import { Datapath } from "../../src/datapath/datapath.ts";
import { openDatapath } from "../../src/datapath/open.ts";
import { mapSpecs } from "../../src/datapath/maps.ts";
import { createMap, pinObject, updateElem, closeBpfFd, openPinned, mapInfo } from "../../src/runtime/bpf.ts";
import { encodeBackend, encodeSlot } from "../../src/datapath/layout.ts";
import { bpftoolDump, bpftoolServices, bpftoolShow, entriesAsMap, pinDirFor, removePinDir, service, slice } from "./_fixtures.ts";

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

const SMALL = { frontends: 256, backendSlots: 1024, flows: 256 };

function open(pinDir: string, extra: Parameters<typeof Datapath.open>[0] = {}): Datapath {
  const dp = Datapath.open({ pinDir, sizes: SMALL, ...extra });
  cleanup.push(() => dp.close());
  return dp;
}

function freshDir(name: string): string {
  const dir = pinDirFor(name);
  cleanup.push(() => removePinDir(dir));
  return dir;
}

/** herald's view, the kernel's view through libbpf, and bpftool's view agree; returns it. */
function agreed(dp: Datapath): Map<string, string[]> {
  const held = entriesAsMap(dp.entries());
  expect(entriesAsMap(dp.readMaps())).toEqual(held);
  expect(bpftoolServices(dp.pinDir)).toEqual(held);
  return held;
}

const web = service({
  name: "web",
  clusterIPs: ["10.96.0.10"],
  lbIPs: ["192.0.2.10"],
  ports: [{ name: "http", port: 80 }, { name: "dns", port: 53, protocol: "UDP" }],
});
const webSlice = slice("web", "web-1", ["10.0.1.2", "10.0.1.1"], [{ name: "http", port: 8080 }, {
  name: "dns",
  port: 5353,
  protocol: "UDP",
}]);

describe("Datapath maps", () => {
  it("creates the four maps pinned with the documented layout", () => {
    const dp = open(freshDir("layout"));
    const show = (m: string) => bpftoolShow(`${dp.pinDir}/${m}`);
    expect(show("services")).toMatchObject({ type: "hash", name: "herald_svc_v1", bytes_key: 20, bytes_value: 8, max_entries: 256 });
    expect(show("backends")).toMatchObject({ type: "hash", name: "herald_be_v1", bytes_key: 4, bytes_value: 20, max_entries: 1024 });
    expect(show("ct")).toMatchObject({ type: "lru_hash", name: "herald_ct_v1", bytes_key: 40, bytes_value: 24, max_entries: 256 });
    expect(show("revnat")).toMatchObject({ type: "lru_hash", name: "herald_rnat_v1", bytes_key: 40, bytes_value: 20 });
    expect(dp.opened).toMatchObject({ reopened: [], recreated: [] });
  });

  it("sync() writes frontends for cluster, external and LoadBalancer IPs, byte for byte as documented", () => {
    const dp = open(freshDir("sync"));
    const r = dp.sync([web], [webSlice]);
    expect(r).toMatchObject({ upserted: 4, deleted: 0, failed: [], conflicts: [] });
    expect(agreed(dp)).toEqual(
      new Map([
        ["10.96.0.10|53|UDP", ["10.0.1.1|5353", "10.0.1.2|5353"]],
        ["10.96.0.10|80|TCP", ["10.0.1.1|8080", "10.0.1.2|8080"]],
        ["192.0.2.10|53|UDP", ["10.0.1.1|5353", "10.0.1.2|5353"]],
        ["192.0.2.10|80|TCP", ["10.0.1.1|8080", "10.0.1.2|8080"]],
      ]),
    );
    // The raw bytes of one frontend key: ::ffff:192.0.2.10, port 80 big-endian, TCP, pad.
    const keys = bpftoolDump(`${dp.pinDir}/services`).map((e) => [...e.key]);
    expect(keys).toContainEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10, 0, 80, 6, 0]);
    // Frontends with the same backend list share one range: 2 lists × 2 backends.
    expect(bpftoolDump(`${dp.pinDir}/backends`)).toHaveLength(4);
    expect(dp.stats()).toMatchObject({ frontends: 4, backendLists: 2, slotsUsed: 4 });
  });

  it("applies endpoint changes, Service changes and deletes, freeing slots after the flip", () => {
    const dp = open(freshDir("changes"));
    dp.sync([web], [webSlice]);
    // An endpoint becomes not ready, another terminates, a new one arrives.
    const changed = slice("web", "web-1", [
      "10.0.1.1",
      { ip: "10.0.1.2", ready: false },
      { ip: "10.0.1.4", terminating: true },
      "10.0.1.3",
    ], [{ name: "http", port: 8080 }, { name: "dns", port: 5353, protocol: "UDP" }]);
    expect(dp.upsertService(web, [changed])).toMatchObject({ upserted: 4, deleted: 0, failed: [] });
    expect(agreed(dp).get("192.0.2.10|80|TCP")).toEqual(["10.0.1.1|8080", "10.0.1.3|8080"]);
    expect(bpftoolDump(`${dp.pinDir}/backends`)).toHaveLength(4); // old slots freed

    // The Service loses its LoadBalancer IP and its UDP port; a second Service arrives.
    const webNoLb = service({ name: "web", clusterIPs: ["10.96.0.10"], ports: [{ name: "http", port: 80 }] });
    const api = service({ name: "api", namespace: "prod", externalIPs: ["198.51.100.7"], clusterIPs: ["10.96.0.20"], ports: [{ port: 443 }] });
    const apiSlice = slice("api", "api-x", ["10.0.2.1"], [{ port: 8443 }], { namespace: "prod" });
    const r = dp.sync([webNoLb, api], [changed, apiSlice]);
    expect(r).toMatchObject({ upserted: 2, deleted: 3, failed: [] });
    expect(agreed(dp)).toEqual(
      new Map([
        ["10.96.0.10|80|TCP", ["10.0.1.1|8080", "10.0.1.3|8080"]],
        ["10.96.0.20|443|TCP", ["10.0.2.1|8443"]],
        ["198.51.100.7|443|TCP", ["10.0.2.1|8443"]],
      ]),
    );
    expect(bpftoolDump(`${dp.pinDir}/backends`)).toHaveLength(3);

    // A sync with nothing new writes nothing.
    expect(dp.sync([webNoLb, api], [changed, apiSlice])).toMatchObject({ upserted: 0, deleted: 0 });

    // All endpoints gone: the frontend stays, with no backends (the program drops its packets).
    expect(dp.upsertService(api, [])).toMatchObject({ upserted: 2 });
    expect(agreed(dp).get("198.51.100.7|443|TCP")).toEqual([]);

    expect(dp.deleteService("prod/api")).toMatchObject({ deleted: 2 });
    expect(dp.deleteService("default/web")).toMatchObject({ deleted: 1 });
    expect(agreed(dp).size).toBe(0);
    expect(bpftoolDump(`${dp.pinDir}/backends`)).toHaveLength(0);
    expect(dp.stats()).toMatchObject({ frontends: 0, backendLists: 0, slotsUsed: 0 });
  });

  it("handles IPv6 and dual-stack Services with one layout", () => {
    const dp = open(freshDir("ipv6"));
    const dual = service({
      name: "dual",
      clusterIPs: ["10.96.0.30", "fd00:96::30"],
      lbIPs: ["192.0.2.30", "2001:db8::30"],
      ports: [{ port: 80 }],
    });
    const v4 = slice("dual", "dual-v4", ["10.0.3.1"], [{ port: 8080 }]);
    const v6 = slice("dual", "dual-v6", ["fd00:10::2", "fd00:10::1"], [{ port: 8080 }]);
    dp.sync([dual], [v4, v6]);
    expect(agreed(dp)).toEqual(
      new Map([
        ["10.96.0.30|80|TCP", ["10.0.3.1|8080"]],
        ["192.0.2.30|80|TCP", ["10.0.3.1|8080"]],
        ["2001:db8::30|80|TCP", ["fd00:10::1|8080", "fd00:10::2|8080"]],
        ["fd00:96::30|80|TCP", ["fd00:10::1|8080", "fd00:10::2|8080"]],
      ]),
    );
  });

  it("survives a restart: maps are reopened and reconciled, not recreated", () => {
    const dir = freshDir("restart");
    const first = Datapath.open({ pinDir: dir, sizes: SMALL });
    first.sync([web], [webSlice]);
    const before = agreed(first);
    const servicesId = mapInfo(openPinned(`${dir}/services`)!).id;
    first.close(); // the agent stops; maps stay pinned

    const second = open(dir);
    expect(second.opened).toMatchObject({ reopened: ["services", "backends", "ct", "revnat"], recreated: [] });
    expect(mapInfo(openPinned(`${dir}/services`)!).id).toBe(servicesId);
    expect(entriesAsMap(second.entries())).toEqual(before); // read back at open

    // The same Services: nothing to write.
    expect(second.sync([web], [webSlice])).toMatchObject({ upserted: 0, deleted: 0, unchanged: 4 });
    // While the agent was down, one endpoint left and the LoadBalancer IP went away.
    const webNoLb = service({ name: "web", clusterIPs: ["10.96.0.10"], ports: web.spec.ports! });
    const fewer = slice("web", "web-1", ["10.0.1.1"], webSlice.ports);
    expect(second.sync([webNoLb], [fewer])).toMatchObject({ upserted: 2, deleted: 2, failed: [] });
    expect(agreed(second)).toEqual(
      new Map([["10.96.0.10|53|UDP", ["10.0.1.1|5353"]], ["10.96.0.10|80|TCP", ["10.0.1.1|8080"]]]),
    );
    expect(bpftoolDump(`${dir}/backends`)).toHaveLength(2);
  });

  it("at restart deletes orphan slots and rewrites ranges whose slots went missing", () => {
    const dir = freshDir("orphans");
    const first = Datapath.open({ pinDir: dir, sizes: SMALL });
    first.sync([web], [webSlice]);
    first.close();
    // Simulate a crash between writing a range and pointing a frontend at it.
    const fd = openPinned(`${dir}/backends`)!;
    updateElem(fd, encodeSlot(900), encodeBackend({ address: "10.9.9.9", port: 1 }), "orphan");
    closeBpfFd(fd);
    const second = open(dir);
    expect(bpftoolDump(`${dir}/backends`).map((e) => e.key[0] | (e.key[1] << 8))).not.toContain(900);
    expect(second.sync([web], [webSlice])).toMatchObject({ upserted: 0, unchanged: 4 });
    agreed(second);
  });

  it("recreates a pinned map whose layout differs, with a warning", () => {
    const dir = freshDir("compat");
    open(dir).close();
    // An older layout of the services map: 16-byte values.
    removePinDir(`${dir}/services`);
    const old = createMap({ ...mapSpecs(SMALL).services, valueSize: 16 });
    pinObject(old, `${dir}/services`);
    closeBpfFd(old);
    const warnings: string[] = [];
    const log = { warn: (m: string, f?: Record<string, unknown>) => warnings.push(`${m} ${JSON.stringify(f)}`) };
    const dp = open(dir, { log: { ...log, info() {}, debug() {}, error() {}, child: () => log as never } as never });
    expect(dp.opened.recreated).toEqual([{ name: "services", reason: "value size is 16, expected 8" }]);
    expect(warnings.join("\n")).toContain("Recreated BPF map with a different layout");
    expect(bpftoolShow(`${dir}/services`).bytes_value).toBe(8);
    // Different max entries (a changed size flag) also recreates.
    dp.close();
    const bigger = open(dir, { sizes: { ...SMALL, frontends: 512 } });
    expect(bigger.opened.recreated.map((r) => r.name)).toEqual(["services"]);
    expect(bigger.opened.recreated[0].reason).toBe("max entries is 256, expected 512");
  });

  it("reports a full backends map per frontend, keeps the rest, and retries later", () => {
    const dp = open(freshDir("full"), { sizes: { frontends: 16, backendSlots: 3, flows: 16 } });
    const a = service({ name: "a", clusterIPs: ["10.96.1.1"], ports: [{ port: 80 }] });
    const b = service({ name: "b", clusterIPs: ["10.96.1.2"], ports: [{ port: 80 }] });
    const r = dp.sync([a, b], [
      slice("a", "a1", ["10.1.0.1", "10.1.0.2"], [{ port: 80 }]),
      slice("b", "b1", ["10.2.0.1", "10.2.0.2"], [{ port: 80 }]),
    ]);
    expect(r.upserted).toBe(1);
    expect(r.failed).toEqual([{ frontend: "10.96.1.2|80|TCP", error: "Cannot store 2 backends: the backends map has 1 free slots of 3 in one piece or less" }]);
    expect(agreed(dp).size).toBe(1);
    // Once slots are free again, the next change retries the failed frontend.
    expect(dp.deleteService("default/a")).toMatchObject({ upserted: 1, deleted: 1, failed: [] });
    expect(agreed(dp)).toEqual(new Map([["10.96.1.2|80|TCP", ["10.2.0.1|80", "10.2.0.2|80"]]]));
  });

  it("lets the first Service win a frontend two Services claim, and hands it over on delete", () => {
    const dp = open(freshDir("claims"));
    const a = service({ name: "a", lbIPs: ["192.0.2.50"], ports: [{ port: 80 }] });
    const b = service({ name: "b", lbIPs: ["192.0.2.50"], ports: [{ port: 80 }] });
    const slices = [slice("a", "a1", ["10.1.0.1"], [{ port: 80 }]), slice("b", "b1", ["10.2.0.1"], [{ port: 80 }])];
    const r = dp.sync([b, a], slices);
    expect(r.conflicts).toEqual([{ frontend: "192.0.2.50|80|TCP", services: ["default/a", "default/b"] }]);
    expect(agreed(dp).get("192.0.2.50|80|TCP")).toEqual(["10.1.0.1|80"]);
    dp.deleteService("default/a");
    expect(agreed(dp).get("192.0.2.50|80|TCP")).toEqual(["10.2.0.1|80"]);
  });
});

describe("openDatapath()", () => {
  it("returns the reason --no-datapath gives", () => {
    expect(openDatapath({ disabled: true })).toEqual({ ok: false, reason: "disabled with --no-datapath" });
  });

  it("returns one clear reason when the pin directory is not on bpffs", () => {
    const dir = `/tmp/herald_not_bpffs_${process.pid}`;
    expect(openDatapath({ pinDir: dir })).toEqual({
      ok: false,
      reason: `Cannot use BPF pin directory "${dir}": it is not on a BPF file system (mount -t bpf bpf DIR)`,
    });
    expect(existsSync(dir)).toBe(false);
  });

  it("returns one clear reason for a pin directory name with a dot", () => {
    const r = openDatapath({ pinDir: `/sys/fs/bpf/herald.test${process.pid}` });
    expect(r).toEqual({
      ok: false,
      reason: `Cannot use BPF pin directory "/sys/fs/bpf/herald.test${process.pid}": bpffs refuses names with dots`,
    });
  });

  it("returns one clear reason when the program cannot be read", () => {
    const dir = freshDir("noprog");
    writeFileSync(`/tmp/herald_bad_object_${process.pid}`, "not an ELF file");
    cleanup.push(() => removePinDir(`/tmp/herald_bad_object_${process.pid}`));
    const r = openDatapath({ pinDir: dir, sizes: SMALL, devices: ["lo"], attach: { object: "/nonexistent/herald_lb.o" } });
    expect(r).toEqual({ ok: false, reason: 'Cannot read BPF object "/nonexistent/herald_lb.o": ENOENT (build it with bpf/build)' });
    const bad = openDatapath({ pinDir: dir, sizes: SMALL, devices: ["lo"], attach: { object: `/tmp/herald_bad_object_${process.pid}` } });
    expect(bad.ok).toBe(false);
    expect((bad as { reason: string }).reason).toMatch(/^Cannot open BPF object for "herald_lb": /);
  });

  it("opens the maps when the kernel allows it", () => {
    const r = openDatapath({ pinDir: freshDir("ok"), sizes: SMALL });
    expect(r.ok).toBe(true);
    if (r.ok) r.datapath.close();
  });
});
