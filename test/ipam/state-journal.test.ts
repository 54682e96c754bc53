/**
 * File-mode state on disk: snapshot (lbipam.json) + journal (lbipam.journal).
 * A save costs what changed; a crash mid-append loses only that save; any
 * other damage is refused, as for the snapshot (I12: a restart never moves
 * an address, so a state herald cannot trust is never started from).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LbIpamState, StateFileError } from "../../src/ipam/state-file.ts";
import { type JournalChanges, replayJournal } from "../../src/ipam/state-journal.ts";
import { loadState, MIN_JOURNAL_BYTES, saveState, StateStore } from "../../src/ipam/state-store.ts";

const status = (ip: string) => ({
  loadBalancer: { ingress: [{ ip }] },
  conditions: [{ type: "cilium.io/IPAMRequestSatisfied", status: "True" as const, lastTransitionTime: "2026-01-01T00:00:00Z", reason: "satisfied", message: "" }],
});
const ipOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** A state of n Services (s0…) and one pool. */
function stateOf(n: number): LbIpamState {
  const services: LbIpamState["services"] = {};
  for (let i = 0; i < n; i++) services[`default/s${i}`] = status(ipOf(i));
  return { services, pools: { a: { firstSeen: "2026-01-01T00:00:00Z", status: { conditions: [] } } } };
}

/** Applies `changes` to a copy of `state`, the way a restart must see them. */
function applied(state: LbIpamState, ...all: JournalChanges[]): LbIpamState {
  const out = structuredClone(state);
  for (const c of all) {
    for (const [k, v] of Object.entries(c.services)) v === null ? delete out.services[k] : (out.services[k] = v);
    for (const [k, v] of Object.entries(c.pools)) v === null ? delete out.pools[k] : (out.pools[k] = v);
  }
  return out;
}

let dir: string;
let snapshot: string;
let journal: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herald-lbipam-journal-"));
  snapshot = join(dir, "lbipam.json");
  journal = join(dir, "lbipam.journal");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A store over `base` (written as the snapshot), opened. */
async function storeWith(base: LbIpamState): Promise<StateStore> {
  await saveState(dir, base);
  const store = new StateStore(dir);
  await store.open();
  return store;
}

describe("StateStore: a save costs what changed", () => {
  it("appends one short line per save and leaves a 2,000-Service snapshot untouched", async () => {
    const base = stateOf(2000);
    const store = await storeWith(base);
    const before = readFileSync(snapshot, "utf8");
    const changes: JournalChanges[] = [];
    for (let i = 0; i < 20; i++) {
      const c: JournalChanges = { services: { [`default/s${i}`]: i % 2 ? null : status(ipOf(5000 + i)) }, pools: {} };
      changes.push(c);
      expect(await store.save(c, () => applied(base, ...changes))).toBe("journal");
    }
    expect(readFileSync(snapshot, "utf8")).toBe(before);
    const lines = readFileSync(journal, "utf8").split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(20);
    for (const l of lines) expect(l.length).toBeLessThan(600);
    expect(before.length).toBeGreaterThan(400_000);
    expect(await loadState(dir)).toEqual(applied(base, ...changes));
  });

  it("writes a snapshot first when there is none, then journals", async () => {
    const store = new StateStore(dir);
    expect((await store.open()).fresh).toBe(true);
    const s = stateOf(3);
    expect(await store.save({ services: {}, pools: {} }, () => s)).toBe("snapshot");
    expect(existsSync(journal)).toBe(false);
    const c: JournalChanges = { services: { "default/x": status("10.9.9.9") }, pools: {} };
    expect(await store.save(c, () => applied(s, c))).toBe("journal");
    expect(await loadState(dir)).toEqual(applied(s, c));
  });

  it("compacts once the journal would outgrow the snapshot (and MIN_JOURNAL_BYTES): new snapshot, no journal", async () => {
    const base = stateOf(2);
    const store = await storeWith(base);
    const changes: JournalChanges[] = [];
    let kinds: string[] = [];
    let journalled = 0;
    for (let i = 0; kinds.at(-1) !== "snapshot"; i++) {
      const c: JournalChanges = { services: { [`default/n${i}`]: status(ipOf(100 + i)) }, pools: {} };
      changes.push(c);
      kinds.push(await store.save(c, () => applied(base, ...changes)));
      if (kinds.at(-1) === "journal") journalled = statSync(journal).size;
      expect(i).toBeLessThan(10_000);
    }
    expect(journalled).toBeGreaterThan(MIN_JOURNAL_BYTES - 1000);
    expect(journalled).toBeLessThanOrEqual(MIN_JOURNAL_BYTES);
    expect(existsSync(journal)).toBe(false);
    expect(await loadState(dir)).toEqual(applied(base, ...changes));
    // And journals again after it.
    kinds = [];
    const c: JournalChanges = { services: { "default/after": status("10.8.8.8") }, pools: {} };
    expect(await store.save(c, () => applied(base, ...changes, c))).toBe("journal");
    expect(await loadState(dir)).toEqual(applied(base, ...changes, c));
  });
});

