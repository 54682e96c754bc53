/**
 * Multi-document YAML manifests, with the location of every value.
 *
 * Every error herald reports about a manifest names the file and line of the
 * offending field; this module keeps the YAML node tree next to the plain
 * value so that a zod issue path can be turned back into a line number.
 *
 * `manifestItems()` hands out one document at a time: a caller that
 * validates each document before asking for the next (the file source)
 * holds one YAML node tree at a time, never a whole file's. The yaml
 * package allocates ~170 KB per small document while parsing, so trees
 * that die young keep a 10,000-document load out of the old generation.
 */
import { Composer, isMap, isScalar, isSeq, LineCounter, Parser } from "yaml";
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

/** One step of `manifestItems()`: a document, or a syntax error of a document that is skipped. */
export type ManifestItem = { readonly document: ManifestDocument } | { readonly error: ManifestSyntaxError };

function nodeOffset(node: YamlNode | null | undefined): number | undefined {
  return node?.range?.[0];
}

/** Splits `text` (the content of `file`) into documents; empty documents are skipped. */
export function parseManifests(file: string, text: string): ParsedManifests {
  const documents: ManifestDocument[] = [];
  const errors: ManifestSyntaxError[] = [];
  for (const item of manifestItems(file, text)) {
    if ("document" in item) documents.push(item.document);
    else errors.push(item.error);
  }
  return { documents, errors };
}

/**
 * The documents of `text` one by one, in order, each as soon as it is
 * parsed (the streaming form of `parseManifests`: same documents, same
 * errors). A document with syntax errors yields its errors instead.
 */
export function* manifestItems(file: string, text: string): Generator<ManifestItem> {
  const lines = new LineCounter();
  const at = (offset: number): Location => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  // What parseAllDocuments does, without collecting every document first.
  const composer = new Composer({ uniqueKeys: true, prettyErrors: false });
  let index = 0;
  for (const doc of composer.compose(new Parser(lines.addNewLine).parse(text)) as Iterable<Document.Parsed>) {
    const item = manifestDocument(file, index++, doc, at);
    if (item === null) continue;
    if (Array.isArray(item)) for (const error of item) yield { error };
    else yield { document: item };
  }
}

/** A composed document as a ManifestDocument; its syntax errors; null when empty. */
function manifestDocument(
  file: string,
  index: number,
  doc: Document.Parsed,
  at: (offset: number) => Location,
): ManifestDocument | ManifestSyntaxError[] | null {
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => ({ location: at(e.pos[0]), message: e.message.split("\n")[0] }));
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return null;
  const start = at(nodeOffset(doc.contents) ?? doc.range[0]);
  return {
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
  };
}

/** "file:line" as used in every message. */
export function formatLocation(loc: Location): string {
  return `${loc.file}:${loc.line}`;
}
