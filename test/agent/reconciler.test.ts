/**
 * The reconciler against a recording speaker, driven by the real control
 * engine: a step table where each step changes the manifests and checks
 * exactly which speaker calls the pass made (spec C6–C9, D1, D7, E7, E20).
 */
import { describe, expect, it } from "vitest";
import type { AttrSet, RouteAttributes } from "../../src/bgp/attr-set.ts";
import type { PeerOptions } from "../../src/bgp/peer-config.ts";
import type { InstanceOptions, InstanceResult, PeerResult } from "../../src/bgp/speaker.ts";
import { Reconciler, type SpeakerPort } from "../../src/agent/reconciler.ts";
import { ControlEngine, loadManifests, type ResourceChange } from "../../src/control/mod.ts";
import type { Resource } from "../../src/control/schemas/mod.ts";
import { createLogger } from "../../src/log.ts";

/** Records every call; peers reset on identity and hold/keepalive changes as the real speaker does. */
class RecordingSpeaker implements SpeakerPort {
  calls: string[] = [];
  instancesRunning = new Map<string, InstanceOptions>();
  peersRunning = new Map<string, Map<string, PeerOptions>>();
  ribs = new Map<string, Map<string, AttrSet>>();
  failInstance = new Set<string>();
  #sets = new Map<string, AttrSet>();

  setInstance(o: InstanceOptions): Promise<InstanceResult> {
    if (this.failInstance.has(o.name)) return Promise.reject(new Error(`listen tcp :${o.listen?.port}: address already in use`));
    const old = this.instancesRunning.get(o.name);
    this.instancesRunning.set(o.name, o);
    if (!old) {
      this.peersRunning.set(o.name, new Map());
      this.calls.push(`setInstance ${o.name} created${o.restarting ? " R" : ""}`);
      return Promise.resolve("created");
    }
    const same = old.asn === o.asn && old.routerId === o.routerId && JSON.stringify(old.listen) === JSON.stringify(o.listen);
    if (!same) this.calls.push(`setInstance ${o.name} recreated`);
    return Promise.resolve(same ? "unchanged" : "recreated");
  }
  removeInstance(name: string): Promise<boolean> {
    this.calls.push(`removeInstance ${name}`);
    this.instancesRunning.delete(name);
    this.peersRunning.delete(name);
    return Promise.resolve(true);
  }
  instances(): string[] {
    return [...this.instancesRunning.keys()];
  }
  setPeer(instance: string, o: PeerOptions): PeerResult {
    const peers = this.peersRunning.get(instance)!;
    const old = peers.get(o.name);
    peers.set(o.name, o);
    if (!old) {
      this.calls.push(`setPeer ${instance}/${o.name} created`);
      return { action: "created", changed: [] };
    }
    if (JSON.stringify(old) === JSON.stringify(o)) return { action: "unchanged", changed: [] };
    const reset = old.address !== o.address || old.asn !== o.asn || JSON.stringify(old.timers) !== JSON.stringify(o.timers);
    this.calls.push(`setPeer ${instance}/${o.name} ${reset ? "reset" : "updated"}`);
    return { action: reset ? "reset" : "updated", changed: ["x"] };
  }
  removePeer(instance: string, name: string): boolean {
    this.calls.push(`removePeer ${instance}/${name}`);
    return this.peersRunning.get(instance)!.delete(name);
  }
  peerNames(instance: string): string[] {
    return [...(this.peersRunning.get(instance)?.keys() ?? [])];
  }
  attributes(a: RouteAttributes): AttrSet {
    const key = JSON.stringify(a);
    let s = this.#sets.get(key);
    if (!s) this.#sets.set(key, s = { key, origin: 0, communities: a.communities ?? [], largeCommunities: a.largeCommunities ?? [], localPref: a.localPref });
    return s;
  }
  #rib(instance: string, peer: string, family: string) {
    const k = `${instance}/${peer}/${family}`;
    let m = this.ribs.get(k);
    if (!m) this.ribs.set(k, m = new Map());
    return m;
  }
  announce(instance: string, peer: string, family: string, prefixes: Iterable<string>, attrs: AttrSet): number {
    const list = [...prefixes];
    for (const p of list) this.#rib(instance, peer, family).set(p, attrs);
    this.calls.push(`announce ${instance}/${peer} ${family} ${list.join(",")} ${attrs.key}`);
    return list.length;
  }
  withdraw(instance: string, peer: string, family: string, prefixes: Iterable<string>): number {
    const list = [...prefixes];
    for (const p of list) this.#rib(instance, peer, family).delete(p);
    this.calls.push(`withdraw ${instance}/${peer} ${family} ${list.join(",")}`);
    return list.length;
  }
  setRoutes(instance: string, peer: string, family: string, entries: Iterable<readonly [string, AttrSet]>) {
    const rib = this.#rib(instance, peer, family);
    rib.clear();
    for (const [p, a] of entries) rib.set(p, a);
    this.calls.push(`setRoutes ${instance}/${peer} ${family} ${[...rib.keys()].sort().join(",")}`);
    return { announced: rib.size, withdrawn: 0 };
  }
  take(): string[] {
    const c = this.calls;
    this.calls = [];
    return c;
  }
}

