/**
 * Structural OpenAPI v3 schemas of custom resources: pruning of unknown
 * fields, defaulting and validation with the messages kube-apiserver prints
 * (apiextensions-apiserver + kube-openapi validate). CEL rules
 * (x-kubernetes-validations) are not evaluated.
 */
import { isIP } from "node:net";
import {
  fieldDuplicate,
  type FieldError,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  fieldTooLong,
  fieldTooMany,
  fieldTypeInvalid,
} from "./errors.ts";
import { deepEqual, type Json } from "./patch.ts";

export interface StructuralSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema | boolean;
  items?: StructuralSchema;
  required?: string[];
  enum?: Json[];
  default?: Json;
  nullable?: boolean;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  anyOf?: StructuralSchema[];
  oneOf?: StructuralSchema[];
  allOf?: StructuralSchema[];
  not?: StructuralSchema;
  description?: string;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-validations"?: Json[];
}

const isObject = (v: unknown): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/**
 * Drops fields the schema does not declare; returns their paths
 * (fieldValidation=Strict turns them into errors, Warn into warnings).
 */
export function prune(value: Json, schema: StructuralSchema | undefined, path = "", root = true): string[] {
  if (!schema) return [];
  const unknown: string[] = [];
  if (isObject(value)) {
    if (schema["x-kubernetes-preserve-unknown-fields"] && !schema.properties) return [];
    for (const key of Object.keys(value)) {
      if (root && (key === "apiVersion" || key === "kind" || key === "metadata")) continue;
      if (schema["x-kubernetes-embedded-resource"] && (key === "apiVersion" || key === "kind" || key === "metadata")) continue;
      const sub = schema.properties?.[key] ??
        (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (sub) unknown.push(...prune(value[key], sub, join(path, key), false));
      else if (schema.additionalProperties === true || schema["x-kubernetes-preserve-unknown-fields"]) continue;
      else {
        unknown.push(join(path, key));
        delete value[key];
      }
    }
  } else if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) => unknown.push(...prune(item, schema.items, `${path}[${i}]`, false)));
  }
  return unknown;
}

/** Fills `default`s of absent properties inside objects that are present. */
export function applyDefaults(value: Json, schema: StructuralSchema | undefined): void {
  if (!schema) return;
  if (isObject(value)) {
    for (const [key, sub] of Object.entries(schema.properties ?? {})) {
      if ((value[key] === undefined || (value[key] === null && !sub.nullable)) && sub.default !== undefined) {
        value[key] = structuredClone(sub.default);
      }
      applyDefaults(value[key], sub);
    }
    if (isObject(schema.additionalProperties)) {
      for (const key of Object.keys(value)) {
        if (!schema.properties?.[key]) applyDefaults(value[key], schema.additionalProperties);
      }
    }
  } else if (Array.isArray(value) && schema.items) {
    for (const item of value) applyDefaults(item, schema.items);
  }
}

function typeName(v: Json): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

const FORMATS: Record<string, (s: string) => boolean> = {
  ipv4: (s) => isIP(s) === 4,
  ipv6: (s) => isIP(s) === 6,
  ip: (s) => isIP(s) !== 0,
  cidr: (s) => {
    const m = /^(.+)\/(\d{1,3})$/.exec(s);
    if (!m) return false;
    const fam = isIP(m[1]);
    return fam !== 0 && Number(m[2]) <= (fam === 4 ? 32 : 128);
  },
  "date-time": (s) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d{2}-\d{2}T/.test(s),
  uuid: (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s),
};

