/**
 * Opt-in: herald agent's Kubernetes mode against a REAL cluster (KUBECONFIG).
 * Not part of the default run (it matches no `*.test.ts`); run it with
 *
 *   KUBECONFIG=~/.kube/kind npx vitest run --config test/kube-e2e/real-cluster/vitest.config.ts
 *
 * It fails (never skips) without KUBECONFIG. It needs a scratch cluster —
 * kind, k3d, minikube — with herald's CRDs (or Cilium's) installed, and
 * without Cilium's operator, LoadBalancer Services, LB pools or BGP cluster
 * configs of its own: herald's leader would act on those too. It checks
 * that first and refuses a cluster that has any.
 *
 * Two agents run in this process (no BGP router: the peer is refused, which
 * is fine). It creates a namespace `herald-test-<pid>`, a pool, Services and
 * a cluster config selecting one real node, and removes them all at the end.
 */
import process from "node:process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../../src/agent/agent.ts";
import { createLogger } from "../../../src/log.ts";
import { KubeApiError, KubeClient } from "../../../src/source/kube/client.ts";

if (!process.env.KUBECONFIG) {
  throw new Error("Cannot run the real-cluster tests: KUBECONFIG is not set (they are opt-in; see test/kube-e2e/real-cluster/README.md)");
}

const RUN = `herald-test-${process.pid}`;
const NS = RUN;
let client: KubeClient;
let nodeName: string;
const agents: Agent[] = [];

// deno-lint-ignore no-explicit-any
type Obj = any;
const get = <T = Obj>(path: string) => client.request<T>("GET", path);
const post = (path: string, body: unknown) => client.request("POST", path, { body });
const del = (path: string) => client.request("DELETE", path).catch((e) => (e instanceof KubeApiError && e.code === 404 ? undefined : Promise.reject(e)));

async function eventually<T>(check: () => Promise<T>, what: string, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`Cannot see ${what} within ${timeoutMs} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function agent(name: string): Agent {
  const a = new Agent({
    nodeName: name,
    api: null,
    stateDir: `/tmp/${RUN}-${name}`,
    datapath: { enabled: false },
    control: {},
    logger: createLogger({ level: process.env.HERALD_LOG_LEVEL as "info" | undefined ?? "warn" }),
    processMetrics: false,
    transport: "net",
    hostFacts: () => Promise.resolve({ interfaces: [], routes: [] }),
    hostFactsIntervalMs: 0,
    kube: {
      client: KubeClient.load({}),
      leaseNamespace: NS,
      leaseName: "herald-operator",
      leaseDurationMs: 6000,
      renewDeadlineMs: 4000,
      retryPeriodMs: 1000,
      nodeStatusIntervalMs: 2000,
    },
  });
  agents.push(a);
  return a;
}

const svcPath = (name = "") => `/api/v1/namespaces/${NS}/services${name ? `/${name}` : ""}`;
const svc = (name: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: NS, labels: { "herald.test/run": RUN } },
  spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }], selector: { app: name } },
});
const ips = async () => {
  const list = await get<{ items: Obj[] }>(svcPath());
  return Object.fromEntries(list.items.map((s: Obj) => [s.metadata.name, (s.status?.loadBalancer?.ingress ?? []).map((i: Obj) => i.ip)]));
};

beforeAll(async () => {
  client = KubeClient.load({});
  // A scratch cluster only: herald's leader acts on every pool and LoadBalancer Service.
  for (const crd of ["ciliumloadbalancerippools", "ciliumbgpclusterconfigs", "ciliumbgpnodeconfigs", "ciliumbgppeerconfigs"]) {
    await get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}.cilium.io`).catch(() => {
      throw new Error(`Cannot run against this cluster: CRD ${crd}.cilium.io is missing (kubectl apply -f deploy/kubernetes/10-crds.yaml)`);
    });
  }
  const pools = await get<{ items: Obj[] }>("/apis/cilium.io/v2/ciliumloadbalancerippools");
  const configs = await get<{ items: Obj[] }>("/apis/cilium.io/v2/ciliumbgpclusterconfigs");
  const lbs = (await get<{ items: Obj[] }>("/api/v1/services")).items.filter((s: Obj) => s.spec?.type === "LoadBalancer");
  if (pools.items.length || configs.items.length || lbs.length) {
    throw new Error(
      `Cannot run against this cluster: it has ${pools.items.length} LB pool(s), ${configs.items.length} BGP cluster config(s), ${lbs.length} LoadBalancer Service(s); use a scratch cluster`,
    );
  }
  const nodes = await get<{ items: Obj[] }>("/api/v1/nodes");
  if (!nodes.items.length) throw new Error("Cannot run against this cluster: it has no Node");
  nodeName = nodes.items[0].metadata.name;
  await post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await post("/apis/cilium.io/v2/ciliumloadbalancerippools", {
    apiVersion: "cilium.io/v2",
    kind: "CiliumLoadBalancerIPPool",
    metadata: { name: RUN },
    spec: { blocks: [{ cidr: "198.18.200.0/29" }], serviceSelector: { matchLabels: { "herald.test/run": RUN } } },
  });
  for (const n of ["one", "two"]) await post(svcPath(), svc(n));
});

