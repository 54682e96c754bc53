import { describe, expect, it } from "vitest";
import { desiredState } from "../../src/control/desired.ts";
import { classifyChanges, diffRoutes, type RouteChange } from "../../src/control/diff.ts";
import { ControlEngine, type ResourceChange } from "../../src/control/engine.ts";
import type { Resource } from "../../src/control/schemas/mod.ts";
import type { ControlInput } from "../../src/control/types.ts";
import { canonical, host, node, slice, svc, yaml } from "./_helpers.ts";

const CONFIG = `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: main
      localASN: 65001
      peers:
        - {name: tor-1, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tor}}
        - {name: tor-2, peerAddress: 10.0.0.2, peerASN: 65100, peerConfigRef: {name: tor}}
        - {name: rr, peerAddress: 10.0.0.9, peerASN: 65001, peerConfigRef: {name: rr}}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: tor}
spec:
  families:
    - {afi: ipv4, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}
    - {afi: ipv6, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: rr}
spec:
  timers: {holdTimeSeconds: 90, keepAliveTimeSeconds: 30}
  families:
    - {afi: ipv4, safi: unicast, advertisements: {matchLabels: {advertise: internal}}}
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: lb, labels: {advertise: bgp}}
spec:
  advertisements:
    - advertisementType: Service
      service: {addresses: [LoadBalancerIP]}
      selector: {matchLabels: {expose: "yes"}}
      attributes: {communities: {standard: ["65001:100"]}}
    - advertisementType: Service
      service: {addresses: [LoadBalancerIP], aggregationLengthIPv4: 24}
      selector: {matchLabels: {aggregate: "yes"}}
    - advertisementType: PodCIDR
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: internal, labels: {advertise: internal}}
spec:
  advertisements:
    - advertisementType: Service
      service: {addresses: [ClusterIP, LoadBalancerIP]}
      selector: {matchExpressions: [{key: tier, operator: In, values: [gold, silver]}]}
      attributes: {localPreference: 300}
`;

function baseInput(): ControlInput {
  const resources = yaml(CONFIG).resources;
  resources.nodes.push(node("n1", {}, { ipv4: "192.0.2.10", podCIDRs: ["10.244.1.0/24"] }));
  return { resources, node: { name: "n1" } };
}

const upsert = (resource: Resource): ResourceChange => ({ type: "upsert", resource });
const del = (kind: Resource["kind"], key: string): ResourceChange => {
  const [a, b] = key.split("/");
  return b === undefined ? { type: "delete", kind, name: a } : { type: "delete", kind, namespace: a, name: b };
};
const key = (c: RouteChange) => `${c.instance}|${c.peer}|${c.family}|${c.prefix}|${c.action}|${c.route?.communities.join(",") ?? ""}`;

/** Applies changes to the engine and checks it against a from-scratch computation. */
function step(engine: ControlEngine, changes: ResourceChange[]) {
  const before = desiredState(engine.input());
  const delta = engine.apply(changes);
  const after = desiredState(engine.input());
  expect(canonical(engine.state())).toBe(canonical(after));
  expect(delta.routes.map(key).sort()).toEqual(diffRoutes(before, after).map(key).sort());
  return delta;
}

