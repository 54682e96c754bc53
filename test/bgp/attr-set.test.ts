import { describe, expect, it } from "vitest";
import { AttrSetTable, encodeForSession } from "../../src/bgp/attr-set.ts";
import { renderAttributes } from "../../src/bgp/render.ts";
import { splitAttribute } from "../../src/bgp/render.ts";

/** Splits encoded attribute bytes into attributes and renders them. */
function render(bytes: Uint8Array, as4 = true): string {
  const attrs: Uint8Array[] = [];
  for (let p = 0; p < bytes.length;) {
    const ext = (bytes[p] & 0x10) !== 0;
    const len = ext ? (bytes[p + 2] << 8) | bytes[p + 3] : bytes[p + 2];
    const n = (ext ? 4 : 3) + len;
    expect(splitAttribute(bytes.subarray(p, p + n))).not.toBeNull();
    attrs.push(bytes.slice(p, p + n));
    p += n;
  }
  return renderAttributes(attrs, { as4 });
}

describe("AttrSetTable.intern()", () => {
  it("returns one object per distinct attribute set", () => {
    const t = new AttrSetTable();
    const a = t.intern({ communities: [1, 2], largeCommunities: [[1, 2, 3]] });
    expect(t.intern({ origin: "igp", communities: [1, 2], largeCommunities: [[1, 2, 3]] })).toBe(a);
    expect(t.intern(a)).toBe(a);
    expect(t.intern({ communities: [2, 1] })).not.toBe(a); // order is kept: it is part of the set
    expect(Object.isFrozen(a)).toBe(true);
    expect(new AttrSetTable().intern(a)).toBe(a); // a set from another table is adopted as it is
  });

  it.each([
    [{ origin: "bogus" }, /origin must be "igp", "egp" or "incomplete"/],
    [{ med: -1 }, /med must be a 32-bit unsigned integer/],
    [{ localPref: 2 ** 32 }, /localPref must be a 32-bit unsigned integer/],
    [{ communities: [1.5] }, /community must be a 32-bit unsigned integer/],
    [{ largeCommunities: [[1, 2]] }, /large community must be three 32-bit unsigned integers/],
  ])("refuses %o", (a, msg) => {
    expect(() => new AttrSetTable().intern(a as never)).toThrow(msg);
  });
});

describe("encodeForSession()", () => {
  const set = new AttrSetTable().intern({ origin: "incomplete", med: 5, localPref: 300, communities: [0xfde80063], largeCommunities: [[65000, 1, 2]] });

  it("eBGP: prepends the local AS, NEXT_HOP, MED, no LOCAL_PREF", () => {
    expect(render(encodeForSession(set, { ebgp: true, localAsn: 65001, as4: true, nextHopV4: "10.0.0.1" }, true, new Uint8Array(4096)))).toBe(
      "[{Origin: ?} {AsPath: 65001} {Nexthop: 10.0.0.1} {Med: 5} {Communities: 65000:99} {LargeCommunity: [ 65000:1:2]}]",
    );
  });

  it("iBGP: empty AS_PATH and LOCAL_PREF", () => {
    expect(render(encodeForSession(set, { ebgp: false, localAsn: 65001, as4: true, nextHopV4: "10.0.0.1" }, true, new Uint8Array(4096)))).toBe(
      "[{Origin: ?} {AsPath: } {Nexthop: 10.0.0.1} {Med: 5} {LocalPref: 300} {Communities: 65000:99} {LargeCommunity: [ 65000:1:2]}]",
    );
  });

  it("a 4-octet AS towards a 2-octet peer: AS_TRANS and AS4_PATH", () => {
    expect(render(encodeForSession(set, { ebgp: true, localAsn: 4200000001, as4: false }, false, new Uint8Array(4096)), false)).toBe(
      "[{Origin: ?} {AsPath: 23456} {Med: 5} {Communities: 65000:99} {As4Path: 4200000001} {LargeCommunity: [ 65000:1:2]}]",
    );
  });
});
