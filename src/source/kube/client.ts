/**
 * A thin raw-JSON client over @kubernetes/client-node: its kubeconfig and
 * in-cluster loading, authentication and TLS settings and its fetch
 * transport, but no typed models. Objects stay plain JSON so that the schema registry
 * parses them at the edge, exactly like manifests from files.
 *
 * @example
 * ```ts
 * const client = KubeClient.load({ kubeconfig: "kubeconfig" });
 * const list = await client.request("GET", "/api/v1/nodes");
 * await client.watch("/api/v1/nodes", { resourceVersion: "42" }, (ev) => console.log(ev.type), signal);
 * ```
 */
import http from "node:http";
import https from "node:https";
import process from "node:process";
import { HttpMethod, IsomorphicFetchHttpLibrary, KubeConfig, RequestContext } from "@kubernetes/client-node";

/** A Kubernetes `Status` failure body. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

/** The API server answered with an error status. */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  readonly code: number;
  readonly reason: string;
  readonly status: KubeStatus | undefined;

  constructor(action: string, code: number, status: KubeStatus | undefined) {
    super(`Cannot ${action}: ${status?.message ?? `HTTP ${code}`}`);
    this.code = code;
    this.reason = status?.reason ?? "";
    this.status = status;
  }
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  // deno-lint-ignore no-explicit-any
  object: any;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to application/json when there is a body. */
  contentType?: string;
  signal?: AbortSignal;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export class KubeClient {
  readonly config: KubeConfig;
  readonly #http = new IsomorphicFetchHttpLibrary();
  /** One connection pool per client (client-node builds a new one per request). */
  #dispatcher: ReturnType<RequestContext["getDispatcher"]>;
  #dispatcherSet = false;

  constructor(config: KubeConfig) {
    this.config = config;
  }

  /** From a kubeconfig file, else in-cluster (service account), else the default kubeconfig. */
  static load(options: { kubeconfig?: string; context?: string } = {}): KubeClient {
    const kc = new KubeConfig();
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else kc.loadFromDefault();
    if (options.context) kc.setCurrentContext(options.context);
    if (!kc.getCurrentCluster()) {
      throw new Error(`Cannot load the Kubernetes configuration: no current cluster in ${options.kubeconfig ? `"${options.kubeconfig}"` : "the default kubeconfig"}`);
    }
    return new KubeClient(kc);
  }

  get server(): string {
    return this.config.getCurrentCluster()!.server;
  }

  #url(path: string, query: RequestOptions["query"]): string {
    const url = new URL(this.server.replace(/\/+$/, "") + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** One request; 2xx bodies come back as parsed JSON, others throw KubeApiError. */
  async request<T = unknown>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    const ctx = new RequestContext(this.#url(path, options.query), HttpMethod[method]);
    ctx.setHeaderParam("Accept", "application/json");
    if (options.body !== undefined) {
      ctx.setHeaderParam("Content-Type", options.contentType ?? "application/json");
      ctx.setBody(typeof options.body === "string" ? options.body : JSON.stringify(options.body));
    }
    if (options.signal) ctx.setSignal(options.signal);
    await this.config.applySecurityAuthentication(ctx);
    if (!this.#dispatcherSet) {
      this.#dispatcher = ctx.getDispatcher();
      this.#dispatcherSet = true;
    } else if (this.#dispatcher) ctx.setDispatcher(this.#dispatcher);
    const res = await this.#http.send(ctx).toPromise();
    const text = await res.body.text();
    let body: unknown = undefined;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.httpStatusCode < 200 || res.httpStatusCode > 299) {
      throw new KubeApiError(`${method} ${path}`, res.httpStatusCode, body as KubeStatus | undefined);
    }
    return body as T;
  }

  /**
   * Streams a watch until the server ends it (resolves), the connection
   * fails or stays silent for `idleTimeoutMs` (rejects) or `signal` aborts
   * (resolves). ERROR events are passed to `onEvent` like any other; the
   * caller decides (410 ⇒ relist).
   *
   * Watches use node:http(s) with client-node's TLS and auth options rather
   * than client-node's Watch: under Deno, Watch's undici stream never
   * reports a connection the server closed, so an informer would wait
   * forever after an API server restart (measured against the double).
   */
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (ev: WatchEvent) => void,
    signal?: AbortSignal,
    idleTimeoutMs = 660_000,
  ): Promise<void> {
    if (signal?.aborted) return;
    const url = this.#url(path, { ...query, watch: true });
    const options: https.RequestOptions = { method: "GET", headers: { Accept: "application/json" } };
    await this.config.applyToHTTPSOptions(options);
    const transport = url.startsWith("https:") ? https : http;
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      let idle: ReturnType<typeof setTimeout> | undefined;
      const finish = (err: Error | null) => {
        if (finished) return;
        finished = true;
        clearTimeout(idle);
        signal?.removeEventListener("abort", abort);
        req.destroy();
        if (err && !signal?.aborted) reject(err);
        else resolve();
      };
      const abort = () => finish(null);
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(() => finish(new Error(`Cannot watch ${path}: no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
      };
      const req = transport.request(url, options, (res) => {
        res.setEncoding("utf8");
        let buf = "";
        if (res.statusCode !== 200) {
          res.on("data", (d: string) => (buf += d));
          res.on("end", () => {
            let status: KubeStatus | undefined;
            try {
              status = JSON.parse(buf);
            } catch {
              status = undefined;
            }
            finish(new KubeApiError(`watch ${path}`, res.statusCode ?? 0, status));
          });
          return;
        }
        touch();
        res.on("data", (chunk: string) => {
          touch();
          buf += chunk;
          let nl: number;
          while (!finished && (nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let ev: WatchEvent;
            try {
              ev = JSON.parse(line);
            } catch {
              finish(new Error(`Cannot watch ${path}: the server sent a line that is not JSON`));
              return;
            }
            onEvent(ev);
          }
        });
        res.on("end", () => finish(null));
        res.on("error", (err) => finish(err));
        // Closed before the end of the response: the connection broke.
        res.on("close", () => finish(res.complete ? null : new Error(`Cannot watch ${path}: the connection closed`)));
      });
      req.on("error", (err) => finish(err));
      signal?.addEventListener("abort", abort, { once: true });
      req.end();
    });
  }
}

/** A client for a kubeconfig given as text (tests, the API server double). */
export function clientFromKubeconfigText(text: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return new KubeClient(kc);
}