/** Validates a value; errors carry Kubernetes' field paths and texts. */
export function validate(value: Json, schema: StructuralSchema | undefined, path = ""): FieldError[] {
  if (!schema) return [];
  const errs: FieldError[] = [];
  const field = path || "<root>";
  if (value === null || value === undefined) {
    if (value === null && !schema.nullable && schema.type && !schema["x-kubernetes-preserve-unknown-fields"]) {
      errs.push(fieldTypeInvalid(field, value, `${field} in body must be of type ${schema.type}: "null"`));
    }
    return errs;
  }
  const actual = typeName(value);
  if (schema["x-kubernetes-int-or-string"]) {
    if (actual !== "integer" && actual !== "string") {
      errs.push(fieldTypeInvalid(field, value, `${field} in body must be of type integer,string: "${actual}"`));
      return errs;
    }
  } else if (schema.type) {
    const ok = schema.type === actual || (schema.type === "number" && actual === "integer");
    if (!ok) {
      errs.push(fieldTypeInvalid(field, value, `${field} in body must be of type ${schema.type}: "${actual}"`));
      return errs;
    }
  }
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, value))) {
    errs.push(fieldNotSupported(field, value, schema.enum.map(String)));
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) {
      errs.push(fieldInvalid(field, value, `${field} in body should be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${schema.minimum}`));
    }
    if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) {
      errs.push(fieldInvalid(field, value, `${field} in body should be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${schema.maximum}`));
    }
  }
  if (typeof value === "string") {
    const len = [...value].length;
    if (schema.minLength !== undefined && len < schema.minLength) {
      errs.push(fieldInvalid(field, value, `${field} in body should be at least ${schema.minLength} chars long`));
    }
    if (schema.maxLength !== undefined && len > schema.maxLength) errs.push(fieldTooLong(field, schema.maxLength));
    if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) {
      errs.push(fieldInvalid(field, value, `${field} in body should match '${schema.pattern}'`));
    }
    const check = schema.format ? FORMATS[schema.format] : undefined;
    if (check && !check(value)) {
      errs.push(fieldInvalid(field, value, `${field} in body must be of type ${schema.format}: ${JSON.stringify(value)}`));
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errs.push(fieldInvalid(field, value.length, `${field} in body should have at least ${schema.minItems} items`));
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errs.push(fieldTooMany(field, value.length, schema.maxItems));
    value.forEach((item, i) => errs.push(...validate(item, schema.items, `${path}[${i}]`)));
    errs.push(...listTypeErrors(value, schema, path));
  }
  if (isObject(value)) {
    for (const req of schema.required ?? []) {
      if (value[req] === undefined) errs.push(fieldRequired(join(path, req)));
    }
    for (const [key, v] of Object.entries(value)) {
      const sub = schema.properties?.[key] ?? (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (sub) errs.push(...validate(v, sub, join(path, key)));
    }
    const n = Object.keys(value).length;
    if (schema.minProperties !== undefined && n < schema.minProperties) {
      errs.push(fieldInvalid(field, n, `${field} in body should have at least ${schema.minProperties} properties`));
    }
    if (schema.maxProperties !== undefined && n > schema.maxProperties) {
      errs.push(fieldTooMany(field, n, schema.maxProperties));
    }
  }
  for (const sub of schema.allOf ?? []) errs.push(...validate(value, sub, path));
  if (schema.anyOf && !schema.anyOf.some((s) => validate(value, s, path).length === 0)) {
    errs.push(fieldInvalid(field, value, `${field} in body must match at least one schema in anyOf`));
  }
  if (schema.oneOf && schema.oneOf.filter((s) => validate(value, s, path).length === 0).length !== 1) {
    errs.push(fieldInvalid(field, value, `${field} in body must validate one and only one schema (oneOf)`));
  }
  if (schema.not && validate(value, schema.not, path).length === 0) {
    errs.push(fieldInvalid(field, value, `${field} in body should not be valid against schema`));
  }
  return errs;
}

function listTypeErrors(list: Json[], schema: StructuralSchema, path: string): FieldError[] {
  const type = schema["x-kubernetes-list-type"];
  const errs: FieldError[] = [];
  if (type === "set") {
    list.forEach((item, i) => {
      if (list.slice(0, i).some((x) => deepEqual(x, item))) errs.push(fieldDuplicate(`${path}[${i}]`, item));
    });
  } else if (type === "map") {
    const keys = schema["x-kubernetes-list-map-keys"] ?? [];
    const seen: Json[] = [];
    list.forEach((item, i) => {
      const id = keys.map((k) => item?.[k]);
      if (seen.some((s) => deepEqual(s, id))) {
        errs.push(fieldDuplicate(`${path}[${i}]`, Object.fromEntries(keys.map((k) => [k, item?.[k]]))));
      }
      seen.push(id);
    });
  }
  return errs;
}

/** The structural-schema rules a CRD must satisfy (the subset that catches generator mistakes). */
export function structuralErrors(schema: StructuralSchema | undefined, path: string): string[] {
  if (!schema) return [`${path}: Required value: schemas are required`];
  const errs: string[] = [];
  const walk = (s: StructuralSchema, p: string, root: boolean) => {
    if (!s.type && !s["x-kubernetes-int-or-string"] && !s["x-kubernetes-preserve-unknown-fields"] && !root) {
      errs.push(`${p}.type: Required value: must not be empty for specified object fields`);
    }
    if (root && s.type !== "object") errs.push(`${p}.type: Invalid value: "${s.type}": must be object at the root`);
    if (s.properties && s.additionalProperties !== undefined && s.additionalProperties !== false) {
      errs.push(`${p}.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`);
    }
    if (s.type === "array" && !s.items) errs.push(`${p}.items: Required value: must be specified`);
    for (const [k, sub] of Object.entries(s.properties ?? {})) walk(sub, `${p}.properties[${k}]`, false);
    if (s.items) walk(s.items, `${p}.items`, false);
    if (isObject(s.additionalProperties)) walk(s.additionalProperties, `${p}.additionalProperties`, false);
    for (const key of ["anyOf", "oneOf", "allOf"] as const) {
      for (const sub of s[key] ?? []) {
        if (sub.default !== undefined) errs.push(`${p}.${key}[*].default: Forbidden: must not be set inside ${key}`);
      }
    }
  };
  walk(schema, path, true);
  return errs;
}
