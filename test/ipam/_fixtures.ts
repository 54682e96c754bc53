/**
 * Builders for LB-IPAM tests: pools and Services parsed through the real
 * schemas (so defaults apply as in production), a settable clock, and
 * helpers to read the statuses an engine call returns.
 */
import { expect } from "vitest";
import { CiliumLoadBalancerIPPool } from "../../src/control/schemas/lb-ip-pool.ts";
import { Service } from "../../src/control/schemas/service.ts";
import type { IpamChanges, LbIpamOptions } from "../../src/ipam/engine.ts";
import { LbIpam } from "../../src/ipam/engine.ts";

export const T0 = "2026-01-01T00:00:00Z";

/** A clock that moves only when told to. */
export function testClock(start = T0) {
  let t = Date.parse(start);
  return { now: () => new Date(t), tick: (seconds = 1) => void (t += seconds * 1000) };
}

export function engine(options: Partial<LbIpamOptions> = {}) {
  const clock = testClock();
  return { ipam: new LbIpam({ now: clock.now, ...options }), clock };
}

export type BlockArg = string | { start: string; stop?: string } | { cidr: string };

export interface PoolArgs {
  created?: string;
  generation?: number;
  selector?: unknown;
  disabled?: boolean;
  allowFirstLastIPs?: "Yes" | "No";
  apiVersion?: "cilium.io/v2" | "cilium.io/v2alpha1";
  conditions?: unknown[];
}

/** `blocks`: "10.0.0.0/24" for a cidr, "10.0.0.1-10.0.0.9" for start/stop, or a block object. */
export function pool(name: string, blocks: BlockArg[], a: PoolArgs = {}): CiliumLoadBalancerIPPool {
  const doc = {
    apiVersion: a.apiVersion ?? "cilium.io/v2",
    kind: "CiliumLoadBalancerIPPool",
    metadata: { name, creationTimestamp: a.created ?? T0, generation: a.generation ?? 1 },
    spec: {
      blocks: blocks.map((b) => {
        if (typeof b !== "string") return b;
        if (b.includes("/")) return { cidr: b };
        const [start, stop] = b.split("-");
        return stop === undefined ? { start } : { start, stop };
      }),
      ...(a.selector !== undefined ? { serviceSelector: a.selector } : {}),
      ...(a.disabled !== undefined ? { disabled: a.disabled } : {}),
      ...(a.allowFirstLastIPs !== undefined ? { allowFirstLastIPs: a.allowFirstLastIPs } : {}),
    },
    ...(a.conditions ? { status: { conditions: a.conditions } } : {}),
  };
  return CiliumLoadBalancerIPPool.parse(doc);
}

export interface SvcArgs {
  ns?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  lbIP?: string;
  ports?: Array<number | { port: number; protocol: "TCP" | "UDP" | "SCTP" }>;
  etp?: "Cluster" | "Local";
  selector?: Record<string, string>;
  families?: Array<"IPv4" | "IPv6">;
  policy?: "SingleStack" | "PreferDualStack" | "RequireDualStack";
  cls?: string;
  type?: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  ingress?: Array<string | { hostname: string }>;
  conditions?: unknown[];
  generation?: number;
}

export function svc(name: string, a: SvcArgs = {}): Service {
  const doc = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: a.ns ?? "default",
      generation: a.generation ?? 1,
      ...(a.labels ? { labels: a.labels } : {}),
      ...(a.annotations ? { annotations: a.annotations } : {}),
    },
    spec: {
      type: a.type ?? "LoadBalancer",
      ports: (a.ports ?? [80]).map((p) => (typeof p === "number" ? { port: p } : p)),
      ...(a.lbIP !== undefined ? { loadBalancerIP: a.lbIP } : {}),
      ...(a.etp ? { externalTrafficPolicy: a.etp } : {}),
      ...(a.selector ? { selector: a.selector } : {}),
      ...(a.families ? { ipFamilies: a.families } : {}),
      ...(a.policy ? { ipFamilyPolicy: a.policy } : {}),
      ...(a.cls !== undefined ? { loadBalancerClass: a.cls } : {}),
    },
    ...(a.ingress || a.conditions
      ? {
        status: {
          loadBalancer: { ingress: (a.ingress ?? []).map((i) => (typeof i === "string" ? { ip: i } : i)) },
          ...(a.conditions ? { conditions: a.conditions } : {}),
        },
      }
      : {}),
  };
  return Service.parse(doc);
}

