/**
 * ServiceTable: the order of writes that keeps the BPF program safe, shared
 * backend lists, partial failures and restart adoption, against a recording
 * MapWriter (no kernel).
 */
import { describe, expect, it } from "vitest";
import { ServiceTable } from "../../src/datapath/table.ts";
import type { MapWriter } from "../../src/datapath/table.ts";
import { backendSortKey, frontendId } from "../../src/datapath/layout.ts";
import type { Backend, Frontend, SlotRange } from "../../src/datapath/layout.ts";
import type { DesiredFrontend } from "../../src/datapath/desired.ts";

/** Records every write, and keeps what a reader of the maps would see. */
class Recorder implements MapWriter {
  log: string[] = [];
  backends = new Map<number, Backend>();
  frontends = new Map<string, SlotRange>();
  failOn?: (op: string) => boolean;
  #do(op: string, fn: () => void) {
    if (this.failOn?.(op)) throw new Error(`Cannot write ${op}: E2BIG (map is full)`);
    this.log.push(op);
    fn();
    // Invariant: no frontend ever points at a missing slot.
    for (const [id, r] of this.frontends) {
      for (let s = r.first; s < r.first + r.count; s++) {
        if (!this.backends.has(s)) throw new Error(`after ${op}: ${id} points at missing slot ${s}`);
      }
    }
  }
  putBackend(slot: number, be: Backend) {
    this.#do(`put slot ${slot}=${be.address}`, () => this.backends.set(slot, be));
  }
  deleteBackend(slot: number) {
    this.#do(`del slot ${slot}`, () => this.backends.delete(slot));
  }
  putFrontend(f: Frontend, r: SlotRange) {
    this.#do(`put ${f.address} -> ${r.first}+${r.count}`, () => this.frontends.set(frontendId(f), { first: r.first, count: r.count }));
  }
  deleteFrontend(f: Frontend) {
    this.#do(`del ${f.address}`, () => this.frontends.delete(frontendId(f)));
  }
}

function want(address: string, ips: string[]): DesiredFrontend {
  const frontend: Frontend = { address, port: 80, protocol: "TCP" };
  const backends = ips.map((ip) => ({ address: ip, port: 8080 }));
  return { id: frontendId(frontend), frontend, backends, content: backends.map(backendSortKey).join("") };
}

describe("ServiceTable", () => {
  it("writes backends first, flips the frontend, then frees the old slots", () => {
    const w = new Recorder();
    const t = new ServiceTable(w, 16);
    t.apply([[want("192.0.2.1", []).id, want("192.0.2.1", ["10.0.0.1", "10.0.0.2"])]]);
    w.log = [];
    t.apply([[want("192.0.2.1", []).id, want("192.0.2.1", ["10.0.0.3"])]]);
    expect(w.log).toEqual(["put slot 2=10.0.0.3", "put 192.0.2.1 -> 2+1", "del slot 0", "del slot 1"]);
  });

  it("deletes a frontend before its slots", () => {
    const w = new Recorder();
    const t = new ServiceTable(w, 16);
    const f = want("192.0.2.1", ["10.0.0.1"]);
    t.apply([[f.id, f]]);
    w.log = [];
    expect(t.apply([[f.id, null]])).toMatchObject({ deleted: 1 });
    expect(w.log).toEqual(["del 192.0.2.1", "del slot 0"]);
  });

  it("shares one range between frontends with the same backends, freed with the last of them", () => {
    const w = new Recorder();
    const t = new ServiceTable(w, 16);
    const a = want("192.0.2.1", ["10.0.0.1"]);
    const b = want("10.96.0.1", ["10.0.0.1"]);
    t.apply([[a.id, a], [b.id, b]]);
    expect([...w.backends.keys()]).toEqual([0]);
    t.apply([[a.id, null]]);
    expect(w.backends.size).toBe(1);
    t.apply([[b.id, null]]);
    expect(w.backends.size).toBe(0);
    expect(t.stats()).toEqual({ frontends: 0, backendLists: 0, slotsUsed: 0, slotsFree: 16 });
  });

  it("a failed backend write undoes its range and leaves the frontend where it was", () => {
    const w = new Recorder();
    const t = new ServiceTable(w, 16);
    const f = want("192.0.2.1", ["10.0.0.1"]);
    t.apply([[f.id, f]]);
    w.failOn = (op) => op.startsWith("put slot 2");
    const r = t.apply([[f.id, want("192.0.2.1", ["10.0.0.2", "10.0.0.3", "10.0.0.4"])]]);
    expect(r).toMatchObject({ upserted: 0, failed: [{ frontend: f.id, error: "Cannot write put slot 2=10.0.0.3: E2BIG (map is full)" }] });
    expect(w.frontends.get(f.id)).toEqual({ first: 0, count: 1 });
    expect([...w.backends.keys()]).toEqual([0]); // slot 1 written, then removed with the range
    expect(t.stats().slotsUsed).toBe(1);
  });

  it("a failed frontend write keeps the new range only if someone uses it", () => {
    const w = new Recorder();
    const t = new ServiceTable(w, 16);
    w.failOn = (op) => op.startsWith("put 192.0.2.1");
    const r = t.apply([[want("192.0.2.1", []).id, want("192.0.2.1", ["10.0.0.1"])]]);
    expect(r.failed).toHaveLength(1);
    expect(w.backends.size).toBe(0);
    expect([...t.entries()]).toEqual([]);
  });

  it("adopt() takes over shared ranges, marks broken ones stale and deletes orphan slots", () => {
    const w = new Recorder();
    const t = new ServiceTable(w, 16);
    const be = (ip: string) => ({ address: ip, port: 8080 });
    const slots = new Map([[0, be("10.0.0.1")], [1, be("10.0.0.2")], [5, be("10.0.0.9")], [7, be("10.0.0.7")]]);
    const fe = (address: string): Frontend => ({ address, port: 80, protocol: "TCP" });
    const orphans = t.adopt([
      [fe("192.0.2.1"), { first: 0, count: 2 }],
      [fe("10.96.0.1"), { first: 0, count: 2 }],
      [fe("192.0.2.2"), { first: 5, count: 2 }], // slot 6 is missing
    ], slots);
    expect(orphans).toBe(1);
    expect(w.log).toEqual(["del slot 7"]);
    expect(t.stats()).toMatchObject({ frontends: 3, backendLists: 2, slotsUsed: 4 });
    // The same list again: nothing to write. The broken range: rewritten, then freed.
    const same = want("192.0.2.1", ["10.0.0.1", "10.0.0.2"]);
    const fixed = want("192.0.2.2", ["10.0.0.9"]);
    w.log = [];
    expect(t.apply([[same.id, same], [fixed.id, fixed]])).toMatchObject({ upserted: 1, unchanged: 1 });
    expect(w.log).toEqual(["put slot 2=10.0.0.9", "put 192.0.2.2 -> 2+1", "del slot 5", "del slot 6"]);
  });
});
