import { describe, expect, it } from "vitest";
import { CiliumLoadBalancerIPPool } from "../../src/control/schemas/lb-ip-pool.ts";

const doc = (apiVersion: string, spec: unknown) => ({ apiVersion, kind: "CiliumLoadBalancerIPPool", metadata: { name: "p" }, spec });

describe("CiliumLoadBalancerIPPool schema (spec §7)", () => {
  it.each(["cilium.io/v2", "cilium.io/v2alpha1"])("accepts %s with cidr and start/stop blocks", (v) => {
    const r = CiliumLoadBalancerIPPool.parse(doc(v, {
      blocks: [{ cidr: "10.0.0.0/24" }, { start: "10.0.1.1", stop: "10.0.1.9" }, { start: "10.0.2.1" }, { cidr: "", start: "10.0.3.1" }],
      serviceSelector: { matchLabels: { app: "web" } },
      allowFirstLastIPs: "No",
      disabled: true,
    }));
    expect(r.spec.blocks).toHaveLength(4);
    expect(r.spec.disabled).toBe(true);
  });

  it("accepts serviceSelector null and an empty spec (null selector ⇒ every Service)", () => {
    expect(CiliumLoadBalancerIPPool.parse(doc("cilium.io/v2", { serviceSelector: null })).spec.serviceSelector).toBeNull();
    expect(CiliumLoadBalancerIPPool.parse(doc("cilium.io/v2", {})).spec.blocks).toBeUndefined();
  });

  it("reads status conditions back", () => {
    const r = CiliumLoadBalancerIPPool.parse({
      ...doc("cilium.io/v2", {}),
      status: { conditions: [{ type: "cilium.io/PoolConflict", status: "False", reason: "resolved", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" }] },
    });
    expect(r.status?.conditions?.[0].reason).toBe("resolved");
  });

  it.each([
    [{ blocks: [{ cidr: "10.0.0.0" }] }, "cidr must be an IPv4 or IPv6 prefix"],
    [{ blocks: [{ cidr: "10.0.0.0/40" }] }, "cidr must be an IPv4 or IPv6 prefix"],
    [{ allowFirstLastIPs: "no" }, "allowFirstLastIPs"],
    [{ disabled: "yes" }, "disabled"],
    [{ serviceSelector: { matchExpressions: [{ key: "a", operator: "In" }] } }, "values must be non-empty"],
  ])("refuses %j", (spec, fragment) => {
    const r = CiliumLoadBalancerIPPool.safeParse(doc("cilium.io/v2", spec));
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(fragment);
  });

  it("refuses other API versions", () => {
    expect(CiliumLoadBalancerIPPool.safeParse(doc("cilium.io/v1", {})).success).toBe(false);
  });

  it("leaves start/stop checks to LB-IPAM, as the API server does (I3)", () => {
    expect(CiliumLoadBalancerIPPool.safeParse(doc("cilium.io/v2", { blocks: [{ start: "nope" }] })).success).toBe(true);
  });
});