/** The ingress IPs of a Service in a change set (undefined if its status did not change). */
export function ipsIn(changes: IpamChanges, key: string): string[] | undefined {
  const u = changes.services.find((s) => s.key === key);
  return u?.status.loadBalancer.ingress?.map((i) => i.ip ?? "");
}

/** The IPAMRequestSatisfied condition of a Service in a change set. */
export function condIn(changes: IpamChanges, key: string) {
  const u = changes.services.find((s) => s.key === key);
  const c = u?.status.conditions?.find((c) => c.type === "cilium.io/IPAMRequestSatisfied");
  return c && { status: c.status, reason: c.reason, message: c.message };
}

/** What the engine currently wants for a Service: ips and condition. */
export function state(ipam: LbIpam, key: string) {
  const s = ipam.serviceStatus(key);
  if (s === undefined) return undefined;
  const c = s.conditions?.find((c) => c.type === "cilium.io/IPAMRequestSatisfied");
  return {
    ips: s.loadBalancer.ingress?.map((i) => i.ip ?? "") ?? [],
    cond: c && { status: c.status, reason: c.reason, message: c.message },
  };
}

/** Pool counts and conflict as the pool status says. */
export function poolState(ipam: LbIpam, name: string) {
  const s = ipam.poolStatus(name);
  const get = (t: string) => s?.conditions?.find((c) => c.type === t);
  return {
    total: get("cilium.io/IPsTotal")?.message,
    available: get("cilium.io/IPsAvailable")?.message,
    used: get("cilium.io/IPsUsed")?.message,
    conflict: get("cilium.io/PoolConflict")?.status,
    conflictReason: get("cilium.io/PoolConflict")?.reason,
    conflictMessage: get("cilium.io/PoolConflict")?.message,
    invalid: get("herald.io/InvalidSpec")?.message,
  };
}

export interface Want {
  ips: string[];
  /** The IPAMRequestSatisfied reason; "satisfied" means status True. */
  reason: string;
  /** Checked when given. */
  message?: string;
}

/** One step of a step table: each step runs on the engine the previous steps left. */
export interface Step {
  name: string;
  do: (ipam: LbIpam) => IpamChanges;
  /** Per Service key: what the engine wants after the step (undefined: not served). */
  want?: Record<string, Want | undefined>;
  /** Service keys whose status this step must hand out (and no others). */
  writes?: string[];
  /** Pool status after the step. */
  pools?: Record<string, Partial<ReturnType<typeof poolState>>>;
  check?: (changes: IpamChanges, ipam: LbIpam) => void;
}

/** Runs a step table, in order, on one engine (like Cilium's service_test.go). */
export function runSteps(ipam: LbIpam, steps: Step[]): void {
  for (const step of steps) {
    const changes = step.do(ipam);
    for (const [key, want] of Object.entries(step.want ?? {})) {
      const got = state(ipam, key);
      if (want === undefined) {
        expect(got, `${step.name}: ${key} not served`).toBeUndefined();
        continue;
      }
      expect(got?.ips, `${step.name}: ${key} ips`).toEqual(want.ips);
      expect(got?.cond?.reason, `${step.name}: ${key} reason`).toBe(want.reason);
      expect(got?.cond?.status, `${step.name}: ${key} status`).toBe(want.reason === "satisfied" ? "True" : "False");
      if (want.message !== undefined) expect(got?.cond?.message, `${step.name}: ${key} message`).toBe(want.message);
    }
    if (step.writes !== undefined) {
      expect(changes.services.map((s) => s.key).sort(), `${step.name}: writes`).toEqual([...step.writes].sort());
    }
    for (const [name, want] of Object.entries(step.pools ?? {})) {
      expect(poolState(ipam, name), `${step.name}: pool ${name}`).toMatchObject(want);
    }
    step.check?.(changes, ipam);
  }
}
