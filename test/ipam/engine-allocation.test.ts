/**
 * LbIpam: allocation order, reasons and messages, families, revalidation,
 * status writes, pool counts and dormancy. Step tables: each step runs on the
 * engine the previous ones left, as in Cilium's service_test.go.
 */
import { describe, expect, it } from "vitest";
import { engine, pool, runSteps, svc } from "./_fixtures.ts";
import type { SvcArgs } from "./_fixtures.ts";

const D = "default/";
const ok = (...ips: string[]) => ({ ips, reason: "satisfied", message: "" });
const MSG = {
  noPool: "There are no enabled CiliumLoadBalancerIPPools that match this service",
  outOfIPs: "All enabled CiliumLoadBalancerIPPools that match this service ran out of allocatable IPs",
};

describe("allocation order (I7)", () => {
  it("tries pools oldest first, then blocks in order, then the next pool", () => {
    const { ipam } = engine();
    runSteps(ipam, [
      {
        name: "a newer pool is added first, an older one second",
        do: (i) => {
          i.upsertPool(pool("late", ["10.0.9.0/31"], { created: "2026-01-02T00:00:00Z" }));
          return i.upsertPool(pool("early", ["10.0.1.0/31", "10.0.0.0/31"], { created: "2026-01-01T00:00:00Z" }));
        },
      },
      ...[1, 2, 3, 4, 5, 6, 7].map((n) => ({ name: `s${n} arrives`, do: (i: typeof ipam) => i.upsertService(svc(`s${n}`)) })),
      {
        name: "early's blocks in spec order, then late, then nothing",
        do: () => ({ services: [], pools: [] }),
        want: {
          [D + "s1"]: ok("10.0.1.0"),
          [D + "s2"]: ok("10.0.1.1"),
          [D + "s3"]: ok("10.0.0.0"),
          [D + "s4"]: ok("10.0.0.1"),
          [D + "s5"]: ok("10.0.9.0"),
          [D + "s6"]: ok("10.0.9.1"),
          [D + "s7"]: { ips: [], reason: "out_of_ips", message: MSG.outOfIPs },
        },
        pools: { early: { total: "4", available: "0", used: "4" }, late: { total: "2", available: "0", used: "2" } },
      },
      {
        name: "deleting s2 frees 10.0.1.1 and the waiting s7 gets it (only s7's status is written)",
        do: (i) => i.deleteService(D + "s2"),
        want: { [D + "s7"]: ok("10.0.1.1"), [D + "s2"]: undefined },
        writes: [D + "s7"],
      },
    ]);
  });

  it("orders pools with the same creationTimestamp by name (herald's tie-break)", () => {
    const { ipam } = engine();
    ipam.upsertPool(pool("b", ["10.0.2.0/32"]));
    ipam.upsertPool(pool("a", ["10.0.1.0/32"]));
    ipam.upsertService(svc("s1"));
    expect(ipam.serviceStatus(D + "s1")?.loadBalancer.ingress).toEqual([{ ip: "10.0.1.0" }]);
  });

  it("takes the first address of the smallest free block: holes are filled smallest first", () => {
    const { ipam } = engine();
    ipam.upsertPool(pool("a", ["10.0.0.0/28"]));
    for (let n = 0; n < 16; n++) ipam.upsertService(svc(`s${n}`));
    runSteps(ipam, [
      { name: "free .5 and .9-.10", do: (i) => (i.deleteService(D + "s5"), i.deleteService(D + "s9"), i.deleteService(D + "s10")) },
      { name: "x1 gets the one-address hole", do: (i) => i.upsertService(svc("x1")), want: { [D + "x1"]: ok("10.0.0.5") } },
      { name: "x2 gets the start of the two-address hole", do: (i) => i.upsertService(svc("x2")), want: { [D + "x2"]: ok("10.0.0.9") } },
      { name: "x3", do: (i) => i.upsertService(svc("x3")), want: { [D + "x3"]: ok("10.0.0.10") } },
      { name: "x4: full", do: (i) => i.upsertService(svc("x4")), want: { [D + "x4"]: { ips: [], reason: "out_of_ips" } } },
    ]);
  });
});

