/**
 * What a migration could not carry over, or carried over differently, said
 * out loud: every finding names where it comes from (file:line and object),
 * the field, and why. Nothing is dropped silently.
 *
 * - `error`: an input document is not valid; it was skipped, the rest converted.
 * - `gap`: a setting with no Cilium equivalent, or where Cilium behaves
 *   differently; the output says what it does instead.
 * - `action`: something the user must do by hand (copy a Secret, set a flag).
 * - `note`: done differently but with the same effect, worth knowing.
 * - `warning`: the input is odd but usable (unknown fields, aliases).
 */
import { formatLocation, type Location } from "../source/manifest.ts";

export type FindingLevel = "error" | "gap" | "action" | "note" | "warning";

export interface Finding {
  readonly level: FindingLevel;
  /** Where the input is, when the finding is about one document. */
  readonly location?: Location;
  /** "IPAddressPool metallb-system/prod" */
  readonly object?: string;
  /** Dotted field path within the object. */
  readonly field?: string;
  /** The complete explanation, without location or object. */
  readonly message: string;
}

const ORDER: Record<FindingLevel, number> = { error: 0, gap: 1, action: 2, warning: 3, note: 4 };

/** One line: `gap: pools.yaml:12: IPAddressPool metallb-system/prod: spec.avoidBuggyIPs: …` */
export function formatFinding(f: Finding): string {
  // Registry messages already name file:line, object and field.
  const located = f.location !== undefined && f.message.includes(formatLocation(f.location));
  const where = located ? [] : [f.location ? formatLocation(f.location) : null, f.object ?? null, f.field ?? null].filter((x) => x !== null);
  return `${f.level}: ${where.length ? `${where.join(": ")}: ` : ""}${f.message}`;
}

/** Errors first, then gaps, actions, warnings, notes; stable within a level; duplicates removed. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  const unique = findings.filter((f) => {
    const k = formatFinding(f);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return unique.map((f, i) => ({ f, i })).sort((a, b) => ORDER[a.f.level] - ORDER[b.f.level] || a.i - b.i).map((x) => x.f);
}

/** Collects findings as a conversion goes. */
export class Findings {
  readonly list: Finding[] = [];

  add(level: FindingLevel, message: string, at: { location?: Location; object?: string; field?: string } = {}): void {
    this.list.push({ level, message, ...at });
  }

  get hasErrors(): boolean {
    return this.list.some((f) => f.level === "error");
  }
}
