/**
 * herald agent across restarts (no BGP peer needed): LoadBalancer IPs stay
 * the same over 20 restarts, by SIGTERM and by SIGKILL, while Services are
 * added between them (adoption from the state file, I12); a damaged state
 * file stops the agent with its message; the restart marker makes the
 * next start a graceful restart.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AgentStatus, ServicesResponse } from "../../src/api/schemas.ts";
import { loadState, STATE_FILE } from "../../src/ipam/mod.ts";
import { useHarness, waitFor } from "../interop/harness/mod.ts";
import { agentDirs, startAgent, writeManifest } from "./_agent.ts";

const h = useHarness("ear");

const POOL = `
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: { name: pool }
spec:
  blocks: [{ cidr: "10.123.0.0/24" }, { cidr: "fd00:123::/120" }]
`;

const service = (name: string, extra = "") => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: app${extra} }
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv4, IPv6]
  ports: [{ port: 443, protocol: TCP }]
`;

describe("herald agent restarts", () => {
  it("keeps every LoadBalancer IP identical across 20 restarts (SIGTERM and SIGKILL) while Services are added (I12)", async () => {
    const dirs = agentDirs(h);
    writeManifest(dirs.configDir, "pool.yaml", POOL);
    writeManifest(dirs.configDir, "svc-0.yaml", service("svc-0"));
    writeManifest(dirs.configDir, "svc-req.yaml", service("svc-req", `, annotations: { "lbipam.cilium.io/ips": "10.123.0.200" }`));
    const known = new Map<string, string[]>();
    for (let i = 0; i < 20; i++) {
      if (i > 0) writeManifest(dirs.configDir, `svc-${i}.yaml`, service(`svc-${i}`));
      const agent = await startAgent(h, dirs, { nodeName: "restarts", extra: ["--no-datapath", "--ip-families", "dual"] });
      await agent.ready();
      const services = ServicesResponse.parse(await agent.get("/v1/services")).services;
      expect(services).toHaveLength(i + 2);
      for (const s of services) {
        expect(s.satisfied).toBe(true);
        expect(s.ips).toHaveLength(s.name === "svc-req" ? 1 : 2);
        const before = known.get(s.name);
        if (before) expect(s.ips, `${s.name} after restart ${i}`).toEqual(before);
        else known.set(s.name, s.ips);
      }
      expect(known.get("svc-req")).toEqual(["10.123.0.200"]);
      // The allocations are on disk before the process goes (a SIGKILL cannot flush).
      await waitFor(async () => (await loadState(dirs.stateDir))?.services ?? {}, (s) => `app/svc-${i}` in s, { what: `svc-${i} in the state file`, timeoutMs: 5000, intervalMs: 20 });
      const status = await agent.proc.stop({ signal: i % 2 === 0 ? "SIGKILL" : "SIGTERM", graceMs: 5000 });
      if (i % 2 === 1) expect(status.code).toBe(0);
    }
    const all = [...known.values()].flat();
    expect(new Set(all).size).toBe(all.length);
  }, 120_000);

  it("stops with the state file's message when it is damaged", async () => {
    const dirs = agentDirs(h);
    writeManifest(dirs.configDir, "pool.yaml", POOL);
    writeFileSync(join(dirs.stateDir, STATE_FILE), "{ not json");
    const agent = await startAgent(h, dirs, { nodeName: "damaged" });
    const exit = await agent.proc.exited;
    expect(exit.code).toBe(1);
    expect(agent.proc.output()).toContain(`herald agent: Cannot load LB-IPAM state "${join(dirs.stateDir, STATE_FILE)}"`);
  });

  it("starts as a graceful restart only after a session was up (restart marker)", async () => {
    const dirs = agentDirs(h);
    writeManifest(dirs.configDir, "pool.yaml", POOL);
    const first = await startAgent(h, dirs, { nodeName: "marker" });
    await first.ready();
    expect(AgentStatus.parse(await first.get("/v1/status")).restarted).toBe(false);
    await first.proc.stop();
    // No session ever came up: the next start is a cold start.
    const second = await startAgent(h, dirs, { nodeName: "marker" });
    await second.ready();
    expect(AgentStatus.parse(await second.get("/v1/status")).restarted).toBe(false);
    await second.proc.stop();
    writeFileSync(join(dirs.stateDir, "bgp-sessions.json"), JSON.stringify({ node: "marker", pid: 1, since: new Date().toISOString() }));
    const third = await startAgent(h, dirs, { nodeName: "marker" });
    await third.ready();
    expect(AgentStatus.parse(await third.get("/v1/status")).restarted).toBe(true);
    await third.proc.stop();
  });
});