describe("IPAMRequestSatisfied reasons and messages (I9, §9.4)", () => {
  it("reports each reason with Cilium's exact message", () => {
    const { ipam } = engine();
    const web = { labels: { app: "web" } };
    runSteps(ipam, [
      {
        name: "pools: web (selects app=web) and off (disabled)",
        do: (i) => {
          i.upsertPool(pool("web", ["10.0.0.0/30"], { selector: { matchLabels: { app: "web" } } }));
          return i.upsertPool(pool("off", ["10.0.5.0/30"], { disabled: true }));
        },
      },
      {
        name: "no pool selects the Service: no_pool (generic message)",
        do: (i) => i.upsertService(svc("db", { labels: { app: "db" } })),
        want: { [D + "db"]: { ips: [], reason: "no_pool", message: MSG.noPool } },
      },
      { name: "web1 is satisfied", do: (i) => i.upsertService(svc("web1", web)), want: { [D + "web1"]: ok("10.0.0.0") } },
      {
        name: "requested IP outside every pool: no_pool (requested message)",
        do: (i) => i.upsertService(svc("outside", { ...web, lbIP: "192.0.2.1" })),
        want: { [D + "outside"]: { ips: [], reason: "no_pool", message: "No pool exists with a CIDR containing '192.0.2.1'" } },
      },
      {
        name: "requested IP inside a disabled pool: no_pool (I6)",
        do: (i) => i.upsertService(svc("disabled", { ...web, lbIP: "10.0.5.1" })),
        want: { [D + "disabled"]: { ips: [], reason: "no_pool", message: "No pool exists with a CIDR containing '10.0.5.1'" } },
      },
      {
        name: "requested IP in a pool that does not select the Service: pool_selector_mismatch",
        do: (i) => i.upsertService(svc("mismatch", { labels: { app: "db" }, lbIP: "10.0.0.2" })),
        want: {
          [D + "mismatch"]: { ips: [], reason: "pool_selector_mismatch", message: "The pool with the CIDR containing '10.0.0.2', doesn't select this service" },
        },
      },
      {
        name: "requested IP held by another Service, no sharing key: already_allocated",
        do: (i) => i.upsertService(svc("taken", { ...web, lbIP: "10.0.0.0" })),
        want: { [D + "taken"]: { ips: [], reason: "already_allocated", message: "The IP '10.0.0.0' is already allocated to another service" } },
      },
      {
        name: "same with a sharing key the holder does not have: already_allocated_incompatible_service",
        do: (i) => i.upsertService(svc("incompat", { ...web, lbIP: "10.0.0.0", annotations: { "lbipam.cilium.io/sharing-key": "k" } })),
        want: {
          [D + "incompat"]: {
            ips: [],
            reason: "already_allocated_incompatible_service",
            message: "The IP '10.0.0.0' is already allocated to an incompatible service. Reason: different sharing key",
          },
        },
      },
      {
        name: "several requested IPs failing: the condition names the last one",
        do: (i) => i.upsertService(svc("two", { annotations: { "lbipam.cilium.io/ips": "192.0.2.7, 192.0.2.9" } })),
        want: { [D + "two"]: { ips: [], reason: "no_pool", message: "No pool exists with a CIDR containing '192.0.2.9'" } },
      },
      { name: "web2..web4 take .1 .2 .3", do: (i) => (i.upsertService(svc("web2", web)), i.upsertService(svc("web3", web)), i.upsertService(svc("web4", web))) },
      {
        name: "the pool is full: out_of_ips",
        do: (i) => i.upsertService(svc("web5", web)),
        want: {
          [D + "web2"]: ok("10.0.0.1"),
          [D + "web4"]: ok("10.0.0.3"),
          [D + "web5"]: { ips: [], reason: "out_of_ips", message: MSG.outOfIPs },
        },
        pools: { web: { total: "4", available: "0", used: "4" }, off: { total: "4", available: "4", used: "0" } },
      },
      {
        name: "web1 leaves: the first Service waiting for 10.0.0.0 gets it; the others stay as they were",
        do: (i) => i.deleteService(D + "web1"),
        want: {
          [D + "taken"]: ok("10.0.0.0"),
          [D + "incompat"]: { ips: [], reason: "already_allocated_incompatible_service" },
          [D + "web5"]: { ips: [], reason: "out_of_ips" },
        },
        writes: [D + "taken"],
      },
    ]);
  });

  it("names the last failing entry in request order, repeated entries included (I9)", () => {
    // Cilium walks spec.loadBalancerIP then the annotation, collapsing only
    // adjacent duplicates: [10.9.9.9, 10.0.0.5, 10.9.9.9] fails last on 10.9.9.9.
    const { ipam } = engine();
    runSteps(ipam, [
      { name: "pool", do: (i) => i.upsertPool(pool("p", ["10.0.0.0/29"])) },
      { name: "h holds 10.0.0.5", do: (i) => i.upsertService(svc("h", { lbIP: "10.0.0.5" })), want: { [D + "h"]: ok("10.0.0.5") } },
      {
        name: "s requests 10.9.9.9 (no pool), 10.0.0.5 (taken), 10.9.9.9 again",
        do: (i) => i.upsertService(svc("s", { lbIP: "10.9.9.9", annotations: { "lbipam.cilium.io/ips": "10.0.0.5, 10.9.9.9" } })),
        want: { [D + "s"]: { ips: [], reason: "no_pool", message: "No pool exists with a CIDR containing '10.9.9.9'" } },
      },
    ]);
  });

  it("keeps lastTransitionTime unless the status flips, and sets observedGeneration to the Service generation (I13)", () => {
    const { ipam, clock } = engine();
    ipam.upsertPool(pool("a", ["10.0.0.0/30"]));
    let current = ipam.upsertService(svc("s1", { generation: 1 })).services[0].status;
    const cond = () => ipam.serviceStatus(D + "s1")?.conditions?.find((c) => c.type === "cilium.io/IPAMRequestSatisfied");
    const withStatus = (a: SvcArgs) => ({ ...svc("s1", a), status: current });
    runSteps(ipam, [
      { name: "the same object again: nothing to write", do: (i) => i.upsertService(withStatus({ generation: 1 })), writes: [] },
      {
        name: "generation 2, still satisfied: rewritten for observedGeneration only",
        do: (i) => (clock.tick(), i.upsertService(withStatus({ generation: 2, labels: { x: "y" } }))),
        writes: [D + "s1"],
        check: (ch) => {
          current = ch.services[0].status;
          expect(cond()).toMatchObject({ status: "True", observedGeneration: 2, lastTransitionTime: "2026-01-01T00:00:00Z" });
        },
      },
      {
        name: "requests an address no pool has: False, new lastTransitionTime, old address released",
        do: (i) => (clock.tick(), i.upsertService(withStatus({ generation: 3, lbIP: "192.0.2.1" }))),
        want: { [D + "s1"]: { ips: [], reason: "no_pool" } },
        pools: { a: { available: "4" } },
        check: (ch) => {
          current = ch.services[0].status;
          expect(cond()).toMatchObject({ status: "False", observedGeneration: 3, lastTransitionTime: "2026-01-01T00:00:02Z" });
        },
      },
      {
        name: "another unreachable address: message changes, lastTransitionTime does not",
        do: (i) => (clock.tick(), i.upsertService(withStatus({ generation: 4, lbIP: "192.0.2.2" }))),
        check: () => {
          expect(cond()).toMatchObject({
            status: "False",
            message: "No pool exists with a CIDR containing '192.0.2.2'",
            lastTransitionTime: "2026-01-01T00:00:02Z",
          });
        },
      },
    ]);
  });

  it("keeps other controllers' conditions and ingress fields it does not own", () => {
    const { ipam } = engine();
    ipam.upsertPool(pool("a", ["10.0.0.0/30"]));
    const foreign = { type: "example.com/Ready", status: "True", reason: "Fine", message: "ok", lastTransitionTime: "2025-01-01T00:00:00Z" };
    const s = svc("s1", { conditions: [foreign] });
    const out = ipam.upsertService(s).services[0].status;
    expect(out.conditions?.map((c) => c.type)).toEqual(["example.com/Ready", "cilium.io/IPAMRequestSatisfied"]);
    expect(out.conditions?.[0]).toEqual(foreign);
  });
});

