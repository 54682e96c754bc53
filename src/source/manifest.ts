/**
 * Multi-document YAML manifests, with the location of every value.
 *
 * Every error herald reports about a manifest names the file and line of the
 * offending field; this module keeps the YAML node tree next to the plain
 * value so that a zod issue path can be turned back into a line number.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from "yaml";
import type { Document, Node as YamlNode } from "yaml";

export type FieldPath = ReadonlyArray<string | number>;

export interface Location {
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

export interface ManifestDocument {
  readonly file: string;
  /** 0-based position of the document in its file. */
  readonly index: number;
  /** Location of the document's first line. */
  readonly location: Location;
  /** The parsed value (plain JSON-like data). */
  readonly value: unknown;
  /** Location of a field; falls back to the closest enclosing node that exists. */
  locate(path: FieldPath): Location;
}

export interface ManifestSyntaxError {
  readonly location: Location;
  readonly message: string;
}

export interface ParsedManifests {
  readonly documents: ManifestDocument[];
  readonly errors: ManifestSyntaxError[];
}

function nodeOffset(node: YamlNode | null | undefined): number | undefined {
  return node?.range?.[0];
}

/** Splits `text` (the content of `file`) into documents; empty documents are skipped. */
export function parseManifests(file: string, text: string): ParsedManifests {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number): Location => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  const documents: ManifestDocument[] = [];
  const errors: ManifestSyntaxError[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc: Document.Parsed, index) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) errors.push({ location: at(e.pos[0]), message: e.message.split("\n")[0] });
      return;
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    const start = at(nodeOffset(doc.contents) ?? doc.range[0]);
    documents.push({
      file,
      index,
      location: start,
      value: doc.toJS({ maxAliasCount: 100 }),
      locate(path: FieldPath): Location {
        let node: unknown = doc.contents;
        let best = nodeOffset(doc.contents) ?? doc.range[0];
        for (const key of path) {
          if (isMap(node)) {
            const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
            if (!pair) break;
            best = nodeOffset(pair.key as YamlNode) ?? best;
            node = pair.value;
          } else if (isSeq(node) && typeof key === "number" && key < node.items.length) {
            node = node.items[key];
            best = nodeOffset(node as YamlNode) ?? best;
          } else {
            break;
          }
        }
        return at(best);
      },
    });
  });
  return { documents, errors };
}

/** "file:line" as used in every message. */
export function formatLocation(loc: Location): string {
  return `${loc.file}:${loc.line}`;
}
