/**
 * Request routing of the double: discovery and OpenAPI documents, then
 * resource URLs (`/api/v1/...`, `/apis/<group>/<version>/...`, namespaced or
 * not, legacy `/watch/` prefix, `/status`) dispatched to the engine by verb,
 * with Table responses when kubectl asks for them.
 */
import type http from "node:http";
import { parse as parseYaml } from "yaml";
import { apiGroupDoc, apiGroupList, apiResourceList, apiVersions, openAPIV3Doc, openAPIV3Root, SERVER_VERSION } from "./discovery.ts";
import type { DeleteOptions, Engine, WriteOptions } from "./engine.ts";
import { badRequest, methodNotSupported, pathNotFound, unsupportedMediaType } from "./errors.ts";
import type { Json } from "./patch.ts";
import { toTable, wantsTable } from "./table.ts";
import type { KubeObject, ResourceType } from "./types.ts";
import type { WatchQuery } from "./watch.ts";

/** What routing needs from the server. */
export interface RouteContext {
  engine: Engine;
  /** host:port, for the /api document. */
  serverAddress: string;
  /** Hands the response over to a watch stream. */
  startWatch(req: http.IncomingMessage, res: http.ServerResponse, target: Target, query: WatchQuery, render: (o: KubeObject) => KubeObject): void;
}

export interface Target {
  type: ResourceType;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  legacyWatch: boolean;
}

/** Reasons for injected failures, by status code. */
export const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  410: "Expired",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/**
 * Answers one request: [status, body], or [0, undefined] when a watch stream
 * took the response over.
 */
export function route(
  ctx: RouteContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  query: Record<string, string>,
  body: string,
  isWatch: boolean,
  warnings: string[],
): [number, Json] {
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const types = ctx.engine.types;
  const method = req.method ?? "GET";
  if (method === "GET") {
    if (path === "/version") return [200, SERVER_VERSION];
    if (path === "/healthz" || path === "/livez" || path === "/readyz") return [200, "ok"];
    if (path === "/api") return [200, apiVersions(ctx.serverAddress)];
    if (path === "/apis") return [200, apiGroupList(types)];
    if (path === "/openapi/v3") return [200, openAPIV3Root(types)];
    let m = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (m) {
      const doc = m[1] ? openAPIV3Doc(types, "", m[1]) : openAPIV3Doc(types, m[2], m[3]);
      if (doc) return [200, doc];
      throw pathNotFound();
    }
    m = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (m) {
      const doc = m.length === 2 ? apiResourceList(types, "", m[1]) : apiResourceList(types, m[1], m[2]);
      if (doc) return [200, doc];
      throw pathNotFound();
    }
    m = /^\/apis\/([^/]+)$/.exec(path);
    if (m) {
      const doc = apiGroupDoc(types, m[1]);
      if (doc) return [200, doc];
      throw pathNotFound();
    }
  }
  const target = findTarget(ctx, path);
  if (!target) throw pathNotFound();
  return resource(ctx, req, res, target, query, body, isWatch || target.legacyWatch, warnings);
}

function findTarget(ctx: RouteContext, path: string): Target | undefined {
  const m = /^\/api\/(v1)\/(.+)$/.exec(path) ?? /^\/apis\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
  if (!m) return undefined;
  const [group, version, rest] = m.length === 3 ? ["", m[1], m[2]] : [m[1], m[2], m[3]];
  let segs = rest.split("/").map(decodeURIComponent);
  let legacyWatch = false;
  if (segs[0] === "watch") {
    legacyWatch = true;
    segs = segs.slice(1);
  }
  let namespace: string | undefined;
  if (segs[0] === "namespaces" && segs.length >= 3) {
    const inner = ctx.engine.types.find(group, version, segs[2]);
    if (inner?.namespaced) {
      namespace = segs[1];
      segs = segs.slice(2);
    }
  }
  const [resource, name, subresource, ...extra] = segs;
  if (extra.length) return undefined;
  const type = ctx.engine.types.find(group, version, resource);
  if (!type) return undefined;
  if (!type.namespaced && namespace !== undefined) return undefined;
  if (subresource !== undefined && !(subresource === "status" && type.hasStatus)) return undefined;
  return { type, version, namespace, name, subresource, legacyWatch };
}