describe("responsibility and dormancy (I1, I2, A3)", () => {
  it("clears the status of a Service it stops serving even when the update predates its own write (I2)", () => {
    // The class changes before the informer has shown LB-IPAM's write: the
    // object still has no status, but the address write will land. Cilium
    // patches the cleared status from its own copy in any case.
    const { ipam } = engine();
    ipam.upsertPool(pool("a", ["10.0.0.0/30"]));
    expect(ipam.upsertService(svc("s1")).services[0].status.loadBalancer.ingress).toEqual([{ ip: "10.0.0.0" }]);
    const out = ipam.upsertService(svc("s1", { cls: "example.com/lb" }));
    expect(out.services.map((u) => [u.key, u.status])).toEqual([[D + "s1", { loadBalancer: {} }]]);
  });


  it("waits for the first pool, releases Services it stops serving, and sleeps after the last pool", () => {
    const { ipam } = engine();
    const foreign = { type: "example.com/Ready", status: "True", reason: "Fine", message: "", lastTransitionTime: "2025-01-01T00:00:00Z" };
    let s1Status: unknown;
    runSteps(ipam, [
      {
        name: "no pool yet: LB-IPAM touches no Service (A3)",
        do: (i) => (i.upsertService(svc("s1")), i.upsertService(svc("other", { cls: "example.com/lb" }))),
        writes: [],
        want: { [D + "s1"]: undefined },
        check: (_c, i) => expect(i.dormant).toBe(true),
      },
      {
        name: "the first pool wakes it: known Services are served, other classes are not (I1)",
        do: (i) => i.upsertPool(pool("a", ["10.0.0.0/30"])),
        writes: [D + "s1"],
        want: { [D + "s1"]: ok("10.0.0.0"), [D + "other"]: undefined },
        check: (c) => (s1Status = c.services[0].status),
      },
      {
        name: "s1 moves to another class: all ingress and LB-IPAM's condition go, other conditions stay (I2)",
        do: (i) =>
          i.upsertService({
            ...svc("s1", { cls: "example.com/lb" }),
            status: { ...(s1Status as object), conditions: [...((s1Status as { conditions: unknown[] }).conditions), foreign] } as never,
          }),
        writes: [D + "s1"],
        want: { [D + "s1"]: undefined },
        pools: { a: { used: "0" } },
        check: (c) => expect(c.services[0].status).toEqual({ loadBalancer: {}, conditions: [foreign] }),
      },
      { name: "back to no class: served again", do: (i) => i.upsertService(svc("s1")), want: { [D + "s1"]: ok("10.0.0.0") } },
      { name: "a NodePort Service is ignored", do: (i) => i.upsertService(svc("np", { type: "NodePort" })), writes: [], want: { [D + "np"]: undefined } },
      {
        name: "the last pool goes: its deletion is processed (no_pool), then LB-IPAM sleeps",
        do: (i) => i.deletePool("a"),
        writes: [D + "s1"],
        check: (c, i) => {
          expect(c.services[0].status.loadBalancer).toEqual({});
          expect(c.services[0].status.conditions?.[0]).toMatchObject({ reason: "no_pool", message: MSG.noPool });
          expect(i.dormant).toBe(true);
        },
      },
      { name: "asleep: a new Service is not touched", do: (i) => i.upsertService(svc("s3")), writes: [] },
      {
        name: "a new pool wakes it again: everyone is served",
        do: (i) => i.upsertPool(pool("b", ["10.0.1.0/30"])),
        writes: [D + "s1", D + "s3"],
        want: { [D + "s1"]: ok("10.0.1.0"), [D + "s3"]: ok("10.0.1.1") },
      },
    ]);
  });
});

