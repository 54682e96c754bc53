/**
 * `herald migrate check` against a stub of the agent API (a Hono app). The
 * stub answers from herald's own control plane and LB-IPAM on the output of
 * `herald migrate metallb`, in the JSON shapes of src/migrate/check-api.ts,
 * so the check, the shapes and the control plane's explain() are tested
 * together; knobs let a test break one thing at a time.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { explain } from "../../src/control/explain.ts";
import { desiredState } from "../../src/control/desired.ts";
import { emptyResources, type Resources } from "../../src/control/types.ts";
import type { Service } from "../../src/control/schemas/service.ts";
import { planAllocations } from "../../src/ipam/mod.ts";
import { migrateMetalLB } from "../../src/migrate/metallb.ts";
import { formatReport, runCheck } from "../../src/migrate/check.ts";
import type { ApiPeer, ApiRoute, ApiService } from "../../src/migrate/check-api.ts";
import { migrateCommand } from "../../src/cli/migrate.ts";

const DIR = fileURLToPath(new URL("./fixtures/metallb/", import.meta.url));
const read = (name: string) => ({ file: name, text: readFileSync(`${DIR}${name}`, "utf8") });

interface Knobs {
  /** Session state per peer address. */
  state?: Record<string, ApiPeer["sessionState"]>;
  /** Prefixes the speaker has not sent. */
  drop?: string[];
  extraServices?: Service[];
  /** Break a response shape. */
  badPeers?: boolean;
}

/** The agent of node `node` running the converted MetalLB configuration. */
function agent(node: string, knobs: Knobs = {}) {
  const r = migrateMetalLB([read("crds.yaml"), read("cluster.yaml"), read("team-a.yaml")]);
  const services = [...r.model.services.map((s) => r.patches.find((p) => p.input === s)?.patched ?? s.svc), ...(knobs.extraServices ?? [])];
  const pools = r.documents.filter((d) => d.value.kind === "CiliumLoadBalancerIPPool").map((d) => JSON.parse(JSON.stringify(d.value)));
  const ipam = planAllocations(pools, services, { ipv4: true, ipv6: true });
  const resources: Resources = { ...emptyResources(), ...r.output, nodes: r.model.nodes, services: ipam.servicesWithStatus, endpointSlices: r.model.endpointSlices };
  const input = { resources, node: { name: node } };
  const state = desiredState(input);
  const app = new Hono();
  app.get("/v1/services", (c) => c.json({
    services: ipam.servicesWithStatus.map((s): ApiService => {
      const plan = ipam.services.find((p) => p.namespace === s.metadata.namespace && p.name === s.metadata.name);
      return { namespace: s.metadata.namespace, name: s.metadata.name, type: s.spec.type, loadBalancerClass: s.spec.loadBalancerClass ?? null, ips: plan?.ips ?? [], condition: plan?.condition ?? null };
    }),
  }));
  app.get("/v1/peers", (c) => c.json(knobs.badPeers ? { peers: [{ name: "x" }] } : {
    peers: state.instances.flatMap((i) => i.peers.map((p): ApiPeer => ({
      instance: i.name, localASN: i.localASN, name: p.name, peerAddress: p.address, peerASN: p.peerASN, sessionState: knobs.state?.[p.address] ?? "established", families: [...p.families],
    }))),
  }));
  app.get("/v1/routes/advertised", (c) => {
    const family = `${c.req.query("afi")}/${c.req.query("safi")}`;
    const peer = c.req.query("peer");
    const routes: ApiRoute[] = [];
    for (const i of state.instances) {
      for (const p of i.peers) {
        if (peer && p.address !== peer) continue;
        for (const route of p.routes.get(family as "ipv4/unicast")?.values() ?? []) {
          if (!knobs.drop?.includes(route.prefix)) routes.push({ instance: i.name, peer: p.address, prefix: route.prefix });
        }
      }
    }
    return c.json({ routes });
  });
  app.get("/v1/explain", (c) => c.json(JSON.parse(JSON.stringify(explain(input, { service: c.req.query("service") }, state)))));
  const fetch = (url: string) => Promise.resolve(app.fetch(new Request(url)));
  return { app, fetch };
}

const check = (node: string, knobs?: Knobs) => runCheck({ baseUrl: "http://agent", fetch: agent(node, knobs).fetch });

