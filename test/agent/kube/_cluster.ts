/**
 * In-process Kubernetes-mode agents against the API server double: each
 * agent is an `Agent` with its own client, told apart in the double's
 * request log by its bearer token (its node name). BGP goes to an
 * in-process collector (a Speaker that accepts any peer) when a test needs
 * sessions; short Lease timings keep takeovers fast.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "../../../src/agent/agent.ts";
import type { KubeAgentOptions } from "../../../src/agent/kube/mode.ts";
import { Speaker } from "../../../src/bgp/speaker.ts";
import type { ControlOptions } from "../../../src/control/types.ts";
import { createLogger } from "../../../src/log.ts";
import { clientFromKubeconfigText, type KubeClient } from "../../../src/source/kube/client.ts";
import type { ApiServerDouble, KubeObject, RequestRecord } from "../../support/apiserver/mod.ts";
import { cluster } from "../../source/kube/_cluster.ts";

export const LEASE = { leaseNamespace: "herald", leaseName: "herald-operator" };

export interface TestCluster {
  api: ApiServerDouble;
  /** The test's own client (token "test"). */
  client: KubeClient;
  agents: Agent[];
  /** Starts an agent for `node` (not awaited: call `agent.start()`). */
  agent(node: string, o?: { kube?: Partial<KubeAgentOptions>; control?: Partial<ControlOptions> }): Agent;
  /** Writes by a token: method and path, in order. */
  writes(token: string): string[];
  stop(): Promise<void>;
}

export function clientFor(api: ApiServerDouble, token: string): KubeClient {
  return clientFromKubeconfigText(api.kubeconfig().replace("user: {}", `user: { token: ${token} }`));
}

const WRITE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function testCluster(): Promise<TestCluster> {
  const { api } = await cluster();
  api.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "herald" } });
  const dir = mkdtempSync(join(tmpdir(), "herald-kube-"));
  const agents: Agent[] = [];
  const t: TestCluster = {
    api,
    client: clientFor(api, "test"),
    agents,
    agent(node, o = {}) {
      const a = new Agent({
        nodeName: node,
        api: null,
        stateDir: join(dir, node),
        datapath: { enabled: false },
        control: { ...o.control },
        logger: createLogger({ write: () => {} }),
        processMetrics: false,
        transport: "net",
        hostFacts: () => Promise.resolve({ interfaces: [], routes: [] }),
        hostFactsIntervalMs: 0,
        kube: {
          client: clientFor(api, node),
          ...LEASE,
          leaseDurationMs: 1500,
          renewDeadlineMs: 1000,
          retryPeriodMs: 200,
          nodeStatusIntervalMs: 200,
          ...o.kube,
        },
      });
      agents.push(a);
      return a;
    },
    writes(token) {
      return api.requests
        .filter((r: RequestRecord) => WRITE.has(r.method) && r.headers.authorization === `Bearer ${token}`)
        .map((r) => `${r.method} ${r.path}`);
    },
    async stop() {
      for (const a of agents) await a.stop();
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** A BGP speaker accepting any peer on 127.0.0.1 (the agents' upstream router). */
export async function collector(asn = 65000): Promise<{ speaker: Speaker; port: number }> {
  const speaker = new Speaker();
  await speaker.setInstance({ name: "c", asn, routerId: "192.0.2.200", listen: { address: "127.0.0.1", port: 0 }, acceptAnyPeer: true });
  return { speaker, port: speaker.listenPort("c")! };
}

export const node = (name: string, address: string, labels: Record<string, string> = { bgp: "on" }): KubeObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels },
  spec: { podCIDRs: [`10.244.${address.split(".").at(-1)}.0/24`] },
  status: { addresses: [{ type: "InternalIP", address }] },
});

export function bgpConfig(o: { name?: string; asn?: number; peerPort: number; selector?: Record<string, string>; peerConfig?: string }): KubeObject[] {
  const peerConfig = o.peerConfig ?? "upstream";
  return [
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPClusterConfig",
      metadata: { name: o.name ?? "main" },
      spec: {
        nodeSelector: { matchLabels: o.selector ?? { bgp: "on" } },
        bgpInstances: [{ name: "i", localASN: o.asn ?? 65001, peers: [{ name: "up", peerAddress: "127.0.0.1", peerASN: 65000, peerConfigRef: { name: peerConfig } }] }],
      },
    },
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPPeerConfig",
      metadata: { name: peerConfig },
      spec: {
        transport: { peerPort: o.peerPort },
        timers: { holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 1 },
        families: [{ afi: "ipv4", safi: "unicast", advertisements: { matchLabels: { advertise: "yes" } } }],
      },
    },
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPAdvertisement",
      metadata: { name: "routes", labels: { advertise: "yes" } },
      spec: {
        advertisements: [
          { advertisementType: "PodCIDR" },
          { advertisementType: "Service", service: { addresses: ["LoadBalancerIP"] }, selector: {} },
        ],
      },
    },
  ];
}

export const pool = (name: string, cidr: string): KubeObject => ({
  apiVersion: "cilium.io/v2",
  kind: "CiliumLoadBalancerIPPool",
  metadata: { name },
  spec: { blocks: [{ cidr }] },
});

export const service = (name: string, o: { namespace?: string; annotations?: Record<string, string>; port?: number } = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: o.namespace ?? "default", ...(o.annotations ? { annotations: o.annotations } : {}) },
  spec: { type: "LoadBalancer", ports: [{ port: o.port ?? 80, protocol: "TCP" }] },
});

/** Every LoadBalancer Service's ingress IPs, by namespace/name. */
export function ingress(api: ApiServerDouble): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of api.list("v1", "Service")) {
    if (s.spec?.type !== "LoadBalancer") continue;
    out[`${s.metadata.namespace}/${s.metadata.name}`] = (s.status?.loadBalancer?.ingress ?? []).map((i: KubeObject) => i.ip);
  }
  return out;
}

/** Polls until `check()` returns a truthy value; returns it. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
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
    await new Promise((r) => setTimeout(r, 25));
  }
}
