/**
 * The ResourceSource conformance suite (_conformance.ts) against both
 * sources: a directory of manifests (FileSource, one file per object) and
 * the Kubernetes API (KubeSource on the API server double, with herald's
 * CRDs and MetalLB's IPAddressPool installed).
 */
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseForSource } from "../../src/agent/agent.ts";
import { FileSource } from "../../src/source/file-source.ts";
import { KubeSource } from "../../src/source/kube/source.ts";
import { generateCRDs } from "../../scripts/gen-crds.ts";
import { startApiServer } from "../support/apiserver/mod.ts";
import { clientFor } from "../agent/kube/_cluster.ts";
import { type Doc, sourceConformance } from "./_conformance.ts";

const fileName = (d: Doc) => `${d.kind}-${d.metadata.namespace ?? "cluster"}-${d.metadata.name}.yaml`;

sourceConformance("FileSource", (initial) => {
  const dir = mkdtempSync(join(tmpdir(), "herald-conf-"));
  const write = (d: Doc) => {
    // Atomically, as editors and kubectl-style tools do.
    const tmp = join(dir, `.${fileName(d)}.tmp`);
    writeFileSync(tmp, stringify(d));
    renameSync(tmp, join(dir, fileName(d)));
  };
  for (const d of initial) write(d);
  const source = new FileSource(dir, { parse: parseForSource, debounceMs: 10 });
  return Promise.resolve({
    source,
    put: (d) => Promise.resolve(write(d)),
    remove: (d) => Promise.resolve(unlinkSync(join(dir, fileName(d)))),
    stop: async () => {
      await source.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
});

const METALLB_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "ipaddresspools.metallb.io" },
  spec: {
    group: "metallb.io",
    scope: "Namespaced",
    names: { plural: "ipaddresspools", singular: "ipaddresspool", kind: "IPAddressPool", listKind: "IPAddressPoolList" },
    versions: [{
      name: "v1beta1",
      served: true,
      storage: true,
      schema: { openAPIV3Schema: { type: "object", properties: { spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } } },
    }],
  },
};

sourceConformance("KubeSource", async (initial) => {
  const api = await startApiServer();
  for (const crd of [...generateCRDs(), METALLB_CRD]) api.put(crd);
  for (const ns of ["shop", "metallb-system"]) api.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  for (const d of initial) api.put(d);
  const source = new KubeSource({ client: clientFor(api, "conformance"), batchDelayMs: 10 });
  return {
    source,
    put: (d) => Promise.resolve(void api.put(d)),
    remove: (d) => Promise.resolve(api.remove(d.apiVersion, d.kind, d.metadata.name, d.metadata.namespace)),
    stop: async () => {
      await source.stop();
      await api.stop();
    },
  };
});
