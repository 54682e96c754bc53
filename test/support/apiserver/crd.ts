/**
 * CustomResourceDefinitions: the apiextensions.k8s.io/v1 type itself (with
 * the status the real server writes: NamesAccepted, Established,
 * acceptedNames, storedVersions) and the resource type a CRD registers for
 * its custom resources (served versions, scope, status subresource, schema,
 * printer columns, short names, categories).
 */
import { type FieldError, fieldInvalid, fieldNotSupported, fieldRequired } from "./errors.ts";
import { structuralErrors, type StructuralSchema } from "./schema.ts";
import { type KubeObject, type PrinterColumn, type ResourceType, storageKey } from "./types.ts";

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

function defaultNames(crd: KubeObject): void {
  const names = (crd.spec.names ??= {});
  if (names.kind) {
    names.singular ??= String(names.kind).toLowerCase();
    names.listKind ??= `${names.kind}List`;
  }
  crd.spec.conversion ??= { strategy: "None" };
  for (const v of crd.spec.versions ?? []) {
    if (v.subresources === undefined) continue;
    v.subresources = { ...v.subresources };
  }
}

function crdStatus(crd: KubeObject, old?: KubeObject): KubeObject {
  const stamp = now();
  const storage = (crd.spec.versions ?? []).find((v: KubeObject) => v.storage)?.name;
  const stored = new Set<string>(old?.status?.storedVersions ?? []);
  if (storage) stored.add(storage);
  const cond = (type: string, reason: string, message: string) => {
    const prev = (old?.status?.conditions ?? []).find((c: KubeObject) => c.type === type);
    return { type, status: "True", lastTransitionTime: prev?.lastTransitionTime ?? stamp, reason, message };
  };
  return {
    acceptedNames: { ...crd.spec.names },
    conditions: [
      cond("NamesAccepted", "NoConflicts", "no conflicts found"),
      cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ],
    storedVersions: [...stored],
  };
}

function validateCRD(crd: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  if (!spec.group) errs.push(fieldRequired("spec.group"));
  else if (!String(spec.group).includes(".")) errs.push(fieldInvalid("spec.group", spec.group, "should be a domain with at least one dot"));
  if (!names.plural) errs.push(fieldRequired("spec.names.plural"));
  if (!names.kind) errs.push(fieldRequired("spec.names.kind"));
  if (spec.group && names.plural && crd.metadata.name !== `${names.plural}.${spec.group}`) {
    errs.push(fieldInvalid("metadata.name", crd.metadata.name, `must be spec.names.plural+"."+spec.group`));
  }
  if (!["Cluster", "Namespaced"].includes(spec.scope)) errs.push(fieldNotSupported("spec.scope", spec.scope ?? "", ["Cluster", "Namespaced"]));
  const versions: KubeObject[] = spec.versions ?? [];
  if (versions.length === 0) errs.push(fieldInvalid("spec.versions", versions, "must have exactly one version marked as storage version"));
  else if (versions.filter((v) => v.storage).length !== 1) {
    errs.push(fieldInvalid("spec.versions", versions, "must have exactly one version marked as storage version"));
  }
  versions.forEach((v, i) => {
    if (!v.name) errs.push(fieldRequired(`spec.versions[${i}].name`));
    if (v.served === undefined) errs.push(fieldRequired(`spec.versions[${i}].served`));
    if (v.storage === undefined) errs.push(fieldRequired(`spec.versions[${i}].storage`));
    for (const msg of structuralErrors(v.schema?.openAPIV3Schema, `spec.versions[${i}].schema.openAPIV3Schema`)) {
      errs.push({ field: msg.slice(0, msg.indexOf(":")), type: "FieldValueInvalid", message: msg });
    }
  });
  return errs;
}

/** The CustomResourceDefinition type. */
export function crdType(): ResourceType {
  return {
    group: "apiextensions.k8s.io",
    versions: ["v1"],
    storageVersion: "v1",
    resource: "customresourcedefinitions",
    singular: "customresourcedefinition",
    kind: "CustomResourceDefinition",
    listKind: "CustomResourceDefinitionList",
    namespaced: false,
    shortNames: ["crd", "crds"],
    categories: ["api-extensions"],
    hasStatus: true,
    custom: false,
    generation: "content",
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: false,
    returnDeletedObject: true,
    storage: storageKey("apiextensions.k8s.io", "customresourcedefinitions"),
    patchMeta: {
      fields: {
        metadata: { fields: { finalizers: { strategy: "merge" }, ownerReferences: { strategy: "merge", mergeKey: "uid" } } },
        status: { fields: { conditions: { strategy: "merge", mergeKey: "type" } } },
      },
    },
    prepareCreate(crd) {
      defaultNames(crd);
      crd.status = crdStatus(crd);
    },
    prepareUpdate(crd, old) {
      defaultNames(crd);
      crd.status = crdStatus(crd, old);
    },
    validate: validateCRD,
  };
}

/** The resource type a CRD registers, or undefined when it serves nothing. */
export function typeFromCRD(crd: KubeObject): ResourceType | undefined {
  const spec = crd.spec;
  const versions: KubeObject[] = (spec.versions ?? []).filter((v: KubeObject) => v.served);
  if (versions.length === 0) return undefined;
  const storage = (spec.versions as KubeObject[]).find((v) => v.storage)?.name ?? versions[0].name;
  // Discovery lists versions by Kubernetes version priority (GA > beta > alpha, then number).
  const ordered = [...versions].sort((a, b) => versionPriority(b.name) - versionPriority(a.name));
  const schemas: Record<string, StructuralSchema | undefined> = {};
  const printerColumns: Record<string, PrinterColumn[]> = {};
  let hasStatus = false;
  for (const v of versions) {
    schemas[v.name] = v.schema?.openAPIV3Schema;
    printerColumns[v.name] = v.additionalPrinterColumns ?? [];
    if (v.subresources?.status !== undefined) hasStatus = true;
  }
  return {
    group: spec.group,
    versions: ordered.map((v) => v.name),
    storageVersion: storage,
    resource: spec.names.plural,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    kind: spec.names.kind,
    listKind: spec.names.listKind ?? `${spec.names.kind}List`,
    namespaced: spec.scope === "Namespaced",
    shortNames: spec.names.shortNames ?? [],
    categories: spec.names.categories ?? [],
    hasStatus,
    custom: true,
    generation: "content",
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: false,
    returnDeletedObject: true,
    storage: storageKey(spec.group, spec.names.plural),
    schemas,
    printerColumns,
    crd: crd.metadata.name,
  };
}

/** Kubernetes version ordering: v2 > v1 > v2beta1 > v1beta2 > v1alpha1 > other. */
export function versionPriority(v: string): number {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
  if (!m) return 0;
  const major = Number(m[1]);
  const stage = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
  const minor = m[3] === undefined ? 0 : Number(m[3]);
  return stage * 1_000_000 + major * 1000 + minor;
}
