/**
 * A Kubernetes API server double for herald's tests and demos: the parts of
 * the API herald and kubectl use, with Kubernetes' semantics (see
 * test/apiserver/ for what is checked against kubectl).
 *
 * @example
 * ```ts
 * const api = await startApiServer();
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
