/**
 * Objects in the API that herald cannot use, as the agent reports them.
 *
 * - Every agent lists the current problems in `/v1/status` (`manifests`),
 *   keyed by kind and name: a valid version, or the object's deletion,
 *   clears the entry. The informer has already logged each problem once
 *   with its field, and kept the last valid version in force.
 * - The leader records one Warning Event per problem on the object itself
 *   (`kubectl describe` / `kubectl events` show it, naming the field); on
 *   taking over it records the problems it found, since its predecessor's
 *   Events are its predecessor's.
 */
import type { ManifestIssueView } from "../../api/schemas.ts";
import type { Logger } from "../../log.ts";
import type { EventRecorder, ObjectReference } from "../../source/kube/events.ts";
import { READ_RESOURCES } from "../../source/kube/source.ts";
import type { SourceEvent } from "../../source/types.ts";
import type { StoredProblem } from "./store.ts";

/**
 * A problem's message without the resourceVersion the parser names: what
 * goes into conditions and Events must not change when only the version
 * does — herald's own status write on the object makes a new version, and
 * a message that followed it would be written again, and again.
 */
export function withoutVersion(message: string): string {
  return message.replace(/ \(resourceVersion [^)]*\)/g, "");
}

/** The reference Events use for an object of `kind` known by `key`. */
export function objectReference(kind: string, key: string, uid?: string): ObjectReference {
  const ref = READ_RESOURCES.find((r) => r.kind === kind);
  const apiVersion = ref ? (ref.group === "" ? ref.version : `${ref.group}/${ref.version}`) : "v1";
  const slash = ref?.namespaced ? key.indexOf("/") : -1;
  const out: ObjectReference = slash >= 0 ? { apiVersion, kind, namespace: key.slice(0, slash), name: key.slice(slash + 1) } : { apiVersion, kind, name: key };
  if (uid) out.uid = uid;
  return out;
}

export class KubeIssues {
  readonly #byObject = new Map<string, ManifestIssueView[]>();
  readonly #warned = new Set<string>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Takes one batch (the same interface as file mode's ManifestIssues). */
  apply(events: readonly SourceEvent[]): void {
    for (const e of events) {
      if (e.type === "upsert") this.#byObject.delete(`${e.resource.kind}\u0000${e.resource.key}`);
      else if (e.type === "delete") this.#byObject.delete(`${e.kind}\u0000${e.key}`);
      else if (e.type === "invalid") {
        this.#byObject.set(`${e.kind ?? ""}\u0000${e.key ?? ""}`, e.errors.map((message) => clean({ level: "error", kind: e.kind, key: e.key, message })));
      } else if (e.type === "warning" && !this.#warned.has(e.message) && this.#warned.size < 1000) {
        this.#warned.add(e.message);
        this.#log.warn(e.message);
      }
    }
  }

  list(): ManifestIssueView[] {
    return [...this.#byObject.values()].flat().sort((a, b) => (a.kind ?? "").localeCompare(b.kind ?? "") || (a.key ?? "").localeCompare(b.key ?? ""));
  }

  get errorCount(): number {
    return [...this.#byObject.values()].reduce((n, l) => n + l.length, 0);
  }
}

function clean(v: ManifestIssueView): ManifestIssueView {
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as ManifestIssueView;
}

/** The leader's Events for invalid objects. */
export class InvalidObjectEvents {
  readonly #events: EventRecorder;
  /** kind/key → the problem reported, so a new version with the same problem (a status write, a relist) does not repeat it. */
  readonly #reported = new Map<string, string>();

  constructor(events: EventRecorder) {
    this.#events = events;
  }

  /** Records an Event for each problem not reported yet (at this version). */
  report(problems: readonly StoredProblem[]): void {
    for (const p of problems) {
      const id = `${p.kind}\u0000${p.key}`;
      const errors = p.errors.map(withoutVersion).join("; ");
      if (this.#reported.get(id) === errors) continue;
      this.#reported.set(id, errors);
      void this.#events.record(objectReference(p.kind, p.key), {
        type: "Warning",
        reason: "InvalidObject",
        action: "Validate",
        note: `Ignored by herald, the last valid version stays in force: ${errors}`,
      });
    }
  }
}