describe("families (I8, J2)", () => {
  it("gives one address per requested family on a dual-stack cluster", () => {
    const { ipam } = engine({ ipv4: true, ipv6: true });
    runSteps(ipam, [
      { name: "v4 and v6 pools", do: (i) => (i.upsertPool(pool("v4", ["10.0.0.0/30"])), i.upsertPool(pool("v6", ["2001:db8::/126"]))) },
      { name: "PreferDualStack: both", do: (i) => i.upsertService(svc("d1", { policy: "PreferDualStack" })), want: { [D + "d1"]: ok("10.0.0.0", "2001:db8::") } },
      { name: "SingleStack IPv6", do: (i) => i.upsertService(svc("s6", { policy: "SingleStack", families: ["IPv6"] })), want: { [D + "s6"]: ok("2001:db8::1") } },
      {
        name: "d1 becomes single-stack IPv4: the IPv6 address is released (I10)",
        do: (i) => i.upsertService(svc("d1", { policy: "SingleStack", families: ["IPv4"] })),
        want: { [D + "d1"]: ok("10.0.0.0") },
        pools: { v6: { used: "1" } },
      },
      {
        name: "requested addresses of both families, whatever the family policy (I9)",
        do: (i) => i.upsertService(svc("req", { annotations: { "lbipam.cilium.io/ips": "10.0.0.3,2001:db8::3" } })),
        want: { [D + "req"]: ok("10.0.0.3", "2001:db8::3") },
      },
    ]);
  });

  it("asks RequireDualStack for the enabled family only on a single-stack cluster (J2)", () => {
    const { ipam } = engine({ ipv4: true, ipv6: false });
    ipam.upsertPool(pool("v4", ["10.0.0.0/30"]));
    ipam.upsertPool(pool("v6", ["2001:db8::/126"]));
    runSteps(ipam, [
      { name: "RequireDualStack", do: (i) => i.upsertService(svc("r", { policy: "RequireDualStack" })), want: { [D + "r"]: ok("10.0.0.0") } },
    ]);
  });

  it("keeps the address it got when the other family has no pool, and reports no_pool", () => {
    const { ipam } = engine({ ipv4: true, ipv6: true });
    ipam.upsertPool(pool("v4", ["10.0.0.0/30"]));
    runSteps(ipam, [
      {
        name: "PreferDualStack without an IPv6 pool",
        do: (i) => i.upsertService(svc("d", { policy: "PreferDualStack" })),
        want: { [D + "d"]: { ips: ["10.0.0.0"], reason: "no_pool", message: MSG.noPool } },
      },
      {
        name: "an IPv6 pool appears: the second family is filled",
        do: (i) => i.upsertPool(pool("v6", ["2001:db8::/126"])),
        want: { [D + "d"]: ok("10.0.0.0", "2001:db8::") },
      },
    ]);
  });
});