describe("runCheck()", () => {
  it("passes when every LoadBalancer Service has its IPs and every peer that should have them does", async () => {
    const report = await check("w1");
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.services).toBe(7);
    const sent = report.advertised.map((a) => `${a.service} ${a.prefix} ${a.peer}`);
    expect(sent).toContain("shop/web 10.100.0.7/32 tor-r1 (10.0.1.1)");
    expect(sent).toContain("shop/web 10.100.0.7/32 rr (10.0.0.250)");
    expect(sent).toContain("shop/web 10.100.0.0/24 tor-r1 (10.0.1.1)");
    expect(sent).toContain("team-a/dns fd00:101::/128 tor-r1 (10.0.1.1)");
    // The L2 pool's Service is not BGP-announced by design: said, not failed (unless --strict).
    expect(report.warnings).toEqual([{ service: "office/printer", ip: "192.168.50.201", message: expect.stringMatching(/^192\.168\.50\.201 is not advertised to any BGP peer by this agent's configuration: node w1 runs CiliumBGPNodeConfig w1 from CiliumBGPClusterConfig metallb-1 \(B2\); CiliumBGPAdvertisement prod-host-routes advertisements\[0\] selector .*\(E12\)$/) }]);
    expect((await runCheck({ baseUrl: "http://agent", fetch: agent("w1").fetch, strict: true })).ok).toBe(false);
    expect(formatReport(report).at(-1)).toMatch(/^ok: 7 LoadBalancer Services have their IPs and are advertised to every peer that should have them/);
  });

  it("reports a Service without an IP, with LB-IPAM's reason", async () => {
    const orphan: Service = { apiVersion: "v1", kind: "Service", metadata: { name: "orphan", namespace: "shop", labels: { "migrate.herald.io/pool": "team-a" } }, spec: { type: "LoadBalancer" } };
    const report = await check("w1", { extraServices: [orphan] });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ service: "shop/orphan", message: "has no IP: no_pool: There are no enabled CiliumLoadBalancerIPPools that match this service" }]);
  });

  it("reports a route the agent should send but has not (session down, or missing from Adj-RIB-Out)", async () => {
    const down = await check("w1", { state: { "10.0.1.1": "active" } });
    expect(down.problems.map((p) => p.message)).toContain("10.100.0.7/32 should go to peer tor-r1 (10.0.1.1), but the session is active");
    const dropped = await check("w1", { drop: ["10.100.0.9/32"] });
    expect(dropped.problems).toEqual([
      { service: "shop/local-only", ip: "10.100.0.9", prefix: "10.100.0.9/32", peer: "tor-r1 (10.0.1.1)", message: "10.100.0.9/32 should go to peer tor-r1 (10.0.1.1) (ipv4/unicast), but it is not in the routes advertised to it" },
      { service: "shop/local-only", ip: "10.100.0.9", prefix: "10.100.0.9/32", peer: "rr (10.0.0.250)", message: "10.100.0.9/32 should go to peer rr (10.0.0.250) (ipv4/unicast), but it is not in the routes advertised to it" },
    ]);
  });

  it("warns instead of failing for externalTrafficPolicy Local without a local endpoint (E15)", async () => {
    const report = await check("w2");
    expect(report.ok).toBe(true);
    expect(report.warnings).toContainEqual({ service: "shop/local-only", ip: "10.100.0.9", message: "not announced from node w2: externalTrafficPolicy Local and no local endpoint here (E15); run the check on a node with an endpoint" });
  });

  it("lists a Service that no peer gets, with explain()'s reasons, as a warning (a problem with strict)", async () => {
    const report = await check("cp1"); // excluded from every ClusterConfig: no BGP at all here
    expect(report.ok).toBe(true); // nothing is missing towards a peer that should have it…
    expect(report.warnings[0].message).toMatch(/^10\.100\.0\.7 is not advertised to any BGP peer by this agent's configuration: no CiliumBGPClusterConfig selects node cp1/);
    expect((await runCheck({ baseUrl: "http://agent", fetch: agent("cp1").fetch, strict: true })).ok).toBe(false); // …which --strict refuses
  });

  it("names the endpoint and the expected shape when the agent answers something else", async () => {
    const bad = await check("w1", { badPeers: true });
    expect(bad.problems).toEqual([{ service: "", message: "Cannot read /v1/peers: matches none of the accepted forms: (1) peers.0.instance: Invalid input: expected string, received undefined; (2) the answer: Invalid input: expected array, received object (herald migrate check expects the shapes in src/migrate/check-api.ts)" }]);
    const gone = await runCheck({ baseUrl: "http://agent", fetch: () => Promise.reject(new TypeError("connection refused")) });
    expect(gone.problems).toEqual([{ service: "", message: "Cannot reach the agent at http://agent/v1/services: connection refused" }]);
  });
});

describe("herald migrate check (command)", () => {
  it("talks HTTP to --api and exits 0 when ready, 1 when not", async () => {
    const run = async (knobs: Knobs) => {
      const { app } = agent("w1", knobs);
      const server = createServer(async (req, res) => {
        const answer = await app.fetch(new Request(`http://127.0.0.1${req.url}`));
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(await answer.text());
      });
      await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
      const { port } = server.address() as AddressInfo;
      const lines: string[] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => void lines.push(a.join(" "));
      try {
        return { code: await migrateCommand(["check", "--api", `127.0.0.1:${port}`]), lines };
      } finally {
        console.log = log;
        await new Promise((ok) => server.close(ok));
      }
    };
    const good = await run({});
    expect(good.code).toBe(0);
    expect(good.lines.at(-1)).toMatch(/^ok: 7 LoadBalancer Services/);
    const bad = await run({ drop: ["10.100.0.7/32"] });
    expect(bad.code).toBe(1);
    expect(bad.lines[0]).toBe("MISSING shop/web: 10.100.0.7/32 should go to peer tor-r1 (10.0.1.1) (ipv4/unicast), but it is not in the routes advertised to it");
  });
});
