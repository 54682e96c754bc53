/**
 * herald's Kubernetes source and its building blocks: a raw-JSON client
 * over @kubernetes/client-node, informers (list + watch, relist on 410,
 * backoff, bookmarks, parse at the edge), `KubeSource` (the ResourceSource
 * over one informer per kind), a status writer (JSON or merge patch on
 * /status, only on change, conflict retries, rate limit, fencing), Lease
 * leader election and an Events recorder.
 *
 * @example
 * ```ts
 * const client = KubeClient.load({ kubeconfig: flags.kubeconfig });
 * const elector = new LeaderElector({ client, namespace: "kube-system", name: "herald-lb-ipam", identity: node });
 * const pools = new Informer({ client, resource: LB_IP_POOLS, parse: parseKubeObject });
 * pools.start();
 * elector.start();
 * await pools.synced;
 * ```
 */
export { Backoff, type BackoffOptions, sleep } from "./backoff.ts";
export { clientFromKubeconfigText, KubeApiError, KubeClient, type KubeStatus, type WatchEvent } from "./client.ts";
export { EventRecorder, type EventRecorderOptions, type EventSpec, type ObjectReference } from "./events.ts";
export {
  type FieldProblem,
  Informer,
  type InformerEvent,
  type InformerOptions,
  type InvalidObject,
  type ParseOutcome,
} from "./informer.ts";
export { LeaderElector, type LeaderElectorOptions } from "./leader-election.ts";
export { parseKubeObject } from "./parse.ts";
export { KubeSource, type KubeSourceOptions, READ_RESOURCES } from "./source.ts";
export * from "./resources.ts";
export { type ComputeStatus, type CurrentObject, StatusWriter, type StatusTarget, type StatusWriterOptions, type WriteResult } from "./status-writer.ts";
