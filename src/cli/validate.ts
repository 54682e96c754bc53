/**
 * `herald validate PATH…`: checks manifests offline. Schema errors and
 * cross-reference problems name file, line, field and the expected form;
 * warnings point out the silent traps (lint.ts). Exit 0 when there is no
 * error (warnings allowed), 1 otherwise, 2 on usage errors.
 *
 * @example
 * ```sh
 * herald validate examples/demo
 * ```
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseFlags, UsageError } from "./args.ts";
import { lintResources } from "../control/lint.ts";
import { loadManifests, type LoadResult } from "../control/load.ts";
import type { ManifestIssue } from "../control/schemas/mod.ts";

/** Directory scans take what the file source reads; JSON manifests only when named. */
const MANIFEST = /\.ya?ml$/i;

async function listDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith(".")) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...await listDir(path));
    else if (MANIFEST.test(e.name)) out.push(path);
  }
  return out.sort();
}

/**
 * Reads manifest files: each PATH is a file (read whatever its name) or a
 * directory (its .yaml/.yml files, recursively, hidden entries skipped, as
 * the file source reads it).
 */
export async function readManifestFiles(paths: readonly string[]): Promise<Array<{ file: string; text: string }>> {
  const files: string[] = [];
  for (const p of paths) {
    let info;
    try {
      info = await stat(p);
    } catch {
      throw new UsageError(`Cannot read "${p}": no such file or directory`);
    }
    files.push(...(info.isDirectory() ? await listDir(p) : [p]));
  }
  return Promise.all([...new Set(files)].map(async (file) => ({ file, text: await readFile(file, "utf8") })));
}

export interface ValidateReport {
  readonly files: number;
  readonly resources: number;
  readonly errors: ManifestIssue[];
  readonly warnings: ManifestIssue[];
}

/** Loads and lints manifest texts (pure; the command adds the file reading). */
export function validateTexts(files: ReadonlyArray<{ file: string; text: string }>, bgpSecretsNamespace?: string): ValidateReport & { load: LoadResult } {
  const load = loadManifests(files);
  const issues = [...load.issues, ...lintResources(load, { bgpSecretsNamespace })];
  return {
    load,
    files: files.length,
    resources: load.loaded.length,
    errors: issues.filter((i) => i.level === "error"),
    warnings: issues.filter((i) => i.level === "warning"),
  };
}

export async function validateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    output: { type: "string", short: "o" },
    "bgp-secrets-namespace": { type: "string" },
  });
  if (positionals.length === 0) throw new UsageError("expected at least one file or directory: herald validate PATH...");
  if (values.output !== undefined && values.output !== "json") {
    throw new UsageError(`-o must be "json": current value is "${values.output}"`);
  }
  const files = await readManifestFiles(positionals);
  const report = validateTexts(files, values["bgp-secrets-namespace"]);
  if (values.output === "json") {
    const shape = (i: ManifestIssue) => ({ file: i.location.file, line: i.location.line, kind: i.kind ?? null, name: i.name ?? null, field: i.field ?? null, message: i.message });
    console.log(JSON.stringify({
      files: report.files,
      resources: report.resources,
      errors: report.errors.map(shape),
      warnings: report.warnings.map(shape),
    }, null, 2));
  } else {
    for (const e of report.errors) console.log(`error: ${e.message}`);
    for (const w of report.warnings) console.log(`warning: ${w.message}`);
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
    console.log(`${plural(report.errors.length, "error")}, ${plural(report.warnings.length, "warning")} in ${plural(report.files, "file")} (${plural(report.resources, "resource")} loaded)`);
  }
  return report.errors.length > 0 ? 1 : 0;
}