describe("revalidation (I10)", () => {
  it("drops addresses the pool or the Service no longer allows, then satisfies again", () => {
    const { ipam } = engine();
    runSteps(ipam, [
      {
        name: "pools: web (app=web, older) and any",
        do: (i) => (
          i.upsertPool(pool("web", ["10.0.0.0/30"], { selector: { matchLabels: { app: "web" } } })),
            i.upsertPool(pool("any", ["10.0.1.0/30"], { created: "2026-01-02T00:00:00Z" }))
        ),
      },
      { name: "s1 app=web", do: (i) => i.upsertService(svc("s1", { labels: { app: "web" } })), want: { [D + "s1"]: ok("10.0.0.0") } },
      {
        name: "s1 relabelled: web no longer selects it, it moves to any",
        do: (i) => i.upsertService(svc("s1", { labels: { app: "db" } })),
        want: { [D + "s1"]: ok("10.0.1.0") },
        pools: { web: { used: "0" } },
      },
      {
        name: "s1 requests 10.0.1.3: the unrequested address goes",
        do: (i) => i.upsertService(svc("s1", { labels: { app: "db" }, lbIP: "10.0.1.3" })),
        want: { [D + "s1"]: ok("10.0.1.3") },
        pools: { any: { used: "1" } },
      },
      {
        name: "the request is removed: the address stays (its family is still wanted)",
        do: (i) => i.upsertService(svc("s1", { labels: { app: "db" } })),
        want: { [D + "s1"]: ok("10.0.1.3") },
      },
    ]);
  });
});

