/**
 * Watch streams with the watch cache's semantics: resourceVersion unset or
 * "0" starts with synthetic ADDED events for the current state, N replays
 * the history after N (or ends with an ERROR event carrying 410 Expired when
 * N is older than the window), sendInitialEvents ends its initial list with
 * an `k8s.io/initial-events-end` BOOKMARK, selector transitions become
 * ADDED/DELETED, and BOOKMARKs go out periodically when asked for.
 */
import { type ApiError, expired } from "./errors.ts";
import type { Engine, ListQuery } from "./engine.ts";
import type { StoreEvent } from "./store.ts";
import { apiVersionOf, type KubeObject, type ResourceType } from "./types.ts";

export interface WatchQuery extends ListQuery {
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubeObject;
}

export interface WatchSink {
  send(ev: WatchEvent): void;
  end(): void;
}

export interface WatchRequest {
  type: ResourceType;
  version: string;
  namespace: string | undefined;
  query: WatchQuery;
  /** Served form of an object (version conversion, Table). */
  render(obj: KubeObject): KubeObject;
}

export class ActiveWatch {
  #sink: WatchSink;
  #req: WatchRequest;
  #unsubscribe: () => void = () => {};
  #timers: ReturnType<typeof setTimeout>[] = [];
  #closed = false;
  #onClose: (w: ActiveWatch) => void;
  #engine: Engine;

  constructor(engine: Engine, req: WatchRequest, sink: WatchSink, onClose: (w: ActiveWatch) => void, bookmarkIntervalMs: number) {
    this.#engine = engine;
    this.#req = req;
    this.#sink = sink;
    this.#onClose = onClose;
    const { type, namespace, query } = req;
    const match = engine.matcher(type, namespace, query);
    const store = engine.store;
    const rv = query.resourceVersion;

    if (query.sendInitialEvents || !rv || rv === "0") {
      for (const o of store.list(type.storage).filter(match)) this.#send("ADDED", o);
      if (query.sendInitialEvents) this.bookmark(true);
    } else {
      const since = store.since(type.storage, Number(rv));
      if (since === "expired") {
        this.#error(expired(Number(rv), store.oldest(type.storage)));
        return;
      }
      for (const ev of since) this.#deliver(ev, match);
    }
    this.#unsubscribe = store.subscribe((ev) => {
      if (ev.storage === type.storage) this.#deliver(ev, match);
    });
    if (query.allowWatchBookmarks && bookmarkIntervalMs > 0) {
      const tick = () => {
        this.bookmark(false);
        this.#timers.push(setTimeout(tick, bookmarkIntervalMs));
      };
      this.#timers.push(setTimeout(tick, bookmarkIntervalMs));
    }
    if (query.timeoutSeconds && query.timeoutSeconds > 0) {
      this.#timers.push(setTimeout(() => this.close(), query.timeoutSeconds * 1000));
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** How the cacher turns a change into an event for this watcher's filter. */
  #deliver(ev: StoreEvent, match: (o: KubeObject) => boolean): void {
    if (ev.type === "ADDED") {
      if (match(ev.object)) this.#send("ADDED", ev.object);
      return;
    }
    if (ev.type === "DELETED") {
      if (match(ev.object)) this.#send("DELETED", ev.object);
      return;
    }
    const now = match(ev.object);
    const before = ev.prev ? match(ev.prev) : false;
    if (now && before) this.#send("MODIFIED", ev.object);
    else if (now) this.#send("ADDED", ev.object);
    else if (before) {
      const last = structuredClone(ev.prev!);
      last.metadata.resourceVersion = String(ev.rv);
      this.#send("DELETED", last);
    }
  }

  #send(type: WatchEvent["type"], obj: KubeObject): void {
    if (this.#closed) return;
    this.#sink.send({ type, object: this.#req.render(this.#engine.external(this.#req.type, this.#req.version, obj)) });
  }

  #error(err: ApiError): void {
    if (this.#closed) return;
    this.#sink.send({ type: "ERROR", object: err.status as unknown as KubeObject });
    this.close();
  }

  /** Sends a BOOKMARK at the current revision (only when the client allowed bookmarks). */
  bookmark(initialEventsEnd: boolean): void {
    if (this.#closed || !this.#req.query.allowWatchBookmarks) return;
    const metadata: KubeObject = { resourceVersion: String(this.#engine.store.resourceVersion) };
    if (initialEventsEnd) metadata.annotations = { "k8s.io/initial-events-end": "true" };
    const { type, version } = this.#req;
    this.#sink.send({ type: "BOOKMARK", object: { kind: type.kind, apiVersion: apiVersionOf(type.group, version), metadata } });
  }

  /** Ends the stream cleanly, as the server does when timeoutSeconds runs out. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const t of this.#timers) clearTimeout(t);
    this.#sink.end();
    this.#onClose(this);
  }

  /** Stops without ending the stream (the connection is being destroyed). */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const t of this.#timers) clearTimeout(t);
    this.#onClose(this);
  }
}
