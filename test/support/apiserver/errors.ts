/**
 * Kubernetes `Status` failures, with the codes, reasons and message texts the
 * real API server uses (k8s.io/apimachinery/pkg/api/errors), so that kubectl
 * and client libraries print and classify them exactly as against a cluster.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
  code: number;
}

/** A failure the server answers with; `status` is the response body. */
export class ApiError extends Error {
  override name = "ApiError";
  readonly status: StatusBody;
  constructor(status: StatusBody) {
    super(status.message ?? status.reason ?? `status ${status.code}`);
    this.status = status;
  }
  get code(): number {
    return this.status.code;
  }
}

/** group + resource, printed as Kubernetes prints a GroupResource. */
export interface GroupResource {
  group: string;
  resource: string;
}

function qualified(gr: GroupResource): string {
  return gr.group === "" ? gr.resource : `${gr.resource}.${gr.group}`;
}

function failure(
  code: number,
  reason: string,
  message: string,
  details?: StatusBody["details"],
): ApiError {
  const body: StatusBody = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
  if (details) {
    const d = Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined && v !== ""));
    body.details = d;
  }
  return new ApiError(body);
}

const detailsOf = (gr: GroupResource, name: string) => ({ name, group: gr.group, kind: gr.resource });

export const notFound = (gr: GroupResource, name: string) =>
  failure(404, "NotFound", `${qualified(gr)} "${name}" not found`, detailsOf(gr, name));

export const alreadyExists = (gr: GroupResource, name: string) =>
  failure(409, "AlreadyExists", `${qualified(gr)} "${name}" already exists`, detailsOf(gr, name));

/** Optimistic concurrency failure (stale resourceVersion, failed precondition). */
export const conflict = (gr: GroupResource, name: string, why: string) =>
  failure(409, "Conflict", `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, detailsOf(gr, name));

export const OBJECT_MODIFIED = "the object has been modified; please apply your changes to the latest version and try again";

/** What the watch cache answers for a resourceVersion older than its window. */
export const expired = (requested: number, oldest: number) =>
  failure(410, "Expired", `too old resource version: ${requested} (${oldest})`);

export const gone = (message: string) => failure(410, "Expired", message);

export const badRequest = (message: string) => failure(400, "BadRequest", message);

export const forbidden = (gr: GroupResource, name: string, why: string) =>
  failure(403, "Forbidden", `${qualified(gr)} "${name}" is forbidden: ${why}`, detailsOf(gr, name));

export const methodNotSupported = (gr: GroupResource, verb: string) =>
  failure(405, "MethodNotAllowed", `${verb} is not supported on resources of kind "${qualified(gr)}"`, {
    group: gr.group,
    kind: gr.resource,
  });

export const unsupportedMediaType = (accepted: string[]) =>
  failure(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );

export const pathNotFound = () => failure(404, "NotFound", "the server could not find the requested resource");

export const internalError = (message: string) =>
  failure(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] });

export const timeout = (message: string) => failure(504, "Timeout", message, { retryAfterSeconds: 1 });

/** One field problem, as field.Error prints it. */
export interface FieldError {
  field: string;
  type: "FieldValueInvalid" | "FieldValueRequired" | "FieldValueNotSupported" | "FieldValueForbidden" | "FieldValueDuplicate" | "FieldValueTypeInvalid" | "FieldValueTooLong" | "FieldValueTooMany";
  /** The full "<field>: <detail>" line, as Kubernetes builds it. */
  message: string;
}

export function fieldInvalid(field: string, value: unknown, detail: string): FieldError {
  return { field, type: "FieldValueInvalid", message: `${field}: Invalid value: ${goValue(value)}: ${detail}` };
}
export function fieldRequired(field: string, detail = ""): FieldError {
  return { field, type: "FieldValueRequired", message: `${field}: Required value${detail ? `: ${detail}` : ""}` };
}
export function fieldNotSupported(field: string, value: unknown, allowed: string[]): FieldError {
  const list = allowed.map((v) => JSON.stringify(v)).join(", ");
  return { field, type: "FieldValueNotSupported", message: `${field}: Unsupported value: ${goValue(value)}: supported values: ${list}` };
}
export function fieldForbidden(field: string, detail: string): FieldError {
  return { field, type: "FieldValueForbidden", message: `${field}: Forbidden: ${detail}` };
}
export function fieldTypeInvalid(field: string, value: unknown, detail: string): FieldError {
  return { field, type: "FieldValueTypeInvalid", message: `${field}: Invalid value: ${goValue(value)}: ${detail}` };
}
export function fieldDuplicate(field: string, value: unknown): FieldError {
  return { field, type: "FieldValueDuplicate", message: `${field}: Duplicate value: ${goValue(value)}` };
}
export function fieldTooMany(field: string, actual: number, max: number): FieldError {
  return { field, type: "FieldValueTooMany", message: `${field}: Too many: ${actual}: must have at most ${max} items` };
}
export function fieldTooLong(field: string, max: number): FieldError {
  return { field, type: "FieldValueTooLong", message: `${field}: Too long: may not be more than ${max} bytes` };
}

/** How field.Error prints a value: strings quoted, numbers and booleans bare, objects as JSON. */
function goValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null || value === undefined) return "null";
  return `"${typeof value === "object" && Array.isArray(value) ? "array" : "object"}"`;
}

/** 422 Invalid: `<Kind> "<name>" is invalid: [a, b]` with one cause per field error. */
export function invalid(kind: string, gr: GroupResource, name: string, errors: FieldError[]): ApiError {
  const text = errors.length === 1 ? errors[0].message : `[${errors.map((e) => e.message).join(", ")}]`;
  return failure(422, "Invalid", `${kind} "${name}" is invalid: ${text}`, {
    name,
    group: gr.group,
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.message.slice(e.field.length + 2), field: e.field })),
  });
}

/** The generic 422 the patch handler returns when a JSON patch cannot be applied. */
export const patchRejected = () =>
  failure(422, "Invalid", "the server rejected our request due to an error in our request", {});

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