describe("reserved first and last addresses (I4, I9 quirk, I14)", () => {
  it("counts reserved addresses as used and lets a sharing key request them", () => {
    const { ipam } = engine();
    const no = (blocks: string[]) => pool("p", blocks, { allowFirstLastIPs: "No" });
    runSteps(ipam, [
      { name: "/30 with allowFirstLastIPs: No", do: (i) => i.upsertPool(no(["10.0.0.0/30"])), pools: { p: { total: "4", available: "2", used: "2" } } },
      { name: "s1 gets the first allocatable address", do: (i) => i.upsertService(svc("s1")), want: { [D + "s1"]: ok("10.0.0.1") } },
      {
        name: "requesting the reserved network address without a key: already_allocated",
        do: (i) => i.upsertService(svc("s2", { lbIP: "10.0.0.0" })),
        want: { [D + "s2"]: { ips: [], reason: "already_allocated", message: "The IP '10.0.0.0' is already allocated to another service" } },
      },
      {
        name: "requesting the reserved broadcast address with a sharing key succeeds (Cilium quirk)",
        do: (i) => i.upsertService(svc("s3", { lbIP: "10.0.0.3", annotations: { "lbipam.cilium.io/sharing-key": "k" } })),
        want: { [D + "s3"]: ok("10.0.0.3") },
        pools: { p: { available: "1", used: "3" } },
      },
      {
        name: "s3 leaves: 10.0.0.3 stays reserved (herald; Cilium would free it for anyone)",
        do: (i) => i.deleteService(D + "s3"),
        pools: { p: { available: "1", used: "3" } },
      },
      {
        name: "allowFirstLastIPs flips to Yes: both are freed and the waiting s2 gets 10.0.0.0",
        do: (i) => i.upsertPool(pool("p", ["10.0.0.0/30"], { generation: 2 })),
        want: { [D + "s2"]: ok("10.0.0.0") },
        pools: { p: { available: "2", used: "2" } },
      },
      {
        name: "back to No: 10.0.0.3 is reserved again, s2 keeps 10.0.0.0 (never revoked)",
        do: (i) => i.upsertPool(pool("p", ["10.0.0.0/30"], { generation: 3, allowFirstLastIPs: "No" })),
        want: { [D + "s2"]: ok("10.0.0.0") },
        pools: { p: { available: "1", used: "3" } },
      },
    ]);
  });

  it("refuses a reserved address even with a sharing key when the quirk is turned off", () => {
    const { ipam } = engine({ reservedSharingQuirk: false });
    ipam.upsertPool(pool("p", ["10.0.0.0/30"], { allowFirstLastIPs: "No" }));
    runSteps(ipam, [{
      name: "request the reserved address with a key",
      do: (i) => i.upsertService(svc("s", { lbIP: "10.0.0.0", annotations: { "lbipam.cilium.io/sharing-key": "k" } })),
      want: { [D + "s"]: { ips: [], reason: "already_allocated" } },
    }]);
  });
});
