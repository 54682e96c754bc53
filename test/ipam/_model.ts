/**
 * An independent, brute-force model of LB-IPAM (spec section I) for the
 * model-checking tests: random pools and Services over a small address
 * space, and an oracle that reads only the objects (pool specs, Service
 * specs and the statuses LB-IPAM wrote) and says what must hold.
 *
 * Nothing here uses the engine's code except address parsing (src/net/ip.ts).
 * The model follows herald's documented semantics where they differ from
 * Cilium (README, "LoadBalancer IPAM"): conflicts decided from the current
 * pools, last valid pool version in force, a reserved address stays reserved.
 */
import { CiliumLoadBalancerIPPool } from "../../src/control/schemas/lb-ip-pool.ts";
import type { IPBlock } from "../../src/control/schemas/lb-ip-pool.ts";
import { Service } from "../../src/control/schemas/service.ts";
import { formatIP, parseIP, parsePrefix, prefixRange } from "../../src/net/ip.ts";

export const SATISFIED = "cilium.io/IPAMRequestSatisfied";
export const BGP = "io.cilium/bgp-control-plane";

/** mulberry32: small, fast, good enough to explore. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    int,
    chance: (p: number) => next() < p,
    pick: <T>(list: readonly T[]): T => list[int(list.length)],
    shuffle: <T>(list: readonly T[]): T[] => {
      const out = [...list];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}
export type Rng = ReturnType<typeof rng>;

// ---- generators ---------------------------------------------------------------

export const v4 = (n: number) => `10.0.0.${n}`;
export const v6 = (n: number) => (n === 0 ? "2001:db8::" : `2001:db8::${n.toString(16)}`);

export function randBlock(r: Rng): IPBlock {
  const fmt = r.chance(0.7) ? v4 : v6;
  const kind = r.int(100);
  if (kind < 50) {
    const hostBits = r.int(7); // /26…/32 or /122…/128: 64 … 1 addresses
    const size = 1 << hostBits;
    const base = r.int(64 / size) * size;
    return { cidr: `${fmt(base)}/${(fmt === v4 ? 32 : 128) - hostBits}` };
  }
  if (kind < 96) {
    const a = r.int(64);
    const b = Math.min(63, a + r.int(10));
    return r.chance(0.15) ? { start: fmt(a) } : { start: fmt(a), stop: fmt(b) };
  }
  // I3: bad blocks fail only their pool.
  return r.pick<IPBlock>([
    { start: fmt(20), stop: fmt(10) },
    { start: v4(1), stop: v6(5) },
    { start: "10.0.0.300" },
    { stop: fmt(3) },
  ]);
}

const SELECTORS: unknown[] = [
  undefined,
  null,
  {},
  { matchLabels: { tier: "a" } },
  { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["a"] }] },
  { matchLabels: { "io.kubernetes.service.namespace": "b" } },
];
const CREATED = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", undefined];

export interface PoolDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; generation: number; creationTimestamp?: string };
  spec: { blocks: IPBlock[]; serviceSelector?: unknown; allowFirstLastIPs?: string; disabled?: boolean };
}

export function randPool(r: Rng, name: string, generation: number): PoolDoc {
  const blocks = Array.from({ length: 1 + r.int(3) }, () => randBlock(r));
  const created = r.pick(CREATED);
  const spec: PoolDoc["spec"] = { blocks };
  const sel = r.pick(SELECTORS);
  if (sel !== undefined) spec.serviceSelector = sel;
  const fl = r.pick([undefined, "Yes", "No", "No", ""]);
  if (fl !== undefined) spec.allowFirstLastIPs = fl;
  if (r.chance(0.1)) spec.disabled = true;
  return {
    apiVersion: r.pick(["cilium.io/v2", "cilium.io/v2alpha1"]),
    kind: "CiliumLoadBalancerIPPool",
    metadata: { name, generation, ...(created ? { creationTimestamp: created } : {}) },
    spec,
  };
}

/** One edit of an existing pool (I4, I6, I15): same name and creationTimestamp. */
export function editPool(r: Rng, doc: PoolDoc): PoolDoc {
  const spec = structuredClone(doc.spec);
  switch (r.int(6)) {
    case 0:
      spec.disabled = !spec.disabled;
      break;
    case 1:
      spec.allowFirstLastIPs = spec.allowFirstLastIPs === "No" ? r.pick(["Yes", ""]) : "No";
      break;
    case 2:
      spec.serviceSelector = r.pick(SELECTORS);
      break;
    case 3: {
      // Widen or shrink a cidr block around the same start (I15 re-adoption).
      const i = r.int(spec.blocks.length);
      const b = spec.blocks[i];
      const p = b.cidr ? parsePrefix(b.cidr) : null;
      if (p !== null) {
        const max = p.family === 4 ? 32 : 128;
        const len = Math.max(max - 6, Math.min(max, p.len + r.pick([-2, -1, 1])));
        const host = BigInt(max - len);
        const base = (p.addr >> host) << host;
        spec.blocks[i] = { cidr: `${formatIP({ family: p.family, value: base })}/${len}` };
      } else spec.blocks[i] = randBlock(r);
      break;
    }
    case 4:
      spec.blocks.push(randBlock(r));
      break;
    default:
      if (spec.blocks.length > 1) spec.blocks.splice(r.int(spec.blocks.length), 1);
      else spec.blocks[0] = randBlock(r);
  }
  return { ...doc, metadata: { ...doc.metadata, generation: doc.metadata.generation + 1 }, spec };
}