function resource(
  ctx: RouteContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  t: Target,
  query: Record<string, string>,
  body: string,
  isWatch: boolean,
  warnings: string[],
): [number, Json] {
  const { type, version, namespace, name } = t;
  const e = ctx.engine;
  const method = req.method ?? "GET";
  const table = wantsTable(req.headers.accept);
  const now = Date.now();
  const render = (o: KubeObject) =>
    table ? toTable(type, version, [o], { resourceVersion: o.metadata.resourceVersion }, query.includeObject ?? null, now) : o;
  const write: WriteOptions = {
    dryRun: query.dryRun === "All",
    fieldValidation: query.fieldValidation,
    fieldManager: query.fieldManager,
    subresource: t.subresource === "status" ? "status" : undefined,
    warnings,
  };
  const listQuery = {
    labelSelector: query.labelSelector,
    fieldSelector: query.fieldSelector,
    limit: query.limit ? Number(query.limit) : undefined,
    continue: query.continue,
    resourceVersion: query.resourceVersion,
    resourceVersionMatch: query.resourceVersionMatch,
  };
  const bodyType = (req.headers["content-type"] ?? "").split(";")[0].trim();
  if ((method === "POST" || method === "PUT") && body && bodyType !== "" && bodyType !== "application/json" && bodyType !== "application/yaml") {
    // Protobuf (what kubectl's imperative `create namespace` sends) is not spoken here.
    throw unsupportedMediaType(["application/json", "application/yaml"]);
  }
  switch (method) {
    case "GET": {
      if (isWatch) {
        const wq: WatchQuery = {
          ...listQuery,
          allowWatchBookmarks: query.allowWatchBookmarks === "true",
          sendInitialEvents: query.sendInitialEvents === "true",
          timeoutSeconds: query.timeoutSeconds ? Number(query.timeoutSeconds) : undefined,
        };
        if (name) wq.fieldSelector = [wq.fieldSelector, `metadata.name=${name}`].filter(Boolean).join(",");
        ctx.startWatch(req, res, t, wq, render);
        return [0, undefined];
      }
      if (name) return [200, render(e.get(type, version, namespace, name))];
      const list = e.list(type, version, namespace, listQuery);
      if (!table) return [200, list];
      return [200, toTable(type, version, list.items, list.metadata, query.includeObject ?? null, now)];
    }
    case "POST": {
      if (name) throw methodNotSupported({ group: type.group, resource: type.resource }, "create");
      return [201, e.create(type, version, namespace, parseJson(body, bodyType), write)];
    }
    case "PUT": {
      if (!name) throw methodNotSupported({ group: type.group, resource: type.resource }, "update");
      const { object, created } = e.update(type, version, namespace, name, parseJson(body, bodyType), write);
      return [created ? 201 : 200, object];
    }
    case "PATCH": {
      if (!name) throw methodNotSupported({ group: type.group, resource: type.resource }, "patch");
      const existed = !!e.store.get(type.storage, type.namespaced ? `${namespace}/${name}` : name);
      const out = e.patch(type, version, namespace, name, body, req.headers["content-type"] ?? "", write);
      return [existed ? 200 : 201, out];
    }
    case "DELETE": {
      const opts: DeleteOptions = body ? parseJson(body) : {};
      if (query.propagationPolicy) opts.propagationPolicy = query.propagationPolicy as DeleteOptions["propagationPolicy"];
      if (query.dryRun === "All") opts.dryRun = true;
      if (Array.isArray(opts.dryRun)) opts.dryRun = (opts.dryRun as string[]).includes("All");
      if (!name) return [200, e.deleteCollection(type, version, namespace, listQuery, opts)];
      return [200, e.delete(type, version, namespace, name, opts)];
    }
    default:
      throw methodNotSupported({ group: type.group, resource: type.resource }, method.toLowerCase());
  }
}

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(body: string, contentType = "application/json"): Json {
  try {
    return contentType === "application/yaml" ? parseYaml(body) : JSON.parse(body);
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

export function send(res: http.ServerResponse, code: number, payload: Json): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  res.writeHead(code, {
    "Content-Type": typeof payload === "string" ? "text/plain; charset=utf-8" : "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
  });
  res.end(text);
}
