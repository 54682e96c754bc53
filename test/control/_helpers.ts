/**
 * Builders for control-plane tests: manifests from YAML text, Nodes,
 * Services, EndpointSlices, host facts, and a flat view of routes.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatCommunity } from "../../src/control/attributes.ts";
import { desiredState, wireLocalPreference } from "../../src/control/desired.ts";
import { addResource, loadManifests, type LoadResult } from "../../src/control/load.ts";
import type { Resource } from "../../src/control/schemas/mod.ts";
import type { EndpointSlice } from "../../src/control/schemas/endpoint-slice.ts";
import type { Node } from "../../src/control/schemas/node.ts";
import type { Service } from "../../src/control/schemas/service.ts";
import type { ControlInput, ControlOptions, DesiredState, HostFacts, Resources } from "../../src/control/types.ts";

export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Loads YAML text; fails the test on any load error unless `allowErrors`. */
export function yaml(text: string, file = "test.yaml", allowErrors = false): LoadResult {
  const r = loadManifests([{ file, text }]);
  const errors = r.issues.filter((i) => i.level === "error");
  if (!allowErrors && errors.length) throw new Error(errors.map((e) => e.message).join("\n"));
  return r;
}

export function fixture(...names: string[]): LoadResult {
  return loadManifests(names.map((n) => ({ file: n, text: readFileSync(`${FIXTURES}${n}`, "utf8") })));
}

export function withResources(base: Resources, ...extra: Resource[]): Resources {
  const out = structuredClone(base);
  for (const r of extra) addResource(out, r);
  return out;
}

export function node(name: string, labels: Record<string, string> = {}, opts: {
  ipv4?: string;
  ipv6?: string;
  podCIDRs?: string[];
  annotations?: Record<string, string>;
} = {}): Node {
  const addresses = [
    ...(opts.ipv4 ? [{ type: "InternalIP" as const, address: opts.ipv4 }] : []),
    ...(opts.ipv6 ? [{ type: "InternalIP" as const, address: opts.ipv6 }] : []),
  ];
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels, annotations: opts.annotations },
    spec: { podCIDRs: opts.podCIDRs },
    status: { addresses },
  };
}

export interface SvcOptions {
  labels?: Record<string, string>;
  type?: Service["spec"]["type"];
  lb?: string[];
  clusterIPs?: string[];
  externalIPs?: string[];
  eTP?: "Cluster" | "Local";
  iTP?: "Cluster" | "Local";
  lbClass?: string;
}

export function svc(key: string, o: SvcOptions = {}): Service {
  const [namespace, name] = key.split("/");
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: o.labels },
    spec: {
      type: o.type ?? "LoadBalancer",
      clusterIP: o.clusterIPs?.[0],
      clusterIPs: o.clusterIPs,
      externalIPs: o.externalIPs,
      externalTrafficPolicy: o.eTP,
      internalTrafficPolicy: o.iTP,
      loadBalancerClass: o.lbClass,
    },
    status: o.lb ? { loadBalancer: { ingress: o.lb.map((ip) => ({ ip })) } } : undefined,
  };
}

export function slice(serviceKey: string, endpoints: Array<{ node?: string; ready?: boolean; terminating?: boolean }>, name?: string): EndpointSlice {
  const [namespace, svcName] = serviceKey.split("/");
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: name ?? `${svcName}-abc`, namespace, labels: { "kubernetes.io/service-name": svcName } },
    addressType: "IPv4",
    endpoints: endpoints.map((e, i) => ({
      addresses: [`10.244.0.${i + 10}`],
      nodeName: e.node,
      conditions: { ready: e.ready ?? true, terminating: e.terminating ?? false },
    })),
    ports: [],
  };
}

export function host(opts: {
  interfaces?: HostFacts["interfaces"];
  routes?: HostFacts["routes"];
} = {}): HostFacts {
  return { interfaces: opts.interfaces ?? [], routes: opts.routes ?? [] };
}

export function stateOf(resources: Resources, nodeName: string, options: Partial<ControlOptions> = {}, hostFacts?: HostFacts, labels?: Record<string, string>): DesiredState {
  const input: ControlInput = { resources, node: { name: nodeName, labels }, host: hostFacts, options };
  return desiredState(input);
}

export interface FlatRoute {
  instance: string;
  peer: string;
  family: string;
  prefix: string;
  communities: string[];
  large: string[];
  /** Policy value. */
  localPreference: number | null;
  /** On the wire towards this peer. */
  wireLocalPreference: number | null;
  origin: string;
}

/** Every (instance, peer, family, prefix), sorted. */
export function routes(state: DesiredState, peer?: string): FlatRoute[] {
  const out: FlatRoute[] = [];
  for (const inst of state.instances) {
    for (const p of inst.peers) {
      if (peer && p.name !== peer) continue;
      for (const [family, table] of p.routes) {
        for (const r of table.values()) {
          out.push({
            instance: inst.name,
            peer: p.name,
            family,
            prefix: r.prefix,
            communities: r.communities.map(formatCommunity),
            large: [...r.largeCommunities],
            localPreference: r.localPreference,
            wireLocalPreference: wireLocalPreference(r, p),
            origin: r.origin,
          });
        }
      }
    }
  }
  return out.sort((a, b) =>
    `${a.instance}|${a.peer}|${a.family}|${a.prefix}` < `${b.instance}|${b.peer}|${b.family}|${b.prefix}` ? -1 : 1
  );
}

/** Just the prefixes a peer gets in a family. */
export function prefixesTo(state: DesiredState, peer: string, family = "ipv4/unicast"): string[] {
  return routes(state, peer).filter((r) => r.family === family).map((r) => r.prefix).sort();
}

/** A canonical JSON form of a state (Maps as sorted objects), for equality checks. */
export function canonical(state: DesiredState): string {
  return JSON.stringify(state, (_k, v) => {
    if (v instanceof Map) return Object.fromEntries([...v].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    return v;
  });
}

export const issuesOf = (state: DesiredState, rule?: string) =>
  state.issues.filter((i) => rule === undefined || i.rule.split(", ").includes(rule)).map((i) => i.message);
