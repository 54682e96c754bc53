/**
 * Small HTTP helpers for tests that talk to the double directly (fetch, no
 * client library): one request, or a watch stream read event by event.
 */
import type { Json } from "./patch.ts";

export interface Reply {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  headers: Headers;
}

export async function request(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: Json; contentType?: string; accept?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { accept: options.accept ?? "application/json" };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] = options.contentType ?? "application/json";
  }
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  let parsed: Json = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text (healthz)
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export interface WatchEventJson {
  type: string;
  // deno-lint-ignore no-explicit-any
  object: any;
}

/** A watch stream read line by line; `next()` waits for the next event (or rejects after `timeoutMs`). */
export class WatchReader {
  readonly events: WatchEventJson[] = [];
  status = 0;
  ended = false;
  #waiters: (() => void)[] = [];
  #controller = new AbortController();
  #done: Promise<void>;
  #read = 0;

  constructor(url: string) {
    this.#done = this.#run(url);
  }

  async #run(url: string): Promise<void> {
    try {
      const res = await fetch(url, { signal: this.#controller.signal });
      this.status = res.status;
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) this.events.push(JSON.parse(line));
          this.#wake();
        }
      }
    } catch {
      // aborted or connection reset: the stream has ended either way
    } finally {
      this.ended = true;
      this.#wake();
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The next unread event. */
  async next(timeoutMs = 2000): Promise<WatchEventJson> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.events.length) {
      if (this.ended) throw new Error("Cannot read watch event: the stream has ended");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Cannot read watch event: none within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.events[this.#read++];
  }

  /** Waits until the server ends the stream. */
  async end(timeoutMs = 2000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const t = new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error("Cannot see the watch end: still open")), timeoutMs);
    });
    try {
      await Promise.race([this.#done, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.#controller.abort();
    return this.#done;
  }
}
