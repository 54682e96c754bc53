import { describe, expect, it } from "vitest";
import { findConflicts } from "../../src/ipam/conflicts.ts";
import type { ConflictPool } from "../../src/ipam/conflicts.ts";
import { parseBlock } from "../../src/ipam/range.ts";

const p = (name: string, ...cidrs: string[]): ConflictPool => ({
  name,
  ranges: cidrs.map((c, i) => parseBlock(c.includes("-") ? { start: c.split("-")[0], stop: c.split("-")[1] } : { cidr: c }, i, name)),
});

describe("findConflicts() (I5)", () => {
  it("marks the newer of two overlapping pools, naming both ranges and the older pool", () => {
    const out = findConflicts([p("old", "10.0.0.0/24"), p("new", "10.0.1.0/24", "10.0.0.128/25")]);
    expect([...out.keys()]).toEqual(["new"]);
    expect(out.get("new")).toEqual({ range: "10.0.0.128 - 10.0.0.255", otherRange: "10.0.0.0 - 10.0.0.255", otherPool: "old" });
  });

  it("marks a pool whose own blocks overlap, naming itself", () => {
    const out = findConflicts([p("self", "10.0.0.0/24", "10.0.0.5-10.0.0.6")]);
    expect(out.get("self")).toEqual({ range: "10.0.0.0 - 10.0.0.255", otherRange: "10.0.0.5 - 10.0.0.6", otherPool: "self" });
  });

  it("does not let a conflicting pool push a third one out", () => {
    // b overlaps a (so b conflicts); c overlaps only b: c is fine.
    const out = findConflicts([p("a", "10.0.0.0/24"), p("b", "10.0.0.0/23"), p("c", "10.0.1.0/24")]);
    expect([...out.keys()]).toEqual(["b"]);
  });

  it("treats families apart and touching ranges as disjoint", () => {
    const out = findConflicts([p("a", "10.0.0.0/24", "2001:db8::/64"), p("b", "10.0.1.0/24", "2001:db8:0:1::/64")]);
    expect(out.size).toBe(0);
  });

  it("names the oldest pool among several overlapped", () => {
    const out = findConflicts([p("a", "10.0.0.0/25"), p("b", "10.0.0.128/25"), p("c", "10.0.0.0/24")]);
    expect(out.get("c")?.otherPool).toBe("a");
  });
});
