/**
 * Label-selector algebra for the migrations: conjunction, satisfiability,
 * negation, and the partition of a label space into disjoint classes.
 *
 * Why: MetalLB selects nodes per peer and per advertisement, and v1 path
 * attributes select nodes and pools per neighbour; Cilium v2 selects nodes
 * once per CiliumBGPClusterConfig (and configs must not overlap, B4) and
 * CiliumPodIPPool entries overwrite each other per pool (E10). Both are
 * exact only when every object falls into exactly one class, so the
 * converters split the label space into disjoint classes, each a plain
 * LabelSelector, on which every input selector is either true or false.
 *
 * A selector is a conjunction of literals over atoms `key In values` and
 * `key Exists` (NotIn and DoesNotExist are their negations, with Kubernetes
 * semantics: a missing key satisfies NotIn). Per key, the set of label
 * values still possible is a Domain; a class is a map key → Domain.
 */
import type { LabelSelector, LabelSelectorRequirement } from "../control/schemas/meta.ts";

export interface Atom {
  readonly key: string;
  readonly op: "In" | "Exists";
  /** Sorted, for In. */
  readonly values: readonly string[];
}

export interface Literal {
  readonly atom: Atom;
  readonly positive: boolean;
}

/** All of these must hold. The empty conjunction holds everywhere. */
export type Conjunction = readonly Literal[];

/** Any one of these conjunctions must hold (a list of selectors ORed). */
export type Formula = readonly Conjunction[];

/** The label values a key may still have: absent or not, and which values. */
export interface Domain {
  readonly absent: boolean;
  /** "only": exactly these values; "except": any value but these. */
  readonly kind: "only" | "except";
  readonly values: ReadonlySet<string>;
}

/** A class of label sets: per key, what is still possible (unlisted keys: anything). */
export type Space = ReadonlyMap<string, Domain>;

export const UNIVERSE: Space = new Map();
const ANYTHING: Domain = { absent: true, kind: "except", values: new Set() };

/** A selector as a conjunction. */
export function conjunctionOf(selector: LabelSelector): Conjunction {
  const out: Literal[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    out.push({ atom: { key, op: "In", values: [value] }, positive: true });
  }
  for (const req of selector.matchExpressions ?? []) out.push(literalOf(req));
  return out;
}

function literalOf(req: LabelSelectorRequirement): Literal {
  const values = [...new Set(req.values ?? [])].sort();
  switch (req.operator) {
    case "In":
      return { atom: { key: req.key, op: "In", values }, positive: true };
    case "NotIn":
      return { atom: { key: req.key, op: "In", values }, positive: false };
    case "Exists":
      return { atom: { key: req.key, op: "Exists", values: [] }, positive: true };
    case "DoesNotExist":
      return { atom: { key: req.key, op: "Exists", values: [] }, positive: false };
  }
}

/** A list of selectors ORed; an empty list means `emptyMeans`. */
export function formulaOf(selectors: readonly LabelSelector[] | null | undefined, emptyMeans: "everything" | "nothing"): Formula {
  if (!selectors || selectors.length === 0) return emptyMeans === "everything" ? [[]] : [];
  return selectors.map(conjunctionOf);
}

function literalDomain(l: Literal): Domain {
  const { op, values } = l.atom;
  if (op === "In") {
    return l.positive ? { absent: false, kind: "only", values: new Set(values) } : { absent: true, kind: "except", values: new Set(values) };
  }
  return l.positive ? { absent: false, kind: "except", values: new Set() } : { absent: true, kind: "only", values: new Set() };
}

function intersectDomain(a: Domain, b: Domain): Domain {
  const absent = a.absent && b.absent;
  if (a.kind === "only" && b.kind === "only") return { absent, kind: "only", values: new Set([...a.values].filter((v) => b.values.has(v))) };
  if (a.kind === "only") return { absent, kind: "only", values: new Set([...a.values].filter((v) => !b.values.has(v))) };
  if (b.kind === "only") return { absent, kind: "only", values: new Set([...b.values].filter((v) => !a.values.has(v))) };
  return { absent, kind: "except", values: new Set([...a.values, ...b.values]) };
}

const emptyDomain = (d: Domain) => !d.absent && d.kind === "only" && d.values.size === 0;

/** d ⊆ e */
function subsetDomain(d: Domain, e: Domain): boolean {
  if (d.absent && !e.absent) return false;
  if (d.kind === "only") {
    return e.kind === "only" ? [...d.values].every((v) => e.values.has(v)) : [...d.values].every((v) => !e.values.has(v));
  }
  // An "except" domain has infinitely many values: only another "except" can hold it.
  return e.kind === "except" && [...e.values].every((v) => d.values.has(v));
}

/** The space narrowed by a literal, or null when nothing is left. */
export function restrict(space: Space, l: Literal): Space | null {
  const d = intersectDomain(space.get(l.atom.key) ?? ANYTHING, literalDomain(l));
  if (emptyDomain(d)) return null;
  const out = new Map(space);
  out.set(l.atom.key, d);
  return out;
}

/** The space narrowed by a conjunction, or null when nothing is left. */
export function restrictAll(space: Space, c: Conjunction): Space | null {
  let s: Space | null = space;
  for (const l of c) {
    s = restrict(s, l);
    if (s === null) return null;
  }
  return s;
}

