/**
 * A small cluster for end-to-end tests of Kubernetes mode: the API server
 * double (in the test process, on 127.0.0.1), BIRD 2 in the root namespace
 * as the upstream router (AS 65000 on 127.0.0.1, a free port), and N herald
 * agents as child processes (`mod.ts agent --kubeconfig … --node-name nodeN
 * --no-datapath`), each speaking BGP from its own loopback address
 * 127.0.0.1N (set per node by a CiliumBGPNodeConfigOverride's
 * `localAddress`, B3; BIRD peers with them multihop). Each agent has its
 * own kubeconfig whose token is its node name, so the double's request log
 * says who wrote what.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateCRDs } from "../../scripts/gen-crds.ts";
import { type BirdDaemon, freePort, type Harness, type ManagedProcess, ROOT, waitFor } from "../interop/harness/mod.ts";
import { type ApiServerDouble, type KubeObject, startApiServer } from "../support/apiserver/mod.ts";

export interface NodeSpec {
  name: string;
  /** BGP source address (127.0.0.1N). */
  address: string;
  podCIDR: string;
}

export const LEASE_ARGS = ["--leader-election-lease-duration", "3s", "--leader-election-renew-deadline", "2s", "--leader-election-retry-period", "500ms"];
/** Takeover bound with LEASE_ARGS: a lease duration after the last renewal seen, plus the followers' retry period with its 20 % jitter. */
export const TAKEOVER_MS = 3000 + 2 * 600;

export function nodes(n: number): NodeSpec[] {
  return Array.from({ length: n }, (_, i) => ({ name: `node${i + 1}`, address: `127.0.0.${11 + i}`, podCIDR: `10.244.${i + 1}.0/24` }));
}

/** Nodes, one cluster config, its peer config (BIRD's port), the advertisement, per-node overrides and a pool. */
export function clusterObjects(ns: readonly NodeSpec[], birdPort: number, poolCidr = "172.30.0.0/24"): KubeObject[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "herald" } },
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
    ...ns.map((n) => ({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: n.name, labels: { bgp: "on" } },
      spec: { podCIDRs: [n.podCIDR] },
      status: { addresses: [{ type: "InternalIP", address: n.address }] },
    })),
    ...ns.map((n) => ({
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPNodeConfigOverride",
      metadata: { name: n.name },
      spec: { bgpInstances: [{ name: "rack", peers: [{ name: "bird", localAddress: n.address }] }] },
    })),
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPClusterConfig",
      metadata: { name: "rack" },
      spec: {
        nodeSelector: { matchLabels: { bgp: "on" } },
        bgpInstances: [{ name: "rack", localASN: 65001, peers: [{ name: "bird", peerAddress: "127.0.0.1", peerASN: 65000, peerConfigRef: { name: "bird" } }] }],
      },
    },
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPPeerConfig",
      metadata: { name: "bird" },
      spec: {
        transport: { peerPort: birdPort },
        timers: { holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 1 },
        families: [{ afi: "ipv4", safi: "unicast", advertisements: { matchLabels: { advertise: "bgp" } } }],
      },
    },
    {
      apiVersion: "cilium.io/v2",
      kind: "CiliumBGPAdvertisement",
      metadata: { name: "routes", labels: { advertise: "bgp" } },
      spec: {
        advertisements: [
          { advertisementType: "PodCIDR" },
          { advertisementType: "Service", service: { addresses: ["LoadBalancerIP"] }, selector: {} },
        ],
      },
    },
    { apiVersion: "cilium.io/v2", kind: "CiliumLoadBalancerIPPool", metadata: { name: "pool" }, spec: { blocks: [{ cidr: poolCidr }] } },
  ];
}

export const service = (name: string, o: { namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> } = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: o.namespace ?? "shop", ...(o.annotations ? { annotations: o.annotations } : {}), ...(o.labels ? { labels: o.labels } : {}) },
  spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }] },
});

/** Starts the double with herald's CRDs and `objects`. */
export async function startDouble(objects: KubeObject[] = [], options: { historySize?: number } = {}): Promise<ApiServerDouble> {
  const api = await startApiServer({ historySize: options.historySize });
  for (const crd of generateCRDs()) api.put(crd);
  for (const o of objects) api.put(o);
  return api;
}

export function startBirdFor(h: Harness, ns: readonly NodeSpec[], o: { gracefulRestart?: boolean } = {}): Promise<BirdDaemon> {
  return h.bird({
    netns: ROOT,
    routerId: "192.0.2.254",
    asn: 65000,
    neighbors: ns.map((n) => ({
      address: n.address,
      asn: 65001,
      passive: true,
      holdTime: 9,
      families: ["ipv4-unicast" as const],
      gracefulRestart: o.gracefulRestart ?? false,
    })),
  });
}

export interface KubeAgentProcess {
  node: NodeSpec;
  proc: ManagedProcess;
  apiAddress: string;
  get<T = unknown>(path: string): Promise<T>;
  ready(timeoutMs?: number): Promise<void>;
}

