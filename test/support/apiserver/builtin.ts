/**
 * The built-in resource types the double serves: the kinds herald reads and
 * writes (Service, EndpointSlice, Node, Secret, Namespace, Event, ConfigMap,
 * Lease, CustomResourceDefinition) with their real strategies, plus the
 * kinds herald's deploy manifests contain (ServiceAccount, RBAC, DaemonSet)
 * as plain stored objects so `kubectl apply -f deploy/kubernetes/` works.
 */
import { fieldInvalid, fieldNotSupported, fieldRequired, type FieldError } from "./errors.ts";
import type { PatchMeta } from "./patch.ts";
import { prepareServiceCreate, prepareServiceUpdate, serviceCells, serviceColumns, validateService } from "./service.ts";
import { age } from "./table.ts";
import { type KubeObject, type ResourceType, storageKey } from "./types.ts";
import { crdType } from "./crd.ts";
import { coreEventFromEventsV1, eventsV1FromCoreEvent } from "./events.ts";

const META_PATCH: PatchMeta = {
  fields: {
    finalizers: { strategy: "merge" },
    ownerReferences: { strategy: "merge", mergeKey: "uid" },
  },
};

function withMeta(fields: Record<string, PatchMeta> = {}): PatchMeta {
  return { fields: { metadata: META_PATCH, ...fields } };
}

type Partial2 = Partial<ResourceType> & Pick<ResourceType, "group" | "resource" | "kind">;

/** Fills the usual values: one version v1, namespaced, no status, no generation. */
export function defineType(t: Partial2): ResourceType {
  const versions = t.versions ?? ["v1"];
  return {
    versions,
    storageVersion: versions[0],
    singular: t.kind.toLowerCase(),
    listKind: `${t.kind}List`,
    namespaced: true,
    shortNames: [],
    categories: [],
    hasStatus: false,
    custom: false,
    generation: "none",
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
    returnDeletedObject: false,
    storage: storageKey(t.group, t.resource),
    patchMeta: withMeta(),
    ...t,
  };
}

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

function nodeReady(node: KubeObject): string {
  const ready = (node.status?.conditions ?? []).find((c: KubeObject) => c.type === "Ready");
  let status = ready?.status === "True" ? "Ready" : ready?.status === "False" ? "NotReady" : "Unknown";
  if (node.spec?.unschedulable) status += ",SchedulingDisabled";
  return status;
}

function nodeRoles(node: KubeObject): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length))
    .filter(Boolean);
  return roles.length ? roles.sort().join(",") : "<none>";
}

function validateEndpointSlice(eps: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const types = ["FQDN", "IPv4", "IPv6"];
  if (!eps.addressType) errs.push(fieldRequired("addressType"));
  else if (!types.includes(eps.addressType)) errs.push(fieldNotSupported("addressType", eps.addressType, types));
  (eps.endpoints ?? []).forEach((ep: KubeObject, i: number) => {
    if (!Array.isArray(ep.addresses) || ep.addresses.length === 0) {
      errs.push(fieldRequired(`endpoints[${i}].addresses`, "must contain at least 1 address"));
    }
  });
  return errs;
}

function validateLease(lease: KubeObject): FieldError[] {
  const d = lease.spec?.leaseDurationSeconds;
  return d !== undefined && (!Number.isInteger(d) || d <= 0)
    ? [fieldInvalid("spec.leaseDurationSeconds", d, "must be greater than 0")]
    : [];
}

