/**
 * Output documents parsed back through herald's own schema registry: the
 * proof that what the migration prints is valid for herald (and therefore
 * for Cilium's CRD validation, which the registry mirrors), and the typed
 * resources the equivalence check runs the control plane on.
 */
import { addResource } from "../control/load.ts";
import { parseResource } from "../control/schemas/mod.ts";
import { emptyResources, type Resources } from "../control/types.ts";
import type { ManifestDocument } from "../source/manifest.ts";
import type { OutputDocument } from "./emit.ts";

export interface ParsedBack {
  readonly resources: Resources;
  /** Messages of documents that did not validate (a bug in the migration if ever non-empty). */
  readonly errors: string[];
}

export function parseBack(docs: readonly OutputDocument[], file = "<output>"): ParsedBack {
  const resources = emptyResources();
  const errors: string[] = [];
  docs.forEach((d, index) => {
    // Round-trip through JSON so the registry sees exactly what YAML would carry.
    const value = JSON.parse(JSON.stringify(d.value));
    const location = { file, line: index + 1, column: 1 };
    const doc: ManifestDocument = { file, index, location, value, locate: () => location };
    const r = parseResource(doc);
    if (r.status === "ok") {
      addResource(resources, r.resource);
      for (const w of r.warnings) errors.push(w.message);
    } else if (r.status === "error") {
      errors.push(...r.errors.map((e) => e.message));
    }
    // "ignored": kinds herald does not read (MetalLB objects in --split output).
  });
  return { resources, errors };
}
