import { describe, expect, it } from "vitest";
import { type AttrSet, AttrSetTable, encodeForSession } from "../../src/bgp/attr-set.ts";
import { type FamilyCode, IPV4_UNICAST, IPV6_UNICAST } from "../../src/bgp/families.ts";
import { AdjRibOut, type FamilyEncoder } from "../../src/bgp/rib-out.ts";
import { decodeUpdate, type DecodedUpdate, keyFromText, keyToText } from "../../src/bgp/wire/mod.ts";

const table = new AttrSetTable();
const A = table.intern({});
const B = table.intern({ communities: [0xfde90001] });
const NH6 = Uint8Array.of(0xfd, 0, ...new Array(13).fill(0), 1);
const scratch = new Uint8Array(65536);
const enc: FamilyEncoder = {
  attributes: (f: FamilyCode, a: AttrSet) => encodeForSession(a, { ebgp: true, localAsn: 65001, as4: true, nextHopV4: "192.0.2.1" }, f === IPV4_UNICAST, scratch),
  mpNextHop: (f: FamilyCode) => (f === IPV6_UNICAST ? NH6 : null),
};

const v4 = (n: number, len = 24) => Array.from({ length: n }, (_, i) => keyFromText(`10.${(i >> 8) & 255}.${i & 255}.0/${len}`)!);
const v6 = (n: number) => Array.from({ length: n }, (_, i) => keyFromText(`fd00:${i.toString(16)}::/64`)!);

/** Every UPDATE next() produces, decoded. */
function drain(rib: AdjRibOut, max = 4096): Array<DecodedUpdate & { size: number }> {
  const out: Array<DecodedUpdate & { size: number }> = [];
  const buf = new Uint8Array(max);
  let n: number;
  while ((n = rib.next(buf, 0, max, enc)) > 0) {
    expect(n).toBeLessThanOrEqual(max);
    out.push({ ...decodeUpdate(buf, 19, n, { as4: true, ebgp: true }), size: n });
  }
  return out;
}
const nlriCounts = (us: DecodedUpdate[]) => us.map((u) => u.nlri.length + (u.attrs.mpReach?.nlri.length ?? 0));

describe("AdjRibOut packing", () => {
  it("packs 5000 /24s sharing one attribute set into the fewest 4096-byte UPDATEs, then End-of-RIB", () => {
    const rib = new AdjRibOut();
    rib.announce(IPV4_UNICAST, v4(5000), A, 0);
    rib.activate([IPV4_UNICAST]);
    const us = drain(rib);
    // 4096 - 23 header/lengths - 20 attribute bytes = 4053 bytes = 1013 prefixes of 4 bytes
    expect(nlriCounts(us)).toEqual([1013, 1013, 1013, 1013, 948, 0]);
    expect(us.at(-1)!.endOfRib).toBe(IPV4_UNICAST);
    expect(us[0].size).toBe(4095); // one byte short of 4096: no room for a fifth byte
    expect(us.every((u) => u.action === "none")).toBe(true);
  });

  it("puts prefixes of different attribute sets in different UPDATEs", () => {
    const rib = new AdjRibOut();
    const keys = v4(10);
    rib.announce(IPV4_UNICAST, keys.filter((_, i) => i % 2 === 0), A, 0);
    rib.announce(IPV4_UNICAST, keys.filter((_, i) => i % 2 === 1), B, 0);
    rib.activate([IPV4_UNICAST]);
    const us = drain(rib);
    expect(nlriCounts(us)).toEqual([5, 5, 0]);
    expect(us[0].attrs.communities).toBeUndefined();
    expect(us[1].attrs.communities).toEqual([0xfde90001]);
  });

  it("fills 65535-byte UPDATEs with extended messages (RFC 8654)", () => {
    const rib = new AdjRibOut();
    rib.announce(IPV4_UNICAST, v4(40000), A, 0);
    rib.activate([IPV4_UNICAST]);
    // 65535 - 43 = 65492 bytes = 16373 prefixes
    expect(nlriCounts(drain(rib, 65535))).toEqual([16373, 16373, 7254, 0]);
  });

  it("packs IPv6 into MP_REACH_NLRI with the next hop, attributes after it", () => {
    const rib = new AdjRibOut();
    rib.announce(IPV6_UNICAST, v6(1000), A, 0);
    rib.activate([IPV6_UNICAST]);
    const us = drain(rib);
    // 4096 - 23 - MP_REACH header 25 (flags/type/len 4, afi/safi 3, nh len 1, nh 16, reserved 1) - 13 attribute bytes = 4035 = 448 × 9
    expect(nlriCounts(us)).toEqual([448, 448, 104, 0]);
    expect(us[0].attrs.mpReach?.nextHop).toBe("fd00::1");
    expect(us[0].attrs.asPath).toEqual([{ type: 2, asns: [65001] }]);
    expect(us.at(-1)!.endOfRib).toBe(IPV6_UNICAST);
  });

  it("packs withdraws: the IPv4 Withdrawn Routes field and MP_UNREACH_NLRI", () => {
    const rib = new AdjRibOut();
    rib.announce(IPV4_UNICAST, v4(2000), A, 0);
    rib.announce(IPV6_UNICAST, v6(600), A, 0);
    rib.activate([IPV4_UNICAST, IPV6_UNICAST]);
    drain(rib);
    rib.withdraw(IPV4_UNICAST, v4(2000));
    rib.withdraw(IPV6_UNICAST, v6(600));
    const us = drain(rib);
    // IPv4: 4096 - 23 = 4073 bytes = 1018 prefixes; IPv6: 4096 - 23 - 7 = 4066 bytes = 451 prefixes
    expect(us.map((u) => u.withdrawn.length + (u.attrs.mpUnreach?.withdrawn.length ?? 0))).toEqual([1018, 982, 451, 149]);
    expect(rib.routes(IPV4_UNICAST).size).toBe(0);
  });
});

