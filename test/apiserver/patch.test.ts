/** The double's patch formats, unit by unit (RFC 7386, RFC 6902, strategic merge). */
import { describe, expect, it } from "vitest";
import { createMergePatch, jsonPatch, mergePatch, strategicMergePatch } from "../support/apiserver/patch.ts";
import { parseLabelSelector } from "../support/apiserver/selectors.ts";

describe("mergePatch()", () => {
  it("merges maps, deletes on null and replaces lists (RFC 7386)", () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] })).toEqual({ a: { c: 2, d: 3 }, l: [3] });
  });

  it("createMergePatch() produces the patch that turns one value into another", () => {
    const from = { a: 1, b: { c: 2, d: 3 }, e: [1] };
    const to = { b: { c: 2, d: 4 }, e: [1, 2], f: "x" };
    const patch = createMergePatch(from, to);
    expect(patch).toEqual({ a: null, b: { d: 4 }, e: [1, 2], f: "x" });
    expect(mergePatch(from, patch)).toEqual(to);
  });
});

describe("jsonPatch()", () => {
  it("applies add, remove, replace, move, copy and test (RFC 6902)", () => {
    const doc = { a: [1, 2], b: { c: "x" } };
    const out = jsonPatch(doc, [
      { op: "add", path: "/a/-", value: 3 },
      { op: "add", path: "/a/0", value: 0 },
      { op: "remove", path: "/a/1" },
      { op: "replace", path: "/b/c", value: "y" },
      { op: "copy", from: "/b/c", path: "/d" },
      { op: "move", from: "/d", path: "/e~1f" },
      { op: "test", path: "/e~1f", value: "y" },
    ]);
    expect(out).toEqual({ a: [0, 2, 3], b: { c: "y" }, "e/f": "y" });
    expect(doc).toEqual({ a: [1, 2], b: { c: "x" } });
  });

  it("rejects a failed test or a missing target with 422 and an unknown op with 400", () => {
    expect(() => jsonPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }])).toThrow(expect.objectContaining({ code: 422 }));
    expect(() => jsonPatch({ a: 1 }, [{ op: "replace", path: "/b", value: 2 }])).toThrow(expect.objectContaining({ code: 422 }));
    expect(() => jsonPatch({ a: 1 }, [{ op: "frob", path: "/a" }])).toThrow(expect.objectContaining({ code: 400 }));
  });
});

describe("strategicMergePatch()", () => {
  const meta = {
    fields: {
      spec: { fields: { ports: { strategy: "merge" as const, mergeKey: "port" }, podCIDRs: { strategy: "merge" as const } } },
      metadata: { fields: { finalizers: { strategy: "merge" as const } } },
    },
  };

  it("merges keyed lists by merge key and replaces lists without patch metadata", () => {
    const out = strategicMergePatch(
      { spec: { ports: [{ port: 80, name: "a" }], externalIPs: ["1.1.1.1"] } },
      { spec: { ports: [{ port: 80, protocol: "TCP" }, { port: 443 }], externalIPs: ["2.2.2.2"] } },
      meta,
    );
    expect(out).toEqual({ spec: { ports: [{ port: 80, name: "a", protocol: "TCP" }, { port: 443 }], externalIPs: ["2.2.2.2"] } });
  });

  it("unions primitive merge lists and honours $deleteFromPrimitiveList", () => {
    const out = strategicMergePatch(
      { metadata: { finalizers: ["a", "b"] } },
      { metadata: { finalizers: ["c"], "$deleteFromPrimitiveList/finalizers": ["a"] } },
      meta,
    );
    expect(out.metadata.finalizers).toEqual(["b", "c"]);
  });

  it("honours $patch: replace and $patch: delete on maps, and $retainKeys", () => {
    expect(strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $patch: "replace", c: 3 } }, meta)).toEqual({ spec: { c: 3 } });
    expect(strategicMergePatch({ spec: { a: 1 }, x: 1 }, { spec: { $patch: "delete" } }, meta)).toEqual({ x: 1 });
    expect(strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $retainKeys: ["b", "c"], c: 3 } }, meta)).toEqual({ spec: { b: 2, c: 3 } });
  });
});

describe("parseLabelSelector()", () => {
  it("follows Kubernetes semantics: != and notin match objects without the key", () => {
    const m = parseLabelSelector("a!=x,b notin (y, z)");
    expect(m({})).toBe(true);
    expect(m({ a: "x" })).toBe(false);
    expect(m({ b: "z" })).toBe(false);
    expect(parseLabelSelector("")({ any: "thing" })).toBe(true);
  });
});
