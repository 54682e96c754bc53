/**
 * zod issues and unknown keys of a MetalLB document as located findings:
 * `Cannot read BGPPeer metallb-system/tor1 (peers.yaml:9): spec.peerASN must be
 * an integer from 0 to 4294967295: current value is "x"`.
 */
import type { z } from "zod";
import { formatLocation, type ManifestDocument } from "../../source/manifest.ts";
import type { Findings } from "../report.ts";

type Path = ReadonlyArray<string | number>;

export function formatPath(path: Path): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function text(issue: z.core.$ZodIssue, input: unknown): string {
  if (input === undefined) return "is required";
  if (!/^(Invalid|Too (small|big)|Expected|Unrecognized)/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      return issue.expected === "array" ? "must be a list" : issue.expected === "object" ? "must be a mapping" : `must be a ${issue.expected}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return issue.message;
  }
}

const show = (v: unknown) => {
  const s = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** Reports each issue as an error located in `doc` (paths relative to `base` inside it). */
export function reportIssues(issues: readonly z.core.$ZodIssue[], doc: ManifestDocument, who: string, findings: Findings, root: unknown, base: Path = []): void {
  const seen = new Set<string>();
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const full = [...base, ...path];
    const input = valueAt(root, path);
    const what = text(issue, input);
    const value = input === undefined || (typeof input === "object" && input !== null) ? "" : `: current value is ${show(input)}`;
    const location = doc.locate(full);
    const line = `Cannot read ${who} (${formatLocation(location)}): ${formatPath(full)} ${what}${value}; skipped, the other documents are converted`;
    if (seen.has(line)) continue;
    seen.add(line);
    findings.add("error", line, { location, field: formatPath(full) });
  }
}

/** Keys of `value` not in `known` (one level), as warnings. */
export function reportUnknown(value: unknown, known: readonly string[], doc: ManifestDocument, who: string, findings: Findings, base: Path): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const location = doc.locate([...base, key]);
    findings.add("warning", `${who} (${formatLocation(location)}): ${formatPath([...base, key])} is not a field herald knows for this kind: ignored`, { location });
  }
}

/** An error about one field, located. */
export function fieldError(doc: ManifestDocument, who: string, path: Path, message: string, findings: Findings, level: "error" | "gap" = "error"): void {
  const location = doc.locate(path);
  findings.add(level, `${level === "error" ? "Cannot read " : ""}${who} (${formatLocation(location)}): ${formatPath(path)} ${message}`, { location, field: formatPath(path) });
}
