/**
 * Turns zod issues into herald's manifest messages:
 * `spec.families[0].afi must be one of "ipv4", "ipv6", …: current value is "ip4"`.
 *
 * Messages written in the schemas (bounds, patterns, CEL rules) are kept;
 * zod's generic ones are rephrased from the issue code, so a user always
 * reads which field, what was expected, and what was there.
 */
import type { z } from "zod";

export type Path = ReadonlyArray<string | number | symbol>;

/** `spec.families[0].afi` */
export function formatPath(path: Path): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out === "" ? String(p) : `.${String(p)}`;
  }
  return out;
}

/** The raw value at a path, or undefined. */
export function valueAt(root: unknown, path: Path): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[p as string | number];
  }
  return v;
}

/** A value as a user wrote it: strings quoted, structures as short JSON. */
export function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const GENERIC = /^(Invalid|Too (small|big)|Expected|Unrecognized)/;

const TYPE_WORDS: Record<string, string> = {
  int: "must be an integer",
  number: "must be a number",
  string: "must be a string",
  boolean: "must be true or false",
  object: "must be a mapping",
  record: "must be a mapping",
  array: "must be a list",
};

function rephrase(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return "is required";
      return TYPE_WORDS[issue.expected] ?? `must be ${issue.expected}`;
    case "invalid_value": {
      const values = issue.values.map((v) => JSON.stringify(v));
      return values.length === 1 ? `must be ${values[0]}` : `must be one of ${values.join(", ")}`;
    }
    case "too_small": {
      const n = Number(issue.minimum);
      if (issue.origin === "array") return `must have at least ${n} item${n === 1 ? "" : "s"}`;
      if (issue.origin === "string") return n === 1 ? "must not be empty" : `must be at least ${n} characters`;
      return `must be at least ${n}`;
    }
    case "too_big": {
      const n = Number(issue.maximum);
      if (issue.origin === "array") return `must have at most ${n} item${n === 1 ? "" : "s"}`;
      if (issue.origin === "string") return `must be at most ${n} characters`;
      return `must be at most ${n}`;
    }
    case "invalid_union":
      return "does not match any allowed form";
    default:
      return issue.message;
  }
}

export interface FieldProblem {
  path: (string | number)[];
  /** `spec.x must be …: current value is …` */
  text: string;
}

/** One line per issue, relative to the document root. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], root: unknown): FieldProblem[] {
  const seen = new Set<string>();
  const out: FieldProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const input = valueAt(root, path);
    const message = GENERIC.test(issue.message) || (issue.code === "invalid_type" && input === undefined)
      ? rephrase(issue, input)
      : issue.message;
    const field = formatPath(path);
    // Shared schemas sometimes name the field in their message already.
    const head = field === "" || message.startsWith(field) ? message : `${field} ${message}`;
    // A rule over a whole object (D7a) already names the values it compared.
    const quiet = input === undefined || message === "is required" ||
      (issue.code === "custom" && typeof input === "object" && input !== null);
    const text = quiet ? head : `${head}: current value is ${showValue(input)}`;
    if (seen.has(text)) continue;
    seen.add(text);
    out.push({ path, text });
  }
  return out;
}
