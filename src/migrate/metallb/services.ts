/**
 * Service annotations: MetalLB's (both the `metallb.universe.tf/` and the
 * newer `metallb.io/` spelling) → Cilium LB-IPAM's.
 *
 * | MetalLB                     | Cilium / herald                                      |
 * |-----------------------------|------------------------------------------------------|
 * | `…/loadBalancerIPs`         | `lbipam.cilium.io/ips`                               |
 * | `…/allow-shared-ip`         | `lbipam.cilium.io/sharing-key` (+ `sharing-cross-namespace` when the key spans namespaces) |
 * | `…/address-pool`            | label `migrate.herald.io/pool=<pool>` (pools.ts)     |
 * | `…/ip-allocated-from-pool`  | removed (MetalLB's own status note)                  |
 *
 * A Service that asks for an address of an `autoAssign: false` pool, or whose
 * current address could be claimed by more than one converted pool, is also
 * labelled with its pool, so LB-IPAM and the advertisements treat it exactly
 * as MetalLB did.
 */
import { selectorMatches, serviceLabels } from "../../control/selector.ts";
import type { Service } from "../../control/schemas/service.ts";
import { applyable, type OutputDocument, shellQuote } from "../emit.ts";
import { POOL_LABEL } from "../names.ts";
import { rangeContains } from "../ranges.ts";
import type { Findings } from "../report.ts";
import type { InputService } from "./model.ts";
import type { PoolPlan } from "./pools.ts";

const PREFIXES = ["metallb.universe.tf/", "metallb.io/"];
export const IPS = "lbipam.cilium.io/ips";
export const SHARING_KEY = "lbipam.cilium.io/sharing-key";
export const SHARING_NS = "lbipam.cilium.io/sharing-cross-namespace";
const CILIUM_CLASSES = new Set(["io.cilium/bgp-control-plane", "io.cilium/l2-announcer"]);

export interface ServicePatch {
  readonly input: InputService;
  readonly remove: string[];
  readonly set: Record<string, string>;
  readonly labels: Record<string, string>;
  /** The Service as it is after the patch (status kept), for the checks. */
  readonly patched: Service;
}

function metallbAnnotation(ann: Record<string, string>, name: string): { key: string; value: string } | null {
  for (const p of PREFIXES) if (Object.hasOwn(ann, p + name)) return { key: p + name, value: ann[p + name] };
  return null;
}

export function planServices(services: readonly InputService[], plans: readonly PoolPlan[], findings: Findings): ServicePatch[] {
  const patches: ServicePatch[] = [];
  const poolOfIP = (ip: string) => plans.find((p) => p.pool.ranges.some((r) => rangeContains(r, ip)));
  for (const input of services) {
    const svc = input.svc;
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const where = { location: input.src.doc.location, object: `Service ${key}` };
    const ann = svc.metadata.annotations ?? {};
    const remove: string[] = [];
    const set: Record<string, string> = {};
    const labels: Record<string, string> = {};
    for (const p of PREFIXES) for (const k of Object.keys(ann)) if (k.startsWith(p)) remove.push(k);
    if (svc.spec.type !== "LoadBalancer") {
      if (remove.length) findings.add("note", `has MetalLB annotations but is not of type LoadBalancer: they are removed`, where);
    } else {
      const cls = svc.spec.loadBalancerClass;
      if (cls !== undefined && !CILIUM_CLASSES.has(cls)) {
        findings.add("gap", `loadBalancerClass "${cls}": Cilium's LB-IPAM and BGP ignore Services of other classes (I1, E13); the field is immutable, so recreate the Service without a class (or with io.cilium/bgp-control-plane)`, where);
      }
      const ips = metallbAnnotation(ann, "loadBalancerIPs");
      if (ips) set[IPS] = ips.value.split(",").map((s) => s.trim()).filter(Boolean).join(",");
      const share = metallbAnnotation(ann, "allow-shared-ip");
      if (share) set[SHARING_KEY] = share.value;
      const pool = metallbAnnotation(ann, "address-pool");
      if (pool) {
        if (plans.some((p) => p.pool.name === pool.value)) labels[POOL_LABEL] = pool.value;
        else findings.add("gap", `${pool.key}: pool "${pool.value}" is not in the input; no label written`, where);
      }
      const requested = [...(ips ? set[IPS].split(",") : []), ...(svc.spec.loadBalancerIP ? [svc.spec.loadBalancerIP] : [])];
      const requestedPools = new Set(requested.map(poolOfIP).filter((p) => p !== undefined).map((p) => p!.pool.name));
      if (requestedPools.size > 1) findings.add("gap", `requests addresses from pools ${[...requestedPools].join(", ")}: Cilium needs every requested address to be in a pool that selects the Service`, where);
      if (!labels[POOL_LABEL] && requestedPools.size === 1) {
        const p = plans.find((x) => x.pool.name === [...requestedPools][0])!;
        if (!p.pool.autoAssign || plans.length > 1) labels[POOL_LABEL] = p.pool.name;
      }
      if (!labels[POOL_LABEL]) {
        // The pool it has an address from today, if more than one pool could claim it.
        const held = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
        const home = held.map(poolOfIP).find((p) => p !== undefined);
        const l = serviceLabels(svc.metadata.labels, svc.metadata.name, svc.metadata.namespace);
        const claim = plans.filter((p) => p.selector === null || selectorMatches(p.selector, l));
        if (home && claim.length > 1) {
          labels[POOL_LABEL] = home.pool.name;
          findings.add("note", `labelled ${POOL_LABEL}=${home.pool.name}: it holds ${held.join(", ")} from that pool and ${claim.length} converted pools could serve it`, where);
        }
      }
    }
    if (remove.length === 0 && Object.keys(set).length === 0 && Object.keys(labels).length === 0) continue;
    const annotations = { ...ann };
    for (const k of remove) delete annotations[k];
    Object.assign(annotations, set);
    const patched: Service = { ...svc, metadata: { ...svc.metadata, annotations, labels: { ...svc.metadata.labels, ...labels } } };
    patches.push({ input, remove, set, labels, patched });
  }
  crossNamespaceSharing(patches, findings);
  return patches;
}

