/**
 * Kubernetes Events (events.k8s.io/v1) about the objects herald acts on:
 * "allocated 10.0.10.1 to default/web", "peer 10.0.0.1 established".
 * Best effort, as events are: failures are logged, never thrown. A repeat
 * of the same event (same object, type, reason, note) within the series
 * window updates the first one's `series` instead of adding an object.
 *
 * @example
 * ```ts
 * const events = new EventRecorder({ client, controller: "herald.io/agent", instance: "herald-node-1" });
 * await events.record({ apiVersion: "v1", kind: "Service", namespace: "default", name: "web" },
 *   { type: "Normal", reason: "IPAllocated", action: "Allocate", note: "Allocated 10.0.10.1" });
 * ```
 */
import { silentLogger, type Logger } from "../../log.ts";
import type { KubeClient } from "./client.ts";
import { EVENTS, resourcePath } from "./resources.ts";

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  /** Cluster-scoped objects get their events in `defaultNamespace`. */
  namespace?: string;
  uid?: string;
}

export interface EventSpec {
  type: "Normal" | "Warning";
  /** CamelCase, machine-readable: IPAllocated, PeerEstablished. */
  reason: string;
  /** What was done or failed: Allocate, Advertise. */
  action: string;
  /** Human-readable; Kubernetes caps it at 1 KiB. */
  note: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** reportingController, e.g. "herald.io/agent". */
  controller: string;
  /** reportingInstance, e.g. "herald-<node>". */
  instance: string;
  /** Namespace for events about cluster-scoped objects (Kubernetes uses "default"). */
  defaultNamespace?: string;
  /** Repeats within this window extend a series (client-go: 6 minutes). */
  seriesWindowMs?: number;
  /** Asked before each write; false skips it (only the leader reports its own actions). */
  fence?: () => boolean;
  log?: Logger;
}

interface Series {
  namespace: string;
  name: string;
  count: number;
  first: number;
}

const NOTE_LIMIT = 1024;
const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, "000Z");

export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #log: Logger;
  readonly #series = new Map<string, Series>();

  constructor(options: EventRecorderOptions) {
    this.#o = options;
    this.#log = (options.log ?? silentLogger).child({ subsys: "k8s-events" });
  }

  /** Records an event; resolves true when it was written. */
  async record(regarding: ObjectReference, event: EventSpec): Promise<boolean> {
    if (this.#o.fence && !this.#o.fence()) return false;
    const namespace = regarding.namespace ?? this.#o.defaultNamespace ?? "default";
    const note = event.note.length > NOTE_LIMIT ? event.note.slice(0, NOTE_LIMIT - 3) + "..." : event.note;
    const id = JSON.stringify([regarding.kind, regarding.namespace ?? "", regarding.name, event.type, event.reason, note]);
    const now = Date.now();
    const window = this.#o.seriesWindowMs ?? 6 * 60_000;
    for (const [k, s] of this.#series) if (now - s.first > window) this.#series.delete(k);
    const series = this.#series.get(id);
    try {
      if (series) {
        series.count++;
        await this.#o.client.request("PATCH", resourcePath(EVENTS, { namespace: series.namespace, name: series.name }), {
          body: { series: { count: series.count, lastObservedTime: microTime(now) } },
          contentType: "application/merge-patch+json",
        });
        return true;
      }
      const name = `${regarding.name}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
      await this.#o.client.request("POST", resourcePath(EVENTS, { namespace }), {
        body: {
          apiVersion: "events.k8s.io/v1",
          kind: "Event",
          metadata: { name, namespace },
          eventTime: microTime(now),
          reportingController: this.#o.controller,
          reportingInstance: this.#o.instance,
          action: event.action,
          reason: event.reason,
          type: event.type,
          note,
          regarding: Object.fromEntries(Object.entries(regarding).filter(([, v]) => v !== undefined)),
        },
      });
      this.#series.set(id, { namespace, name, count: 1, first: now });
      return true;
    } catch (err) {
      // A lost series object (deleted, expired) starts a new one next time.
      if (series) this.#series.delete(id);
      this.#log.warn("Cannot record event", { reason: event.reason, object: `${regarding.kind}/${regarding.name}`, error: err });
      return false;
    }
  }
}