describe("StateStore: crashes and damage", () => {
  const one: JournalChanges = { services: { "default/s0": null, "default/new": status("10.7.0.1") }, pools: {} };
  const two: JournalChanges = { services: { "default/s1": status("10.7.0.2") }, pools: { b: { firstSeen: "2026-02-01T00:00:00Z", status: {} } } };

  async function twoSaves(): Promise<{ base: LbIpamState; text: string }> {
    const base = stateOf(3);
    const store = await storeWith(base);
    await store.save(one, () => applied(base, one));
    await store.save(two, () => applied(base, one, two));
    return { base, text: readFileSync(journal, "utf8") };
  }

  it("a torn last line (a save cut short) is dropped, its size reported, cut from the file, and appends go on", async () => {
    const { base, text } = await twoSaves();
    const cut = text.length - 7;
    writeFileSync(journal, text.slice(0, cut));
    const store = new StateStore(dir);
    const opened = await store.open();
    expect(opened.journal).toMatchObject({ records: 1, tornBytes: cut - text.indexOf("\n") - 1, stale: false });
    expect(opened.state).toEqual(applied(base, one));
    expect(readFileSync(journal, "utf8")).toBe(text.slice(0, text.indexOf("\n") + 1));
    await store.save(two, () => applied(base, one, two));
    expect(await loadState(dir)).toEqual(applied(base, one, two));
  });

  it("every torn prefix of the journal gives the state of the saves completed before it, never part of one", async () => {
    const { base, text } = await twoSaves();
    const firstEnd = text.indexOf("\n") + 1;
    for (let n = 0; n <= text.length; n++) {
      const got = applied(base);
      replayJournal(text.slice(0, n), (await storeSha()), got, journal);
      const want = n === text.length ? applied(base, one, two) : n >= firstEnd ? applied(base, one) : applied(base);
      expect(got, `cut at ${n}`).toEqual(want);
    }
  });

  it("refuses every changed byte of a complete line that changes what it says (checksum, seq, base, shape)", async () => {
    const { base, text } = await twoSaves();
    const sha = await storeSha();
    const lastNewline = text.length - 1;
    for (let n = 0; n < text.length; n++) {
      for (const c of ["0", "7", "a", " ", "}", "\"", "\n"]) {
        if (text[n] === c) continue;
        const bad = text.slice(0, n) + c + text.slice(n + 1);
        const got = applied(base);
        let result: ReturnType<typeof replayJournal>;
        try {
          result = replayJournal(bad, sha, got, journal);
        } catch (e) {
          expect(e, `${JSON.stringify(c)} at ${n}`).toBeInstanceOf(StateFileError);
          expect((e as Error).message).toMatch(/^Cannot load LB-IPAM state ".*lbipam\.journal": line \d: /);
          continue;
        }
        // Accepted: the same content in another layout, or the last newline gone (a torn last save, dropped).
        if (n === lastNewline) expect(got, `${JSON.stringify(c)} at ${n}`).toEqual(applied(base, one));
        else if (result.stale) expect(n, `${JSON.stringify(c)} at ${n} made the journal stale`).toBeLessThan(text.indexOf(",\"seq\""));
        else expect(got, `${JSON.stringify(c)} at ${n} accepted`).toEqual(applied(base, one, two));
      }
    }
  });

  it("a lost line is refused with its line number (seq)", async () => {
    const { text } = await twoSaves();
    writeFileSync(journal, text.slice(text.indexOf("\n") + 1));
    await expect(new StateStore(dir).open()).rejects.toThrow(`Cannot load LB-IPAM state "${journal}": line 1: seq must be 1: current value is 2 (a line lost or repeated)`);
  });

  it("a journal left from before a compaction (another base) is ignored, and the next save compacts", async () => {
    const { base, text } = await twoSaves();
    const whole = applied(base, one, two);
    await saveState(dir, whole);
    writeFileSync(journal, text); // as if the crash came between the snapshot's rename and the journal's removal
    const store = new StateStore(dir);
    const opened = await store.open();
    expect(opened.journal).toMatchObject({ records: 0, stale: true });
    expect(opened.state).toEqual(whole);
    const c: JournalChanges = { services: { "default/z": status("10.6.0.1") }, pools: {} };
    expect(await store.save(c, () => applied(whole, c))).toBe("snapshot");
    expect(existsSync(journal)).toBe(false);
    expect(await loadState(dir)).toEqual(applied(whole, c));
  });

  it("a journal without its snapshot (moved away to start afresh) is ignored, and removed by the first save", async () => {
    await twoSaves();
    rmSync(snapshot);
    const store = new StateStore(dir);
    expect(await store.open()).toEqual({ state: { services: {}, pools: {} }, fresh: true, journal: null });
    expect(await loadState(dir)).toBeNull();
    await store.save({ services: {}, pools: {} }, () => stateOf(1));
    expect(existsSync(journal)).toBe(false);
    expect(await loadState(dir)).toEqual(stateOf(1));
  });

  /** The checksum of the snapshot on disk (what journal lines name as base). */
  async function storeSha(): Promise<string> {
    return (JSON.parse(readFileSync(snapshot, "utf8")) as { sha256: string }).sha256;
  }
});
