/**
 * The HTTP face of the double (node:http, plain HTTP): routing of discovery,
 * OpenAPI and resource URLs to the engine, JSON and Table responses, watch
 * streams (chunked JSON lines), Warning headers — and the test hooks:
 * restart keeping or dropping state, drop watches, compact history, send
 * bookmarks, inject failures, record requests.
 */
import http from "node:http";
import { parse as parseYaml } from "yaml";
import type { Socket } from "node:net";
import { type ApiError, badRequest, internalError, isApiError, methodNotSupported, pathNotFound, type StatusBody, unsupportedMediaType } from "./errors.ts";
import { apiGroupDoc, apiGroupList, apiResourceList, apiVersions, openAPIV3Doc, openAPIV3Root, SERVER_VERSION } from "./discovery.ts";
import { type DeleteOptions, Engine, type EngineOptions, type WriteOptions } from "./engine.ts";
import type { Json } from "./patch.ts";
import { toTable, wantsTable } from "./table.ts";
import type { KubeObject, ResourceType } from "./types.ts";
import { ActiveWatch, type WatchQuery } from "./watch.ts";

export interface ApiServerOptions extends Partial<EngineOptions> {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Period of BOOKMARK events on watches that allow them (Kubernetes: about a minute). */
  bookmarkIntervalMs?: number;
}

export interface FailureSpec {
  method?: string;
  /** Substring of, or pattern for, the URL path. */
  path?: string | RegExp;
  /** Only watch requests (true) or only other requests (false). */
  watch?: boolean;
  /** Answer with this status code (a Status body); 0 with `delayMs` only delays. */
  status?: number;
  reason?: string;
  message?: string;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  delayMs?: number;
  /** How many requests it applies to (default 1). */
  times?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: string;
  status?: number;
  watch: boolean;
}

