/** planChanges() and FrontendClaims: the diff and who owns a frontend (pure). */
import { describe, expect, it } from "vitest";
import { planChanges } from "../../src/datapath/plan.ts";
import { FrontendClaims } from "../../src/datapath/claims.ts";
import type { DesiredFrontend } from "../../src/datapath/desired.ts";

const fe = (id: string, content: string): DesiredFrontend => ({
  id,
  frontend: { address: id.split("|")[0], port: 80, protocol: "TCP" },
  backends: content ? [{ address: "10.0.0.1", port: Number(content) }] : [],
  content,
});

describe("planChanges()", () => {
  it("writes new backend lists once, flips changed frontends, deletes unwanted ones and skips equal ones", () => {
    const running = new Map([["a", { content: "1" }], ["b", { content: "1" }], ["c", { content: "2" }]]);
    const ranges = new Set(["1", "2"]);
    const plan = planChanges(running, ranges, [
      ["a", fe("a", "1")], // unchanged
      ["b", fe("b", "3")], // moves to a new list
      ["d", fe("d", "3")], // new, shares that list
      ["e", fe("e", "2")], // new, existing list
      ["c", null], // deleted
      ["z", null], // absent already
    ]);
    expect([...plan.newRanges.keys()]).toEqual(["3"]);
    expect(plan.flips.map((f) => f.id)).toEqual(["b", "d", "e"]);
    expect(plan.deletes).toEqual(["c"]);
    expect(plan.unchanged).toBe(2);
  });
});

describe("FrontendClaims", () => {
  it("set() reports only frontends whose desired state changed", () => {
    const c = new FrontendClaims();
    expect([...c.set("ns/a", [fe("x", "1"), fe("y", "1")])].sort()).toEqual(["x", "y"]);
    expect([...c.set("ns/a", [fe("x", "1"), fe("y", "2")])]).toEqual(["y"]);
    expect([...c.set("ns/a", [fe("x", "1")])]).toEqual(["y"]);
    expect(c.resolve("y")).toBeNull();
    expect([...c.set("ns/a", undefined)]).toEqual(["x"]);
    expect([...c.services()]).toEqual([]);
  });

  it("the first namespace/name wins a shared frontend; the next takes over when it leaves", () => {
    const c = new FrontendClaims();
    c.set("ns/b", [fe("x", "2")]);
    c.set("ns/a", [fe("x", "1")]);
    expect(c.resolve("x")?.content).toBe("1");
    expect(c.conflicts(["x"])).toEqual([{ frontend: "x", services: ["ns/a", "ns/b"] }]);
    c.set("ns/a", undefined);
    expect(c.resolve("x")?.content).toBe("2");
    expect(c.conflicts(["x"])).toEqual([]);
  });
});
