/**
 * Attribute sets for locally originated routes, interned: every prefix that
 * shares origin, MED, LOCAL_PREF and communities points at one frozen
 * `AttrSet`, so a million /32s cost a million pointers, not a million
 * objects, and update packing can group prefixes by identity.
 *
 * The table holds sets weakly (WeakRef + FinalizationRegistry): a set lives
 * as long as some route or caller uses it, with no per-prefix reference
 * counting on the hot path.
 *
 * `encodeForSession()` turns a set into the attribute bytes one session
 * sends (its own AS prepended on eBGP, LOCAL_PREF only on iBGP, AS4_PATH
 * towards 2-octet peers); sessions cache the result per set.
 */
import { type FamilyCode, IPV4_UNICAST } from "./families.ts";
import {
  AsPathSegmentType,
  type AttrCodec,
  type EncodeContext,
  type LargeCommunity,
  type MpReach,
  Origin,
  writeAttribute,
} from "./wire/attrs/mod.ts";
import { as4Path, asPath, communities, largeCommunities, localPref, med, mpReach, nextHop, origin } from "./wire/attrs/mod.ts";
import { AS_TRANS } from "./wire/open.ts";
import type { PrefixKey } from "./wire/nlri.ts";

export type OriginName = "igp" | "egp" | "incomplete";

/** What the control plane says about a route (Cilium's advertisement attributes plus MED). */
export interface RouteAttributes {
  /** Default "igp" (spec E4). */
  origin?: OriginName;
  /** MULTI_EXIT_DISC; sent to the direct peer only, never propagated further by herald. */
  med?: number;
  /** LOCAL_PREF; transmitted on iBGP sessions only (spec E8). Default 100 there. */
  localPref?: number;
  /** Standard communities as u32 (hi:lo packed), in the order given. */
  communities?: readonly number[];
  largeCommunities?: readonly LargeCommunity[];
}

/** An interned, immutable attribute set. Compare by identity. */
export interface AttrSet {
  readonly key: string;
  readonly origin: number;
  readonly med?: number;
  readonly localPref?: number;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
}

const ORIGINS: Record<OriginName, number> = { igp: Origin.Igp, egp: Origin.Egp, incomplete: Origin.Incomplete };

const isU32 = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

function canonical(a: RouteAttributes): Omit<AttrSet, "key"> & { key: string } {
  const originName = a.origin ?? "igp";
  const o = ORIGINS[originName];
  if (o === undefined) throw new TypeError(`Cannot use route attributes: origin must be "igp", "egp" or "incomplete": current value is "${originName}"`);
  if (a.med !== undefined && !isU32(a.med)) throw new TypeError(`Cannot use route attributes: med must be a 32-bit unsigned integer: current value is "${a.med}"`);
  if (a.localPref !== undefined && !isU32(a.localPref)) {
    throw new TypeError(`Cannot use route attributes: localPref must be a 32-bit unsigned integer: current value is "${a.localPref}"`);
  }
  const comms = [...(a.communities ?? [])];
  for (const c of comms) if (!isU32(c)) throw new TypeError(`Cannot use route attributes: community must be a 32-bit unsigned integer: current value is "${c}"`);
  const large = (a.largeCommunities ?? []).map((l) => {
    if (l.length !== 3 || !l.every(isU32)) throw new TypeError(`Cannot use route attributes: large community must be three 32-bit unsigned integers: current value is "${l.join(":")}"`);
    return Object.freeze([l[0], l[1], l[2]] as const);
  });
  const key = `${o}|${a.med ?? ""}|${a.localPref ?? ""}|${comms.join(",")}|${large.map((l) => l.join(":")).join(",")}`;
  return { key, origin: o, med: a.med, localPref: a.localPref, communities: Object.freeze(comms), largeCommunities: Object.freeze(large) };
}

/** The interning table; one per speaker. */
export class AttrSetTable {
  #sets = new Map<string, WeakRef<AttrSet>>();
  #registry = new FinalizationRegistry<string>((key) => {
    const ref = this.#sets.get(key);
    if (ref && ref.deref() === undefined) this.#sets.delete(key);
  });

  /** The one AttrSet for these attributes (validated; throws TypeError when out of range). */
  intern(a: RouteAttributes | AttrSet): AttrSet {
    const given = isAttrSet(a) ? a : canonical(a as RouteAttributes);
    const existing = this.#sets.get(given.key)?.deref();
    if (existing) return existing;
    const set: AttrSet = isAttrSet(a) ? a : Object.freeze(given);
    INTERNED.add(set);
    this.#sets.set(set.key, new WeakRef(set));
    this.#registry.register(set, set.key);
    return set;
  }

  /** Live sets (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const r of this.#sets.values()) if (r.deref()) n++;
    return n;
  }
}

/** Every set any table made; sets are only ever made by intern(). */
const INTERNED = new WeakSet<object>();