const REASONS: Record<number, string> = {
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

interface Target {
  type: ResourceType;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  legacyWatch: boolean;
}

export class ApiServerDouble {
  engine: Engine;
  readonly requests: RequestRecord[] = [];
  #options: ApiServerOptions;
  #server: http.Server | undefined;
  #sockets = new Set<Socket>();
  #watches = new Set<ActiveWatch>();
  #failures: { spec: FailureSpec; remaining: number }[] = [];
  #host: string;
  #port: number;

  constructor(options: ApiServerOptions = {}) {
    this.#options = options;
    this.engine = new Engine(options);
    this.#host = options.host ?? "127.0.0.1";
    this.#port = options.port ?? 0;
  }

  get url(): string {
    const host = this.#host.includes(":") ? `[${this.#host}]` : this.#host;
    return `http://${host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  get watchCount(): number {
    return this.#watches.size;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => void this.#handle(req, res));
    server.on("connection", (s: Socket) => {
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, this.#host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#port = (server.address() as { port: number }).port;
    this.#server = server;
    return this;
  }

  /** Closes the listener and every connection (watches end abruptly). */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const w of [...this.#watches]) w.abandon();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Simulates an API server restart: every connection drops, the port is
   * unreachable for `downMs`, then it listens again on the same port.
   * `keepState: false` also loses every object (the revision counter goes
   * on, so watches resumed from before get 410 Gone and clients relist).
   */
  async restart(options: { keepState?: boolean; downMs?: number } = {}): Promise<void> {
    await this.stop();
    if (options.keepState === false) {
      this.engine.gc.clear();
      this.engine.reset();
    }
    if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
    await this.start();
  }

  /** Ends every watch stream cleanly (as a server-side timeout does); `abrupt` resets the connections instead. */
  dropWatches(options: { abrupt?: boolean } = {}): void {
    for (const w of [...this.#watches]) {
      if (options.abrupt) {
        w.abandon();
      } else w.close();
    }
    if (options.abrupt) {
      for (const s of this.#watchSockets) s.destroy();
      this.#watchSockets.clear();
    }
  }

  #watchSockets = new Set<Socket>();

  /** Forgets the event history: watches from any earlier resourceVersion get 410 Gone. */
  compact(storage?: string): void {
    this.engine.store.compact(storage);
  }

  setHistorySize(n: number): void {
    this.engine.store.historySize = n;
  }

  /** Sends a BOOKMARK on every watch that allows them. */
  sendBookmarks(): void {
    for (const w of this.#watches) w.bookmark(false);
  }

  /** Makes the next matching request(s) fail, be delayed or have their connection reset. */
  failNext(spec: FailureSpec): { remaining(): number; cancel(): void } {
    const entry = { spec, remaining: spec.times ?? 1 };
    this.#failures.push(entry);
    return {
      remaining: () => entry.remaining,
      cancel: () => {
        this.#failures = this.#failures.filter((f) => f !== entry);
      },
    };
  }

  clearFailures(): void {
    this.#failures = [];
  }

  /** Waits until garbage collection and namespace termination have settled. */
  settle(): Promise<void> {
    return this.engine.gc.idle();
  }

  /** A kubeconfig for this server (plain HTTP; client-node requires insecure-skip-tls-verify for http). */
  kubeconfig(namespace = "default"): string {
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: herald-double",
      "  cluster:",
      `    server: ${this.url}`,
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: herald-double",
      "  user: {}",
      "contexts:",
      "- name: herald-double",
      "  context:",
      "    cluster: herald-double",
      "    user: herald-double",
      `    namespace: ${namespace}`,
      "current-context: herald-double",
      "",
    ].join("\n");
  }

  // ---- in-process helpers for test setup (no HTTP) ----

  #typeFor(apiVersion: string, kind: string): { type: ResourceType; version: string } {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const type = this.engine.types.byKind(group, kind);
    if (!type || !type.versions.includes(version)) throw new Error(`Cannot find kind: "${apiVersion}, ${kind}" is not served`);
    return { type, version };
  }

  /** Creates the object, or replaces it (keeping its resourceVersion) when it exists; status is written too when given. */
  put(obj: KubeObject): KubeObject {
    const { type, version } = this.#typeFor(obj.apiVersion, obj.kind);
    const ns = type.namespaced ? obj.metadata.namespace ?? "default" : undefined;
    const existing = this.engine.store.get(type.storage, ns ? `${ns}/${obj.metadata.name}` : obj.metadata.name);
    let out: KubeObject;
    if (!existing) out = this.engine.create(type, version, ns, obj);
    else {
      const body = structuredClone(obj);
      body.metadata = { ...body.metadata, resourceVersion: existing.metadata.resourceVersion };
      out = this.engine.update(type, version, ns, obj.metadata.name, body).object;
    }
    if (obj.status !== undefined && type.hasStatus) {
      out = this.engine.update(type, version, ns, obj.metadata.name, { ...out, status: obj.status }, { subresource: "status" }).object;
    }
    return out;
  }

  get(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject {
    const { type, version } = this.#typeFor(apiVersion, kind);
    return this.engine.get(type, version, type.namespaced ? namespace ?? "default" : undefined, name);
  }

  /** Like get, but undefined when absent. */
  find(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject | undefined {
    try {
      return this.get(apiVersion, kind, name, namespace);
    } catch (err) {
      if (isApiError(err) && err.code === 404) return undefined;
      throw err;
    }
  }

  remove(apiVersion: string, kind: string, name: string, namespace?: string, options: DeleteOptions = {}): void {
    const { type, version } = this.#typeFor(apiVersion, kind);
    this.engine.delete(type, version, type.namespaced ? namespace ?? "default" : undefined, name, options);
  }

  list(apiVersion: string, kind: string, namespace?: string): KubeObject[] {
    const { type, version } = this.#typeFor(apiVersion, kind);
    return this.engine.list(type, version, namespace, {}).items;
  }

  // ---- HTTP ----

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://double");
    const query = Object.fromEntries(url.searchParams);
    const isWatch = query.watch === "true" || query.watch === "1" || /^\/apis?\/(?:[^/]+\/)?v[^/]*\/watch\//.test(url.pathname);
    const record: RequestRecord = {
      method: req.method ?? "GET",
      path: url.pathname,
      query,
      contentType: req.headers["content-type"],
      watch: isWatch,
    };
    this.requests.push(record);
    const body = await readBody(req);
    if (body) record.body = body;

    const failure = this.#failures.find(({ spec, remaining }) =>
      remaining > 0 &&
      (!spec.method || spec.method === record.method) &&
      (spec.watch === undefined || spec.watch === isWatch) &&
      (!spec.path || (typeof spec.path === "string" ? url.pathname.includes(spec.path) : spec.path.test(url.pathname)))
    );
    if (failure) {
      failure.remaining--;
      if (failure.spec.delayMs) await new Promise((r) => setTimeout(r, failure.spec.delayMs));
      if (failure.spec.reset) {
        req.socket.destroy();
        return;
      }
      if (failure.spec.status) {
        const code = failure.spec.status;
        const status: StatusBody = {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: failure.spec.message ?? `injected failure (${code})`,
          reason: failure.spec.reason ?? REASONS[code] ?? "InternalError",
          code,
        };
        record.status = code;
        return send(res, code, status);
      }
    }

    try {
      const warnings: string[] = [];
      const [code, payload] = this.#route(req, res, url, query, body, isWatch, warnings);
      if (code === 0) {
        record.status = 200;
        return; // a watch stream owns the response now
      }
      record.status = code;
      if (warnings.length) res.setHeader("Warning", warnings.map((w) => `299 - ${JSON.stringify(w)}`));
      send(res, code, payload);
    } catch (err) {
      const apiErr: ApiError = isApiError(err) ? err : internalError((err as Error).message);
      record.status = apiErr.code;
      send(res, apiErr.code, apiErr.status);
    }
  }

  #route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    query: Record<string, string>,
    body: string,
    isWatch: boolean,
    warnings: string[],
  ): [number, Json] {
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const types = this.engine.types;
    const method = req.method ?? "GET";
    if (method === "GET") {
      if (path === "/version") return [200, SERVER_VERSION];
      if (path === "/healthz" || path === "/livez" || path === "/readyz") return [200, "ok"];
      if (path === "/api") return [200, apiVersions(`${this.#host}:${this.#port}`)];
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
    const target = this.#target(path);
    if (!target) throw pathNotFound();
    return this.#resource(req, res, target, query, body, isWatch || target.legacyWatch, warnings);
  }

  #target(path: string): Target | undefined {
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
      const inner = this.engine.types.find(group, version, segs[2]);
      if (inner?.namespaced) {
        namespace = segs[1];
        segs = segs.slice(2);
      }
    }
    const [resource, name, subresource, ...extra] = segs;
    if (extra.length) return undefined;
    const type = this.engine.types.find(group, version, resource);
    if (!type) return undefined;
    if (!type.namespaced && namespace !== undefined) return undefined;
    if (subresource !== undefined && !(subresource === "status" && type.hasStatus)) return undefined;
    return { type, version, namespace, name, subresource, legacyWatch };
  }

  #resource(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    t: Target,
    query: Record<string, string>,
    body: string,
    isWatch: boolean,
    warnings: string[],
  ): [number, Json] {
    const { type, version, namespace, name } = t;
    const e = this.engine;
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
          this.#watch(req, res, t, wq, render);
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

  #watch(req: http.IncomingMessage, res: http.ServerResponse, t: Target, q: WatchQuery, render: (o: KubeObject) => KubeObject): void {
    // Selector errors must be answered before the stream starts.
    this.engine.matcher(t.type, t.namespace, q);
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    const socket = req.socket;
    this.#watchSockets.add(socket);
    let watch: ActiveWatch | undefined = undefined;
    const onClose = () => watch?.abandon();
    res.on("close", onClose);
    watch = new ActiveWatch(
      this.engine,
      { type: t.type, version: t.version, namespace: t.namespace, query: q, render },
      {
        send: (ev) => {
          if (!res.writableEnded) res.write(JSON.stringify(ev) + "\n");
        },
        end: () => {
          res.off("close", onClose);
          this.#watchSockets.delete(socket);
          if (!res.writableEnded) res.end();
        },
      },
      (w) => this.#watches.delete(w),
      this.#options.bookmarkIntervalMs ?? 60_000,
    );
    if (!watch.closed) this.#watches.add(watch);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
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

function send(res: http.ServerResponse, code: number, payload: Json): void {
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
