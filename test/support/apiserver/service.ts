/**
 * The core/v1 Service strategy: the defaults the API server fills in
 * (type, sessionAffinity, protocols, target ports, traffic policies, IP
 * families), ClusterIP and NodePort allocation, carrying allocated values
 * over on update, and the validation rules herald's manifests can trip.
 */
import { formatIP, parseIP, parsePrefix, prefixContains, prefixRange } from "../../../src/net/ip.ts";
import {
  fieldDuplicate,
  type FieldError,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  invalid,
} from "./errors.ts";
import type { Json } from "./patch.ts";
import { age } from "./table.ts";
import type { KubeObject, PrinterColumn, StrategyContext } from "./types.ts";

const TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const GR = { group: "", resource: "services" };

const familyName = (f: 4 | 6) => (f === 4 ? "IPv4" : "IPv6");

function cidrsByFamily(ctx: StrategyContext) {
  return ctx.options.serviceCIDRs.map((c) => parsePrefix(c)!).filter(Boolean);
}

function usedClusterIPs(ctx: StrategyContext): Set<string> {
  const used = new Set<string>();
  for (const s of ctx.list("core/services")) for (const ip of s.spec?.clusterIPs ?? []) used.add(ip);
  return used;
}

function allocateIP(ctx: StrategyContext, family: 4 | 6, used: Set<string>): string {
  const cidr = cidrsByFamily(ctx).find((p) => p.family === family);
  if (!cidr) throw new Error(`no ${familyName(family)} service CIDR`);
  const [first, last] = prefixRange(cidr);
  // Skip the network address and the first host (kubernetes.default), as the
  // real allocator reserves the range start.
  for (let v = first + 2n; v < last; v++) {
    const ip = formatIP({ family, value: v });
    if (!used.has(ip)) {
      used.add(ip);
      return ip;
    }
  }
  throw invalid("Service", GR, "", [fieldInvalid("spec.clusterIPs", [], "range is full")]);
}

function usedNodePorts(ctx: StrategyContext, except?: KubeObject): Set<number> {
  const used = new Set<number>();
  for (const s of ctx.list("core/services")) {
    if (except && s.metadata.uid === except.metadata.uid) continue;
    for (const p of s.spec?.ports ?? []) if (p.nodePort) used.add(p.nodePort);
  }
  return used;
}

function needsNodePorts(spec: KubeObject): boolean {
  return spec.type === "NodePort" || (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts !== false);
}

