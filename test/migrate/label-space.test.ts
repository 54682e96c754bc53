import { describe, expect, it } from "vitest";
import { selectorMatches } from "../../src/control/selector.ts";
import type { LabelSelector } from "../../src/control/schemas/meta.ts";
import {
  andSelectors,
  conjunctionOf,
  evalFormula,
  formulaOf,
  partition,
  PartitionTooLarge,
  satisfiable,
  selectorOf,
  spaceOf,
  UNIVERSE,
} from "../../src/migrate/label-space.ts";

const sel = (s: LabelSelector) => s;

/** Label sets to probe selectors with: every combination of a few keys and values. */
function probes(): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const rack of [undefined, "r1", "r2", "r3"]) {
    for (const zone of [undefined, "a", "b"]) {
      for (const gpu of [undefined, "yes"]) {
        const l: Record<string, string> = {};
        if (rack) l.rack = rack;
        if (zone) l.zone = zone;
        if (gpu) l.gpu = gpu;
        out.push(l);
      }
    }
  }
  return out;
}

describe("partition()", () => {
  const selectors: LabelSelector[] = [
    { matchLabels: { rack: "r1" } },
    { matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }, { key: "gpu", operator: "DoesNotExist" }] },
    { matchExpressions: [{ key: "rack", operator: "NotIn", values: ["r2"] }] },
  ];

  it("gives disjoint classes that cover the base, with every formula decided on each", () => {
    const leaves = partition(UNIVERSE, selectors.map((s) => formulaOf([s], "everything")));
    for (const labels of probes()) {
      const holding = leaves.filter((l) => selectorMatches(selectorOf(l.space) ?? {}, labels));
      expect(holding, JSON.stringify(labels)).toHaveLength(1);
      selectors.forEach((s, i) => expect(holding[0].values[i]).toBe(selectorMatches(s, labels)));
    }
  });

  it("keeps the base constraint and merges siblings that decide alike", () => {
    const base = spaceOf({ matchLabels: { rack: "r1" } })!;
    const leaves = partition(base, [formulaOf([{ matchLabels: { rack: "r1" } }], "everything")]);
    expect(leaves).toHaveLength(1);
    expect(selectorOf(leaves[0].space)).toEqual({ matchLabels: { rack: "r1" } });
    expect(leaves[0].values).toEqual([true]);
  });

  it("treats a list of selectors as OR, an empty list as everything or nothing", () => {
    const f = formulaOf([{ matchLabels: { rack: "r1" } }, { matchLabels: { rack: "r2" } }], "everything");
    expect(evalFormula(spaceOf({ matchLabels: { rack: "r2" } })!, f)).toBe(true);
    expect(evalFormula(spaceOf({ matchLabels: { rack: "r3" } })!, f)).toBe(false);
    expect(evalFormula(UNIVERSE, f)).toBe(null);
    expect(evalFormula(UNIVERSE, formulaOf([], "everything"))).toBe(true);
    expect(evalFormula(UNIVERSE, formulaOf(undefined, "nothing"))).toBe(false);
  });

  it("throws PartitionTooLarge past the limit", () => {
    const many = Array.from({ length: 10 }, (_, i) => formulaOf([{ matchLabels: { [`k${i}`]: "v" } }], "everything"));
    expect(() => partition(UNIVERSE, many, 16)).toThrow(PartitionTooLarge);
  });
});

describe("selector algebra", () => {
  it("andSelectors() is null when the selectors exclude each other, else their conjunction", () => {
    expect(andSelectors({ matchLabels: { a: "1" } }, { matchLabels: { a: "2" } })).toBeNull();
    expect(andSelectors({ matchLabels: { a: "1" } }, { matchExpressions: [{ key: "a", operator: "DoesNotExist" }] })).toBeNull();
    expect(andSelectors({ matchLabels: { a: "1" } }, null)).toEqual({ selector: { matchLabels: { a: "1" } } });
    expect(andSelectors({}, null)).toEqual({ selector: null });
    const both = andSelectors({ matchExpressions: [{ key: "a", operator: "In", values: ["1", "2"] }] }, { matchExpressions: [{ key: "a", operator: "NotIn", values: ["2"] }] });
    expect(both).toEqual({ selector: { matchLabels: { a: "1" } } });
  });

  it("satisfiable() follows Kubernetes semantics: a missing key satisfies NotIn", () => {
    expect(satisfiable(conjunctionOf(sel({ matchExpressions: [{ key: "a", operator: "NotIn", values: ["x"] }] })), conjunctionOf({ matchExpressions: [{ key: "a", operator: "DoesNotExist" }] }))).toBe(true);
    expect(satisfiable(conjunctionOf({ matchExpressions: [{ key: "a", operator: "Exists" }] }), conjunctionOf({ matchExpressions: [{ key: "a", operator: "DoesNotExist" }] }))).toBe(false);
  });

  it("selectorOf() turns every class shape back into a selector that matches exactly it", () => {
    const cases: LabelSelector[] = [
      { matchExpressions: [{ key: "a", operator: "Exists" }, { key: "a", operator: "NotIn", values: ["x"] }] },
      { matchExpressions: [{ key: "a", operator: "NotIn", values: ["x", "y"] }] },
      { matchExpressions: [{ key: "a", operator: "In", values: ["x", "y"] }] },
      { matchExpressions: [{ key: "a", operator: "DoesNotExist" }] },
    ];
    for (const c of cases) {
      const back = selectorOf(spaceOf(c)!)!;
      for (const labels of [{}, { a: "x" }, { a: "y" }, { a: "z" }] as Record<string, string>[]) expect(selectorMatches(back, labels)).toBe(selectorMatches(c, labels));
    }
  });
});
