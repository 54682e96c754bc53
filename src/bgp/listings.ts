/**
 * RIB listings for the API and CLI, as generators (a million routes are
 * streamed, not collected): Adj-RIB-Out as sent, loc-rib (locally
 * originated paths, Cilium's "available" routes) and Adj-RIB-In. Each path
 * carries its attributes in wire form (Cilium's BgpPath base64s them) and
 * the NextHop column value.
 */
import { advertisedAttributes, type AttrSet, localPathAttributes } from "./attr-set.ts";
import { Afi, type FamilyCode, familyAfi, formatFamily, IPV4_UNICAST } from "./families.ts";
import { nextHopOf } from "./render.ts";
import type { Session } from "./session.ts";
import type { RouteEntry } from "./status.ts";
import { mpReach } from "./wire/attrs/mod.ts";
import { writeAttribute } from "./wire/attrs/_codec.ts";
import { keyToBytes, keyToText, type PrefixKey } from "./wire/nlri.ts";

const ipVersion = (f: FamilyCode): 4 | 6 => (familyAfi(f) === Afi.IPv6 ? 6 : 4);

function entry(key: PrefixKey, f: FamilyCode, attributes: Uint8Array[], ageMs: number): RouteEntry {
  return { prefix: keyToText(key, ipVersion(f)), family: formatFamily(f), nlri: keyToBytes(key), attributes, nextHop: nextHopOf(attributes), ageMs, best: true, stale: false };
}

/**
 * A peer's Adj-RIB-Out for a family as sent (own AS prepended on eBGP, next
 * hop set, LOCAL_PREF on iBGP); empty while the family is not up.
 */
export function* advertisedRoutes(s: Session, f: FamilyCode, localAsn: number, now: number): Generator<RouteEntry> {
  const neg = s.negotiated;
  if (s.state !== "established" || !neg || !s.ribOut.isActive(f)) return;
  const local = s.connection?.localAddress ?? "";
  const v6local = local.includes(":");
  const nh4 = s.config.nextHop.ipv4 ?? (v6local ? undefined : local);
  const nh6 = s.config.nextHop.ipv6 ?? (v6local ? local : `::ffff:${local}`);
  const viaMp = f !== IPV4_UNICAST || (neg.extendedNextHop.includes(IPV4_UNICAST) && !s.config.nextHop.ipv4);
  // The API always shows 4-octet AS numbers (as GoBGP's API does).
  const enc = { ebgp: neg.ebgp, localAsn, as4: true, nextHopV4: nh4 };
  const mp = viaMp ? { family: f, nextHop: nh6 } : null;
  const cache = new Map<AttrSet, Uint8Array[]>();
  for (const [key, b] of s.ribOut.routes(f)) {
    let attributes: Uint8Array[];
    if (mp) attributes = advertisedAttributes(b.attrs, enc, f, mp, key);
    else {
      let c = cache.get(b.attrs);
      if (!c) cache.set(b.attrs, c = advertisedAttributes(b.attrs, enc, f, null, key));
      attributes = c;
    }
    yield entry(key, f, attributes, now - b.since);
  }
}

/**
 * Locally originated paths of an instance (loc-rib): every prefix announced
 * to any of its peers, once, with ORIGIN and an unresolved next hop
 * (0.0.0.0 / ::), as Cilium's GoBGP holds them before export policies.
 */
export function* locRibRoutes(sessions: Iterable<Session>, f: FamilyCode, now: number): Generator<RouteEntry> {
  const seen = new Set<PrefixKey>();
  for (const s of sessions) {
    for (const [key, b] of s.ribOut.routes(f)) {
      if (seen.has(key)) continue;
      seen.add(key);
      yield entry(key, f, localPathAttributes(b.attrs, f, key), now - b.since);
    }
  }
}

/** What a peer announced (Adj-RIB-In), never installed. */
export function* receivedRoutes(s: Session, f: FamilyCode, now: number): Generator<RouteEntry> {
  const scratch = new Uint8Array(4096);
  for (const [key, p] of s.ribIn.routes(f)) {
    const attributes = [...p.raw];
    const r = p.attrs.mpReach;
    if (r) attributes.push(scratch.slice(0, writeAttribute(mpReach, { ...r, nlri: [key], opaqueNlri: undefined }, scratch, 0, { as4: true })));
    attributes.sort((a, b) => a[1] - b[1]);
    yield entry(key, f, attributes, now - p.since);
  }
}
