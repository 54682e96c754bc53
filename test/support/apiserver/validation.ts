/**
 * Object metadata validation with Kubernetes' messages (apimachinery
 * validation: names, namespaces, labels), shared by every kind.
 */
import { type FieldError, fieldInvalid, fieldRequired } from "./errors.ts";
import type { KubeObject, ResourceType } from "./types.ts";

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

export function nameErrors(name: string, rule: ResourceType["nameRule"], field = "metadata.name"): FieldError[] {
  switch (rule ?? "subdomain") {
    case "subdomain":
      if (name.length > 253) return [fieldInvalid(field, name, "must be no more than 253 characters")];
      return SUBDOMAIN.test(name) ? [] : [fieldInvalid(field, name, SUBDOMAIN_MSG)];
    case "label":
      if (name.length > 63) return [fieldInvalid(field, name, "must be no more than 63 characters")];
      return LABEL.test(name) ? [] : [fieldInvalid(field, name, LABEL_MSG)];
    case "dns1035":
      if (name.length > 63) return [fieldInvalid(field, name, "must be no more than 63 characters")];
      return DNS1035.test(name) ? [] : [fieldInvalid(field, name, DNS1035_MSG)];
    case "path":
      return name === "." || name === ".." || /[/%]/.test(name)
        ? [fieldInvalid(field, name, `may not contain '/' or '%'`)]
        : [];
  }
}

const QUALIFIED = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** metadata checks common to all kinds: name, labels, annotations, owner references. */
export function metadataErrors(obj: KubeObject, type: ResourceType): FieldError[] {
  const meta = obj.metadata ?? {};
  const errs: FieldError[] = [];
  if (!meta.name) errs.push(fieldRequired("metadata.name", "name or generateName is required"));
  else errs.push(...nameErrors(meta.name, type.nameRule));
  for (const [k, v] of Object.entries((meta.labels ?? {}) as Record<string, unknown>)) {
    if (!QUALIFIED.test(k)) {
      errs.push(fieldInvalid("metadata.labels", k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"));
    }
    if (typeof v !== "string" || !LABEL_VALUE.test(v) || v.length > 63) {
      errs.push(fieldInvalid("metadata.labels", v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"));
    }
  }
  for (const [k, v] of Object.entries((meta.annotations ?? {}) as Record<string, unknown>)) {
    if (!QUALIFIED.test(k)) errs.push(fieldInvalid("metadata.annotations", k, "name part must consist of alphanumeric characters, '-', '_' or '.'"));
    if (typeof v !== "string") errs.push(fieldInvalid(`metadata.annotations.${k}`, v, "must be a string"));
  }
  (meta.ownerReferences ?? []).forEach((ref: KubeObject, i: number) => {
    for (const f of ["apiVersion", "kind", "name", "uid"]) {
      if (!ref?.[f]) errs.push(fieldRequired(`metadata.ownerReferences[${i}].${f}`, f === "uid" ? "uid must not be empty" : ""));
    }
  });
  if (meta.ownerReferences?.filter((r: KubeObject) => r?.controller === true).length > 1) {
    errs.push(fieldInvalid("metadata.ownerReferences", meta.ownerReferences, "Only one reference can have Controller set to true"));
  }
  return errs;
}
