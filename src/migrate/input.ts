/**
 * Input manifests for the migrations: texts → located documents. Pure; the
 * CLI reads the files. A YAML syntax error is an `error` finding for that
 * document; the other documents of the file are still read.
 */
import { formatLocation, type ManifestDocument, parseManifests } from "../source/manifest.ts";
import type { Findings } from "./report.ts";

export interface InputFile {
  readonly file: string;
  readonly text: string;
}

/** Every document of every file, in order; syntax errors go to `findings`. */
export function readDocuments(files: readonly InputFile[], findings: Findings): ManifestDocument[] {
  const out: ManifestDocument[] = [];
  for (const { file, text } of files) {
    const parsed = parseManifests(file, text);
    for (const e of parsed.errors) {
      findings.add("error", `Cannot read document: YAML syntax error: ${e.message}: skipped`, { location: e.location });
    }
    for (const doc of parsed.documents) {
      // A `kind: List` (kubectl get -o yaml) holds the objects in items.
      const v = doc.value as { kind?: unknown; items?: unknown } | null;
      if (v && typeof v === "object" && v.kind === "List" && Array.isArray(v.items)) {
        v.items.forEach((item, i) => out.push(subDocument(doc, ["items", i], item)));
      } else {
        out.push(doc);
      }
    }
  }
  return out;
}

/** A document for a value nested in another one (List items, a ConfigMap's embedded config). */
export function subDocument(parent: ManifestDocument, at: ReadonlyArray<string | number>, value: unknown): ManifestDocument {
  return {
    file: parent.file,
    index: parent.index,
    location: parent.locate(at),
    value,
    locate: (path) => parent.locate([...at, ...path]),
  };
}

/** apiVersion and kind of a raw document, when it has them. */
export function typeOf(doc: ManifestDocument): { apiVersion: string; kind: string; name?: string; namespace?: string } | null {
  const v = doc.value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
  if (!v || typeof v !== "object" || typeof v.apiVersion !== "string" || typeof v.kind !== "string") return null;
  const name = typeof v.metadata?.name === "string" ? v.metadata.name : undefined;
  const namespace = typeof v.metadata?.namespace === "string" ? v.metadata.namespace : undefined;
  return { apiVersion: v.apiVersion, kind: v.kind, name, namespace };
}

/** "Kind ns/name" or "Kind name". */
export function objectName(kind: string, name: string | undefined, namespace?: string): string {
  return `${kind} ${namespace ? `${namespace}/` : ""}${name ?? "(unnamed)"}`;
}

/** `file:line` of a field. */
export function where(doc: ManifestDocument, path: ReadonlyArray<string | number>): string {
  return formatLocation(doc.locate(path));
}
