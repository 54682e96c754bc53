/**
 * The double's server (node:http, plain HTTP): connections, request
 * recording, watch streams (chunked JSON lines), Warning headers — routing
 * is in routes.ts — and the test hooks:
 * restart keeping or dropping state, drop watches, compact history, send
 * bookmarks, inject failures, record requests.
 */
import http from "node:http";
import type { Socket } from "node:net";
import { type ApiError, internalError, isApiError, type StatusBody } from "./errors.ts";
import { type DeleteOptions, Engine, type EngineOptions } from "./engine.ts";
import { readBody, REASONS, route, type RouteContext, send, type Target } from "./routes.ts";
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
  /** Any other condition on the request (a client's token, a body). */
  when?: (request: RequestRecord) => boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: string;
  status?: number;
  watch: boolean;
  /** Request headers, names in lower case. */
  headers: Record<string, string>;
  /** When it arrived (Date.now()). */
  time: number;
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
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v ?? ""])),
      time: Date.now(),
    };
    this.requests.push(record);
    const body = await readBody(req);
    if (body) record.body = body;

    const failure = this.#failures.find(({ spec, remaining }) =>
      remaining > 0 &&
      (!spec.method || spec.method === record.method) &&
      (spec.watch === undefined || spec.watch === isWatch) &&
      (!spec.path || (typeof spec.path === "string" ? url.pathname.includes(spec.path) : spec.path.test(url.pathname))) &&
      (!spec.when || spec.when(record))
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
      const ctx: RouteContext = {
        engine: this.engine,
        serverAddress: `${this.#host}:${this.#port}`,
        startWatch: (rq, rs, t, q, render) => this.#watch(rq, rs, t, q, render),
      };
      const [code, payload] = route(ctx, req, res, url, query, body, isWatch, warnings);
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

