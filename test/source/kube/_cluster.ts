/** A double with herald's CRDs (deploy/kubernetes) and a KubeClient for it, for the kube source tests. */
import { generateCRDs } from "../../../scripts/gen-crds.ts";
import { type ApiServerDouble, type ApiServerOptions, startApiServer } from "../../support/apiserver/mod.ts";
import { clientFromKubeconfigText, type KubeClient } from "../../../src/source/kube/client.ts";

/** Installs herald's CRDs (after a restart that dropped state, too). */
export function installCRDs(api: ApiServerDouble): void {
  for (const crd of generateCRDs()) api.put(crd);
}

export async function cluster(options: ApiServerOptions = {}): Promise<{ api: ApiServerDouble; client: KubeClient }> {
  const api = await startApiServer(options);
  installCRDs(api);
  return { api, client: clientFromKubeconfigText(api.kubeconfig()) };
}

/** Polls until `check()` holds. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Cannot see ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
