import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeState, encodeState, StateFileError } from "../../src/ipam/state-file.ts";
import { loadState, saveState } from "../../src/ipam/state-store.ts";
import type { LbIpamState } from "../../src/ipam/state-file.ts";

const state: LbIpamState = {
  services: {
    "default/web": {
      loadBalancer: { ingress: [{ ip: "10.0.0.1" }] },
      conditions: [{ type: "cilium.io/IPAMRequestSatisfied", status: "True", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z", reason: "satisfied", message: "" }],
    },
  },
  pools: { a: { firstSeen: "2026-01-01T00:00:00Z", status: { conditions: [] } } },
};

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herald-lbipam-state-"));
  file = join(dir, "lbipam.json");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("saveState()/loadState()", () => {
  it("round-trips the state and leaves no temporary file", async () => {
    await saveState(dir, state);
    expect(await loadState(dir)).toEqual(state);
    expect(readdirSync(dir)).toEqual(["lbipam.json"]);
    const env = JSON.parse(readFileSync(file, "utf8"));
    expect(env).toMatchObject({ kind: "HeraldLbIpamState", version: 1 });
    expect(env.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("returns null when there is no state file (first start)", async () => {
    expect(await loadState(dir)).toBeNull();
  });

  it("creates the state directory", async () => {
    await saveState(join(dir, "sub", "dir"), state);
    expect(await loadState(join(dir, "sub", "dir"))).toEqual(state);
  });

  it("removes temporaries of an interrupted save and keeps the intact file", async () => {
    await saveState(dir, state);
    writeFileSync(join(dir, ".lbipam.json.tmp-123"), "{ half");
    expect(await loadState(dir)).toEqual(state);
    expect(readdirSync(dir)).toEqual(["lbipam.json"]);
  });
});

describe("damaged state files are detected, never reset", () => {
  const damaged = async (text: string) => {
    writeFileSync(file, text);
    const err = await loadState(dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as StateFileError).file).toBe(file);
    expect((err as Error).message).toContain(`Cannot load LB-IPAM state "${file}": `);
    return (err as Error).message;
  };

  it("a torn write (the file cut short)", async () => {
    const good = encodeState(state);
    expect(await damaged(good.slice(0, Math.floor(good.length / 2)))).toContain("the file is not complete JSON, it looks torn or damaged");
  });

  it("an empty file", async () => {
    expect(await damaged("")).toContain("the file is empty");
  });

  it("a changed byte (checksum mismatch)", async () => {
    const bad = encodeState(state).replace("10.0.0.1", "10.0.0.7");
    expect(await damaged(bad)).toMatch(/checksum mismatch: the file says sha256 [0-9a-f]{64}, its content hashes to [0-9a-f]{64}/);
  });

  it("another version", async () => {
    const env = JSON.parse(encodeState(state));
    expect(await damaged(JSON.stringify({ ...env, version: 2 }))).toContain("version must be 1: current value is 2");
  });

  it("not a state file at all", async () => {
    expect(await damaged(JSON.stringify({ hello: "world" }))).toContain(`kind must be "HeraldLbIpamState"`);
  });

  it("content of the wrong shape, even with a matching checksum", async () => {
    const bad = { services: { x: { loadBalancer: { ingress: "10.0.0.1" } } }, pools: {} };
    const text = encodeState(bad as never);
    expect(await damaged(text)).toContain("unexpected content: state.services.x.loadBalancer.ingress");
  });

  it("refuses every torn prefix of a file (a write cut short anywhere)", () => {
    const good = encodeState(state);
    for (let n = 0; n < good.length; n++) {
      let got: unknown;
      try {
        got = decodeState(good.slice(0, n), file);
      } catch (e) {
        expect(e, `cut at ${n}`).toBeInstanceOf(StateFileError);
        continue;
      }
      // Only the trailing newline may go: the content is then complete.
      expect(good.slice(n).trim(), `cut at ${n} accepted`).toBe("");
      expect(got).toEqual(state);
    }
  });

  it("refuses every changed byte that changes what the file says (checksum, kind, version, shape)", () => {
    const good = encodeState(state);
    for (let n = 0; n < good.length; n++) {
      for (const c of ["0", "7", "a", " ", "}", "\"", "x"]) {
        if (good[n] === c) continue;
        const bad = good.slice(0, n) + c + good.slice(n + 1);
        let got: unknown;
        try {
          got = decodeState(bad, file);
        } catch (e) {
          expect(e, `${JSON.stringify(c)} at ${n}`).toBeInstanceOf(StateFileError);
          continue;
        }
        // Accepted only when it says the same (a change in the layout, not in the content).
        expect(got, `${JSON.stringify(c)} at ${n} accepted`).toEqual(state);
      }
    }
  });

  it("says what to do about it", () => {
    expect(() => decodeState("", "/x/lbipam.json")).toThrow("restore the file or move it away");
  });
});
