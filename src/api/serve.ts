/**
 * Serves a fetch handler (a Hono app) on node:http, which Node and Deno both
 * provide, so the agent needs no runtime adapter package. Requests are
 * small GETs; bodies are read whole.
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ApiServer {
  /** The bound address (port resolved when 0 was asked for). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else if (v !== undefined) headers.set(k, v);
  }
  const method = req.method ?? "GET";
  let body: string | undefined;
  if (method !== "GET" && method !== "HEAD") {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    body = Buffer.concat(chunks).toString("utf8");
  }
  return new Request(new URL(req.url ?? "/", origin), { method, headers, body });
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    headers[k] = v;
  });
  res.writeHead(response.status, headers);
  if (response.body) res.end(new Uint8Array(await response.arrayBuffer()));
  else res.end();
}

/** Listens on host:port; rejects with a "Cannot listen" error (EADDRINUSE, EACCES…). */
export function serve(fetch: (req: Request) => Response | Promise<Response>, host: string, port: number): Promise<ApiServer> {
  const server: Server = createServer((req, res) => {
    const origin = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    toRequest(req, origin)
      .then((r) => fetch(r))
      .then((response) => send(res, response))
      .catch((err) => {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: `Cannot answer: ${(err as Error).message}` }));
      });
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`Cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port}: ${(err as Error).message}`)));
    server.listen({ host, port }, () => {
      const a = server.address() as AddressInfo;
      port = a.port;
      resolve({
        host,
        port: a.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
  });
}