/** The types every double starts with. */
export function builtinTypes(): ResourceType[] {
  return [
    defineType({
      group: "",
      resource: "namespaces",
      kind: "Namespace",
      namespaced: false,
      shortNames: ["ns"],
      hasStatus: true,
      nameRule: "label",
      returnDeletedObject: true,
      fieldLabels: { "status.phase": (o) => o.status?.phase ?? "" },
      prepareCreate(ns) {
        ns.metadata.labels = { ...ns.metadata.labels, "kubernetes.io/metadata.name": ns.metadata.name };
        ns.spec = { finalizers: ["kubernetes"], ...ns.spec };
        ns.status = { phase: "Active" };
      },
      prepareUpdate(ns) {
        ns.metadata.labels = { ...ns.metadata.labels, "kubernetes.io/metadata.name": ns.metadata.name };
      },
      columns: [
        { name: "Name", type: "string", format: "name", jsonPath: ".metadata.name" },
        { name: "Status", type: "string", jsonPath: ".status.phase" },
        { name: "Age", type: "string", jsonPath: ".metadata.creationTimestamp" },
      ],
      cells: (o, now) => [o.metadata.name, o.status?.phase ?? "", age(o.metadata.creationTimestamp, now)],
    }),
    defineType({
      group: "",
      resource: "services",
      kind: "Service",
      shortNames: ["svc"],
      categories: ["all"],
      hasStatus: true,
      nameRule: "dns1035",
      allowCreateOnUpdate: true,
      returnDeletedObject: true,
      patchMeta: withMeta({
        spec: { fields: { ports: { strategy: "merge", mergeKey: "port" } } },
        status: { fields: { conditions: { strategy: "merge", mergeKey: "type" } } },
      }),
      prepareCreate: prepareServiceCreate,
      prepareUpdate: prepareServiceUpdate,
      validate: validateService,
      columns: serviceColumns,
      cells: serviceCells,
    }),
    defineType({
      group: "discovery.k8s.io",
      resource: "endpointslices",
      kind: "EndpointSlice",
      generation: "contentOrLabels",
      validate: validateEndpointSlice,
      prepareCreate(eps) {
        for (const p of eps.ports ?? []) p.protocol ??= "TCP";
      },
      prepareUpdate(eps) {
        for (const p of eps.ports ?? []) p.protocol ??= "TCP";
      },
      columns: [
        { name: "Name", type: "string", format: "name", jsonPath: ".metadata.name" },
        { name: "AddressType", type: "string", jsonPath: ".addressType" },
        { name: "Ports", type: "string", jsonPath: ".ports" },
        { name: "Endpoints", type: "string", jsonPath: ".endpoints" },
        { name: "Age", type: "string", jsonPath: ".metadata.creationTimestamp" },
      ],
      cells: (o, now) => {
        const ports = (o.ports ?? []).map((p: KubeObject) => p.port ?? "<unset>").join(",") || "<unset>";
        const addrs: string[] = (o.endpoints ?? []).flatMap((e: KubeObject) => e.addresses ?? []);
        const eps = addrs.length === 0 ? "<unset>" : addrs.length > 3 ? `${addrs.slice(0, 3).join(",")} + ${addrs.length - 3} more...` : addrs.join(",");
        return [o.metadata.name, o.addressType, ports, eps, age(o.metadata.creationTimestamp, now)];
      },
    }),
    defineType({
      group: "",
      resource: "nodes",
      kind: "Node",
      namespaced: false,
      shortNames: ["no"],
      hasStatus: true,
      returnDeletedObject: true,
      fieldLabels: { "spec.unschedulable": (o) => String(o.spec?.unschedulable ?? false) },
      patchMeta: withMeta({
        spec: { fields: { podCIDRs: { strategy: "merge" } } },
        status: {
          fields: {
            conditions: { strategy: "merge", mergeKey: "type" },
            addresses: { strategy: "merge", mergeKey: "type" },
          },
        },
      }),
      columns: [
        { name: "Name", type: "string", format: "name", jsonPath: ".metadata.name" },
        { name: "Status", type: "string", jsonPath: ".status.conditions" },
        { name: "Roles", type: "string", jsonPath: ".metadata.labels" },
        { name: "Age", type: "string", jsonPath: ".metadata.creationTimestamp" },
        { name: "Version", type: "string", jsonPath: ".status.nodeInfo.kubeletVersion" },
      ],
      cells: (o, now) => [o.metadata.name, nodeReady(o), nodeRoles(o), age(o.metadata.creationTimestamp, now), o.status?.nodeInfo?.kubeletVersion ?? ""],
    }),
    defineType({
      group: "",
      resource: "secrets",
      kind: "Secret",
      fieldLabels: { type: (o) => o.type ?? "" },
      prepareCreate: normaliseSecret,
      prepareUpdate: normaliseSecret,
      validate(secret) {
        const errs: FieldError[] = [];
        for (const [k, v] of Object.entries(secret.data ?? {})) {
          if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errs.push(fieldInvalid(`data[${k}]`, "<secret contents redacted>", "illegal base64 data"));
        }
        return errs;
      },
      columns: [
        { name: "Name", type: "string", format: "name", jsonPath: ".metadata.name" },
        { name: "Type", type: "string", jsonPath: ".type" },
        { name: "Data", type: "string", jsonPath: ".data" },
        { name: "Age", type: "string", jsonPath: ".metadata.creationTimestamp" },
      ],
      cells: (o, now) => [o.metadata.name, o.type, Object.keys(o.data ?? {}).length, age(o.metadata.creationTimestamp, now)],
    }),
    defineType({
      group: "",
      resource: "configmaps",
      kind: "ConfigMap",
      shortNames: ["cm"],
      columns: [
        { name: "Name", type: "string", format: "name", jsonPath: ".metadata.name" },
        { name: "Data", type: "string", jsonPath: ".data" },
        { name: "Age", type: "string", jsonPath: ".metadata.creationTimestamp" },
      ],
      cells: (o, now) => [
        o.metadata.name,
        Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
        age(o.metadata.creationTimestamp, now),
      ],
    }),
    defineType({
      group: "",
      resource: "events",
      kind: "Event",
      shortNames: ["ev"],
      nameRule: "path",
      allowCreateOnUpdate: true,
      fieldLabels: Object.fromEntries([
        ...["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"].map((f) => [
          `involvedObject.${f}`,
          (o: KubeObject) => String(o.involvedObject?.[f] ?? ""),
        ]),
        ["reason", (o: KubeObject) => o.reason ?? ""],
        ["reportingComponent", (o: KubeObject) => o.reportingComponent ?? ""],
        ["source", (o: KubeObject) => o.source?.component ?? o.reportingComponent ?? ""],
        ["type", (o: KubeObject) => o.type ?? ""],
      ]),
      columns: [
        { name: "Last Seen", type: "string", jsonPath: ".lastTimestamp" },
        { name: "Type", type: "string", jsonPath: ".type" },
        { name: "Reason", type: "string", jsonPath: ".reason" },
        { name: "Object", type: "string", jsonPath: ".involvedObject" },
        { name: "Message", type: "string", jsonPath: ".message" },
      ],
      cells: (o, now) => [
        age(o.lastTimestamp ?? o.series?.lastObservedTime ?? o.eventTime ?? o.metadata.creationTimestamp, now),
        o.type ?? "",
        o.reason ?? "",
        `${String(o.involvedObject?.kind ?? "").toLowerCase()}/${o.involvedObject?.name ?? ""}`,
        o.message ?? "",
      ],
    }),
    defineType({
      group: "events.k8s.io",
      resource: "events",
      kind: "Event",
      shortNames: ["ev"],
      nameRule: "path",
      allowCreateOnUpdate: true,
      storage: storageKey("", "events"),
      toExternal: eventsV1FromCoreEvent,
      toInternal: coreEventFromEventsV1,
      fieldLabels: Object.fromEntries([
        ...["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"].map((f) => [
          `regarding.${f}`,
          (o: KubeObject) => String(o.involvedObject?.[f] ?? ""),
        ]),
        ["reason", (o: KubeObject) => o.reason ?? ""],
        ["reportingController", (o: KubeObject) => o.reportingComponent ?? ""],
        ["type", (o: KubeObject) => o.type ?? ""],
      ]),
    }),
    defineType({
      group: "coordination.k8s.io",
      resource: "leases",
      kind: "Lease",
      allowCreateOnUpdate: true,
      validate: validateLease,
      columns: [
        { name: "Name", type: "string", format: "name", jsonPath: ".metadata.name" },
        { name: "Holder", type: "string", jsonPath: ".spec.holderIdentity" },
        { name: "Age", type: "string", jsonPath: ".metadata.creationTimestamp" },
      ],
      cells: (o, now) => [o.metadata.name, o.spec?.holderIdentity ?? "", age(o.metadata.creationTimestamp, now)],
    }),
    crdType(),
    // Stored as-is: what herald's deploy manifests hold besides the above.
    defineType({ group: "", resource: "serviceaccounts", kind: "ServiceAccount", shortNames: ["sa"] }),
    defineType({ group: "rbac.authorization.k8s.io", resource: "clusterroles", kind: "ClusterRole", namespaced: false, nameRule: "path" }),
    defineType({ group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", kind: "ClusterRoleBinding", namespaced: false, nameRule: "path" }),
    defineType({ group: "rbac.authorization.k8s.io", resource: "roles", kind: "Role", nameRule: "path" }),
    defineType({ group: "rbac.authorization.k8s.io", resource: "rolebindings", kind: "RoleBinding", nameRule: "path" }),
    defineType({
      group: "apps",
      resource: "daemonsets",
      kind: "DaemonSet",
      shortNames: ["ds"],
      categories: ["all"],
      hasStatus: true,
      generation: "content",
      prepareCreate(ds) {
        ds.status = { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 };
      },
    }),
  ];
}

/** stringData is write-only: the server merges it into data (base64) and drops it. */
function normaliseSecret(secret: KubeObject): void {
  secret.type ??= "Opaque";
  if (secret.stringData) {
    secret.data = { ...secret.data };
    for (const [k, v] of Object.entries(secret.stringData)) secret.data[k] = b64(String(v));
    delete secret.stringData;
  }
}