describe("ControlEngine", () => {
  it("gives the same state as desiredState() after every step, and the right delta (E20)", () => {
    const engine = new ControlEngine(baseInput());
    expect(canonical(engine.state())).toBe(canonical(desiredState(baseInput())));
    const web = svc("prod/web", { labels: { expose: "yes" }, lb: ["198.51.100.1"], clusterIPs: ["10.96.0.1"] });

    let d = step(engine, [upsert(web)]);
    expect(d.rebuilt).toBe(false);
    expect(d.routes.map((c) => `${c.peer} ${c.action} ${c.prefix}`).sort()).toEqual(["tor-1 advertise 198.51.100.1/32", "tor-2 advertise 198.51.100.1/32"]);

    d = step(engine, [upsert({ ...web, metadata: { ...web.metadata, labels: { expose: "yes", tier: "gold" } } })]);
    expect(d.routes.map((c) => `${c.peer} ${c.action} ${c.prefix}`).sort()).toEqual(["rr advertise 10.96.0.1/32", "rr advertise 198.51.100.1/32"]);

    d = step(engine, [upsert({ ...web, metadata: { ...web.metadata, labels: {} } })]);
    expect(d.routes.every((c) => c.action === "withdraw")).toBe(true);
    expect(d.routes).toHaveLength(4);

    // eTP Local: nothing until a ready local endpoint appears (E15).
    const local = svc("prod/local", { labels: { expose: "yes" }, eTP: "Local", lb: ["198.51.100.2"] });
    d = step(engine, [upsert(local)]);
    expect(d.routes).toEqual([]);
    d = step(engine, [upsert(slice("prod/local", [{ node: "n1" }]))]);
    expect(d.routes.map((c) => c.action)).toEqual(["advertise", "advertise"]);
    d = step(engine, [upsert(slice("prod/local", [{ node: "n1", ready: false }]))]);
    expect(d.routes.map((c) => c.action)).toEqual(["withdraw", "withdraw"]);
    d = step(engine, [upsert(slice("prod/local", [{ node: "n1" }])), del("EndpointSlice", "prod/local-abc")]);
    expect(d.routes).toEqual([]);

    // Aggregates stay while a contributor remains (E18).
    const a = svc("prod/a", { labels: { aggregate: "yes" }, lb: ["198.51.100.10"] });
    const b = svc("prod/b", { labels: { aggregate: "yes" }, lb: ["198.51.100.20"] });
    d = step(engine, [upsert(a), upsert(b)]);
    expect(d.routes.map((c) => `${c.action} ${c.prefix}`)).toEqual(["advertise 198.51.100.0/24", "advertise 198.51.100.0/24"]);
    d = step(engine, [del("Service", "prod/a")]);
    expect(d.routes).toEqual([]);
    d = step(engine, [del("Service", "prod/b")]);
    expect(d.routes.map((c) => c.action)).toEqual(["withdraw", "withdraw"]);

    // A non-Service change rebuilds and diffs: attributes → updates (E7).
    const advert = engine.input().resources.advertisements.find((x) => x.metadata.name === "lb")!;
    const changed = structuredClone(advert);
    changed.spec.advertisements[2].attributes = { communities: { standard: ["65001:999"] } };
    d = step(engine, [upsert(changed)]);
    expect(d.rebuilt).toBe(true);
    expect(d.routes.map((c) => `${c.peer} ${c.action} ${c.prefix} ${c.route?.communities}`).sort()).toEqual([
      `tor-1 update 10.244.1.0/24 ${65001 * 65536 + 999}`,
      `tor-2 update 10.244.1.0/24 ${65001 * 65536 + 999}`,
    ]);

    // Invalid addresses come and go with their Service's issues.
    d = step(engine, [upsert(svc("prod/bad", { labels: { expose: "yes" }, lb: ["nope"] }))]);
    expect(engine.state().issues.some((i) => i.message.includes(`"nope"`))).toBe(true);
    step(engine, [del("Service", "prod/bad")]);
    expect(engine.state().issues.some((i) => i.message.includes(`"nope"`))).toBe(false);
  });

  it("agrees with desiredState() over a long random sequence of Service and EndpointSlice changes", () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    const engine = new ControlEngine(baseInput());
    let total = 0;
    const labelSets: Record<string, string>[] = [{}, { expose: "yes" }, { aggregate: "yes" }, { tier: "gold" }, { expose: "yes", tier: "silver" }];
    for (let i = 0; i < 150; i++) {
      const n = rand(12);
      const k = `ns${n % 3}/s${n}`;
      const kind = rand(4);
      const changes: ResourceChange[] = [];
      if (kind === 0) changes.push(del("Service", k));
      else if (kind === 1) changes.push(upsert(slice(k, [{ node: rand(2) ? "n1" : "n2", ready: rand(3) > 0 }])));
      else {
        changes.push(upsert(svc(k, {
          labels: labelSets[rand(labelSets.length)],
          lb: rand(4) ? [`198.51.100.${rand(40)}`] : [],
          clusterIPs: [`10.96.0.${rand(20)}`],
          eTP: rand(3) ? "Cluster" : "Local",
          iTP: rand(4) ? "Cluster" : "Local",
        })));
      }
      total += step(engine, changes).routes.length;
    }
    expect(total).toBeGreaterThan(100); // the sequence really moves routes
  });

  it("agrees with desiredState() over a random sequence of changes to every kind it reads (E20)", () => {
    // Fixed seed: Services, EndpointSlices, advertisements, peer configs, the
    // cluster config, the Node, the CiliumNode, pools, and options changing.
    let seed = 20260728;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      return (seed >>> 16) % n;
    };
    const pick = <T>(items: readonly T[]): T => items[rand(items.length)];
    const one = (text: string) => yaml(text).resources;
    const first = (text: string): Resource => {
      const r = one(text);
      return (Object.values(r) as Resource[][]).flat()[0];
    };
    const cluster = () =>
      first(`apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  ${pick(["", "nodeSelector: {matchLabels: {bgp: \"on\"}}", "nodeSelector: {}"])}
  bgpInstances:
    - name: main
      localASN: 65001
      peers:
        - {name: tor-1, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tor}}
        - {name: rr, peerAddress: 10.0.0.9, peerASN: 65001, peerConfigRef: {name: rr}}
        - {name: v6, peerAddress: "fd00::9", peerASN: 65200, peerConfigRef: {name: ${pick(["v6", "tor"])}}}
${pick(["", "        - {name: tor-2, peerAddress: 10.0.0.2, peerASN: 65100, peerConfigRef: {name: tor}}\n", "        - {name: plain, peerAddress: 10.0.0.3, peerASN: 65100}\n"])}`);
    const families = () =>
      pick([
        "  families: []",
        "  families: [{afi: ipv4, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}]",
        "  families:\n    - {afi: ipv4, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}\n    - {afi: ipv6, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}",
        "  families:\n    - {afi: ipv6, safi: unicast, advertisements: {}}\n    - {afi: ipv4, safi: unicast}",
        "  families: [{afi: ipv4, safi: unicast, advertisements: {matchExpressions: [{key: advertise, operator: In, values: [internal, bgp]}]}}]",
        "  families: [{afi: ipv6, safi: unicast, advertisements: {matchLabels: {advertise: internal}}}]",
      ]);
    const peerConfig = (name: string) => first(`apiVersion: cilium.io/v2\nkind: CiliumBGPPeerConfig\nmetadata: {name: ${name}}\nspec:\n${families()}\n`);
    const entries = [
      `    - advertisementType: Service\n      service: {addresses: [LoadBalancerIP]}\n      selector: {matchLabels: {expose: "yes"}}\n      attributes: {communities: {standard: ["65001:100"]}}`,
      `    - advertisementType: Service\n      service: {addresses: [LoadBalancerIP, ExternalIP], aggregationLengthIPv4: 24, aggregationLengthIPv6: 64}\n      selector: {matchLabels: {aggregate: "yes"}}`,
      `    - advertisementType: Service\n      service: {addresses: [ClusterIP, LoadBalancerIP]}\n      selector: {matchExpressions: [{key: tier, operator: In, values: [gold, silver]}]}\n      attributes: {localPreference: 300}`,
      `    - advertisementType: Service\n      service: {addresses: [ExternalIP, ClusterIP]}\n      selector: {matchExpressions: [{key: tier, operator: NotIn, values: [gold]}]}\n      attributes: {communities: {wellKnown: [no-export], large: ["1:2:3"]}, localPreference: 50}`,
      `    - advertisementType: PodCIDR\n      attributes: {communities: {standard: ["${rand(3)}:1"]}}`,
      `    - advertisementType: CiliumPodIPPool\n      selector: {}`,
      `    - advertisementType: Interface\n      interface: {name: ${pick(["lo", "eth0"])}}`,
    ];
    const advert = (name: string) =>
      first(`apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: ${name}, labels: {advertise: ${pick(["bgp", "internal", "other"])}}}
spec:
  advertisements:
${Array.from({ length: 1 + rand(3) }, () => pick(entries)).join("\n")}
`);
    const nodeObj = () => node("n1", rand(2) ? { bgp: "on" } : {}, { ipv4: "192.0.2.10", podCIDRs: pick([["10.244.1.0/24", "fd00:244:1::/64"], ["10.244.2.0/24"]]) });
    const ciliumNode = () =>
      first(`apiVersion: cilium.io/v2
kind: CiliumNode
metadata: {name: n1}
spec:
  ipam:
    pools:
      allocated: [{pool: blue, cidrs: [${pick(["10.10.3.0/24", "10.10.3.0/24, fd10:0:0:3::/64", "10.10.4.0/24"])}]}]
`);
    const pool = () => first(`apiVersion: cilium.io/v2alpha1\nkind: CiliumPodIPPool\nmetadata: {name: blue}\nspec:\n  ipv4: {cidrs: [10.10.0.0/16], maskSize: 24}\n  ipv6: {cidrs: ["fd10::/48"], maskSize: 64}\n`);
    const labelSets: Record<string, string>[] = [{}, { expose: "yes" }, { aggregate: "yes" }, { tier: "gold" }, { expose: "yes", tier: "silver" }, { aggregate: "yes", tier: "bronze" }];
    const service = (k: string) =>
      svc(k, {
        type: pick(["LoadBalancer", "LoadBalancer", "ClusterIP"] as const),
        labels: pick(labelSets),
        lb: rand(4) ? [`198.51.100.${rand(40)}`, ...(rand(2) ? [`2001:db8::${rand(9)}`] : [])] : [],
        clusterIPs: rand(8) ? [`10.96.0.${rand(20)}`] : ["None"],
        externalIPs: rand(3) ? [] : [`203.0.113.${rand(5)}`],
        eTP: rand(3) ? "Cluster" : "Local",
        iTP: rand(4) ? "Cluster" : "Local",
        lbClass: pick([undefined, undefined, "io.cilium/bgp-control-plane", "io.cilium/l2-announcer"]),
      });

    const input = baseInput();
    input.host = host({
      interfaces: [
        { name: "lo", adminUp: true, operState: "unknown", addresses: ["127.0.0.1/8", "192.0.2.200/32", "2001:db8:ff::1/128"] },
        { name: "eth0", adminUp: true, operState: "up", addresses: ["192.0.2.10/24"] },
      ],
    });
    const engine = new ControlEngine(input);
    let routesMoved = 0;
    let rebuilds = 0;
    for (let i = 0; i < 400; i++) {
      const changes: ResourceChange[] = [];
      for (let c = 1 + rand(2); c > 0; c--) {
        const n = rand(12);
        const k = `ns${n % 3}/s${n}`;
        switch (rand(20)) {
          case 0: changes.push(upsert(cluster())); break;
          case 1: changes.push(upsert(peerConfig(pick(["tor", "rr", "v6"])))); break;
          case 2: changes.push(del("CiliumBGPPeerConfig", pick(["tor", "rr", "v6"]))); break;
          case 3: changes.push(upsert(advert(pick(["a1", "a2", "a3"])))); break;
          case 4: changes.push(del("CiliumBGPAdvertisement", pick(["a1", "a2", "a3", "lb"]))); break;
          case 5: changes.push(upsert(nodeObj())); break;
          case 6: changes.push(rand(3) ? upsert(ciliumNode()) : del("CiliumNode", "n1")); break;
          case 7: changes.push(rand(3) ? upsert(pool()) : del("CiliumPodIPPool", "blue")); break;
          case 8: case 9: changes.push(del("Service", k)); break;
          case 10: case 11: case 12:
            // Slices move between Services (label), nodes and readiness.
            changes.push(upsert(slice(k, [{ node: pick(["n1", "n2"]), ready: rand(3) > 0, terminating: rand(5) === 0 }], `slice-${rand(4)}`)));
            break;
          case 13: changes.push(del("EndpointSlice", `ns${n % 3}/slice-${rand(4)}`)); break;
          default: changes.push(upsert(service(k)));
        }
      }
      const before = desiredState(engine.input());
      let delta;
      if (rand(25) === 0) {
        delta = engine.setOptions({ noServiceEndpointsRoutable: rand(2) === 0, legacyOriginAttribute: rand(2) === 0 });
      } else {
        delta = engine.apply(changes);
      }
      const after = desiredState(engine.input());
      expect(canonical(engine.state())).toBe(canonical(after));
      expect(delta.routes.map(key).sort()).toEqual(diffRoutes(before, after).map(key).sort());
      routesMoved += delta.routes.length;
      if (delta.rebuilt) rebuilds++;
    }
    // The sequence really exercises both paths.
    expect(routesMoved).toBeGreaterThan(200);
    expect(rebuilds).toBeGreaterThan(50);
    expect(400 - rebuilds).toBeGreaterThan(50);
  });

  it("handles host-fact and option changes by rebuilding", () => {
    const engine = new ControlEngine(baseInput());
    const before = engine.state();
    const d = engine.setOptions({ ipamMode: "multi-pool" });
    expect(d.rebuilt).toBe(true);
    expect(d.routes.map((c) => `${c.peer} ${c.action} ${c.prefix}`).sort()).toEqual(["tor-1 withdraw 10.244.1.0/24", "tor-2 withdraw 10.244.1.0/24"]);
    expect(engine.state()).not.toBe(before);
    expect(engine.setHostFacts({ interfaces: [], routes: [] }).routes).toEqual([]);
  });
});

