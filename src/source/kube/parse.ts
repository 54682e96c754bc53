/**
 * Objects from the API server go through the same schema registry as
 * manifests from files (parse at the edge). The registry speaks in manifest
 * locations; here an object has none, so its messages are rewritten to name
 * the object instead ("CiliumBGPPeerConfig "rack1" (resourceVersion 42)").
 */
import { parseResource, type Resource } from "../../control/schemas/mod.ts";
import type { Location, ManifestDocument } from "../manifest.ts";
import type { ParseOutcome } from "./informer.ts";

const MARK = "\u0000kube";
const LOCATION: Location = { file: MARK, line: 0, column: 0 };
const MARKER = `(${MARK}:0)`;

function describe(raw: unknown): string {
  const rv = (raw as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof rv === "string" ? `(resourceVersion ${rv})` : "(from the API server)";
}

/** Parses one API object with the schema registry. */
export function parseKubeObject(raw: unknown): ParseOutcome<Resource> {
  const doc: ManifestDocument = { file: MARK, index: 0, location: LOCATION, value: raw, locate: () => LOCATION };
  const where = describe(raw);
  const text = (message: string) => message.replace(MARKER, where);
  const r = parseResource(doc);
  switch (r.status) {
    case "ok":
      return { ok: true, value: r.resource, warnings: r.warnings.map((w) => text(w.message)) };
    case "ignored":
      return { ok: false, errors: r.warnings.map((w) => ({ message: text(w.message) })) };
    case "error":
      return { ok: false, errors: r.errors.map((e) => ({ field: e.field, message: text(e.message) })) };
  }
}