/** A kubeconfig whose token is `token`, written under the harness dir. */
export function kubeconfigFile(h: Harness, api: ApiServerDouble, token: string): string {
  const file = join(h.dir, `kubeconfig-${token}`);
  writeFileSync(file, api.kubeconfig().replace("user: {}", `user: { token: ${token} }`));
  return file;
}

export async function startKubeAgent(h: Harness, api: ApiServerDouble, node: NodeSpec, extra: string[] = []): Promise<KubeAgentProcess> {
  const port = await freePort();
  const apiAddress = `127.0.0.1:${port}`;
  const args = [
    "agent",
    "--kubeconfig", kubeconfigFile(h, api, node.name),
    "--node-name", node.name,
    "--no-datapath",
    "--state-dir", join(h.dir, `state-${node.name}`),
    "--api", apiAddress,
    ...LEASE_ARGS,
    ...extra,
  ];
  const proc = h.script(ROOT, "mod.ts", args, { name: `herald agent ${node.name}` });
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`http://${apiAddress}${path}`);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  };
  const ready = async (timeoutMs = 30_000) => {
    await waitFor(async () => {
      if (!proc.running) throw new Error(`herald agent ${node.name} exited: ${JSON.stringify(proc.exitStatus)}\n${proc.output()}`);
      try {
        return (await fetch(`http://${apiAddress}/readyz`)).status;
      } catch {
        return 0;
      }
    }, (s) => s === 200, { what: `herald agent ${node.name} to be ready`, timeoutMs, intervalMs: 50 });
  };
  return { node, proc, apiAddress, get, ready };
}

/** The Lease holder, read in-process. */
export const leaseHolder = (api: ApiServerDouble): string | undefined =>
  api.find("coordination.k8s.io/v1", "Lease", "herald-operator", "herald")?.spec?.holderIdentity || undefined;

/** Every LoadBalancer Service's ingress IPs, by namespace/name. */
export function ingress(api: ApiServerDouble): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of api.list("v1", "Service")) {
    if (s.spec?.type !== "LoadBalancer") continue;
    out[`${s.metadata.namespace}/${s.metadata.name}`] = (s.status?.loadBalancer?.ingress ?? []).map((i: KubeObject) => i.ip).filter(Boolean);
  }
  return out;
}

/** BIRD's routes per neighbour: address → sorted prefixes. */
export async function birdTable(bird: BirdDaemon, ns: readonly NodeSpec[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const all = await bird.routes();
  for (const n of ns) out[n.address] = all.filter((r) => r.peer === n.address).map((r) => r.prefix).sort();
  return out;
}

/** What each node should announce: its PodCIDR and every allocated LoadBalancer IP as /32. */
export function expectedTable(ns: readonly NodeSpec[], lbIPs: readonly string[]): Record<string, string[]> {
  const lb = lbIPs.map((ip) => `${ip}/32`);
  return Object.fromEntries(ns.map((n) => [n.address, [n.podCIDR, ...lb].sort()]));
}

/**
 * Polls BIRD continuously (every `intervalMs`) and keeps, per neighbour,
 * every prefix that was present once and then missing: a withdrawal.
 * Routes counted from `show protocols all` as well, to catch a withdrawal
 * and re-announcement between two route listings: BIRD's "Import
 * withdraws" counter per neighbour.
 */
export class WithdrawalWatch {
  readonly #bird: BirdDaemon;
  readonly #ns: readonly NodeSpec[];
  readonly #seen = new Map<string, Set<string>>();
  readonly withdrawn: Array<{ peer: string; prefix: string; at: number }> = [];
  samples = 0;
  #stop = false;
  #loop: Promise<void>;

  constructor(bird: BirdDaemon, ns: readonly NodeSpec[], intervalMs = 100) {
    this.#bird = bird;
    this.#ns = ns;
    this.#loop = this.#run(intervalMs);
  }

  async #run(intervalMs: number): Promise<void> {
    while (!this.#stop) {
      try {
        const table = await birdTable(this.#bird, this.#ns);
        this.samples++;
        for (const [peer, prefixes] of Object.entries(table)) {
          const seen = this.#seen.get(peer) ?? new Set();
          const now = new Set(prefixes);
          for (const p of seen) if (!now.has(p)) this.withdrawn.push({ peer, prefix: p, at: Date.now() });
          this.#seen.set(peer, new Set([...seen, ...now].filter((p) => now.has(p))));
        }
      } catch {
        // birdc busy: next sample
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#loop;
  }
}

/** BIRD's per-neighbour count of withdrawals received ("Import withdraws" in `show protocols all`). */
export async function birdWithdrawCounts(bird: BirdDaemon, ns: readonly NodeSpec[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of await bird.peers()) {
    if (!ns.some((n) => n.address === p.address)) continue;
    const m = /Import withdraws:\s+(\d+)/.exec(p.raw);
    out[p.address] = m ? Number(m[1]) : NaN;
  }
  return out;
}
