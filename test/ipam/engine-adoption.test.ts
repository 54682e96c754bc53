/**
 * LbIpam adoption (I12): addresses already in a Service's status are kept,
 * so that a restart (or a leader change) never moves an address.
 */
import { describe, expect, it } from "vitest";
import type { Service } from "../../src/control/schemas/service.ts";
import { serviceKey } from "../../src/control/schemas/service.ts";
import type { CiliumLoadBalancerIPPool } from "../../src/control/schemas/lb-ip-pool.ts";
import type { LbIpam } from "../../src/ipam/engine.ts";
import { engine, pool, runSteps, state, svc } from "./_fixtures.ts";

const D = "default/";
const ok = (...ips: string[]) => ({ ips, reason: "satisfied", message: "" });
const KEY = "lbipam.cilium.io/sharing-key";

/** Services and pools as a cluster would return them after `ipam` wrote their statuses. */
function withStatus(ipam: LbIpam, services: Service[], pools: CiliumLoadBalancerIPPool[]) {
  return {
    services: services.map((s) => ({ ...s, status: ipam.serviceStatus(serviceKey(s)) ?? s.status })) as Service[],
    pools: pools.map((p) => ({ ...p, status: ipam.poolStatus(p.metadata.name) })) as CiliumLoadBalancerIPPool[],
  };
}

