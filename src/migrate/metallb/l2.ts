/**
 * L2Advertisement → CiliumL2AnnouncementPolicy (cilium.io/v2alpha1): one
 * policy per advertised pool (its serviceSelector is the pool's) and per node
 * selector (MetalLB ORs its list; several Cilium policies add up the same way).
 * Interface names become anchored regular expressions, as Cilium matches
 * `interfaces` as regexes.
 */
import type { LabelSelector } from "../../control/schemas/meta.ts";
import type { OutputDocument } from "../emit.ts";
import { andSelectors } from "../label-space.ts";
import { dnsName, NameSet } from "../names.ts";
import type { Findings } from "../report.ts";
import { EXCLUDE_LB_LABEL } from "./bgp.ts";
import type { MetalLBModel } from "./model.ts";
import type { PoolPlan } from "./pools.ts";

const regexQuote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function convertL2(model: MetalLBModel, plans: readonly PoolPlan[], ignoreExcludeLB: boolean, findings: Findings): OutputDocument[] {
  const out: OutputDocument[] = [];
  const names = new NameSet();
  const exclude: LabelSelector | null = ignoreExcludeLB ? null : { matchExpressions: [{ key: EXCLUDE_LB_LABEL, operator: "DoesNotExist" }] };
  for (const a of model.l2Adverts) {
    const sels: Array<LabelSelector | null> = a.nodeSelectors.length ? [...a.nodeSelectors] : [null];
    for (const plan of plans.filter((p) => a.pools.includes(p.pool.name) && p.cilium.length > 0)) {
      sels.forEach((sel) => {
        const nodeSelector = andSelectors(sel, exclude);
        if (nodeSelector === null) return;
        const spec: Record<string, unknown> = {};
        if (nodeSelector.selector) spec.nodeSelector = nodeSelector.selector;
        if (plan.selector) spec.serviceSelector = plan.selector;
        if (a.interfaces.length) spec.interfaces = a.interfaces.map((i) => `^${regexQuote(i)}$`);
        spec.loadBalancerIPs = true;
        out.push({
          group: "cilium",
          comment: [`from ${a.src.who} (${a.src.doc.file}:${a.src.doc.locate(a.src.base).line}), pool ${plan.pool.name}`],
          value: { apiVersion: "cilium.io/v2alpha1", kind: "CiliumL2AnnouncementPolicy", metadata: { name: names.take(dnsName(a.name, plan.pool.name)) }, spec },
        });
      });
    }
  }
  if (out.length) {
    findings.add("action", "CiliumL2AnnouncementPolicy needs Cilium with l2announcements.enabled=true (and its kube-proxy replacement); herald itself does not announce on layer 2: keep MetalLB's L2 speakers or run Cilium for these pools");
  }
  return out;
}