export function parsePool(doc: PoolDoc): CiliumLoadBalancerIPPool {
  return CiliumLoadBalancerIPPool.parse(doc);
}

const IP_TEXTS = (r: Rng) =>
  r.pick([
    () => v4(r.int(64)),
    () => v4(r.int(64)),
    () => v6(r.int(64)),
    () => "10.9.9.9",
    () => "bogus",
    () => ` ${v4(r.int(64))} `,
  ])();

export function randService(r: Rng, ns: string, name: string, generation: number, dual: boolean): Service {
  const annotations: Record<string, string> = {};
  const spec: Record<string, unknown> = { type: r.chance(0.93) ? "LoadBalancer" : "ClusterIP" };
  const cls = r.int(100);
  if (cls >= 85) spec.loadBalancerClass = r.pick([BGP, "io.cilium/l2-announcer", "example.com/other"]);
  if (r.chance(0.4)) {
    if (r.chance(0.4)) spec.loadBalancerIP = r.chance(0.9) ? IP_TEXTS(r).trim() : "";
    if (r.chance(0.8)) {
      const list = Array.from({ length: 1 + r.int(3) }, () => IP_TEXTS(r));
      if (r.chance(0.1)) list.push(list[0]);
      const key = r.pick(["lbipam.cilium.io/ips", "io.cilium/lb-ipam-ips"]);
      annotations[key] = list.join(",");
      // §9.1: a present primary key wins even when empty.
      if (key === "io.cilium/lb-ipam-ips" && r.chance(0.2)) annotations["lbipam.cilium.io/ips"] = "";
    }
  }
  if (r.chance(0.5)) {
    const key = r.pick(["lbipam.cilium.io/sharing-key", "io.cilium/lb-ipam-sharing-key"]);
    annotations[key] = r.pick(["k1", "k1", "k2"]);
    if (key === "io.cilium/lb-ipam-sharing-key" && r.chance(0.15)) annotations["lbipam.cilium.io/sharing-key"] = "";
    if (r.chance(0.4)) {
      annotations[r.pick(["lbipam.cilium.io/sharing-cross-namespace", "io.cilium/lb-ipam-sharing-cross-namespace"])] = r.pick([
        "*",
        "a",
        "b",
        "a,b",
        "a, b",
      ]);
    }
  }
  const policy = r.pick([undefined, "SingleStack", "PreferDualStack", "RequireDualStack"]);
  if (policy !== undefined) spec.ipFamilyPolicy = policy;
  const fams = r.pick([undefined, ["IPv4"], ["IPv6"], ["IPv4", "IPv6"], ["IPv6", "IPv4"]]);
  if (fams !== undefined && (dual || !fams.includes("IPv6") || r.chance(0.2))) spec.ipFamilies = fams;
  spec.ports = r.shuffle([80, 443, 53]).slice(0, 1 + r.int(2)).map((port) => ({ port, protocol: r.pick(["TCP", "UDP"]) }));
  if (r.chance(0.3)) spec.externalTrafficPolicy = "Local";
  else if (r.chance(0.2)) spec.externalTrafficPolicy = "Cluster";
  const sel = r.pick([undefined, { app: "x" }, { app: "x" }, { app: "y" }]);
  if (sel !== undefined) spec.selector = sel;
  const labels = r.pick([undefined, { tier: "a" }, { tier: "b" }]);
  return Service.parse({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns, generation, ...(labels ? { labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec,
  });
}

// ---- oracle -------------------------------------------------------------------

export interface MRange {
  family: 4 | 6;
  start: bigint;
  end: bigint;
  fromCidr: boolean;
}

/** I3: a pool's blocks as ranges, or null if any block is bad. */
export function modelRanges(blocks: readonly IPBlock[]): MRange[] | null {
  const out: MRange[] = [];
  for (const b of blocks) {
    if (b.cidr) {
      const p = parsePrefix(b.cidr);
      if (p === null) return null;
      const [start, end] = prefixRange(p);
      out.push({ family: p.family, start, end, fromCidr: true });
      continue;
    }
    if (!b.start) return null;
    const s = parseIP(b.start);
    if (s === null) return null;
    const e = b.stop ? parseIP(b.stop) : s;
    if (e === null || e.family !== s.family || e.value < s.value) return null;
    out.push({ family: s.family, start: s.value, end: e.value, fromCidr: false });
  }
  return out;
}

export interface MPool {
  name: string;
  created: number;
  /** The spec in force: the last one whose blocks all parse (null: none yet). */
  spec: PoolDoc["spec"] | null;
  ranges: MRange[];
}

export const ipk = (family: number, value: bigint) => `${family}/${value}`;

function labelsOf(svc: Service): Record<string, string> {
  return { ...svc.metadata.labels, "io.kubernetes.service.name": svc.metadata.name, "io.kubernetes.service.namespace": svc.metadata.namespace };
}

export function poolSelects(pool: MPool, svc: Service): boolean {
  const sel = pool.spec?.serviceSelector as
    | { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> }
    | null
    | undefined;
  if (pool.spec === null) return false;
  if (sel == null) return true;
  const l = labelsOf(svc);
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    if (e.operator === "In" && !(has && e.values!.includes(l[e.key]))) return false;
    if (e.operator === "NotIn" && has && e.values!.includes(l[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/** I1. */
export function served(svc: Service, l2 = false): boolean {
  if (svc.spec.type !== "LoadBalancer") return false;
  const cls = svc.spec.loadBalancerClass;
  return cls === undefined || cls === BGP || (l2 && cls === "io.cilium/l2-announcer");
}

function annotation(svc: Service, primary: string, alias: string): string {
  const a = svc.metadata.annotations ?? {};
  if (Object.hasOwn(a, primary)) return a[primary];
  return a[alias] ?? "";
}

/** I9, §9.1: requested addresses in Cilium's order (adjacent duplicates collapsed). */
export function requestedOf(svc: Service): Array<{ family: 4 | 6; value: bigint }> {
  const out: Array<{ family: 4 | 6; value: bigint }> = [];
  const add = (t: string) => {
    const ip = t.includes("%") ? null : parseIP(t);
    if (ip === null) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.family === ip.family && last.value === ip.value) return;
    out.push(ip);
  };
  if (svc.spec.loadBalancerIP) add(svc.spec.loadBalancerIP);
  const ips = annotation(svc, "lbipam.cilium.io/ips", "io.cilium/lb-ipam-ips");
  if (ips !== "") for (const p of ips.split(",")) add(p.trim());
  return out;
}

/** I8, J2. */
export function familiesOf(svc: Service, c: { ipv4: boolean; ipv6: boolean }): { 4: boolean; 6: boolean } {
  const fams = svc.spec.ipFamilies ?? [];
  switch (svc.spec.ipFamilyPolicy) {
    case "PreferDualStack":
      return fams.length === 0 ? { 4: c.ipv4, 6: c.ipv6 } : { 4: fams.includes("IPv4") && c.ipv4, 6: fams.includes("IPv6") && c.ipv6 };
    case "RequireDualStack":
      return { 4: c.ipv4, 6: c.ipv6 };
    default:
      if (fams.length > 0) return { 4: fams[0] === "IPv4", 6: fams[0] !== "IPv4" };
      return c.ipv4 ? { 4: true, 6: false } : { 4: false, 6: c.ipv6 };
  }
}

export function sharingKeyOf(svc: Service): string {
  return annotation(svc, "lbipam.cilium.io/sharing-key", "io.cilium/lb-ipam-sharing-key");
}

/** I11 (baseline): null when `b` may share an address `a` holds, else Cilium's reason. */
export function incompatible(a: Service, b: Service): string | null {
  if (sharingKeyOf(a) !== sharingKeyOf(b)) return "different sharing key";
  const na = a.metadata.namespace;
  const nb = b.metadata.namespace;
  if (na !== nb) {
    const la = annotation(a, "lbipam.cilium.io/sharing-cross-namespace", "io.cilium/lb-ipam-sharing-cross-namespace");
    const lb = annotation(b, "lbipam.cilium.io/sharing-cross-namespace", "io.cilium/lb-ipam-sharing-cross-namespace");
    const ok = (list: string, ns: string) => list !== "" && (list.split(",").includes(ns) || list.split(",").includes("*"));
    if (!ok(la, nb) || !ok(lb, na)) return "different and not permitted namespace";
  }
  for (const p of a.spec.ports ?? []) for (const q of b.spec.ports ?? []) if (p.port === q.port) return "same port";
  const ea = a.spec.externalTrafficPolicy ?? "Cluster";
  if (ea !== (b.spec.externalTrafficPolicy ?? "Cluster")) return "different ExternalTrafficPolicy";
  if (ea === "Local") {
    const sa = a.spec.selector ?? {};
    const sb = b.spec.selector ?? {};
    const same = Object.keys(sa).length === Object.keys(sb).length && Object.entries(sa).every(([k, v]) => sb[k] === v);
    if (Object.keys(sa).length === 0 || Object.keys(sb).length === 0 || !same) {
      return "compatible ExternalTrafficPolicy local but selecting different set of pods";
    }
  }
  return null;
}

/** Pools in age order (I5, I7): creationTimestamp (absent = newest), then name. */
export function ordered(pools: Iterable<MPool>): MPool[] {
  return [...pools].sort((a, b) => (a.created !== b.created ? (a.created < b.created ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const meets = (a: MRange, b: MRange) => a.family === b.family && a.start <= b.end && b.start <= a.end;

/** I5 as herald decides it: own overlap, or overlap with an older non-conflicting pool. */
export function conflicting(pools: Iterable<MPool>): Set<string> {
  const out = new Set<string>();
  const accepted: MRange[] = [];
  for (const p of ordered(pools)) {
    const own = p.ranges.some((a, i) => p.ranges.some((b, j) => i !== j && meets(a, b)));
    if (own || p.ranges.some((r) => accepted.some((a) => meets(a, r)))) out.add(p.name);
    else accepted.push(...p.ranges);
  }
  return out;
}

export const reservedIn = (pool: MPool, r: MRange, value: bigint) =>
  pool.spec?.allowFirstLastIPs === "No" && r.fromCidr && r.end - r.start >= 2n && (value === r.start || value === r.end);

export const ipText = (family: 4 | 6, value: bigint) => formatIP({ family, value });
