import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, renameSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSource } from "../../src/source/file-source.ts";
import type { ParsedDocument, SourceEvent } from "../../src/source/types.ts";
import type { ManifestDocument } from "../../src/source/manifest.ts";

/** A stand-in registry: documents need kind and metadata.name; `bad: true` fails. */
function parse(doc: ManifestDocument): ParsedDocument {
  const v = doc.value as { kind?: string; metadata?: { name?: string }; bad?: boolean };
  const kind = v.kind;
  const key = v.metadata?.name;
  if (!kind || !key) return { ok: false, errors: [`${doc.file}:${doc.location.line}: kind and metadata.name are required`] };
  if (v.bad) return { ok: false, kind, key, errors: [`${doc.file}:${doc.locate(["bad"]).line}: bad must not be set`] };
  return { ok: true, kind, key, object: v, warnings: [] };
}

let dir: string;
let source: FileSource;
let batches: SourceEvent[][];

const summary = (events: SourceEvent[]) =>
  events.map((e) =>
    e.type === "upsert" ? `upsert ${e.resource.kind}/${e.resource.key}` : e.type === "delete" ? `delete ${e.kind}/${e.key}` : e.type
  );

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "herald-fs-"));
  batches = [];
});
afterEach(async () => {
  await source?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function startSource() {
  source = new FileSource(dir, { parse, debounceMs: 10 });
  await source.start((events) => batches.push(events));
}

describe("FileSource", () => {
  it("start() delivers every document of every .yaml/.yml file, recursively, as the first batch", async () => {
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\n---\nkind: A\nmetadata: {name: two}\n");
    writeFileSync(join(dir, "sub", "b.yml"), "kind: B\nmetadata: {name: three}\n");
    writeFileSync(join(dir, "notes.txt"), "kind: C\nmetadata: {name: ignored}\n");
    writeFileSync(join(dir, ".hidden.yaml"), "kind: C\nmetadata: {name: ignored}\n");
    await startSource();
    expect(batches).toHaveLength(1);
    expect(summary(batches[0]).sort()).toEqual(["upsert A/one", "upsert A/two", "upsert B/three"]);
    const origin = batches[0].find((e) => e.type === "upsert" && e.resource.key === "two");
    expect(origin?.type === "upsert" && origin.resource.origin).toEqual({ file: "a.yaml", line: 4 });
  });

  it("start() delivers an empty first batch for an empty directory", async () => {
    await startSource();
    expect(batches).toEqual([[]]);
  });

  it("refresh() emits only the difference: changed, added and removed documents", async () => {
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\nx: 1\n---\nkind: A\nmetadata: {name: two}\n");
    await startSource();
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\nx: 2\n---\nkind: A\nmetadata: {name: three}\n");
    await source.refresh();
    expect(summary(batches.at(-1)!).sort()).toEqual(["delete A/two", "upsert A/one", "upsert A/three"]);
  });

  it("keeps the last good version in force when a document turns invalid, and reports where", async () => {
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\n");
    await startSource();
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\nbad: true\n");
    await source.refresh();
    const last = batches.at(-1)!;
    expect(summary(last)).toEqual(["invalid"]);
    expect(last[0].type === "invalid" && last[0].errors[0]).toBe("a.yaml:3: bad must not be set");
    // Fixing it brings the new version; deleting the file deletes the resource.
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\ny: 1\n");
    await source.refresh();
    expect(summary(batches.at(-1)!)).toEqual(["upsert A/one"]);
    unlinkSync(join(dir, "a.yaml"));
    await source.refresh();
    expect(summary(batches.at(-1)!)).toEqual(["delete A/one"]);
  });

  it("reports a YAML syntax error with its line and keeps the file's resources in force", async () => {
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\n---\nkind: A\nmetadata: {name: two}\n");
    await startSource();
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\n---\nkind: [oops\n");
    await source.refresh();
    const last = batches.at(-1)!;
    expect(summary(last)).toEqual(["invalid"]);
    // The yaml parser notices the unclosed flow sequence at the end of the document.
    expect(last[0].type === "invalid" && last[0].errors[0]).toMatch(/^Cannot parse YAML \(a\.yaml:5\): Flow sequence/);
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\n");
    await source.refresh();
    expect(summary(batches.at(-1)!)).toEqual(["delete A/two"]);
  });

  it("warns about a second definition of the same resource and keeps the first", async () => {
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\nfrom: a\n");
    writeFileSync(join(dir, "b.yaml"), "kind: A\nmetadata: {name: one}\nfrom: b\n");
    await startSource();
    const [first] = batches;
    expect(summary(first)).toEqual(["warning", "upsert A/one"]);
    expect(first[0].type === "warning" && first[0].message).toContain("already defined at a.yaml:1");
  });

  it("follows the directory by itself: an editor's atomic save is picked up", async () => {
    writeFileSync(join(dir, "a.yaml"), "kind: A\nmetadata: {name: one}\n");
    await startSource();
    writeFileSync(join(dir, ".a.yaml.tmp"), "kind: A\nmetadata: {name: renamed}\n");
    renameSync(join(dir, ".a.yaml.tmp"), join(dir, "a.yaml"));
    const deadline = Date.now() + 5000;
    while (batches.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(summary(batches[1]).sort()).toEqual(["delete A/one", "upsert A/renamed"]);
  });
});