function applyDefaults(svc: KubeObject): void {
  const spec = (svc.spec ??= {});
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  for (const p of spec.ports ?? []) {
    p.protocol ??= "TCP";
    p.targetPort ??= p.port;
  }
  if (spec.type === "ExternalName") return;
  spec.internalTrafficPolicy ??= "Cluster";
  if (spec.type === "NodePort" || spec.type === "LoadBalancer") spec.externalTrafficPolicy ??= "Cluster";
  else delete spec.externalTrafficPolicy;
  if (spec.type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
}

function assignFamiliesAndIPs(svc: KubeObject, ctx: StrategyContext, old?: KubeObject): void {
  const spec = svc.spec;
  if (spec.type === "ExternalName") return;
  if (old && old.spec.type !== "ExternalName") {
    spec.clusterIP ||= old.spec.clusterIP;
    spec.clusterIPs ??= old.spec.clusterIPs;
    spec.ipFamilies ??= old.spec.ipFamilies;
    spec.ipFamilyPolicy ??= old.spec.ipFamilyPolicy;
  }
  const available = cidrsByFamily(ctx).map((p) => p.family);
  const policy = (spec.ipFamilyPolicy ??= "SingleStack");
  if (policy === "RequireDualStack" && available.length < 2) {
    throw invalid("Service", GR, svc.metadata.name, [
      fieldInvalid("spec.ipFamilyPolicy", policy, "this cluster is not configured for dual-stack services"),
    ]);
  }
  let families: (4 | 6)[] = (spec.ipFamilies ?? []).map((f: string) => (f === "IPv6" ? 6 : 4));
  if (spec.clusterIP && spec.clusterIP !== "None" && families.length === 0) {
    families = [parseIP(spec.clusterIP)?.family ?? available[0]];
  }
  if (families.length === 0) families = [available[0]];
  for (const [i, f] of families.entries()) {
    if (!available.includes(f)) {
      throw invalid("Service", GR, svc.metadata.name, [
        fieldInvalid(`spec.ipFamilies[${i}]`, familyName(f), "not configured on this cluster"),
      ]);
    }
  }
  if (policy !== "SingleStack" && families.length === 1 && available.length > 1) {
    families.push(available.find((f) => f !== families[0])!);
  }
  if (policy === "SingleStack") families = families.slice(0, 1);
  spec.ipFamilies = families.map(familyName);
  if (spec.clusterIP === "None") {
    spec.clusterIPs = ["None"];
    return;
  }
  const used = usedClusterIPs(ctx);
  const mine = new Set<string>(old?.spec?.clusterIPs ?? []);
  const ips: string[] = [];
  for (const [i, f] of families.entries()) {
    const requested: string | undefined = spec.clusterIPs?.[i] ?? (i === 0 ? spec.clusterIP : undefined);
    if (requested) {
      const ip = parseIP(requested);
      const cidr = cidrsByFamily(ctx).find((p) => p.family === f);
      if (!ip || !cidr || !prefixContains(cidr, ip)) {
        throw invalid("Service", GR, svc.metadata.name, [
          fieldInvalid("spec.clusterIPs", [requested], `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${cidr ? `${ctx.options.serviceCIDRs.join(",")}` : "none"}`),
        ]);
      }
      if (used.has(requested) && !mine.has(requested)) {
        throw invalid("Service", GR, svc.metadata.name, [
          fieldInvalid("spec.clusterIPs", [requested], `failed to allocate IP ${requested}: provided IP is already allocated`),
        ]);
      }
      ips.push(requested);
    } else {
      ips.push(allocateIP(ctx, f, used));
    }
  }
  spec.clusterIPs = ips;
  spec.clusterIP = ips[0];
}

function assignNodePorts(svc: KubeObject, ctx: StrategyContext, old?: KubeObject): void {
  const spec = svc.spec;
  if (!needsNodePorts(spec)) {
    // ClusterIP services never keep node ports; a LoadBalancer without
    // allocation keeps the ones the user set.
    if (spec.type !== "LoadBalancer") for (const p of spec.ports ?? []) delete p.nodePort;
    return;
  }
  const used = usedNodePorts(ctx, old);
  const [lo, hi] = ctx.options.nodePortRange;
  for (const p of spec.ports ?? []) {
    if (!p.nodePort && old) {
      const prev = (old.spec.ports ?? []).find((o: KubeObject) => o.port === p.port && (o.protocol ?? "TCP") === p.protocol);
      if (prev?.nodePort) p.nodePort = prev.nodePort;
    }
    if (p.nodePort) {
      used.add(p.nodePort);
      continue;
    }
    for (let n = lo; n <= hi; n++) {
      if (!used.has(n)) {
        p.nodePort = n;
        used.add(n);
        break;
      }
    }
  }
}

export function prepareServiceCreate(svc: KubeObject, ctx: StrategyContext): void {
  applyDefaults(svc);
  svc.status = { loadBalancer: {} };
  assignFamiliesAndIPs(svc, ctx);
  assignNodePorts(svc, ctx);
}

export function prepareServiceUpdate(svc: KubeObject, old: KubeObject, ctx: StrategyContext): void {
  applyDefaults(svc);
  assignFamiliesAndIPs(svc, ctx, old);
  assignNodePorts(svc, ctx, old);
}

export function validateService(svc: KubeObject, old: KubeObject | undefined): FieldError[] {
  const spec = svc.spec ?? {};
  const errs: FieldError[] = [];
  if (!TYPES.includes(spec.type)) errs.push(fieldNotSupported("spec.type", spec.type, TYPES));
  const ports: KubeObject[] = spec.ports ?? [];
  if (ports.length === 0 && spec.type !== "ExternalName" && spec.clusterIP !== "None") {
    errs.push(fieldRequired("spec.ports"));
  }
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const f = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.push(fieldRequired(`${f}.name`));
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      errs.push(fieldInvalid(`${f}.port`, p.port ?? 0, "must be between 1 and 65535, inclusive"));
    }
    if (!PROTOCOLS.includes(p.protocol)) errs.push(fieldNotSupported(`${f}.protocol`, p.protocol, PROTOCOLS));
    if (p.nodePort !== undefined && (p.nodePort < 1 || p.nodePort > 65535)) {
      errs.push(fieldInvalid(`${f}.nodePort`, p.nodePort, "must be between 1 and 65535, inclusive"));
    }
    const key = `${p.port}/${p.protocol}`;
    if (seen.has(key)) errs.push(fieldDuplicate(`${f}`, key));
    seen.add(key);
  });
  if (spec.loadBalancerClass !== undefined && spec.type !== "LoadBalancer") {
    errs.push(fieldInvalid("spec.loadBalancerClass", spec.loadBalancerClass, "may only be used when `type` is 'LoadBalancer'"));
  }
  if (old && old.spec.loadBalancerClass !== undefined && old.spec.type === "LoadBalancer" && spec.type === "LoadBalancer" &&
    spec.loadBalancerClass !== old.spec.loadBalancerClass) {
    errs.push(fieldInvalid("spec.loadBalancerClass", spec.loadBalancerClass ?? null, "may not change once set"));
  }
  for (const [name, allowed] of [["externalTrafficPolicy", ["Cluster", "Local"]], ["internalTrafficPolicy", ["Cluster", "Local"]]] as const) {
    if (spec[name] !== undefined && !allowed.includes(spec[name])) {
      errs.push(fieldNotSupported(`spec.${name}`, spec[name], [...allowed]));
    }
  }
  if (old && old.spec.clusterIP && old.spec.clusterIP !== "None" && spec.clusterIP !== old.spec.clusterIP &&
    spec.type !== "ExternalName" && old.spec.type !== "ExternalName") {
    errs.push(fieldInvalid("spec.clusterIPs[0]", spec.clusterIP, "may not change once set"));
  }
  return errs;
}