const bgp = (o: { hold?: number; community?: string; port?: number; withB?: boolean } = {}) => `
apiVersion: v1
kind: Node
metadata: { name: n1, labels: { bgp: "on" } }
spec: { podCIDRs: ["10.244.1.0/24"] }
status: { addresses: [{ type: InternalIP, address: 10.0.0.5 }] }
---
apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: { name: c }
spec:
  nodeSelector: { matchLabels: { bgp: "on" } }
  bgpInstances:
    - name: a
      localASN: 65001
      peers: [{ name: tor, peerAddress: 10.0.0.1, peerASN: 65000, peerConfigRef: { name: pc } }]
${o.withB ? `    - name: b
      localASN: 65002
      localPort: ${o.port ?? 1179}
      peers: [{ name: rr, peerAddress: 10.0.0.2, peerASN: 65002, peerConfigRef: { name: pc } }]` : ""}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: { name: pc }
spec:
  timers: { holdTimeSeconds: ${o.hold ?? 90}, keepAliveTimeSeconds: 3 }
  families: [{ afi: ipv4, safi: unicast, advertisements: { matchLabels: { ad: x } } }]
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: { name: ad, labels: { ad: x } }
spec:
  advertisements:
    - advertisementType: PodCIDR
    - advertisementType: Service
      service: { addresses: [LoadBalancerIP] }
      selector: { matchLabels: { expose: "yes" } }
      attributes: { communities: { standard: ["${o.community ?? "65001:1"}"] } }
`;

