/**
 * herald agent with the eBPF datapath (needs root and bpffs): the service
 * map follows the manifests, is synced before any BGP instance starts (spec
 * A2), and survives a shutdown (C7: maps stay pinned, the next start adopts
 * them).
 */
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { AgentStatus } from "../../src/api/schemas.ts";
import { ROOT, useHarness, waitFor } from "../interop/harness/mod.ts";
import { bpftoolServices, removePinDir } from "../datapath/_fixtures.ts";
import { agentDirs, startAgent, writeManifest } from "./_agent.ts";

const h = useHarness("ead");
const pinDir = `/sys/fs/bpf/herald_e2e_${process.pid}`;
afterAll(() => removePinDir(pinDir));

const manifests = (port: number) => `
apiVersion: v1
kind: Node
metadata: { name: dp, labels: { bgp: "on" } }
status: { addresses: [{ type: InternalIP, address: 127.0.0.1 }] }
---
apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: { name: c }
spec:
  nodeSelector: { matchLabels: { bgp: "on" } }
  bgpInstances: [{ name: main, localASN: 65001, peers: [{ name: nobody, peerAddress: 127.0.0.2, peerASN: 65000 }] }]
---
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: { name: pool }
spec: { blocks: [{ cidr: 10.77.0.0/29 }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: dp }
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  ports: [{ name: http, port: ${port}, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: dp, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints: [{ addresses: [10.244.0.5], conditions: { ready: true } }]
`;

describe("herald agent with the eBPF datapath", () => {
  it("programs the service map before BGP starts, follows manifest changes, and keeps the maps across a restart (A2, C7)", async () => {
    const ns = await h.namespace();
    const link = await h.link(ROOT, ns);
    const dirs = agentDirs(h);
    writeManifest(dirs.configDir, "all.yaml", manifests(80));
    const extra = ["--bpf-pin-dir", pinDir, "--devices", link.a.ifname];
    const agent = await startAgent(h, dirs, { nodeName: "dp", extra });
    await agent.ready();
    const status = AgentStatus.parse(await agent.get("/v1/status"));
    expect(status.datapath).toEqual({ enabled: true, synced: true, frontends: 2 });
    expect(bpftoolServices(pinDir)).toEqual(new Map([
      ["10.77.0.0|80|TCP", ["10.244.0.5|8080"]],
      ["10.96.0.10|80|TCP", ["10.244.0.5|8080"]],
    ]));
    const log = agent.proc.output(100_000);
    expect(log.indexOf("Datapath attached")).toBeGreaterThan(-1);
    expect(log.indexOf("Datapath attached")).toBeLessThan(log.indexOf("Registering BGP instance"));

    writeManifest(dirs.configDir, "all.yaml", manifests(443));
    await waitFor(() => bpftoolServices(pinDir), (m) => m.has("10.77.0.0|443|TCP") && !m.has("10.77.0.0|80|TCP"), { what: "the service map to follow the port change", timeoutMs: 10_000 });

    expect((await agent.proc.stop()).code).toBe(0);
    expect(existsSync(`${pinDir}/services`)).toBe(true);
    expect(bpftoolServices(pinDir).get("10.77.0.0|443|TCP")).toEqual(["10.244.0.5|8080"]);

    const again = await startAgent(h, dirs, { nodeName: "dp", extra });
    await again.ready();
    expect(AgentStatus.parse(await again.get("/v1/status")).datapath.frontends).toBe(2);
    expect(again.proc.output(100_000)).toContain("Reopened BPF service maps");
    await again.proc.stop();
  });
});