afterAll(async () => {
  for (const a of agents) await a.stop().catch(() => {});
  if (!client) return;
  await del(`/apis/cilium.io/v2/ciliumbgpclusterconfigs/${RUN}`);
  await del(`/apis/cilium.io/v2/ciliumbgppeerconfigs/${RUN}`);
  await del(`/apis/cilium.io/v2/ciliumloadbalancerippools/${RUN}`);
  await del(`/api/v1/namespaces/${NS}`);
});

describe("herald agent on a real cluster", () => {
  it("the leader allocates from the pool into Service status (I13) and writes the pool's counts (I14)", async () => {
    const first = agent(nodeName);
    await first.start();
    const got = await eventually(async () => {
      const m = await ips();
      return m.one?.length === 1 && m.two?.length === 1 ? m : null;
    }, "both Services allocated");
    for (const ip of [...got.one, ...got.two]) expect(ip).toMatch(/^198\.18\.200\.[0-7]$/);
    const s = await get(svcPath("one"));
    expect(s.status.conditions).toEqual([expect.objectContaining({ type: "cilium.io/IPAMRequestSatisfied", status: "True", reason: "satisfied" })]);
    const pool = await eventually(async () => {
      const p = await get(`/apis/cilium.io/v2/ciliumloadbalancerippools/${RUN}`);
      return p.status?.conditions?.some((c: Obj) => c.type === "cilium.io/IPsUsed" && c.message === "2") ? p : null;
    }, "the pool's counts");
    expect(pool.status.conditions.map((c: Obj) => c.type)).toContain("cilium.io/IPsTotal");
  });

  it("derives the node's CiliumBGPNodeConfig, owned by the cluster config, and the node reports its status (B2, F)", async () => {
    await post("/apis/cilium.io/v2/ciliumbgppeerconfigs", { apiVersion: "cilium.io/v2", kind: "CiliumBGPPeerConfig", metadata: { name: RUN }, spec: { transport: { peerPort: 1 } } });
    await post("/apis/cilium.io/v2/ciliumbgpclusterconfigs", {
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPClusterConfig",
      metadata: { name: RUN },
      spec: {
        nodeSelector: { matchLabels: { "kubernetes.io/hostname": nodeName } },
        bgpInstances: [{ name: "test", localASN: 64512, peers: [{ name: "nobody", peerAddress: "127.0.0.1", peerASN: 64513, peerConfigRef: { name: RUN } }] }],
      },
    });
    const nc = await eventually(() => get(`/apis/cilium.io/v2/ciliumbgpnodeconfigs/${nodeName}`).catch(() => null), "the NodeConfig");
    expect(nc.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "CiliumBGPClusterConfig", name: RUN, controller: true })]);
    const status = await eventually(async () => (await get(`/apis/cilium.io/v2/ciliumbgpnodeconfigs/${nodeName}`)).status, "the NodeConfig status");
    expect(status.bgpInstances[0]).toMatchObject({ name: "test", localASN: 64512, peers: [expect.objectContaining({ name: "nobody", peerAddress: "127.0.0.1" })] });
    await del(`/apis/cilium.io/v2/ciliumbgpclusterconfigs/${RUN}`);
    await eventually(() => get(`/apis/cilium.io/v2/ciliumbgpnodeconfigs/${nodeName}`).then(() => false, () => true), "the NodeConfig garbage-collected");
  });

  it("a second agent takes over when the first stops: nothing moves, the next Service gets a free address (I12)", async () => {
    const before = await ips();
    const second = agent(`${RUN}-b`);
    await second.start();
    await agents[0].stop();
    await eventually(async () => (await get(`/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/herald-operator`)).spec?.holderIdentity === `${RUN}-b`, "the second agent leading");
    await post(svcPath(), svc("three"));
    const after = await eventually(async () => {
      const m = await ips();
      return m.three?.length === 1 ? m : null;
    }, "three allocated by the new leader");
    expect(after.one).toEqual(before.one);
    expect(after.two).toEqual(before.two);
    expect([...before.one, ...before.two]).not.toContain(after.three[0]);
  });
});