const svc = (name: string, ip: string, expose: boolean) => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ns, labels: { expose: "${expose ? "yes" : "no"}" } }
spec: { type: LoadBalancer }
status: { loadBalancer: { ingress: [{ ip: ${ip} }] } }
`;

function resources(text: string): Resource[] {
  const r = loadManifests([{ file: "t.yaml", text }]);
  const errors = r.issues.filter((i) => i.level === "error");
  if (errors.length) throw new Error(errors.map((e) => e.message).join("\n"));
  return r.loaded.map((l) => l.resource);
}

const upserts = (text: string): ResourceChange[] => resources(text).map((resource) => ({ type: "upsert", resource }));

describe("Reconciler", () => {
  const speaker = new RecordingSpeaker();
  const errors: string[] = [];
  const rec = new Reconciler({ speaker, logger: createLogger({ write: () => {} }), restarting: true, onError: (i) => errors.push(i) });
  const first = loadManifests([{ file: "t.yaml", text: bgp() + "---" + svc("web", "198.51.100.1", true) + "---" + svc("db", "198.51.100.2", false) }]);
  const engine = new ControlEngine({ resources: first.resources, node: { name: "n1" } });

  const step = async (changes: ResourceChange[]) => {
    if (changes.length) rec.push(engine.apply(changes));
    const r = await rec.run(engine.state());
    return { calls: speaker.take(), result: r };
  };

  it("creates the instance, then the peer with its whole table in the same step; the first creation after a restart sets R (C8, RFC 4724)", async () => {
    const { calls, result } = await step([]);
    expect(calls).toEqual([
      "setInstance a created R",
      "setPeer a/tor created",
      "setRoutes a/tor ipv4/unicast 10.244.1.0/24,198.51.100.1/32",
    ]);
    expect(result.fullSyncs).toBe(2);
    expect([...result.errors.values()].flat()).toEqual([]);
  });

  it("applies a Service label change as one announce, nothing else (E20)", async () => {
    const { calls } = await step(upserts(svc("db", "198.51.100.2", true)));
    expect(calls).toEqual([`announce a/tor ipv4/unicast 198.51.100.2/32 {"origin":"igp","communities":[4259905537]}`]);
  });

  it("applies an attribute change as announces with the new set, without touching the session (E7)", async () => {
    const { calls } = await step(upserts(bgp({ community: "65001:2" })));
    expect(calls).toEqual([`announce a/tor ipv4/unicast 198.51.100.1/32,198.51.100.2/32 {"origin":"igp","communities":[4259905538]}`]);
  });

  it("withdraws a Service that goes away", async () => {
    const { calls } = await step([{ type: "delete", kind: "Service", name: "web", namespace: "ns" }]);
    expect(calls).toEqual(["withdraw a/tor ipv4/unicast 198.51.100.1/32"]);
  });

  it("hands a hold-time change to the peer as a reset, keeping its routes (D7)", async () => {
    const { calls } = await step(upserts(bgp({ community: "65001:2", hold: 30 })));
    expect(calls).toEqual(["setPeer a/tor reset"]);
  });

  it("keeps an instance that cannot start as an error of that instance only, counts it and retries it on the next pass (C9)", async () => {
    speaker.failInstance.add("b");
    const { calls, result } = await step(upserts(bgp({ community: "65001:2", hold: 30, withB: true })));
    expect(calls).toEqual([]);
    expect(result.errors.get("b")).toEqual(["Cannot start instance (C6): listen tcp :1179: address already in use"]);
    expect(rec.errors().get("a") ?? []).toEqual([]);
    expect(errors).toEqual(["b"]);
    speaker.failInstance.clear();
    const again = await step([]);
    // A later creation is not "after a restart": no R bit.
    expect(again.calls).toEqual(["setInstance b created", "setPeer b/rr created", "setRoutes b/rr ipv4/unicast 10.244.1.0/24,198.51.100.2/32"]);
    expect(again.result.errors.get("b")).toBeUndefined();
  });

  it("lets the speaker re-create an instance whose listen port changed (C6)", async () => {
    const { calls } = await step(upserts(bgp({ community: "65001:2", hold: 30, withB: true, port: 2179 })));
    expect(calls).toEqual(["setInstance b recreated"]);
  });

  it("removes instances that are no longer desired (Cease, C7) and leaves the RIB of the others alone", async () => {
    const { calls } = await step([{ type: "delete", kind: "CiliumBGPClusterConfig", name: "c" }]);
    expect(calls.sort()).toEqual(["removeInstance a", "removeInstance b"]);
    expect(speaker.instances()).toEqual([]);
  });
});

describe("Reconciler after a restart", () => {
  it("sets R for an instance desired at start-up even when it only starts on a retry", async () => {
    const speaker = new RecordingSpeaker();
    speaker.failInstance.add("a");
    const rec = new Reconciler({ speaker, logger: createLogger({ write: () => {} }), restarting: true });
    const engine = new ControlEngine({ resources: loadManifests([{ file: "t.yaml", text: bgp() }]).resources, node: { name: "n1" } });
    expect((await rec.run(engine.state())).errors.get("a")).toHaveLength(1);
    speaker.failInstance.clear();
    await rec.run(engine.state());
    expect(speaker.take()).toEqual(["setInstance a created R", "setPeer a/tor created", "setRoutes a/tor ipv4/unicast 10.244.1.0/24"]);
  });
});