/** MetalLB shares across namespaces; Cilium only with sharing-cross-namespace on both sides (I11). */
function crossNamespaceSharing(patches: readonly ServicePatch[], findings: Findings): void {
  const byKey = new Map<string, ServicePatch[]>();
  for (const p of patches) {
    const k = p.set[SHARING_KEY];
    if (k !== undefined) byKey.set(k, [...(byKey.get(k) ?? []), p]);
  }
  for (const [key, group] of byKey) {
    const namespaces = new Set(group.map((p) => p.patched.metadata.namespace));
    if (namespaces.size > 1) {
      for (const p of group) {
        const others = [...namespaces].filter((n) => n !== p.patched.metadata.namespace).sort().join(",");
        p.set[SHARING_NS] = others;
        p.patched.metadata.annotations![SHARING_NS] = others;
      }
      findings.add("note", `sharing key "${key}" spans namespaces ${[...namespaces].sort().join(", ")}: ${SHARING_NS} added so Cilium shares across them as MetalLB did`);
    }
    const ports = new Map<number, Set<string>>();
    for (const p of group) {
      for (const port of p.patched.spec.ports ?? []) {
        const set = ports.get(port.port) ?? new Set<string>();
        set.add(port.protocol);
        ports.set(port.port, set);
      }
    }
    for (const [port, protocols] of ports) {
      if (protocols.size > 1) {
        findings.add("gap", `sharing key "${key}": port ${port} is used with ${[...protocols].sort().join(" and ")}; MetalLB shares such Services, Cilium's LB-IPAM (before protocol differentiation) refuses "same port" and gives one of them another address`);
      }
    }
  }
}

export function serviceDocuments(patches: readonly ServicePatch[]): OutputDocument[] {
  return patches.map((p) => {
    const raw = applyable(p.input.raw) as { metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } };
    const ann = { ...raw.metadata.annotations };
    for (const k of p.remove) delete ann[k];
    Object.assign(ann, p.set);
    raw.metadata.annotations = ann;
    if (Object.keys(p.labels).length) raw.metadata.labels = { ...raw.metadata.labels, ...p.labels };
    if (Object.keys(raw.metadata.annotations).length === 0) delete raw.metadata.annotations;
    return { group: "services" as const, comment: [`${p.input.src.who}: MetalLB annotations rewritten for Cilium LB-IPAM`], value: raw as unknown as Record<string, unknown> };
  });
}

/** The same changes as kubectl commands. */
export function kubectlCommands(patches: readonly ServicePatch[]): string[] {
  const out: string[] = [];
  for (const p of patches) {
    const { namespace, name } = p.patched.metadata;
    const target = `-n ${shellQuote(namespace)} service ${shellQuote(name)}`;
    const args = [...p.remove.filter((k) => !(k in p.set)).map((k) => `${k}-`), ...Object.entries(p.set).map(([k, v]) => `${k}=${v}`)];
    if (args.length) out.push(`kubectl annotate --overwrite ${target} ${args.map(shellQuote).join(" ")}`);
    const labels = Object.entries(p.labels).map(([k, v]) => `${k}=${v}`);
    if (labels.length) out.push(`kubectl label --overwrite ${target} ${labels.map(shellQuote).join(" ")}`);
  }
  return out;
}
