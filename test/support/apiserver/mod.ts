/**
 * A Kubernetes API server double for herald's tests and demos: the parts of
 * the API herald and kubectl use, with Kubernetes' semantics, checked
 * against the real kubectl (test/apiserver/kubectl.test.ts).
 *
 * Served: discovery (/api, /apis, group and resource lists with scope,
 * verbs, short names, categories, /status), OpenAPI v3 (the minimum kubectl
 * reads: fieldValidation support), /version, /healthz. Kinds: Namespace,
 * Service (defaults, ClusterIP and NodePort allocation), EndpointSlice,
 * Node, Secret (stringData), ConfigMap, Event (core/v1 and events.k8s.io/v1,
 * one storage), Lease, CustomResourceDefinition (registers kinds: versions,
 * scope, status subresource, structural schema with pruning, defaults and
 * validation, printer columns), stored-only ServiceAccount, RBAC and
 * DaemonSet.
 *
 * Semantics: global resourceVersion, uid, creationTimestamp, generation,
 * optimistic concurrency, no-op writes, status subresource rules, label and
 * field selectors, limit/continue, merge / JSON (with `test`) / strategic
 * merge patch, simplified server-side apply, dryRun, fieldValidation,
 * finalizers, garbage collection (Background, Foreground, Orphan),
 * namespace termination, Status errors with Kubernetes' texts, watches
 * (resourceVersion unset / "0" / N, 410 Expired from a bounded history,
 * bookmarks, sendInitialEvents, selector transitions, timeoutSeconds),
 * Table output for `kubectl get`.
 *
 * Not served: HTTPS, protobuf bodies, OpenAPI v2, managedFields, Pods and
 * everything not listed.
 *
 * Test hooks (on the ApiServerDouble): `restart({ keepState, downMs })`,
 * `dropWatches({ abrupt })`, `compact()`, `setHistorySize(n)`,
 * `sendBookmarks()`, `failNext({ method, path, watch, when, status | reset, delayMs, times })`,
 * `requests` (every request recorded), `settle()` (garbage collection done),
 * and in-process `put/get/find/list/remove`.
 *
 * @example
 * ```ts
 * const api = await startApiServer({ historySize: 100 });
 * api.put({ apiVersion: "v1", kind: "Node", metadata: { name: "node-1" } });
 * await writeFile("kubeconfig", api.kubeconfig());
 * await api.stop();
 * ```
 */
import { ApiServerDouble, type ApiServerOptions } from "./server.ts";

export { ApiServerDouble, type ApiServerOptions, type FailureSpec, type RequestRecord } from "./server.ts";
export type { KubeObject } from "./types.ts";
export { ApiError } from "./errors.ts";

/** Starts a double on 127.0.0.1 (a free port unless `port` is given). */
export function startApiServer(options: ApiServerOptions = {}): Promise<ApiServerDouble> {
  return new ApiServerDouble(options).start();
}
