/**
 * LbIpam pool events: edits (I15), disabling (I6), conflicts (I5) and bad
 * input (I3). Step tables, each step on the engine the previous ones left.
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import { engine, pool, runSteps, svc } from "./_fixtures.ts";

const D = "default/";
const ok = (...ips: string[]) => ({ ips, reason: "satisfied", message: "" });
const full = { ips: [], reason: "out_of_ips" };
const noPool = { ips: [], reason: "no_pool", message: "There are no enabled CiliumLoadBalancerIPPools that match this service" };

describe("pool edits (I15, I6)", () => {
  it("widens, shrinks, disables and deletes pools without moving addresses that stay valid", () => {
    const { ipam } = engine();
    runSteps(ipam, [
      { name: "pool a /30", do: (i) => i.upsertPool(pool("a", ["10.0.0.0/30"])) },
      ...[1, 2, 3, 4, 5].map((n) => ({ name: `s${n}`, do: (i: typeof ipam) => i.upsertService(svc(`s${n}`)) })),
      {
        name: "full: s5 waits",
        do: () => ({ services: [], pools: [] }),
        want: { [D + "s1"]: ok("10.0.0.0"), [D + "s4"]: ok("10.0.0.3"), [D + "s5"]: full },
      },
      {
        name: "widened to /29: satisfied Services re-adopt the same addresses first, then s5 gets a new one",
        do: (i) => i.upsertPool(pool("a", ["10.0.0.0/29"], { generation: 2 })),
        want: { [D + "s1"]: ok("10.0.0.0"), [D + "s2"]: ok("10.0.0.1"), [D + "s3"]: ok("10.0.0.2"), [D + "s4"]: ok("10.0.0.3"), [D + "s5"]: ok("10.0.0.4") },
        writes: [D + "s5"],
        pools: { a: { total: "8", available: "3", used: "5" } },
      },
      {
        name: "shrunk to /31: addresses outside it are stripped; nothing is left for them",
        do: (i) => i.upsertPool(pool("a", ["10.0.0.0/31"], { generation: 3 })),
        want: { [D + "s1"]: ok("10.0.0.0"), [D + "s2"]: ok("10.0.0.1"), [D + "s3"]: full, [D + "s4"]: full, [D + "s5"]: full },
        writes: [D + "s3", D + "s4", D + "s5"],
        pools: { a: { total: "2", available: "0", used: "2" } },
      },
      {
        name: "a second pool: the waiting Services get addresses, in the order they started waiting",
        do: (i) => i.upsertPool(pool("b", ["10.0.1.0/30"], { created: "2026-01-02T00:00:00Z" })),
        want: { [D + "s3"]: ok("10.0.1.0"), [D + "s4"]: ok("10.0.1.1"), [D + "s5"]: ok("10.0.1.2") },
      },
      {
        name: "a disabled: existing allocations stay (I6)",
        do: (i) => i.upsertPool(pool("a", ["10.0.0.0/31"], { generation: 4, disabled: true })),
        want: { [D + "s1"]: ok("10.0.0.0"), [D + "s2"]: ok("10.0.0.1") },
        writes: [],
      },
      { name: "new Services only come from b", do: (i) => i.upsertService(svc("s6")), want: { [D + "s6"]: ok("10.0.1.3") } },
      {
        name: "b deleted: its Services lose their addresses; the only pool left is disabled: no_pool",
        do: (i) => i.deletePool("b"),
        want: { [D + "s3"]: noPool, [D + "s6"]: noPool, [D + "s1"]: ok("10.0.0.0") },
        writes: [D + "s3", D + "s4", D + "s5", D + "s6"],
      },
      {
        name: "a enabled again, but full",
        do: (i) => i.upsertPool(pool("a", ["10.0.0.0/31"], { generation: 5 })),
        want: { [D + "s3"]: full, [D + "s6"]: full },
      },
      {
        name: "a's selector stops selecting s1: s1 loses its address and s3 (first in line) takes it",
        do: (i) => (
          i.upsertService(svc("s1", { labels: { keep: "no" } })),
            i.upsertPool(pool("a", ["10.0.0.0/31"], { generation: 6, selector: { matchExpressions: [{ key: "keep", operator: "DoesNotExist" }] } }))
        ),
        want: { [D + "s1"]: noPool, [D + "s2"]: ok("10.0.0.1"), [D + "s3"]: ok("10.0.0.0") },
      },
      {
        name: "the last pool deleted: everyone is unsatisfied (out_of_ips becomes no_pool) and LB-IPAM sleeps (A3)",
        do: (i) => i.deletePool("a"),
        writes: [D + "s2", D + "s3", D + "s4", D + "s5", D + "s6"],
        check: (c, i) => {
          expect(i.dormant).toBe(true);
          for (const u of c.services) expect(u.status.conditions?.[0]).toMatchObject({ reason: "no_pool", message: noPool.message });
        },
      },
    ]);
  });

  it("re-adopts every address a widened block still holds before any Service of the pool gets a new one (I15)", () => {
    // s1 and d1 hold addresses of a block that goes away; d2 (waiting for
    // IPv6) and s2 hold addresses of the block that is widened. Whoever is
    // looked at first, d2 and s2 keep theirs.
    const { ipam } = engine({ ipv4: true, ipv6: true });
    ipam.upsertPool(pool("a", ["10.0.1.0/31", "10.0.0.0/30", "2001:db8::/128"]));
    ipam.upsertService(svc("s1"));
    ipam.upsertService(svc("d1", { policy: "PreferDualStack" }));
    ipam.upsertService(svc("d2", { policy: "PreferDualStack" }));
    ipam.upsertService(svc("s2"));
    runSteps(ipam, [
      {
        name: "before",
        do: () => ({ services: [], pools: [] }),
        want: {
          [D + "s1"]: ok("10.0.1.0"),
          [D + "d1"]: ok("10.0.1.1", "2001:db8::"),
          [D + "d2"]: { ips: ["10.0.0.0"], reason: "out_of_ips" },
          [D + "s2"]: ok("10.0.0.1"),
        },
      },
      {
        name: "10.0.1.0/31 removed, 10.0.0.0/30 widened to /29",
        do: (i) => i.upsertPool(pool("a", ["10.0.0.0/29", "2001:db8::/128"], { generation: 2 })),
        want: {
          [D + "s1"]: ok("10.0.0.2"),
          [D + "d1"]: ok("2001:db8::", "10.0.0.3"),
          [D + "d2"]: { ips: ["10.0.0.0"], reason: "out_of_ips" },
          [D + "s2"]: ok("10.0.0.1"),
        },
        writes: [D + "s1", D + "d1"],
      },
    ]);
  });

  it("re-adopts the same addresses when a block is rewritten from start/stop to an equal cidr", () => {
    const { ipam } = engine();
    ipam.upsertPool(pool("a", ["10.0.0.0-10.0.0.3"]));
    ipam.upsertService(svc("s1"));
    ipam.upsertService(svc("s2"));
    runSteps(ipam, [{
      name: "same addresses, cidr form",
      do: (i) => i.upsertPool(pool("a", ["10.0.0.0/30"], { generation: 2 })),
      want: { [D + "s1"]: ok("10.0.0.0"), [D + "s2"]: ok("10.0.0.1") },
      writes: [],
    }]);
  });
});

describe("pool conflicts (I5)", () => {
  const T1 = "2026-01-01T01:00:00Z";
  const T2 = "2026-01-01T02:00:00Z";

  it("disables the newer pool of an overlap, reports it, and lifts it when the overlap goes", () => {
    const { ipam } = engine();
    runSteps(ipam, [
      {
        name: "a new pool gets PoolConflict False at once",
        do: (i) => i.upsertPool(pool("a", ["10.0.0.0/24"])),
        pools: { a: { conflict: "False", conflictReason: "resolved", conflictMessage: "" } },
      },
      { name: "s1 from a", do: (i) => i.upsertService(svc("s1")), want: { [D + "s1"]: ok("10.0.0.0") } },
      {
        name: "b overlaps a and is newer: b conflicts",
        do: (i) => i.upsertPool(pool("b", ["10.0.1.0/30", "10.0.0.128/25"], { created: T1 })),
        pools: {
          b: {
            conflict: "True",
            conflictReason: "cidr_overlap",
            conflictMessage: "Pool conflicts since range '10.0.0.128 - 10.0.0.255' overlaps range '10.0.0.0 - 10.0.0.255' from IP Pool 'a'",
          },
          a: { conflict: "False" },
        },
      },
      {
        name: "all of b's ranges stop allocating, even those outside the overlap",
        do: (i) => i.upsertService(svc("s2", { lbIP: "10.0.1.1" })),
        want: { [D + "s2"]: { ips: [], reason: "no_pool", message: "No pool exists with a CIDR containing '10.0.1.1'" } },
      },
      {
        name: "b edited to drop the overlap: resolved, and s2 gets its address",
        do: (i) => i.upsertPool(pool("b", ["10.0.1.0/30"], { created: T1, generation: 2 })),
        want: { [D + "s2"]: ok("10.0.1.1") },
        pools: { b: { conflict: "False", conflictReason: "resolved", conflictMessage: "" } },
      },
      {
        name: "a widened over b (a is older): b conflicts, s2 keeps its address",
        do: (i) => i.upsertPool(pool("a", ["10.0.0.0/23"], { generation: 2 })),
        want: { [D + "s1"]: ok("10.0.0.0"), [D + "s2"]: ok("10.0.1.1") },
        pools: { b: { conflict: "True", conflictMessage: "Pool conflicts since range '10.0.1.0 - 10.0.1.3' overlaps range '10.0.0.0 - 10.0.1.255' from IP Pool 'a'" } },
      },
      {
        name: "a never hands out 10.0.1.1 while b's Service holds it (herald; Cilium's separate allocators would)",
        do: (i) => {
          for (let n = 0; n < 256; n++) i.upsertService(svc(`f${n}`)); // fills 10.0.0.1 … 10.0.1.0
          return i.upsertService(svc("next"));
        },
        want: { [D + "f255"]: ok("10.0.1.0"), [D + "next"]: ok("10.0.1.2") },
      },
      {
        name: "the same for a requested address: s3 asking for 10.0.1.1 finds s2 there",
        do: (i) => i.upsertService(svc("s3", { lbIP: "10.0.1.1" })),
        want: { [D + "s3"]: { ips: [], reason: "already_allocated", message: "The IP '10.0.1.1' is already allocated to another service" } },
      },
      {
        name: "s2 leaves: the address becomes a's to give, and s3 gets it",
        do: (i) => i.deleteService(D + "s2"),
        want: { [D + "s3"]: ok("10.0.1.1") },
      },
    ]);
  });

  it("never hands out an address held through a conflicting pool, even where the older pool reserves it (I4, I5, I11)", () => {
    const { ipam } = engine();
    const KEY = { "lbipam.cilium.io/sharing-key": "k" };
    runSteps(ipam, [
      { name: "b alone: s1 gets 10.0.0.0", do: (i) => (i.upsertPool(pool("b", ["10.0.0.0/30"], { created: T2 })), i.upsertService(svc("s1"))) },
      {
        name: "a (older, allowFirstLastIPs No) over b: b conflicts, s1 keeps 10.0.0.0, which a reserves",
        do: (i) => i.upsertPool(pool("a", ["10.0.0.0/29"], { created: T1, allowFirstLastIPs: "No" })),
        want: { [D + "s1"]: ok("10.0.0.0") },
        pools: { b: { conflict: "True" } },
      },
      {
        name: "a sharing key does not get the reserved address (I9 quirk) while s1 holds it",
        do: (i) => i.upsertService(svc("s2", { lbIP: "10.0.0.0", ports: [443], annotations: KEY })),
        want: {
          [D + "s1"]: ok("10.0.0.0"),
          [D + "s2"]: {
            ips: [],
            reason: "already_allocated_incompatible_service",
            message: "The IP '10.0.0.0' is already allocated to an incompatible service. Reason: different sharing key",
          },
        },
      },
      {
        name: "nor does adopting it from a status (another controller wrote it)",
        do: (i) => i.upsertService(svc("s3", { ports: [443], annotations: KEY, ingress: ["10.0.0.0"] })),
        want: { [D + "s3"]: ok("10.0.0.1") },
      },
      {
        name: "s1 leaves: the address stays reserved in a, and the quirk hands it to s2",
        do: (i) => i.deleteService(D + "s1"),
        want: { [D + "s2"]: ok("10.0.0.0") },
      },
    ]);
  });

  it("marks a pool whose own blocks overlap", () => {
    const { ipam } = engine();
    runSteps(ipam, [{
      name: "self-overlap",
      do: (i) => i.upsertPool(pool("self", ["10.0.0.0/24", "10.0.0.10-10.0.0.20"])),
      pools: { self: { conflict: "True", conflictMessage: "Pool conflicts since range '10.0.0.0 - 10.0.0.255' overlaps range '10.0.0.10 - 10.0.0.20' from IP Pool 'self'" } },
    }, {
      name: "no allocation from it",
      do: (i) => i.upsertService(svc("s")),
      want: { [D + "s"]: noPool },
    }]);
  });

  it("breaks creationTimestamp ties by name: the later name loses (herald's tie-break)", () => {
    const { ipam } = engine();
    ipam.upsertPool(pool("zeta", ["10.0.0.0/24"], { created: T2 }));
    ipam.upsertPool(pool("alpha", ["10.0.0.0/25"], { created: T2 }));
    runSteps(ipam, [{
      name: "same timestamps",
      do: () => ({ services: [], pools: [] }),
      pools: { alpha: { conflict: "False" }, zeta: { conflict: "True", conflictMessage: "Pool conflicts since range '10.0.0.0 - 10.0.0.255' overlaps range '10.0.0.0 - 10.0.0.127' from IP Pool 'alpha'" } },
    }]);
  });

  it("releases the oldest of the pools an older pool kept out when it goes", () => {
    const { ipam } = engine();
    ipam.upsertPool(pool("a", ["10.0.0.0/24"]));
    ipam.upsertPool(pool("b", ["10.0.0.0/25"], { created: T1 }));
    ipam.upsertPool(pool("c", ["10.0.0.64/26"], { created: T2 }));
    runSteps(ipam, [{
      name: "a deleted: b is the oldest now and resolves; c still overlaps b",
      do: (i) => i.deletePool("a"),
      pools: { b: { conflict: "False", conflictReason: "resolved" }, c: { conflict: "True" } },
    }]);
  });
});

describe("bad input (I3)", () => {
  it("fails only the bad pool's update, reports it on the pool and in the log, and keeps the last valid version", () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (l) => lines.push(l), now: () => new Date(0) });
    const { ipam } = engine({ logger });
    runSteps(ipam, [
      {
        name: "a good pool and a pool with a reversed range",
        do: (i) => (
          i.upsertPool(pool("good", ["10.0.0.0/31"])),
            i.upsertPool(pool("bad", ["10.0.1.0/30", "10.0.2.9-10.0.2.1"], { created: "2026-01-02T00:00:00Z" }))
        ),
        pools: {
          bad: { invalid: `Cannot use block 1 of CiliumLoadBalancerIPPool "bad": start "10.0.2.9" is after stop "10.0.2.1"`, total: "0" },
          good: { invalid: undefined, total: "2" },
        },
        check: () => {
          expect(lines.some((l) => l.includes("level=error") && l.includes("pool=bad") && l.includes("subsys=lbipam") && l.includes("is after stop"))).toBe(true);
        },
      },
      { name: "the good pool keeps working", do: (i) => (i.upsertService(svc("s1")), i.upsertService(svc("s2"))), want: { [D + "s2"]: ok("10.0.0.1") } },
      { name: "nothing comes from the bad one", do: (i) => i.upsertService(svc("s3")), want: { [D + "s3"]: full } },
      {
        name: "bad fixed: the condition goes and its range is used",
        do: (i) => i.upsertPool(pool("bad", ["10.0.1.0/30"], { created: "2026-01-02T00:00:00Z", generation: 2 })),
        want: { [D + "s3"]: ok("10.0.1.0") },
        pools: { bad: { invalid: undefined, total: "4" } },
      },
      {
        name: "broken again: the last valid version stays in force",
        do: (i) => (
          i.upsertPool(pool("bad", [{ start: "nope" }], { created: "2026-01-02T00:00:00Z", generation: 3 })), i.upsertService(svc("s4"))
        ),
        want: { [D + "s3"]: ok("10.0.1.0"), [D + "s4"]: ok("10.0.1.1") },
        pools: { bad: { invalid: `Cannot use block 0 of CiliumLoadBalancerIPPool "bad": start "nope" is not an IP address`, total: "4" } },
      },
      {
        name: "a manifest that fails validation is reported the same way (file mode)",
        do: (i) => i.reportInvalidPool("bad", ["spec.disabled: expected boolean"]),
        pools: { bad: { invalid: "spec.disabled: expected boolean" } },
        check: (_c, i) => {
          const c = i.poolStatus("bad")?.conditions?.find((c) => c.type === "herald.io/InvalidSpec");
          expect(c).toMatchObject({ status: "True", reason: "invalid_manifest" });
        },
      },
    ]);
  });

  it("reports unparsable requested IPs on the Service and in the log, and uses the rest", () => {
    const lines: string[] = [];
    const { ipam } = engine({ logger: createLogger({ write: (l) => lines.push(l) }) });
    ipam.upsertPool(pool("a", ["10.0.0.0/30"]));
    const out = ipam.upsertService(svc("s", { annotations: { "lbipam.cilium.io/ips": "10.0.0.2, 10.0.0.999" } }));
    expect(out.services[0].status.loadBalancer.ingress).toEqual([{ ip: "10.0.0.2" }]);
    expect(out.services[0].status.conditions?.find((c) => c.type === "herald.io/InvalidRequest")).toMatchObject({
      status: "True",
      reason: "unparsable_ip",
      message: `Cannot use requested IPs: annotation lbipam.cilium.io/ips entry "10.0.0.999" is not an IP address`,
    });
    expect(lines.filter((l) => l.includes("service=default/s")).length).toBe(1);
    // Fixed: the condition goes.
    const fixed = ipam.upsertService(svc("s", { annotations: { "lbipam.cilium.io/ips": "10.0.0.2" } }));
    expect(fixed.services[0].status.conditions?.map((c) => c.type)).toEqual(["cilium.io/IPAMRequestSatisfied"]);
  });
});
