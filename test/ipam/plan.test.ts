/** planAllocations(): the offline LB-IPAM result `herald plan` prints. */
import { describe, expect, it } from "vitest";
import { planAllocations } from "../../src/ipam/mod.ts";
import { svc } from "./_fixtures.ts";

const poolDoc = (name: string, spec: unknown, created = "2026-01-01T00:00:00Z") => ({
  apiVersion: "cilium.io/v2alpha1",
  kind: "CiliumLoadBalancerIPPool",
  metadata: { name, creationTimestamp: created },
  spec,
});

describe("planAllocations()", () => {
  it("validates each pool, reports the bad ones and allocates from the rest (I3)", () => {
    const plan = planAllocations(
      [
        poolDoc("good", { blocks: [{ cidr: "10.0.0.0/30" }] }),
        poolDoc("schema", { blocks: [{ cidr: "10.0.1.0" }] }),
        poolDoc("range", { blocks: [{ start: "10.0.2.9", stop: "10.0.2.1" }] }),
        { kind: "CiliumLoadBalancerIPPool", metadata: {} },
        poolDoc("good", { blocks: [{ cidr: "10.0.3.0/30" }] }),
      ],
      [svc("web")],
      { ipv4: true, ipv6: false },
    );
    expect(plan.errors).toEqual([
      `Cannot load CiliumLoadBalancerIPPool "schema": spec.blocks.0.cidr: cidr must be an IPv4 or IPv6 prefix such as "10.0.0.0/24"`,
      expect.stringMatching(/^Cannot load CiliumLoadBalancerIPPool "#3": /),
      `Cannot load CiliumLoadBalancerIPPool "good": a pool of that name was given before`,
      `Cannot use block 0 of CiliumLoadBalancerIPPool "range": start "10.0.2.9" is after stop "10.0.2.1"`,
    ]);
    expect(plan.services).toEqual([
      { namespace: "default", name: "web", ips: ["10.0.0.0"], condition: { status: "True", reason: "satisfied", message: "" } },
    ]);
    expect(plan.pools).toEqual([
      { name: "good", total: 4, available: 3, used: 1, conflict: false },
      { name: "range", total: 0, available: 0, used: 0, conflict: false },
    ]);
  });

  it("starts from the addresses in each Service status (I12) and returns the statuses", () => {
    const plan = planAllocations(
      [poolDoc("a", { blocks: [{ cidr: "10.0.0.0/28" }] })],
      [svc("new"), svc("old", { ingress: ["10.0.0.7"] }), svc("np", { type: "NodePort" }), svc("other", { cls: "example.com/lb", ingress: ["192.0.2.1"] })],
      { ipv4: true, ipv6: false },
    );
    expect(plan.services).toEqual([
      { namespace: "default", name: "new", ips: ["10.0.0.0"], condition: { status: "True", reason: "satisfied", message: "" } },
      { namespace: "default", name: "old", ips: ["10.0.0.7"], condition: { status: "True", reason: "satisfied", message: "" } },
      { namespace: "default", name: "other", ips: ["192.0.2.1"], condition: null },
    ]);
    expect(plan.servicesWithStatus.map((s) => s.status?.loadBalancer?.ingress)).toEqual([
      [{ ip: "10.0.0.0" }],
      [{ ip: "10.0.0.7" }],
      undefined,
      [{ ip: "192.0.2.1" }],
    ]);
    expect(plan.servicesWithStatus[0].status?.conditions?.[0]).toMatchObject({ type: "cilium.io/IPAMRequestSatisfied", status: "True" });
  });

  it("warns about conflicting pools and unparsable requested addresses", () => {
    const plan = planAllocations(
      [poolDoc("a", { blocks: [{ cidr: "10.0.0.0/24" }] }), poolDoc("b", { blocks: [{ cidr: "10.0.0.0/25" }] }, "2026-01-02T00:00:00Z")],
      [svc("s", { annotations: { "lbipam.cilium.io/ips": "10.0.0.5,oops" } })],
      { ipv4: true, ipv6: false },
    );
    expect(plan.pools.map((p) => [p.name, p.conflict])).toEqual([["a", false], ["b", true]]);
    expect(plan.warnings).toEqual([
      `CiliumLoadBalancerIPPool "b" allocates nothing new: range '10.0.0.0 - 10.0.0.127' overlaps range '10.0.0.0 - 10.0.0.255' from IP Pool 'a'`,
      `Service "default/s": Cannot use requested IPs: annotation lbipam.cilium.io/ips entry "oops" is not an IP address`,
    ]);
    expect(plan.services[0].ips).toEqual(["10.0.0.5"]);
  });

  it("reports no condition when there is no pool at all (A3)", () => {
    const plan = planAllocations([], [svc("s")], { ipv4: true, ipv6: false });
    expect(plan.services).toEqual([{ namespace: "default", name: "s", ips: [], condition: null }]);
  });

  it("is reentrant: calls do not share state", async () => {
    const pools = [poolDoc("a", { blocks: [{ cidr: "10.0.0.0/30" }] })];
    const [x, y] = await Promise.all([
      Promise.resolve().then(() => planAllocations(pools, [svc("x1"), svc("x2")], { ipv4: true, ipv6: false })),
      Promise.resolve().then(() => planAllocations(pools, [svc("y1")], { ipv4: true, ipv6: false })),
    ]);
    expect(x.services.map((s) => s.ips)).toEqual([["10.0.0.0"], ["10.0.0.1"]]);
    expect(y.services.map((s) => s.ips)).toEqual([["10.0.0.0"]]);
  });

  it("serves both families on a dual-stack cluster", () => {
    const plan = planAllocations(
      [poolDoc("v4", { blocks: [{ cidr: "10.0.0.0/30" }] }), poolDoc("v6", { blocks: [{ cidr: "2001:db8::/64" }] })],
      [svc("d", { policy: "RequireDualStack" })],
      { ipv4: true, ipv6: true },
    );
    expect(plan.services[0].ips).toEqual(["10.0.0.0", "2001:db8::"]);
    expect(plan.pools[1]).toEqual({ name: "v6", total: 2 ** 64, available: 2 ** 64 - 1, used: 1, conflict: false });
  });
});