/** Whether a value is an interned AttrSet (as opposed to plain RouteAttributes). */
export const isAttrSet = (a: unknown): a is AttrSet => typeof a === "object" && a !== null && INTERNED.has(a);

/** How one session encodes attributes. */
export interface SessionEncoding {
  ebgp: boolean;
  localAsn: number;
  /** Both sides negotiated 4-octet AS numbers. */
  as4: boolean;
  /** IPv4 NEXT_HOP for IPv4 unicast sent in the NLRI field. */
  nextHopV4?: string;
}

/**
 * The attribute bytes of `set` for one session and family, without
 * MP_REACH_NLRI (the packer writes that around the NLRI). For IPv4 unicast
 * sent the classic way, NEXT_HOP is included. Order: ascending type code.
 */
export function encodeForSession(set: AttrSet, s: SessionEncoding, withNextHop: boolean, scratch: Uint8Array): Uint8Array {
  const list = attributeList(set, s, withNextHop);
  let p = 0;
  const ctx: EncodeContext = { as4: s.as4 };
  for (const [codec, v] of list) p += writeAttribute(codec, v, scratch, p, ctx);
  return scratch.slice(0, p);
}

// deno-lint-ignore no-explicit-any
type Item = [AttrCodec<any>, unknown];

/** The attributes a session sends for `set`, as (codec, value) pairs in type-code order. */
function attributeList(set: AttrSet, s: SessionEncoding, withNextHop: boolean): Item[] {
  const out: Item[] = [[origin, set.origin]];
  // RFC 4271 §5.1.2: prepend our AS towards external peers; RFC 6793 §4.2.2: AS_TRANS + AS4_PATH for old speakers.
  const wide = s.localAsn > 0xffff;
  if (s.ebgp) out.push([asPath, [{ type: AsPathSegmentType.Sequence, asns: [!s.as4 && wide ? AS_TRANS : s.localAsn] }]]);
  else out.push([asPath, []]);
  if (withNextHop && s.nextHopV4) out.push([nextHop, s.nextHopV4]);
  if (set.med !== undefined) out.push([med, set.med]);
  // RFC 4271 §5.1.5: LOCAL_PREF goes to internal peers only (spec E8).
  if (!s.ebgp) out.push([localPref, set.localPref ?? 100]);
  if (set.communities.length > 0) out.push([communities, set.communities]);
  if (s.ebgp && !s.as4 && wide) out.push([as4Path, [{ type: AsPathSegmentType.Sequence, asns: [s.localAsn] }]]);
  if (set.largeCommunities.length > 0) out.push([largeCommunities, set.largeCommunities]);
  return out;
}

/**
 * Each wire attribute of one advertised path, as the API shows it (Cilium's
 * `path-attributes[]`: full attributes, type-code order, MP_REACH_NLRI with
 * this one prefix for families sent that way).
 */
export function advertisedAttributes(set: AttrSet, s: SessionEncoding, family: FamilyCode, mp: Omit<MpReach, "nlri"> | null, key: PrefixKey): Uint8Array[] {
  const scratch = new Uint8Array(8192);
  const ctx: EncodeContext = { as4: s.as4 };
  const out: Uint8Array[] = [];
  const items = attributeList(set, s, family === IPV4_UNICAST && mp === null);
  if (mp) items.push([mpReach, { ...mp, nlri: [key] }]);
  items.sort((a, b) => a[0].code - b[0].code);
  for (const [codec, v] of items) out.push(scratch.slice(0, writeAttribute(codec, v, scratch, 0, ctx)));
  return out;
}

/**
 * A locally originated path as Cilium's loc-rib shows it: ORIGIN and an
 * unresolved next hop (NEXT_HOP 0.0.0.0, or MP_REACH_NLRI with "::"), plus
 * MED when set. Policies (communities, LOCAL_PREF) apply per peer.
 */
export function localPathAttributes(set: AttrSet, family: FamilyCode, key: PrefixKey): Uint8Array[] {
  const scratch = new Uint8Array(1024);
  const ctx: EncodeContext = { as4: true };
  const items: Item[] = [[origin, set.origin]];
  if (family === IPV4_UNICAST) items.push([nextHop, "0.0.0.0"]);
  if (set.med !== undefined) items.push([med, set.med]);
  if (family !== IPV4_UNICAST) items.push([mpReach, { family, nextHop: "::", nlri: [key] } satisfies MpReach]);
  return items.map(([codec, v]) => scratch.slice(0, writeAttribute(codec, v, scratch, 0, ctx)));
}