/** true / false when decided on the whole space, null when it depends. */
export function evalLiteral(space: Space, l: Literal): boolean | null {
  const d = space.get(l.atom.key) ?? ANYTHING;
  const ld = literalDomain(l);
  if (subsetDomain(d, ld)) return true;
  if (emptyDomain(intersectDomain(d, ld))) return false;
  return null;
}

export function evalConjunction(space: Space, c: Conjunction): boolean | null {
  let all = true;
  for (const l of c) {
    const v = evalLiteral(space, l);
    if (v === false) return false;
    if (v === null) all = false;
  }
  return all ? true : null;
}

export function evalFormula(space: Space, f: Formula): boolean | null {
  let any = false;
  let undecided = false;
  for (const c of f) {
    const v = evalConjunction(space, c);
    if (v === true) any = true;
    else if (v === null) undecided = true;
  }
  return any ? true : undecided ? null : false;
}

/** Whether some label set satisfies both conjunctions. */
export function satisfiable(...conjunctions: Conjunction[]): boolean {
  let s: Space | null = UNIVERSE;
  for (const c of conjunctions) {
    s = restrictAll(s!, c);
    if (s === null) return false;
  }
  return true;
}

export interface Leaf {
  readonly space: Space;
  /** Per formula given to partition(): whether it holds on this whole class. */
  readonly values: readonly boolean[];
}

export class PartitionTooLarge extends Error {
  override name = "PartitionTooLarge";
}

/**
 * Splits `base` into disjoint classes on each of which every formula is
 * decided. Sibling classes with the same values are merged back, so the
 * result is small when the formulas are (typically a handful of rack or
 * zone labels). Throws PartitionTooLarge beyond `limit` classes.
 */
export function partition(base: Space, formulas: readonly Formula[], limit = 64): Leaf[] {
  const out = split(base, formulas, limit);
  if (out.length > limit) throw new PartitionTooLarge(`Cannot split the label space: more than ${limit} classes are needed`);
  return out;
}

function split(space: Space, formulas: readonly Formula[], limit: number): Leaf[] {
  const values = formulas.map((f) => evalFormula(space, f));
  const open = values.findIndex((v) => v === null);
  if (open < 0) return [{ space, values: values as boolean[] }];
  const literal = firstOpenLiteral(space, formulas[open])!;
  const yes = restrict(space, literal);
  const no = restrict(space, { atom: literal.atom, positive: !literal.positive });
  const a = yes ? split(yes, formulas, limit) : [];
  const b = no ? split(no, formulas, limit) : [];
  if (a.length + b.length > limit) throw new PartitionTooLarge(`Cannot split the label space: more than ${limit} classes are needed`);
  // Both halves decided alike: the split was not needed.
  if (a.length === 1 && b.length === 1 && a[0].values.every((v, i) => v === b[0].values[i])) return [{ space, values: a[0].values }];
  return [...a, ...b];
}

function firstOpenLiteral(space: Space, f: Formula): Literal | undefined {
  for (const c of f) {
    if (evalConjunction(space, c) !== null) continue;
    for (const l of c) if (evalLiteral(space, l) === null) return l;
  }
  return undefined;
}

/**
 * A class as a LabelSelector (null for the whole space). Every Domain a
 * partition produces has a selector form; see the module doc.
 */
export function selectorOf(space: Space): LabelSelector | null {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  for (const key of [...space.keys()].sort()) {
    const d = space.get(key)!;
    const values = [...d.values].sort();
    if (d.kind === "only" && d.absent) {
      if (values.length > 0) throw new RangeError(`Cannot express "absent or one of ${values.join(", ")}" for key "${key}" as a selector`);
      matchExpressions.push({ key, operator: "DoesNotExist" });
    } else if (d.kind === "only") {
      if (values.length === 1) matchLabels[key] = values[0];
      else matchExpressions.push({ key, operator: "In", values });
    } else {
      if (!d.absent) matchExpressions.push({ key, operator: "Exists" });
      if (values.length > 0) matchExpressions.push({ key, operator: "NotIn", values });
    }
  }
  const out: LabelSelector = {};
  if (Object.keys(matchLabels).length > 0) out.matchLabels = matchLabels;
  if (matchExpressions.length > 0) out.matchExpressions = matchExpressions;
  return Object.keys(out).length === 0 ? null : out;
}

/** The space a selector describes (null selector: the whole space), or null when it matches nothing. */
export function spaceOf(selector: LabelSelector | null | undefined): Space | null {
  return selector == null ? UNIVERSE : restrictAll(UNIVERSE, conjunctionOf(selector));
}

/** Two selectors ANDed, as one selector; null result object when they exclude each other. */
export function andSelectors(a: LabelSelector | null | undefined, b: LabelSelector | null | undefined): { selector: LabelSelector | null } | null {
  const s = restrictAll(UNIVERSE, [...(a ? conjunctionOf(a) : []), ...(b ? conjunctionOf(b) : [])]);
  return s === null ? null : { selector: selectorOf(s) };
}

/** Human text of a selector, for comments and messages. */
export function describeSelector(selector: LabelSelector | null | undefined): string {
  if (selector == null) return "everything";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    if (e.operator === "Exists") parts.push(e.key);
    else if (e.operator === "DoesNotExist") parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === "In" ? "in" : "notin"} (${(e.values ?? []).join(",")})`);
  }
  return parts.length ? parts.join(",") : "everything";
}
