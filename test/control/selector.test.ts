import { describe, expect, it } from "vitest";
import { LabelSelector } from "../../src/control/schemas/meta.ts";
import { matchesOrEverything, matchesOrNothing, selectorMatches, serviceLabels } from "../../src/control/selector.ts";

const labels = { app: "web", tier: "front" };

describe("selectorMatches()", () => {
  it.each([
    [{}, true],
    [{ matchLabels: { app: "web" } }, true],
    [{ matchLabels: { app: "db" } }, false],
    [{ matchExpressions: [{ key: "app", operator: "In", values: ["db", "web"] }] }, true],
    [{ matchExpressions: [{ key: "app", operator: "NotIn", values: ["web"] }] }, false],
    [{ matchExpressions: [{ key: "missing", operator: "NotIn", values: ["x"] }] }, true],
    [{ matchExpressions: [{ key: "tier", operator: "Exists" }] }, true],
    [{ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, false],
    [{ matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["back"] }] }, false],
  ] as const)("%j ⇒ %s", (sel, want) => {
    expect(selectorMatches(LabelSelector.parse(sel), labels)).toBe(want);
  });

  it("treats an absent selector as nothing or everything, as the caller says (spec §0.2)", () => {
    expect(matchesOrNothing(undefined, labels)).toBe(false);
    expect(matchesOrEverything(undefined, labels)).toBe(true);
    expect(matchesOrNothing({}, labels)).toBe(true);
  });

  it("refuses In without values and Exists with values", () => {
    expect(LabelSelector.safeParse({ matchExpressions: [{ key: "a", operator: "In" }] }).success).toBe(false);
    expect(LabelSelector.safeParse({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }).success)
      .toBe(false);
    expect(LabelSelector.safeParse({ matchExpressions: [{ key: "a", operator: "Matches", values: ["x"] }] }).success)
      .toBe(false);
  });

  it("adds the service pseudo-labels over real labels (spec §9.3)", () => {
    const l = serviceLabels({ "io.kubernetes.service.name": "fake", app: "x" }, "web", "prod");
    expect(l).toEqual({ app: "x", "io.kubernetes.service.name": "web", "io.kubernetes.service.namespace": "prod" });
  });
});
