/** `herald plan` and `herald validate`: the fixed JSON shape, located errors, trap warnings. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";
import { formatPlan, planCommand, planNode } from "../../src/cli/plan.ts";
import { validateCommand, validateTexts } from "../../src/cli/validate.ts";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
const dirFiles = (dir: string) =>
  readdirSync(join(EXAMPLES, dir)).filter((f) => f.endsWith(".yaml")).sort().map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(EXAMPLES, dir, f), "utf8") }));

const tmp = mkdtempSync(join(tmpdir(), "herald-control-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function capture(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  try {
    const code = await run();
    return { code, out: lines.join("\n") };
  } finally {
    spy.mockRestore();
  }
}

describe("planNode()", () => {
  it("gives the fixed JSON shape for the demo: instances, peers, sorted routes, LB-IPAM, warnings, errors", () => {
    const { json } = planNode({ files: dirFiles("demo"), nodeName: "demo" });
    expect(json).toEqual({
      node: "demo",
      instances: [{
        name: "demo",
        localASN: 65001,
        routerID: "192.0.2.1",
        localPort: null,
        peers: [{
          name: "collector",
          peerAddress: "127.0.0.1",
          peerASN: 65000,
          holdTimeSeconds: 9,
          keepAliveTimeSeconds: 3,
          gracefulRestart: { enabled: true, restartTimeSeconds: 30 },
          ebgpMultihop: 1,
          families: ["ipv4/unicast", "ipv6/unicast"],
          routes: [
            { family: "ipv4/unicast", prefix: "10.244.0.0/24", communities: ["65001:100"], largeCommunities: [], localPreference: null },
            { family: "ipv4/unicast", prefix: "198.51.100.1/32", communities: ["65001:200"], largeCommunities: ["65001:1:1"], localPreference: null },
            { family: "ipv4/unicast", prefix: "198.51.100.10/32", communities: ["65001:200"], largeCommunities: ["65001:1:1"], localPreference: null },
          ],
        }],
      }],
      services: [
        { namespace: "default", name: "web", ips: ["198.51.100.1"], condition: { status: "True", reason: "satisfied" } },
        { namespace: "default", name: "api", ips: ["198.51.100.10"], condition: { status: "True", reason: "satisfied" } },
        { namespace: "default", name: "internal", ips: ["198.51.100.11"], condition: { status: "True", reason: "satisfied" } },
      ],
      pools: [{ name: "demo-pool", total: 16, available: 11, used: 5, conflict: false }],
      warnings: [],
      errors: [],
    });
  });

  it("sorts routes by family then address, communities numerically, and sends LOCAL_PREF only on iBGP", () => {
    const { json } = planNode({ files: dirFiles("datacenter"), nodeName: "worker-1" });
    const peers = json.instances[0].peers;
    const rr = peers.find((p) => p.name === "route-reflector")!;
    expect(rr.routes.map((r) => [r.prefix, r.localPreference])).toEqual([
      ["10.96.40.7/32", 200],
      ["10.244.1.0/24", 100],
      ["203.0.113.1/32", 100],
      ["203.0.113.2/32", 100],
    ]);
    const tor = peers.find((p) => p.name === "tor-r1-a")!;
    expect(tor.routes.map((r) => `${r.family} ${r.prefix}`)).toEqual([
      "ipv4/unicast 10.244.1.0/24",
      "ipv4/unicast 203.0.113.1/32",
      "ipv4/unicast 203.0.113.2/32",
      "ipv6/unicast 2001:db8:100::1/128",
      "ipv6/unicast fd00:10:244:1::/64",
    ]);
    expect(tor.routes.every((r) => r.localPreference === null)).toBe(true);
  });

  it("uses the --ip-families option for LB-IPAM, else the node's address families", () => {
    const dual = planNode({ files: dirFiles("datacenter"), nodeName: "worker-1" });
    expect(dual.state.ipFamilies).toEqual({ ipv4: true, ipv6: true, source: "node-addresses" });
    expect(dual.json.services.find((s) => s.name === "storefront")!.ips).toEqual(["203.0.113.1", "2001:db8:100::1"]);
    const v4 = planNode({ files: dirFiles("datacenter"), nodeName: "worker-1", options: { ipFamilies: "ipv4" } });
    expect(v4.state.ipFamilies.source).toBe("option");
    expect(v4.json.services.find((s) => s.name === "storefront")!.ips).toEqual(["203.0.113.1"]);
  });

  it("prints compact tables for people", () => {
    const text = formatPlan(planNode({ files: dirFiles("demo"), nodeName: "demo" }));
    expect(text).toContain("Instance demo: AS 65001, router ID 192.0.2.1");
    expect(text).toMatch(/collector\s+127\.0\.0\.1:1790\s+65000\s+9\/3\s+30s\s+off\s+demo-collector\s+ipv4\/unicast ipv6\/unicast/);
    expect(text).toMatch(/198\.51\.100\.10\/32\s+65001:200\s+65001:1:1\s+-/);
    expect(text).toMatch(/demo-pool\s+16\s+5\s+11\s+no/);
  });
});

describe("herald plan and herald validate commands", () => {
  it("plan -o json prints the shape and exits 0; errors make it exit 1", async () => {
    const { code, out } = await capture(() => planCommand(["--config-dir", join(EXAMPLES, "demo"), "--node-name", "demo", "-o", "json"]));
    expect(code).toBe(0);
    expect(Object.keys(JSON.parse(out))).toEqual(["node", "instances", "services", "pools", "warnings", "errors"]);
    const dir = join(tmp, "broken");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "a.yaml"), "apiVersion: cilium.io/v2\nkind: CiliumBGPPeerConfig\nmetadata: {name: x}\nspec: {ebgpMultihop: 0}\n");
    const bad = await capture(() => planCommand(["--config-dir", dir, "--node-name", "n", "-o", "json"]));
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out).errors[0]).toContain("spec.ebgpMultihop must be an integer from 1 to 255");
  });

  it("validate exits 0 on the examples and 1 with located errors", async () => {
    for (const d of ["demo", "datacenter", "legacy-v1"]) {
      const { code, out } = await capture(() => validateCommand([join(EXAMPLES, d)]));
      expect(code, out).toBe(0);
      expect(out).toMatch(/^0 errors, 0 warnings in \d+ files? /m);
    }
    const file = join(tmp, "bad.yaml");
    writeFileSync(file, "apiVersion: cilium.io/v2\nkind: CiliumBGPPeerConfig\nmetadata:\n  name: rack1\nspec:\n  families:\n    - afi: ip4\n      safi: unicast\n");
    const { code, out } = await capture(() => validateCommand([file, "-o", "json"]));
    expect(code).toBe(1);
    expect(JSON.parse(out).errors).toEqual([{
      file,
      line: 7,
      kind: "CiliumBGPPeerConfig",
      name: "rack1",
      field: "spec.families[0].afi",
      message: `Cannot load CiliumBGPPeerConfig "rack1" (${file}:7): spec.families[0].afi must be one of "ipv4", "ipv6", "l2vpn", "ls", "opaque": current value is "ip4"`,
    }]);
  });
});

describe("bad input", () => {
  const good = `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: good}
spec:
  bgpInstances:
    - name: main
      localASN: 65001
      peers: [{name: tor, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tor}}]
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: tor}
spec:
  families: [{afi: ipv4, safi: unicast, advertisements: {matchLabels: {a: b}}}]
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: pods, labels: {a: b}}
spec:
  advertisements: [{advertisementType: PodCIDR}]
---
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDRs: [10.244.1.0/24]}
status: {addresses: [{type: InternalIP, address: 192.0.2.10}]}
`;
  it.each([
    ["CiliumBGPClusterConfig", "metadata: {name: bad}\nspec:\n  bgpInstances: [{name: x, localASN: -1}]", "spec.bgpInstances[0].localASN must be an integer from 1 to 4294967295"],
    ["CiliumBGPPeerConfig", "metadata: {name: bad}\nspec:\n  timers: {holdTimeSeconds: 10}", "keepAliveTimeSeconds can not be larger than holdTimeSeconds"],
    ["CiliumBGPAdvertisement", "metadata: {name: bad}\nspec:\n  advertisements: [{advertisementType: Pods}]", `advertisementType must be one of "PodCIDR", "CiliumPodIPPool", "Service", "Interface"`],
    ["CiliumBGPNodeConfigOverride", "metadata: {name: bad}\nspec:\n  bgpInstances: [{name: x, routerID: 10.0.0.1/32}]", "spec.bgpInstances[0].routerID must be an IPv4 address"],
    ["CiliumBGPNodeConfig", "metadata: {name: bad}\nspec: {bgpInstances: []}", "spec.bgpInstances must have 1 to 16 instances"],
    ["CiliumLoadBalancerIPPool", "metadata: {name: bad}\nspec:\n  blocks: [{cidr: 10.0.0.0/33}]", "blocks[0].cidr"],
    ["CiliumNode", "metadata: {name: bad}\nspec:\n  ipam: {podCIDRs: [nope]}", "spec.ipam.podCIDRs[0] must be a CIDR"],
    ["Service", "metadata: {name: bad}\nspec: {type: Balancer}", `spec.type must be one of "ClusterIP", "NodePort", "LoadBalancer", "ExternalName"`],
    ["CiliumBGPPeeringPolicy", "metadata: {name: bad}\nspec:\n  virtualRouters: [{localASN: 1, neighbors: [{peerAddress: 10.0.0.1, peerASN: 2}]}]", "spec.virtualRouters[0].neighbors[0].peerAddress must be a CIDR"],
    ["CiliumPodIPPool", "metadata: {name: bad}\nspec:\n  ipv4: {cidrs: [10.0.0.0/16], maskSize: 0}", "spec.ipv4.maskSize must be an integer from 1 to 32"],
    ["CiliumL2AnnouncementPolicy", "metadata: {name: bad}\nspec: {loadBalancerIPs: \"yes\"}", "spec.loadBalancerIPs must be true or false"],
    ["EndpointSlice", "metadata: {name: bad}\naddressType: IPv5", `addressType must be one of "IPv4", "IPv6", "FQDN"`],
    ["Node", "metadata: {name: bad}\nstatus: {addresses: [{type: Internal, address: 10.0.0.1}]}", "status.addresses[0].type must be one of"],
    ["Secret", "metadata: {name: bad}\ndata: [password]", "data must be a mapping"],
  ])("an invalid %s gives a located error and the rest still works", (kind, body, want) => {
    const apiVersion = ({
      Service: "v1",
      Node: "v1",
      Secret: "v1",
      EndpointSlice: "discovery.k8s.io/v1",
      CiliumBGPPeeringPolicy: "cilium.io/v2alpha1",
      CiliumPodIPPool: "cilium.io/v2alpha1",
      CiliumL2AnnouncementPolicy: "cilium.io/v2alpha1",
    } as Record<string, string>)[kind] ?? "cilium.io/v2";
    const text = `${good}---\napiVersion: ${apiVersion}\nkind: ${kind}\n${body}\n`;
    const report = validateTexts([{ file: "all.yaml", text }]);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0].message).toMatch(new RegExp(`^Cannot load ${kind} "bad" \\(all\\.yaml:\\d+\\): `));
    expect(report.errors[0].message).toContain(want);
    const plan = planNode({ files: [{ file: "all.yaml", text }], nodeName: "n1" }).json;
    expect(plan.instances[0].peers[0].routes.map((r) => r.prefix)).toEqual(["10.244.1.0/24"]);
  });
});

describe("validate warnings for silent traps", () => {
  const warnings = (text: string) => validateTexts([{ file: "t.yaml", text }]).warnings.map((w) => w.message);
  const has = (list: string[], fragment: string) => expect(list.some((w) => w.includes(fragment)), `${fragment}\n${list.join("\n")}`).toBe(true);

  it("flags families without selectors, selectors matching nothing, Service adverts without selector, missing PeerConfigs", () => {
    const w = warnings(`apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: main
      localASN: 65001
      peers:
        - {name: tor, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tor}}
        - {name: rr, peerAddress: 10.0.0.9, peerASN: 65001, peerConfigRef: {name: nope}}
        - {name: bare, peerAddress: 10.0.0.5, peerASN: 65100}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: tor}
spec:
  families:
    - {afi: ipv4, safi: unicast}
    - {afi: ipv6, safi: unicast, advertisements: {matchLabels: {x: nothing}}}
    - {afi: ipv4, safi: multicast, advertisements: {}}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: empty}
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: svc, labels: {a: b}}
spec:
  advertisements:
    - advertisementType: Service
      service: {addresses: [LoadBalancerIP], aggregationLengthIPv4: 24}
      attributes: {localPreference: 200}
`);
    has(w, `spec.families[0]: ipv4/unicast has no advertisements selector: nothing is advertised for it (E2)`);
    has(w, `spec.families[1].advertisements: selector {"matchLabels":{"x":"nothing"}} matches no CiliumBGPAdvertisement labels`);
    has(w, "ipv4/multicast is negotiated but carries no routes");
    has(w, `CiliumBGPPeerConfig "empty" (t.yaml:22): spec: lists no families`);
    has(w, "Service advertisement without a selector selects no Service");
    has(w, "aggregation announces a whole prefix: addresses in it that no Service owns still attract traffic");
    has(w, `CiliumBGPPeerConfig "nope" does not exist: peer rr is not configured until it does`);
    has(w, "peer bare has no peerConfigRef: default settings and nothing is advertised to it (D5, E2)");
    has(w, `labels {"a":"b"} are matched by no CiliumBGPPeerConfig family: this advertisement is not used`);
  });

  it("flags LOCAL_PREF towards eBGP peers, two cluster configs on one node, v1 traps", () => {
    const w = warnings(`apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: a}
spec:
  bgpInstances: [{name: main, localASN: 65001, peers: [{name: tor, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tor}}]}]
---
apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: b}
spec:
  bgpInstances: [{name: main, localASN: 65001}]
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: tor}
spec:
  families: [{afi: ipv4, safi: unicast, advertisements: {}}]
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: pods}
spec:
  advertisements: [{advertisementType: PodCIDR, attributes: {localPreference: 150}}]
---
apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: p1}
spec:
  virtualRouters:
    - localASN: 65001
      neighbors:
        - peerAddress: 10.0.0.1/32
          peerASN: 65100
          pathAttributes: [{selectorType: PodCIDR}]
---
apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: p2}
spec:
  virtualRouters: [{localASN: 65001, exportPodCIDR: true, neighbors: [{peerAddress: 10.0.0.1/32, peerASN: 65100, holdTimeSeconds: 9}]}]
`);
    has(w, "LOCAL_PREF is only sent to iBGP peers; it has no effect towards eBGP peer(s) tor (E8)");
    has(w, `"a", "b" select the same node (identical nodeSelector): only the oldest (then smallest name) applies there`);
    has(w, "pathAttributes is not a CiliumBGPPeeringPolicy field");
    has(w, `"p2" has the same nodeSelector: on a node selected by more than one policy, every session is torn down (G1)`);
    has(w, "a CiliumBGPClusterConfig has the same nodeSelector: v1 wins on those nodes");
    has(w, "spec.virtualRouters[0]: exports nothing: no exportPodCIDR, podIPPoolSelector or serviceSelector (G4)");
    const errors = validateTexts([{ file: "t.yaml", text: `apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: p2}
spec:
  virtualRouters: [{localASN: 65001, exportPodCIDR: true, neighbors: [{peerAddress: 10.0.0.1/32, peerASN: 65100, holdTimeSeconds: 9}]}]
` }]).errors.map((e) => e.message);
    expect(errors[0]).toContain("keepAliveTimeSeconds (30) can not be larger than holdTimeSeconds (9): the agent rejects the whole policy (G3)");
  });
});
