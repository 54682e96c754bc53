/**
 * The migration's output: multi-document YAML with the findings as comments
 * at the top and a short provenance comment above each document.
 *
 * Strings are written for YAML 1.1 readers (kubectl's), so values such as
 * `"No"` (allowFirstLastIPs) or `"1:2:3"` stay strings.
 */
import { Document } from "yaml";
import { type Finding, formatFinding, sortFindings } from "./report.ts";

/** Which output file a document belongs to with `-o DIR`. */
export type OutputGroup = "cilium" | "metallb" | "services";

export interface OutputDocument {
  readonly group: OutputGroup;
  readonly value: Record<string, unknown>;
  /** Lines shown above the document (provenance, caveats). */
  readonly comment?: readonly string[];
}

const commentText = (lines: readonly string[]) => lines.map((l) => ` ${l}`.trimEnd()).join("\n");

function renderDocument(doc: OutputDocument, before: readonly string[] = []): string {
  // No anchors/aliases: shared objects are written out in full, as kubectl expects.
  const d = new Document(doc.value, { version: "1.1", aliasDuplicateObjects: false });
  const lines = [...before, ...(before.length && doc.comment?.length ? [""] : []), ...(doc.comment ?? [])];
  if (lines.length) d.commentBefore = commentText(lines);
  return d.toString({ lineWidth: 0 });
}

/** Header lines: title, then every finding, one per line. */
export function headerLines(title: readonly string[], findings: readonly Finding[]): string[] {
  const sorted = sortFindings(findings);
  return [...title, ...(sorted.length ? ["", ...sorted.map(formatFinding)] : [])];
}

/**
 * Documents as one YAML stream. With no documents the header is still
 * printed (as a comment-only stream), so findings are never lost.
 */
export function renderYaml(docs: readonly OutputDocument[], header: readonly string[], trailer: readonly string[] = []): string {
  const parts: string[] = [];
  if (docs.length === 0) parts.push(header.map((l) => `# ${l}`.trimEnd()).join("\n") + "\n");
  docs.forEach((doc, i) => parts.push(renderDocument(doc, i === 0 ? header : [])));
  let out = parts.join("---\n");
  if (trailer.length) out += trailer.map((l) => `# ${l}`.trimEnd()).join("\n") + "\n";
  return out;
}

/** Removes fields the API server owns, so a document can be applied again. */
export function applyable(obj: Record<string, unknown>): Record<string, unknown> {
  const out = structuredClone(obj);
  delete out.status;
  const meta = out.metadata as Record<string, unknown> | undefined;
  if (meta) {
    for (const k of ["resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink"]) delete meta[k];
    const ann = meta.annotations as Record<string, string> | undefined;
    if (ann) delete ann["kubectl.kubernetes.io/last-applied-configuration"];
  }
  return out;
}

/** A shell word, quoted only when needed. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_.,:/=@%+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'"'"'`)}'`;
}