describe("restart adoption (I12)", () => {
  it("gives every Service the same addresses after a restart, in any order, and writes nothing", () => {
    const first = engine({ ipv4: true, ipv6: true }).ipam;
    const pools = [
      pool("a", ["10.0.0.0/28"]),
      pool("b", ["10.0.1.0/28"], { selector: { matchLabels: { app: "b" } }, created: "2026-01-02T00:00:00Z" }),
      pool("v6", ["2001:db8::/64"]),
    ];
    const services = [
      svc("s1"),
      svc("s2", { labels: { app: "b" } }),
      svc("dual", { policy: "PreferDualStack" }),
      svc("req", { lbIP: "10.0.0.9" }),
      svc("sh1", { ports: [80], annotations: { [KEY]: "k" } }),
      svc("sh2", { ports: [443], annotations: { [KEY]: "k" } }),
      svc("s3"),
    ];
    first.load(pools, []);
    for (const s of services) first.upsertService(s);
    first.deleteService(D + "s1"); // a hole at 10.0.0.0
    const before = Object.fromEntries(services.slice(1).map((s) => [serviceKey(s), state(first, serviceKey(s))]));
    expect(before[D + "sh2"]?.ips).toEqual(before[D + "sh1"]?.ips);

    const cluster = withStatus(first, services.slice(1), pools);
    const second = engine({ ipv4: true, ipv6: true }).ipam;
    const changes = second.load(cluster.pools, [...cluster.services].reverse());
    expect(changes).toEqual({ services: [], pools: [] });
    for (const [key, want] of Object.entries(before)) expect(state(second, key), key).toEqual(want);

    // The hole is still the next address handed out, and nobody collides.
    second.upsertService(svc("new"));
    expect(state(second, D + "new")?.ips).toEqual(["10.0.0.0"]);
  });

  it("adopts every status before allocating, so a new Service listed first cannot take an adopted address", () => {
    const { ipam } = engine();
    ipam.load([pool("a", ["10.0.0.0/30"])], [svc("fresh"), svc("old", { ingress: ["10.0.0.0"] })]);
    expect(state(ipam, D + "old")?.ips).toEqual(["10.0.0.0"]);
    expect(state(ipam, D + "fresh")?.ips).toEqual(["10.0.0.1"]);
  });

  it("keeps what it may keep and drops the rest", () => {
    const { ipam } = engine({ ipv4: true, ipv6: false });
    runSteps(ipam, [
      {
        name: "pools: a, off (disabled), sel (app=x only)",
        do: (i) => (
          i.upsertPool(pool("a", ["10.0.0.0/28"])),
            i.upsertPool(pool("off", ["10.0.5.0/30"], { disabled: true })),
            i.upsertPool(pool("sel", ["10.0.6.0/30"], { selector: { matchLabels: { app: "x" } } }))
        ),
      },
      {
        name: "hostname-only entries go, adjacent duplicates collapse",
        do: (i) => i.upsertService(svc("dup", { ingress: [{ hostname: "lb.example" }, "10.0.0.3", "10.0.0.3"] })),
        want: { [D + "dup"]: ok("10.0.0.3") },
      },
      {
        name: "an address outside every pool is dropped and a new one allocated",
        do: (i) => i.upsertService(svc("outside", { ingress: ["192.0.2.1"] })),
        want: { [D + "outside"]: ok("10.0.0.0") },
      },
      {
        name: "an address of a family the Service does not ask for is dropped",
        do: (i) => i.upsertService(svc("v6", { ingress: ["2001:db8::1", "10.0.0.4"] })),
        want: { [D + "v6"]: ok("10.0.0.4") },
      },
      {
        name: "an address held by another Service (no sharing) is dropped; a new one is allocated",
        do: (i) => i.upsertService(svc("clash", { ingress: ["10.0.0.3"] })),
        want: { [D + "clash"]: ok("10.0.0.1"), [D + "dup"]: ok("10.0.0.3") },
      },
      {
        name: "an address in a pool that does not select the Service is dropped",
        do: (i) => i.upsertService(svc("notsel", { ingress: ["10.0.6.1"] })),
        want: { [D + "notsel"]: ok("10.0.0.2") },
      },
      {
        name: "an address not among the requested ones is dropped; the requested one is allocated",
        do: (i) => i.upsertService(svc("req", { lbIP: "10.0.0.8", ingress: ["10.0.0.7"] })),
        want: { [D + "req"]: ok("10.0.0.8") },
      },
      {
        name: "an address in a disabled pool is kept (herald: existing allocations stay, I6; Cilium re-imports only from enabled pools)",
        do: (i) => i.upsertService(svc("kept", { ingress: ["10.0.5.2"] })),
        want: { [D + "kept"]: ok("10.0.5.2") },
        pools: { off: { used: "1" } },
      },
      {
        name: "an unparsable entry is dropped",
        do: (i) => i.upsertService(svc("junk", { ingress: ["not-an-ip", "10.0.0.12"] })),
        want: { [D + "junk"]: ok("10.0.0.12") },
      },
    ]);
  });

  it("adopts an address shared by several Services for each of them", () => {
    const { ipam } = engine();
    const a = svc("a", { ports: [80], annotations: { [KEY]: "k" }, ingress: ["10.0.0.5"] });
    const b = svc("b", { ports: [81], annotations: { [KEY]: "k" }, ingress: ["10.0.0.5"] });
    // Another address of the same key exists too: b must keep 10.0.0.5, not take the key's first address.
    const c = svc("c", { ports: [80], annotations: { [KEY]: "k" }, ingress: ["10.0.0.2"] });
    ipam.load([pool("p", ["10.0.0.0/28"])], [c, a, b]);
    expect([state(ipam, D + "a")?.ips, state(ipam, D + "b")?.ips, state(ipam, D + "c")?.ips]).toEqual([["10.0.0.5"], ["10.0.0.5"], ["10.0.0.2"]]);
  });

  it("keeps a first/last address held when allowFirstLastIPs became No, and one requested through the quirk, across a restart (I4, I12)", () => {
    const first = engine().ipam;
    const open = pool("p", ["10.0.0.0/29"]);
    const closed = pool("p", ["10.0.0.0/29"], { allowFirstLastIPs: "No", generation: 2 });
    const services = [svc("held"), svc("quirk", { ports: [443], lbIP: "10.0.0.7", annotations: { [KEY]: "k" } })];
    first.upsertPool(open);
    first.upsertService(services[0]); // 10.0.0.0, not reserved yet
    first.upsertPool(closed); // reserving never revokes (I4)
    first.upsertService(services[1]); // a reserved address with a sharing key (I9 quirk)
    const before = { held: state(first, D + "held"), quirk: state(first, D + "quirk") };
    expect(before.held?.ips).toEqual(["10.0.0.0"]);
    expect(before.quirk?.ips).toEqual(["10.0.0.7"]);

    const cluster = withStatus(first, services, [closed]);
    const second = engine().ipam;
    expect(second.load(cluster.pools, cluster.services)).toEqual({ services: [], pools: [] });
    expect({ held: state(second, D + "held"), quirk: state(second, D + "quirk") }).toEqual(before);
    // Still reserved: nobody else gets them.
    second.upsertService(svc("new"));
    expect(state(second, D + "new")?.ips).toEqual(["10.0.0.1"]);
  });

  it("adopts a requested address of a family the Service does not otherwise ask for: with requested IPs, families do not count (I9, I12)", () => {
    const first = engine({ ipv4: true, ipv6: true }).ipam;
    const pools = [pool("v6", ["2001:db8::/126"]), pool("v4", ["10.0.0.0/29"])];
    // IPv4 single-stack, asking for an IPv6 address; IPv6-only, asking for an IPv4 one.
    const services = [
      svc("s6", { annotations: { "lbipam.cilium.io/ips": "2001:db8::" } }),
      svc("s4", { families: ["IPv6"], lbIP: "10.0.0.0" }),
    ];
    first.load(pools, services);
    expect([state(first, D + "s6")?.ips, state(first, D + "s4")?.ips]).toEqual([["2001:db8::"], ["10.0.0.0"]]);
    // v4 is disabled now: s4 keeps what it holds (I6).
    const disabled = pool("v4", ["10.0.0.0/29"], { disabled: true, generation: 2 });
    first.upsertPool(disabled);
    expect(state(first, D + "s4")?.ips).toEqual(["10.0.0.0"]);

    // Restart, with a new IPv6 Service listed first: nobody moves, nothing is written.
    const cluster = withStatus(first, services, [pools[0], disabled]);
    const second = engine({ ipv4: true, ipv6: true }).ipam;
    const changes = second.load(cluster.pools, [svc("new", { families: ["IPv6"] }), ...cluster.services]);
    expect(changes.services.map((s) => s.key)).toEqual([D + "new"]);
    expect([state(second, D + "s6"), state(second, D + "s4")]).toEqual([state(first, D + "s6"), state(first, D + "s4")]);
    expect(state(second, D + "new")?.ips).toEqual(["2001:db8::1"]);
  });

  it("lets go of an address the status no longer shows when it shows another of that family, so nothing leaks (I12, I14)", () => {
    const { ipam } = engine();
    ipam.upsertPool(pool("p", ["10.0.0.0/29"]));
    ipam.upsertService(svc("s"));
    expect(state(ipam, D + "s")?.ips).toEqual(["10.0.0.0"]);
    // Someone rewrites the status to another address of the pool: it is adopted
    // (as Cilium does) and the old one is free again, as after a restart.
    const rewritten = { ...svc("s"), status: { ...ipam.serviceStatus(D + "s"), loadBalancer: { ingress: [{ ip: "10.0.0.5" }] } } };
    expect(ipam.upsertService(rewritten).services).toEqual([]);
    expect(state(ipam, D + "s")?.ips).toEqual(["10.0.0.5"]);
    expect(ipam.poolStatus("p")?.conditions?.find((c) => c.type === "cilium.io/IPsUsed")?.message).toBe("1");
    ipam.upsertService(svc("t", { lbIP: "10.0.0.0" }));
    expect(state(ipam, D + "t")?.ips).toEqual(["10.0.0.0"]);
    // A status that lost the address and shows nothing else of its family gets it back.
    // The same when the new status repeats an address (only adjacent repeats collapse).
    const repeated = { ...svc("s"), status: { ...ipam.serviceStatus(D + "s"), loadBalancer: { ingress: ["10.0.0.6", "10.0.0.7", "10.0.0.6"].map((ip) => ({ ip })) } } };
    ipam.upsertService(repeated);
    expect(state(ipam, D + "s")?.ips).toEqual(["10.0.0.6", "10.0.0.7", "10.0.0.6"]);
    expect(ipam.poolStatus("p")?.conditions?.find((c) => c.type === "cilium.io/IPsUsed")?.message).toBe("3");
    const emptied = { ...svc("s"), status: { ...ipam.serviceStatus(D + "s"), loadBalancer: {} } };
    expect(ipam.upsertService(emptied).services[0]?.status.loadBalancer.ingress).toEqual([{ ip: "10.0.0.6" }, { ip: "10.0.0.7" }]);
  });

  it("serves a start-up first come, first served, as if the Services had come one by one (I11)", () => {
    // w waits for an address of key k; h brings one. w, listed before late,
    // must get it before late, which clashes with w on port 53.
    const pools = [pool("p", ["10.0.0.0/32"]), pool("q", ["10.0.0.9/32"], { selector: { matchLabels: { app: "h" } } })];
    const services = [
      svc("s0"),
      svc("w", { ports: [53], annotations: { [KEY]: "k" } }),
      svc("h", { ports: [80], labels: { app: "h" }, annotations: { [KEY]: "k" } }),
      svc("late", { ports: [53], annotations: { [KEY]: "k" } }),
    ];
    const one = engine().ipam;
    one.load(pools, []);
    for (const s of services) one.upsertService(s);
    expect(state(one, D + "w")?.ips).toEqual(["10.0.0.9"]);
    expect(state(one, D + "late")?.cond?.reason).toBe("out_of_ips");
    const all = engine().ipam;
    all.load(pools, services);
    for (const s of services) expect(state(all, serviceKey(s)), serviceKey(s)).toEqual(state(one, serviceKey(s)));
  });

  it("adopts from the Service status on a plain update too (another controller's address in a pool)", () => {
    const { ipam } = engine();
    ipam.upsertPool(pool("a", ["10.0.0.0/28"]));
    const out = ipam.upsertService(svc("s", { ingress: ["10.0.0.9"] }));
    expect(out.services[0].status.loadBalancer.ingress).toEqual([{ ip: "10.0.0.9" }]);
    expect(ipam.poolStatus("a")?.conditions?.find((c) => c.type === "cilium.io/IPsUsed")?.message).toBe("1");
  });
});
