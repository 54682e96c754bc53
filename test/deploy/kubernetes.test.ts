/**
 * deploy/kubernetes: the generated CRDs are up to date, structural and
 * Cilium-named; the examples pass a server with them (strict field
 * validation) and read back as valid herald resources; RBAC grants exactly
 * the writes herald needs; the DaemonSet has the network, capabilities,
 * probes and shutdown budget it must have; kubectl applies it all.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { CRD_KINDS, crdsYaml, CRDS_FILE } from "../../scripts/gen-crds.ts";
import { agentOptions } from "../../src/cli/agent.ts";
import { parseKubeObject } from "../../src/source/kube/parse.ts";
import { type ApiServerDouble, type KubeObject, startApiServer } from "../support/apiserver/mod.ts";
import { Kubectl } from "../apiserver/_kubectl.ts";

const DEPLOY = "deploy/kubernetes";

async function docs(file: string): Promise<KubeObject[]> {
  return parseAllDocuments(await readFile(file, "utf8")).map((d) => d.toJSON()).filter((d) => d && typeof d === "object");
}

async function exampleDocs(): Promise<{ file: string; doc: KubeObject }[]> {
  const out: { file: string; doc: KubeObject }[] = [];
  for (const dir of ["examples/demo", "examples/datacenter", "examples/legacy-v1"]) {
    for (const f of (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort()) {
      for (const doc of await docs(join(dir, f))) out.push({ file: join(dir, f), doc });
    }
  }
  return out;
}

let api: ApiServerDouble;
beforeAll(async () => {
  // Dual stack: the datacenter example has dual-stack Services.
  api = await startApiServer({ serviceCIDRs: ["10.96.0.0/12", "fd00:10:96::/112"] });
});
afterAll(() => api.stop());

describe("CRDs (scripts/gen-crds)", () => {
  it("10-crds.yaml is what scripts/gen-crds generates from the schema registry", async () => {
    expect(await readFile(CRDS_FILE, "utf8")).toBe(crdsYaml());
  });

  it("carries Cilium's names, versions, scope, short names and subresources (spec §0.1)", async () => {
    const crds = await docs(join(DEPLOY, "10-crds.yaml"));
    const summary = Object.fromEntries(crds.map((c) => [
      c.spec.names.kind,
      [c.spec.scope, c.spec.versions.map((v: KubeObject) => `${v.name}${v.storage ? "*" : ""}`).join(","), c.spec.names.shortNames.join(","), c.spec.versions[0].subresources?.status ? "status" : "-"].join(" "),
    ]));
    expect(summary).toEqual({
      CiliumBGPClusterConfig: "Cluster v2*,v2alpha1 cbgpcluster status",
      CiliumBGPPeerConfig: "Cluster v2*,v2alpha1 cbgppeer status",
      CiliumBGPAdvertisement: "Cluster v2*,v2alpha1 cbgpadvert -",
      CiliumBGPNodeConfig: "Cluster v2*,v2alpha1 cbgpnode status",
      CiliumBGPNodeConfigOverride: "Cluster v2*,v2alpha1 cbgpnodeoverride -",
      CiliumBGPPeeringPolicy: "Cluster v2alpha1* bgpp -",
      CiliumLoadBalancerIPPool: "Cluster v2*,v2alpha1 ippools,ippool,lbippool,lbippools status",
    });
    expect(crds.map((c) => c.metadata.name)).toEqual(CRD_KINDS.map((k) => `${k.plural}.cilium.io`));
  });

  it("the API server accepts them (structural schemas) and serves every kind", async () => {
    for (const crd of await docs(join(DEPLOY, "10-crds.yaml"))) api.put(crd);
    const kinds = api.engine.types.all().filter((t) => t.group === "cilium.io").map((t) => t.kind).sort();
    expect(kinds).toEqual(CRD_KINDS.map((k) => k.kind).sort());
  });

  it("every example passes the server with strict field validation and reads back as a valid herald resource", async () => {
    for (const ns of ["shop", "monitoring"]) api.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const examples = await exampleDocs();
    expect(examples.length).toBeGreaterThan(20);
    for (const { file, doc } of examples) {
      const [group, version] = doc.apiVersion.includes("/") ? doc.apiVersion.split("/") : ["", doc.apiVersion];
      const type = api.engine.types.find(group, version, api.engine.types.byKind(group, doc.kind)!.resource)!;
      const ns = type.namespaced ? doc.metadata.namespace ?? "default" : undefined;
      const key = ns ? `${ns}/${doc.metadata.name}` : doc.metadata.name;
      if (api.engine.store.get(type.storage, key)) api.engine.delete(type, version, ns, doc.metadata.name);
      let stored: KubeObject;
      try {
        stored = api.engine.create(type, version, ns, doc, { fieldValidation: "Strict" });
      } catch (err) {
        throw new Error(`${file}: ${doc.kind} "${doc.metadata.name}" refused: ${(err as Error).message}`);
      }
      const parsed = parseKubeObject(stored);
      expect(parsed.ok, `${file}: ${doc.kind} "${doc.metadata.name}" after the server: ${JSON.stringify(parsed)}`).toBe(true);
    }
  });

  it("v2alpha1 manifests may keep their v2alpha1-only fields (peerConfigRef group/kind)", () => {
    const obj = {
      apiVersion: "cilium.io/v2alpha1",
      kind: "CiliumBGPClusterConfig",
      metadata: { name: "alpha" },
      spec: { bgpInstances: [{ name: "i", localASN: 65001, peers: [{ name: "p", peerAddress: "10.0.0.1", peerASN: 65000, peerConfigRef: { group: "cilium.io", kind: "CiliumBGPPeerConfig", name: "x" } }] }] },
    };
    const type = api.engine.types.byKind("cilium.io", "CiliumBGPClusterConfig")!;
    const stored = api.engine.create(type, "v2alpha1", undefined, obj, { fieldValidation: "Strict" });
    expect(stored.spec.bgpInstances[0].peers[0].peerConfigRef).toEqual({ group: "cilium.io", kind: "CiliumBGPPeerConfig", name: "x" });
    const trans = api.engine.create(type, "v2alpha1", undefined, { ...obj, metadata: { name: "old" }, spec: { bgpInstances: [{ name: "i", peers: [{ name: "p", peerConfigRef: { name: "x" } }] }] } });
    // v2alpha1 defaults, as Cilium's CRD has them.
    expect(trans.spec.bgpInstances[0].peers[0].peerConfigRef).toEqual({ group: "cilium.io", kind: "CiliumBGPPeerConfig", name: "x" });
    expect(parseKubeObject(stored).ok).toBe(true);
  });
});

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

describe("RBAC", () => {
  async function rules() {
    const all = await docs(join(DEPLOY, "20-rbac.yaml"));
    const byKind = (kind: string) => all.filter((d) => d.kind === kind);
    const cluster: Rule[] = byKind("ClusterRole").flatMap((r) => r.rules);
    const roles = byKind("Role").map((r) => ({ namespace: r.metadata.namespace, rules: r.rules as Rule[] }));
    return { cluster, roles, all };
  }
  const allows = (rs: Rule[], verb: string, group: string, resource: string) =>
    rs.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));

  it("writes only status of the five kinds, NodeConfigs, Events, and Leases in its namespace", async () => {
    const { cluster, roles } = await rules();
    const writes = cluster.flatMap((r) => r.verbs.filter((v) => !["get", "list", "watch"].includes(v)).flatMap((v) => r.resources.map((res) => `${v} ${res}`)));
    expect(writes.sort()).toEqual([
      "create ciliumbgpnodeconfigs",
      "create events",
      "delete ciliumbgpnodeconfigs",
      "patch ciliumbgpclusterconfigs/status",
      "patch ciliumbgpnodeconfigs/status",
      "patch ciliumbgppeerconfigs/status",
      "patch ciliumloadbalancerippools/status",
      "patch events",
      "patch services/status",
      "update ciliumbgpclusterconfigs/status",
      "update ciliumbgpnodeconfigs",
      "update ciliumbgpnodeconfigs/status",
      "update ciliumbgppeerconfigs/status",
      "update ciliumloadbalancerippools/status",
      "update services/status",
    ]);
    expect(allows(cluster, "get", "", "secrets")).toBe(false);
    expect(allows(cluster, "update", "coordination.k8s.io", "leases")).toBe(false);
    const leases = roles.find((r) => r.rules.some((x) => x.resources.includes("leases")))!;
    expect(leases.namespace).toBe("herald");
    expect(leases.rules.flatMap((r) => r.verbs).sort()).toEqual(["create", "get", "update"]);
    const secrets = roles.find((r) => r.rules.some((x) => x.resources.includes("secrets")))!;
    expect(secrets.namespace).toBe("kube-system");
    expect(secrets.rules.flatMap((r) => r.verbs).sort()).toEqual(["get", "list", "watch"]);
  });

  it("reads every kind the informers watch", async () => {
    const { cluster } = await rules();
    for (const [group, resource] of [["", "nodes"], ["", "services"], ["discovery.k8s.io", "endpointslices"], ...CRD_KINDS.map((k) => ["cilium.io", k.plural])]) {
      for (const verb of ["get", "list", "watch"]) expect(allows(cluster, verb, group, resource), `${verb} ${group}/${resource}`).toBe(true);
    }
  });
});

describe("DaemonSet", () => {
  async function daemonSet() {
    const [ds] = await docs(join(DEPLOY, "30-daemonset.yaml"));
    return { ds, pod: ds.spec.template.spec, c: ds.spec.template.spec.containers[0] };
  }

  it("host network, the three capabilities and nothing else, NODE_NAME from the downward API", async () => {
    const { pod, c } = await daemonSet();
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe("ClusterFirstWithHostNet");
    expect(c.securityContext.capabilities).toEqual({ drop: ["ALL"], add: ["NET_ADMIN", "NET_BIND_SERVICE", "BPF"] });
    expect(c.securityContext.privileged).toBeUndefined();
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(c.env.find((e: KubeObject) => e.name === "NODE_NAME").valueFrom).toEqual({ fieldRef: { fieldPath: "spec.nodeName" } });
    expect(pod.serviceAccountName).toBe("herald");
  });

  it("probes /healthz and /readyz on 127.0.0.1:9234, where --api listens", async () => {
    const { c } = await daemonSet();
    expect(c.livenessProbe.httpGet).toEqual({ host: "127.0.0.1", port: 9234, path: "/healthz" });
    expect(c.startupProbe.httpGet).toEqual({ host: "127.0.0.1", port: 9234, path: "/healthz" });
    expect(c.readinessProbe.httpGet).toEqual({ host: "127.0.0.1", port: 9234, path: "/readyz" });
    expect(c.args).toContain("--api=127.0.0.1:9234");
  });

  it("stops within a budget that fits graceful restart (peers keep routes for 120 s by default)", async () => {
    const { ds, pod } = await daemonSet();
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeLessThanOrEqual(30);
    expect(ds.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(1);
  });

  it("mounts herald's bpffs directory where --bpf-pin-dir points, and the state directory", async () => {
    const { pod, c } = await daemonSet();
    const pin = c.args.find((a: string) => a.startsWith("--bpf-pin-dir=")).split("=")[1];
    const mount = c.volumeMounts.find((m: KubeObject) => m.mountPath === pin);
    const vol = pod.volumes.find((v: KubeObject) => v.name === mount.name);
    expect(vol.hostPath).toEqual({ path: "/sys/fs/bpf/herald", type: "DirectoryOrCreate" });
    const state = c.args.find((a: string) => a.startsWith("--state-dir=")).split("=")[1];
    expect(c.volumeMounts.some((m: KubeObject) => m.mountPath === state)).toBe(true);
  });

  it("runs `herald agent` in Kubernetes mode (in-cluster, no --config-dir), its Lease in the pod's namespace", async () => {
    const { c } = await daemonSet();
    expect(c.args[0]).toBe("agent");
    expect(c.args.some((a: string) => a.startsWith("--config-dir") || a.startsWith("--kubeconfig"))).toBe(false);
    expect(c.env.find((e: KubeObject) => e.name === "POD_NAMESPACE").valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.namespace" } });
    // What the kubelet does with $(VAR) references, then what a pod's environment holds.
    const args = c.args.slice(1).map((a: string) => a.replace("$(NODE_NAME)", "worker-1").replace("$(POD_NAMESPACE)", "herald"));
    const o = agentOptions(args, { KUBERNETES_SERVICE_HOST: "10.96.0.1", NODE_NAME: "worker-1", POD_NAMESPACE: "herald" });
    expect(o).toMatchObject({ nodeName: "worker-1", api: { host: "127.0.0.1", port: 9234 }, stateDir: "/var/lib/herald" });
    expect(o.configDir).toBeUndefined();
    expect(o.kube).toMatchObject({ kubeconfig: undefined, leaseNamespace: "herald", leaseName: "herald-operator", statusReport: true });
    expect(o.control.bgpSecretsNamespace).toBe("kube-system");
  });

  it("the Lease and the secrets namespace it names are the ones RBAC grants", async () => {
    const { c } = await daemonSet();
    const rbac = await docs(join(DEPLOY, "20-rbac.yaml"));
    const arg = (name: string) => c.args.find((a: string) => a.startsWith(`--${name}=`))?.split("=")[1];
    const roleNs = (resource: string) => rbac.find((d) => d.kind === "Role" && d.rules.some((r: Rule) => r.resources.includes(resource)))?.metadata.namespace;
    const ds = (await docs(join(DEPLOY, "30-daemonset.yaml")))[0];
    expect(arg("lease-namespace")).toBe("$(POD_NAMESPACE)");
    expect(roleNs("leases")).toBe(ds.metadata.namespace);
    expect(roleNs("secrets")).toBe(arg("bgp-secrets-namespace"));
  });
});

describe("kubectl apply -f deploy/kubernetes/", () => {
  it("creates everything, in file order, against the API server double", async () => {
    const fresh = await startApiServer();
    const k = await Kubectl.forDouble(fresh);
    try {
      const out = await k.ok(["apply", "-f", DEPLOY]);
      const lines = out.trim().split("\n");
      expect(lines[0]).toBe("namespace/herald created");
      expect(lines.filter((l) => l.startsWith("customresourcedefinition"))).toHaveLength(CRD_KINDS.length);
      expect(lines.at(-1)).toBe("daemonset.apps/herald created");
      expect(lines.every((l) => l.endsWith(" created"))).toBe(true);
      expect((await k.ok(["apply", "-f", DEPLOY])).trim().split("\n").every((l) => l.endsWith(" unchanged"))).toBe(true);
    } finally {
      await fresh.stop();
      await k.cleanup();
    }
  });
});