describe("AdjRibOut changes", () => {
  it("queues nothing while inactive and sends everything on activation", () => {
    const rib = new AdjRibOut();
    let work = 0;
    rib.onWork = () => work++;
    rib.announce(IPV4_UNICAST, v4(3), A, 0);
    expect(work).toBe(0);
    expect(rib.hasWork()).toBe(false);
    rib.activate([IPV4_UNICAST, IPV6_UNICAST]);
    expect(work).toBe(1);
    expect(nlriCounts(drain(rib))).toEqual([3, 0, 0]); // routes, End-of-RIB IPv4, End-of-RIB IPv6
  });

  it("sends only what changed, proportional to the change", () => {
    const rib = new AdjRibOut();
    const keys = v4(100_000);
    rib.announce(IPV4_UNICAST, keys, A, 0);
    rib.activate([IPV4_UNICAST]);
    drain(rib);
    expect(rib.announce(IPV4_UNICAST, [keys[7]], A, 1)).toBe(0); // unchanged: nothing
    expect(rib.hasWork()).toBe(false);
    expect(rib.announce(IPV4_UNICAST, [keys[7], keys[9]], B, 1)).toBe(2);
    const us = drain(rib);
    expect(us.map((u) => u.nlri.map((k) => keyToText(k, 4)))).toEqual([["10.0.7.0/24", "10.0.9.0/24"]]);
    expect(us[0].attrs.communities).toEqual([0xfde90001]);
  });

  it("a withdraw and a re-announce before sending send only the announcement", () => {
    const rib = new AdjRibOut();
    const [x] = v4(1);
    rib.announce(IPV4_UNICAST, [x], A, 0);
    rib.activate([IPV4_UNICAST]);
    drain(rib);
    rib.withdraw(IPV4_UNICAST, [x]);
    rib.announce(IPV4_UNICAST, [x], B, 1);
    const us = drain(rib);
    expect(us.map((u) => [u.withdrawn.length, u.nlri.length])).toEqual([[0, 1]]);
  });

  it("skips queued announcements that were superseded before they were written", () => {
    const rib = new AdjRibOut();
    const keys = v4(3000);
    rib.announce(IPV4_UNICAST, keys, A, 0);
    rib.activate([IPV4_UNICAST]);
    const buf = new Uint8Array(4096);
    expect(rib.next(buf, 0, 4096, enc)).toBeGreaterThan(0); // first 1013 written
    rib.withdraw(IPV4_UNICAST, keys.slice(2000)); // some not yet written
    rib.announce(IPV4_UNICAST, keys.slice(1500, 1600), B, 1);
    const us = drain(rib);
    const announcedA = us.filter((u) => !u.attrs.communities).reduce((n, u) => n + u.nlri.length, 0);
    const announcedB = us.filter((u) => u.attrs.communities).reduce((n, u) => n + u.nlri.length, 0);
    expect(announcedA).toBe(2000 - 1013 - 100);
    expect(announcedB).toBe(100);
    expect(us.reduce((n, u) => n + u.withdrawn.length, 0)).toBe(1000);
  });

  it("keeps routes across a session going down and re-sends them all on the next activation", () => {
    const rib = new AdjRibOut();
    rib.announce(IPV4_UNICAST, v4(10), A, 0);
    rib.activate([IPV4_UNICAST]);
    drain(rib);
    rib.deactivate();
    rib.withdraw(IPV4_UNICAST, v4(2));
    expect(rib.hasWork()).toBe(false);
    rib.activate([IPV4_UNICAST]);
    expect(nlriCounts(drain(rib))).toEqual([8, 0]);
  });

  it("re-queues a whole family on refresh (RFC 2918), without a second End-of-RIB", () => {
    const rib = new AdjRibOut();
    rib.announce(IPV4_UNICAST, v4(10), A, 0);
    rib.activate([IPV4_UNICAST]);
    drain(rib);
    rib.refresh(IPV4_UNICAST);
    expect(nlriCounts(drain(rib))).toEqual([10]);
  });

  it("replace() announces and withdraws the difference", () => {
    const rib = new AdjRibOut();
    const keys = v4(4);
    rib.announce(IPV4_UNICAST, keys.slice(0, 3), A, 0);
    rib.activate([IPV4_UNICAST]);
    drain(rib);
    expect(rib.replace(IPV4_UNICAST, [[keys[1], A], [keys[2], B], [keys[3], A]], 2)).toEqual({ announced: 2, withdrawn: 1 });
    const us = drain(rib);
    expect(us.map((u) => [u.withdrawn.length, u.nlri.length, u.attrs.communities?.length ?? 0])).toEqual([[1, 0, 0], [0, 1, 1], [0, 1, 0]]);
    expect(us.reduce((n, u) => n + u.withdrawn.length, 0)).toBe(1);
    expect(us.reduce((n, u) => n + u.nlri.length, 0)).toBe(2);
    expect([...rib.routes(IPV4_UNICAST).keys()].map((k) => keyToText(k, 4))).toEqual(["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]);
  });

  it("keeps the age of prefixes re-announced with the same set", () => {
    const rib = new AdjRibOut();
    const [x, y] = v4(2);
    rib.announce(IPV4_UNICAST, [x], A, 100);
    rib.announce(IPV4_UNICAST, [x, y], A, 200);
    expect(rib.routes(IPV4_UNICAST).get(x)!.since).toBe(100);
    expect(rib.routes(IPV4_UNICAST).get(y)!.since).toBe(200);
  });
});