describe("classifyChanges()", () => {
  const withOverride = (routerID: string) => `---
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfigOverride
metadata: {name: n1}
spec:
  bgpInstances: [{name: main, routerID: ${routerID}}]
`;
  const stateWith = (text: string) => {
    const resources = yaml(text).resources;
    resources.nodes.push(node("n1", {}, { ipv4: "192.0.2.10" }));
    return desiredState({ resources, node: { name: "n1" } });
  };

  it("recreates the instance when router ID, local ASN or listen port change (C6)", () => {
    const plan = classifyChanges(stateWith(CONFIG), stateWith(CONFIG + withOverride("10.9.9.9")));
    expect(plan).toEqual({ instances: [{ instance: "main", action: "recreate", reasons: ["routerID 192.0.2.10 → 10.9.9.9 (C6)"] }], peers: [] });
    const asn = classifyChanges(stateWith(CONFIG), stateWith(CONFIG.replace("localASN: 65001", "localASN: 65002\n      localPort: 1790")));
    expect(asn.instances[0].reasons).toEqual(["localASN 65001 → 65002 (C6)", "listen port none → 1790 (C6)"]);
  });

  it("resets a peer whose address or ASN changes (D1) or whose hold/keepalive change (D7)", () => {
    const moved = classifyChanges(stateWith(CONFIG), stateWith(CONFIG.replace("peerAddress: 10.0.0.2", "peerAddress: 10.0.0.3")));
    expect(moved.peers).toEqual([{ instance: "main", peer: "tor-2", action: "reset", reasons: ["address 10.0.0.2 → 10.0.0.3 (D1)"] }]);
    const timers = classifyChanges(stateWith(CONFIG), stateWith(CONFIG.replace("holdTimeSeconds: 90, keepAliveTimeSeconds: 30", "holdTimeSeconds: 30, keepAliveTimeSeconds: 10")));
    expect(timers.peers).toEqual([{
      instance: "main",
      peer: "rr",
      action: "reset",
      reasons: ["holdTimeSeconds 90 → 30 (D7)", "keepAliveTimeSeconds 30 → 10 (D7)"],
    }]);
  });

  it("updates other peer settings in place (D7), and lists created and removed peers", () => {
    const gr = classifyChanges(stateWith(CONFIG), stateWith(CONFIG.replace("metadata: {name: rr}\nspec:", "metadata: {name: rr}\nspec:\n  gracefulRestart: {enabled: true}\n  ebgpMultihop: 3")));
    expect(gr.peers).toEqual([{ instance: "main", peer: "rr", action: "update", reasons: ["ebgpMultihop changed (D7)", "gracefulRestart changed (D7)"] }]);
    const removed = classifyChanges(stateWith(CONFIG), stateWith(CONFIG.replace("        - {name: tor-2, peerAddress: 10.0.0.2, peerASN: 65100, peerConfigRef: {name: tor}}\n", "")));
    expect(removed.peers).toEqual([{ instance: "main", peer: "tor-2", action: "remove", reasons: ["no longer desired"] }]);
    expect(classifyChanges(undefined, stateWith(CONFIG)).instances).toEqual([{ instance: "main", action: "create", reasons: ["new instance"] }]);
    // Removing an instance stops it with CEASE (C7).
    const gone = stateWith(CONFIG.replace("  bgpInstances:\n    - name: main", "  nodeSelector: {matchLabels: {none: x}}\n  bgpInstances:\n    - name: main"));
    expect(classifyChanges(stateWith(CONFIG), gone).instances).toEqual([{ instance: "main", action: "remove", reasons: ["no longer desired (C7)"] }]);
    expect(classifyChanges(stateWith(CONFIG), stateWith(CONFIG)).peers).toEqual([]);
  });
});
