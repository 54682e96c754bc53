/**
 * herald agent end to end, with BIRD 2 as the upstream router: manifests on
 * disk → LB-IPAM → control → BGP → BIRD's table, and back out through the
 * API and CLI. herald runs as a child process in the root namespace; BIRD
 * runs in a namespace joined by two veth links: eBGP over one (herald AS
 * 65001), iBGP over the other (a second herald instance in AS 65000).
 *
 * The steps build on each other (one agent, one BIRD), in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { AgentStatus, BgpPeer, ServicesResponse } from "../../src/api/schemas.ts";
import { type BirdDaemon, type Link, ROOT, type Route, run, scriptArgv, useHarness, waitFor } from "../interop/harness/mod.ts";
import { type AgentDirs, type AgentProcess, agentDirs, startAgent, writeManifest } from "./_agent.ts";

const h = useHarness("eab");

interface Knobs {
  community: string;
  poolCidr: string;
  exposeInternal: boolean;
}

function manifests(l1: Link, k: Knobs): Record<string, string> {
  return {
    "00-node.yaml": `
apiVersion: v1
kind: Node
metadata:
  name: e2e
  labels: { bgp: "on" }
spec:
  podCIDRs: ["10.244.7.0/24"]
status:
  addresses: [{ type: InternalIP, address: ${l1.a.ipv4} }]
`,
    "10-bgp.yaml": `
apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: { name: e2e }
spec:
  nodeSelector: { matchLabels: { bgp: "on" } }
  bgpInstances:
    - name: ebgp
      localASN: 65001
      peers:
        - name: bird-e
          peerAddress: ${l1.b.ipv4}
          peerASN: 65000
          peerConfigRef: { name: fast }
    - name: ibgp
      localASN: 65000
      peers:
        - name: bird-i
          peerAddress: __IBGP__
          peerASN: 65000
          peerConfigRef: { name: fast }
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: { name: fast }
spec:
  timers: { holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 1 }
  gracefulRestart: { enabled: true, restartTimeSeconds: 120 }
  families:
    - afi: ipv4
      safi: unicast
      advertisements: { matchLabels: { advertise: e2e } }
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata:
  name: e2e
  labels: { advertise: e2e }
spec:
  advertisements:
    - advertisementType: PodCIDR
      attributes:
        communities: { standard: ["65001:100"] }
    - advertisementType: Service
      service: { addresses: [LoadBalancerIP] }
      selector: { matchLabels: { expose: "yes" } }
      attributes:
        communities:
          standard: ["${k.community}"]
          large: ["65001:7:8"]
        localPreference: 150
`,
    "20-pool.yaml": `
apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: { name: pool }
spec:
  allowFirstLastIPs: "No"
  blocks: [{ cidr: "${k.poolCidr}" }]
`,
    "30-services.yaml": ["web", "api", "internal"].map((name) => `
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: prod
  labels: { expose: "${name !== "internal" || k.exposeInternal ? "yes" : "no"}" }
spec:
  type: LoadBalancer
  ports: [{ port: 80, protocol: TCP }]
`).join("---"),
  };
}

let l1: Link;
let l2: Link;
let bird: BirdDaemon;
let dirs: AgentDirs;
let agent: AgentProcess;
let knobs: Knobs = { community: "65001:200", poolCidr: "198.51.100.0/28", exposeInternal: false };

function writeAll(k: Knobs): void {
  knobs = k;
  for (const [name, text] of Object.entries(manifests(l1, k))) writeManifest(dirs.configDir, name, text.replace("__IBGP__", l2.b.ipv4));
}

const byPrefix = (rs: Route[]) => [...rs].sort((a, b) => a.prefix.localeCompare(b.prefix));
const ebgpRoutes = () => bird.routes({ peer: l1.a.ipv4 }).then(byPrefix);
const ibgpRoutes = () => bird.routes({ peer: l2.a.ipv4 }).then(byPrefix);
const services = async () => ServicesResponse.parse(await agent.get("/v1/services")).services;
const ipOf = async (name: string) => (await services()).find((s) => s.name === name)!.ips[0];
const peersOf = async (a: AgentProcess) => z.array(BgpPeer).parse(await a.get("/v1/peers"));

async function birdHas(prefixes: string[], what: string): Promise<Route[]> {
  const want = [...prefixes].sort().join(" ");
  return await waitFor(ebgpRoutes, (rs) => rs.map((r) => r.prefix).sort().join(" ") === want, { what: `BIRD to hold ${what}: ${want}`, timeoutMs: 15_000, intervalMs: 50 });
}

beforeAll(async () => {
  const ns = await h.namespace();
  l1 = await h.link(ROOT, ns);
  l2 = await h.link(ROOT, ns);
  bird = await h.bird({
    netns: ns,
    routerId: l1.b.ipv4,
    asn: 65000,
    neighbors: [
      { address: l1.a.ipv4, asn: 65001, passive: true, holdTime: 9, families: ["ipv4-unicast"], gracefulRestart: { restartTime: 120 } },
      { address: l2.a.ipv4, asn: 65000, passive: true, holdTime: 9, families: ["ipv4-unicast"], gracefulRestart: { restartTime: 120 } },
    ],
  });
  dirs = agentDirs(h);
  writeAll(knobs);
  agent = await startAgent(h, dirs, { nodeName: "e2e" });
  await agent.ready();
}, 60_000);

afterAll(async () => {
  await agent?.proc.stop();
});

describe.sequential("herald agent with BIRD as the upstream router", () => {
  it("announces the PodCIDR and the LoadBalancer IPs of exposed Services with their attributes (E4, E6, E8, E13)", async () => {
    await bird.waitForPeer(l1.a.ipv4, "established", 20_000);
    await bird.waitForPeer(l2.a.ipv4, "established", 20_000);
    const web = await ipOf("web");
    const api = await ipOf("api");
    const internal = await ipOf("internal");
    expect([web, api, internal].every((ip) => ip.startsWith("198.51.100."))).toBe(true);
    expect(new Set([web, api, internal]).size).toBe(3);
    expect([web, api, internal]).not.toContain("198.51.100.0"); // allowFirstLastIPs: No (I4)
    const routes = await birdHas(["10.244.7.0/24", `${web}/32`, `${api}/32`], "the PodCIDR and two Service IPs over eBGP");
    expect(routes.find((r) => r.prefix === "10.244.7.0/24")).toMatchObject({ asPath: [65001], origin: "igp", nextHop: l1.a.ipv4, communities: ["65001:100"], largeCommunities: [] });
    for (const ip of [web, api]) {
      const r = routes.find((x) => x.prefix === `${ip}/32`)!;
      expect(r).toMatchObject({ asPath: [65001], origin: "igp", nextHop: l1.a.ipv4, communities: ["65001:200"], largeCommunities: ["65001:7:8"] });
      expect(r.localPref).toBeUndefined(); // LOCAL_PREF never on eBGP (E8)
    }
    // iBGP: the same routes carry LOCAL_PREF (150 from the advertisement, the default 100 without one).
    const ib = await waitFor(ibgpRoutes, (rs) => rs.length === 3, { what: "BIRD to hold three iBGP routes", timeoutMs: 15_000, intervalMs: 50 });
    expect(ib.find((r) => r.prefix === `${web}/32`)).toMatchObject({ asPath: [], localPref: 150, communities: ["65001:200"] });
    expect(ib.find((r) => r.prefix === "10.244.7.0/24")).toMatchObject({ asPath: [], localPref: 100 });
  });

  it("follows a Service label change, an advertisement attribute change and a pool change without resetting the session (E7, E20, I15)", async () => {
    const before = (await peersOf(agent)).find((p) => p.name === "bird-e")!;
    const internal = await ipOf("internal");
    writeAll({ ...knobs, exposeInternal: true });
    const web = await ipOf("web");
    const api = await ipOf("api");
    await birdHas(["10.244.7.0/24", `${web}/32`, `${api}/32`, `${internal}/32`], "the newly exposed Service");

    writeAll({ ...knobs, community: "65001:300" });
    const changed = await waitFor(ebgpRoutes, (rs) => rs.filter((r) => r.communities.includes("65001:300")).length === 3, {
      what: "BIRD to see the new community on the three Service routes",
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    expect(changed.find((r) => r.prefix === "10.244.7.0/24")!.communities).toEqual(["65001:100"]);

    writeAll({ ...knobs, poolCidr: "203.0.113.0/28" });
    const moved = await waitFor(services, (ss) => ss.every((s) => s.ips[0]?.startsWith("203.0.113.")), { what: "LB-IPAM to move the Services to the new pool", timeoutMs: 15_000 });
    await birdHas(["10.244.7.0/24", ...moved.map((s) => `${s.ips[0]}/32`)], "the Service routes from the new pool");

    const after = (await peersOf(agent)).find((p) => p.name === "bird-e")!;
    expect(after["session-state"]).toBe("established");
    expect(after["uptime-nanoseconds"]!).toBeGreaterThan(before["uptime-nanoseconds"]!); // never reset
  });

  it("reports an invalid manifest with its location and keeps sessions and routes as they were", async () => {
    const routes = (await ebgpRoutes()).map((r) => r.prefix);
    writeManifest(dirs.configDir, "40-broken.yaml", `
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: { name: fast }
spec:
  timers:
    holdTimeSeconds: lots
`);
    const status = await waitFor(async () => AgentStatus.parse(await agent.get("/v1/status")), (s) => s.manifests.some((m) => m.level === "error"), {
      what: "the agent to report the broken manifest",
      timeoutMs: 10_000,
    });
    const issue = status.manifests.find((m) => m.level === "error")!;
    expect(issue).toMatchObject({ file: "40-broken.yaml", kind: "CiliumBGPPeerConfig", key: "fast" });
    expect(issue.message).toContain("40-broken.yaml:7");
    expect(issue.message).toContain("spec.timers.holdTimeSeconds");
    await new Promise((r) => setTimeout(r, 500));
    expect((await ebgpRoutes()).map((r) => r.prefix)).toEqual(routes);
    expect((await peersOf(agent)).every((p) => p["session-state"] === "established")).toBe(true);
    const logged = agent.proc.output(200_000).split("\n").filter((l) => l.includes("Ignoring invalid manifest document"));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("file=40-broken.yaml");

    // Fixed: the problem leaves the status.
    writeManifest(dirs.configDir, "40-broken.yaml", "# nothing here\n");
    await waitFor(async () => AgentStatus.parse(await agent.get("/v1/status")), (s) => s.manifests.length === 0, { what: "the problem to clear", timeoutMs: 10_000 });
  });

  it("the CLI shows the sessions and advertised routes as cilium's tables", async () => {
    const [cmd, ...args] = scriptArgv("mod.ts", ["bgp", "peers", "--api", agent.api]);
    const peers = await run(cmd, args);
    const lines = peers.stdout.split("\n");
    expect(lines[0]).toMatch(/^Node {3}Local AS {3}Peer AS {3}Peer Address {3,}Session State {3}Uptime {3}Family {9}Received {3}Advertised$/);
    expect(lines[1]).toMatch(new RegExp(`^e2e {4}65000 {6}65000 {5}${l2.b.ipv4.replaceAll(".", "\\.")} +established +\\d+s +ipv4/unicast +0 +4 +$`));
    const [cmd2, ...args2] = scriptArgv("mod.ts", ["bgp", "routes", "advertised", "ipv4", "unicast", "peer", l1.b.ipv4, "--api", agent.api]);
    const routes = await run(cmd2, args2);
    expect(routes.stdout.split("\n")[0]).toMatch(/^Node {3}VRouter {3}Peer {3,}Prefix {3,}NextHop {3,}Age {3}Attrs$/);
    expect(routes.stdout).toContain(`[{Origin: i} {AsPath: 65001} {Nexthop: ${l1.a.ipv4}} {Communities: 65001:100}]`);
  });

  it("keeps every route at BIRD across a SIGKILL and restart (graceful restart, C7, RFC 4724), then re-establishes with the R bit", async () => {
    const before = (await ebgpRoutes()).map((r) => r.prefix);
    const ibBefore = (await ibgpRoutes()).length;
    expect(before.length).toBe(4);
    // Watch BIRD's table continuously while herald dies and comes back.
    let watching = true;
    const seen: number[] = [];
    const watcher = (async () => {
      while (watching) {
        const [e, i] = await Promise.all([ebgpRoutes(), ibgpRoutes()]);
        seen.push(Math.min(e.length === before.length ? 1 : 0, i.length === ibBefore ? 1 : 0));
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    agent.proc.signal("SIGKILL");
    await agent.proc.exited;
    await bird.waitForPeer(l1.a.ipv4, (p) => p.state !== "established", 10_000);
    await new Promise((r) => setTimeout(r, 500));
    agent = await startAgent(h, dirs, { nodeName: "e2e", apiPort: Number(agent.api.split(":")[1]) });
    await agent.ready();
    const up = await bird.waitForPeer(l1.a.ipv4, "established", 20_000);
    expect(up.capabilities?.gracefulRestart).toMatchObject({ restarting: true, preserved: ["ipv4-unicast"] });
    await bird.waitForPeer(l2.a.ipv4, "established", 20_000);
    await new Promise((r) => setTimeout(r, 1500)); // past End-of-RIB: stale routes not re-sent would be gone now
    watching = false;
    await watcher;
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.every((ok) => ok === 1)).toBe(true);
    expect((await ebgpRoutes()).map((r) => r.prefix)).toEqual(before);
    const status = AgentStatus.parse(await agent.get("/v1/status"));
    expect(status.restarted).toBe(true);
  });

  it("withdraws with a Cease when the configuration is removed", async () => {
    writeManifest(dirs.configDir, "10-bgp.yaml", "# BGP switched off\n");
    await waitFor(ebgpRoutes, (rs) => rs.length === 0, { what: "BIRD to drop herald's routes", timeoutMs: 15_000, intervalMs: 50 });
    const p = await bird.waitForPeer(l1.a.ipv4, (s) => s.state !== "established", 10_000);
    expect(p.lastError ?? "").toMatch(/Administrative shutdown|Peer de-configured|Cease/i);
  });
});
