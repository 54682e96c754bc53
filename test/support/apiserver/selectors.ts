/**
 * Label and field selectors in their query-string form, as
 * k8s.io/apimachinery/pkg/labels and pkg/fields parse them:
 * `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, joined by commas.
 */
import { badRequest } from "./errors.ts";

type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

export type Matcher = (fields: Readonly<Record<string, string>>) => boolean;

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

function checkKey(key: string): string {
  if (!KEY.test(key)) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
  return key;
}

function checkValue(value: string): string {
  if (!VALUE.test(value) || value.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}": at key: must be no more than 63 characters, consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character`);
  }
  return value;
}

function parseLabelRequirement(text: string): Requirement {
  let m = /^!\s*(\S+)$/.exec(text);
  if (m) return { key: checkKey(m[1]), op: "!exists" };
  m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(text);
  if (m) {
    const values = m[3].split(",").map((v) => v.trim()).filter((v, i, all) => v !== "" || all.length > 1);
    values.forEach(checkValue);
    return { key: checkKey(m[1]), op: m[2] as "in" | "notin", values };
  }
  m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(text);
  if (m) return { key: checkKey(m[1]), op: m[2] === "!=" ? "!=" : "=", value: checkValue(m[3]) };
  if (/^[^=!\s(),]+$/.test(text)) return { key: checkKey(text), op: "exists" };
  throw badRequest(`unable to parse requirement: found '${text}', expected: in, notin, =, ==, !=, gt, lt`);
}

function evaluate(reqs: Requirement[], labels: Readonly<Record<string, string>>): boolean {
  for (const r of reqs) {
    const has = Object.hasOwn(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case "=":
        if (!has || v !== r.value) return false;
        break;
      case "!=":
        if (has && v === r.value) return false;
        break;
      case "in":
        if (!has || !r.values.includes(v)) return false;
        break;
      case "notin":
        if (has && r.values.includes(v)) return false;
        break;
      case "exists":
        if (!has) return false;
        break;
      case "!exists":
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Parses `labelSelector`; an empty or absent selector matches everything. */
export function parseLabelSelector(text: string | null | undefined): Matcher {
  if (!text || text.trim() === "") return () => true;
  const reqs = splitTop(text).map(parseLabelRequirement);
  return (labels) => evaluate(reqs, labels);
}

/**
 * Parses `fieldSelector` against the field labels a resource supports
 * (`metadata.name`, `metadata.namespace` and per-kind extras).
 */
export function parseFieldSelector(text: string | null | undefined, supported: readonly string[]): Matcher {
  if (!text || text.trim() === "") return () => true;
  const reqs: Requirement[] = [];
  for (const part of splitTop(text)) {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    if (!supported.includes(m[1])) throw badRequest(`field label not supported: ${m[1]}`);
    reqs.push({ key: m[1], op: m[2] === "!=" ? "!=" : "=", value: m[3] });
  }
  // Field sets always carry every supported label, so "!=" on a missing
  // value compares against "".
  return (fields) => {
    const full: Record<string, string> = {};
    for (const k of supported) full[k] = fields[k] ?? "";
    return evaluate(reqs, full);
  };
}
