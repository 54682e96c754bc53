/**
 * Events are stored once and served in two shapes, as in Kubernetes: core/v1
 * Event (what `kubectl get events` reads) and events.k8s.io/v1 Event (what
 * modern recorders write). Field mapping follows the conversion functions in
 * k8s.io/kubernetes/pkg/apis/events/v1.
 */
import type { KubeObject } from "./types.ts";

const PAIRS: [core: string, v1: string][] = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["reportingComponent", "reportingController"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
];
const SAME = ["metadata", "eventTime", "series", "reportingInstance", "action", "reason", "related", "type"];

function pick(from: KubeObject, mapping: [string, string][]): KubeObject {
  const out: KubeObject = {};
  for (const [a, b] of mapping) if (from[a] !== undefined && from[a] !== null) out[b] = from[a];
  return out;
}

export function eventsV1FromCoreEvent(core: KubeObject): KubeObject {
  return {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    ...pick(core, SAME.map((k) => [k, k])),
    ...pick(core, PAIRS),
  };
}

export function coreEventFromEventsV1(v1: KubeObject): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Event",
    ...pick(v1, SAME.map((k) => [k, k])),
    ...pick(v1, PAIRS.map(([a, b]) => [b, a])),
  };
}