export const serviceColumns: PrinterColumn[] = [
  { name: "Name", type: "string", format: "name", jsonPath: ".metadata.name" },
  { name: "Type", type: "string", jsonPath: ".spec.type" },
  { name: "Cluster-IP", type: "string", jsonPath: ".spec.clusterIP" },
  { name: "External-IP", type: "string", jsonPath: "" },
  { name: "Port(s)", type: "string", jsonPath: ".spec.ports" },
  { name: "Age", type: "string", jsonPath: ".metadata.creationTimestamp" },
  { name: "Selector", type: "string", jsonPath: ".spec.selector", priority: 1 },
];

/** kubectl's Service row (pkg/printers/internalversion printService). */
export function serviceCells(svc: KubeObject, now: number): Json[] {
  const spec = svc.spec ?? {};
  const ingress: string[] = (svc.status?.loadBalancer?.ingress ?? []).map((i: KubeObject) => i.ip ?? i.hostname);
  let external = "<none>";
  if (spec.type === "LoadBalancer") {
    const all = [...ingress, ...(spec.externalIPs ?? [])];
    external = all.length ? all.join(",") : "<pending>";
  } else if (spec.type === "ExternalName") external = spec.externalName ?? "<none>";
  else if (spec.externalIPs?.length) external = spec.externalIPs.join(",");
  const ports = (spec.ports ?? [])
    .map((p: KubeObject) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`))
    .join(",") || "<none>";
  const selector = Object.entries(spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(",") || "<none>";
  return [svc.metadata.name, spec.type, spec.clusterIP ?? "<none>", external, ports, age(svc.metadata.creationTimestamp, now), selector];
}
