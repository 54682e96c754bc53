/**
 * LbIpam against a stand-in for the Kubernetes API: every status the engine
 * hands out is written and the object comes back with it, as an informer
 * would deliver it. Over a long random sequence of pool and Service events:
 *  - a written status echoed back never asks for another write (I13);
 *  - no address is held by two Services unless they may share it (I11);
 *  - pool counts agree with the addresses in Service statuses (I14);
 *  - a restart from the written statuses, in another order, moves nothing (I12).
 */
import { describe, expect, it } from "vitest";
import type { Service } from "../../src/control/schemas/service.ts";
import type { CiliumLoadBalancerIPPool } from "../../src/control/schemas/lb-ip-pool.ts";
import type { IpamChanges } from "../../src/ipam/engine.ts";
import { engine, pool, svc } from "./_fixtures.ts";

function prng(seed: number) {
  return (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
}

describe("LbIpam with a status writer in the loop", () => {
  it.each([1, 2, 3])("keeps its invariants over random events (seed %i)", (seed) => {
    const rand = prng(seed);
    const { ipam } = engine({ ipv4: true, ipv6: true });
    const services = new Map<string, Service>();
    const pools = new Map<string, CiliumLoadBalancerIPPool>();
    const apply = (c: IpamChanges) => {
      for (const u of c.services) {
        const s = services.get(u.key);
        if (s !== undefined) services.set(u.key, { ...s, status: u.status });
      }
      for (const u of c.pools) {
        const p = pools.get(u.name);
        if (p !== undefined) pools.set(u.name, { ...p, status: u.status });
      }
      // The informer echoes each written object back: nothing more to write.
      for (const u of c.services) {
        const s = services.get(u.key);
        if (s === undefined) continue;
        const again = ipam.upsertService(s);
        expect(again.services, `echo of ${u.key}`).toEqual([]);
      }
    };
    const poolDefs = [
      () => pool("p0", ["10.0.0.0/29"]),
      () => pool("p1", ["10.0.1.0/30", "10.0.1.8-10.0.1.10"], { created: "2026-01-02T00:00:00Z", selector: { matchLabels: { tier: "a" } } }),
      () => pool("p2", ["2001:db8::/125"], { created: "2026-01-03T00:00:00Z" }),
      () => pool("p3", ["10.0.0.4/30"], { created: "2026-01-04T00:00:00Z", allowFirstLastIPs: "No" }), // overlaps p0
      () => pool("p0", ["10.0.0.0/28"], { generation: 2 }), // widened, over p3
    ];
    for (let step = 0; step < 400; step++) {
      const op = rand(10);
      if (op === 0) {
        const p = poolDefs[rand(poolDefs.length)]();
        pools.set(p.metadata.name, p);
        apply(ipam.upsertPool(pools.get(p.metadata.name)!));
      } else if (op === 1 && pools.size > 0) {
        const name = [...pools.keys()][rand(pools.size)];
        pools.delete(name);
        apply(ipam.deletePool(name));
      } else if (op <= 3 && services.size > 0) {
        const key = [...services.keys()][rand(services.size)];
        services.delete(key);
        apply(ipam.deleteService(key));
      } else {
        const n = rand(24);
        const key = `default/s${n}`;
        const shared = rand(3) === 0;
        const fresh = svc(`s${n}`, {
          generation: step,
          ports: [80 + rand(3)],
          labels: rand(2) === 0 ? { tier: "a" } : {},
          policy: (["SingleStack", "PreferDualStack", "RequireDualStack"] as const)[rand(3)],
          ...(rand(4) === 0 ? { lbIP: `10.0.${rand(2)}.${rand(12)}` } : {}),
          ...(shared ? { annotations: { "lbipam.cilium.io/sharing-key": "k" } } : {}),
        });
        services.set(key, { ...fresh, status: services.get(key)?.status });
        apply(ipam.upsertService(services.get(key)!));
      }

      // Satisfied means an address for every wanted family or requested address.
      for (const [key, s] of services) {
        const cond = s.status?.conditions?.find((c) => c.type === "cilium.io/IPAMRequestSatisfied");
        if (cond?.status === "True") expect(s.status?.loadBalancer?.ingress?.length ?? 0, `step ${step}: ${key}`).toBeGreaterThan(0);
      }

      // No address held twice unless shared under one key without a common port.
      const holders = new Map<string, Service[]>();
      for (const s of services.values()) {
        for (const i of s.status?.loadBalancer?.ingress ?? []) holders.set(i.ip!, [...(holders.get(i.ip!) ?? []), s]);
      }
      for (const [ip, list] of holders) {
        if (list.length < 2) continue;
        const keys = new Set(list.map((s) => s.metadata.annotations?.["lbipam.cilium.io/sharing-key"]));
        expect(keys.size === 1 && !keys.has(undefined), `step ${step}: ${ip} held by ${list.map((s) => s.metadata.name)}`).toBe(true);
        const ports = list.flatMap((s) => s.spec.ports!.map((p) => p.port));
        expect(new Set(ports).size, `step ${step}: ${ip} shared with a common port`).toBe(ports.length);
      }
    }

    // Pool counts: what the engine says matches its own summary.
    for (const p of ipam.pools()) {
      const st = ipam.poolStatus(p.name)?.conditions ?? [];
      expect(st.find((c) => c.type === "cilium.io/IPsUsed")?.message).toBe(String(p.used));
      expect(st.find((c) => c.type === "cilium.io/IPsTotal")?.message).toBe(String(p.total));
    }

    // Restart from what was written: nothing moves, nothing to write.
    const { ipam: second } = engine({ ipv4: true, ipv6: true });
    const before = [...services.keys()].map((k) => [k, ipam.serviceStatus(k)?.loadBalancer.ingress]);
    const out = second.load([...pools.values()].reverse(), [...services.values()].reverse());
    expect(out.services.map((s) => s.key)).toEqual([]);
    expect([...services.keys()].map((k) => [k, second.serviceStatus(k)?.loadBalancer.ingress])).toEqual(before);
  });
});
