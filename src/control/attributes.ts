/**
 * Path attributes of an advertised route, as values: ORIGIN, communities
 * (numeric, sorted), large communities (sorted) and the LOCAL_PREF the
 * export policy sets.
 *
 * Attribute sets are interned: equal sets are the same object, so the route
 * tables compare and merge them by identity on the hot path.
 */
import { WELL_KNOWN_COMMUNITIES, type WellKnownCommunity } from "./schemas/_common.ts";
import type { Communities } from "./schemas/_common.ts";

export type Origin = "igp" | "incomplete";

export interface RouteAttributes {
  readonly origin: Origin;
  /** RFC 1997 values as u32, ascending, unique. */
  readonly communities: readonly number[];
  /** RFC 8092 values as canonical "g:l1:l2", ascending by number, unique. */
  readonly largeCommunities: readonly string[];
  /** What the export policy sets; whether it goes on the wire depends on the session (E8). */
  readonly localPreference: number | null;
}

/** Standard community text ("65001:100" or "4259905636") → u32. */
export function parseCommunity(text: string): number {
  const colon = text.indexOf(":");
  if (colon < 0) return Number(text) >>> 0;
  return ((Number(text.slice(0, colon)) << 16) | Number(text.slice(colon + 1))) >>> 0;
}

/** u32 → "A:B", the numeric form herald prints (well-known ones too). */
export function formatCommunity(value: number): string {
  return `${value >>> 16}:${value & 0xffff}`;
}

const WELL_KNOWN_BY_VALUE = new Map<number, string>(
  Object.entries(WELL_KNOWN_COMMUNITIES).map(([name, value]) => [value >>> 0, name]),
);
/** The well-known name of a value, if it has one (GoBGP prints those by name). */
export function wellKnownName(value: number): string | undefined {
  return WELL_KNOWN_BY_VALUE.get(value >>> 0);
}

function canonicalLarge(text: string): string {
  return text.split(":").map((p) => String(Number(p))).join(":");
}
function compareLarge(a: string, b: string): number {
  const x = a.split(":").map(Number);
  const y = b.split(":").map(Number);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

const interned = new Map<string, RouteAttributes>();

/** The one shared object for these values. Inputs must already be sorted and unique. */
function intern(origin: Origin, communities: number[], large: string[], localPreference: number | null): RouteAttributes {
  const key = `${origin}|${communities.join(",")}|${large.join(",")}|${localPreference ?? ""}`;
  let attrs = interned.get(key);
  if (attrs === undefined) {
    attrs = Object.freeze({
      origin,
      communities: Object.freeze(communities) as number[],
      largeCommunities: Object.freeze(large) as string[],
      localPreference,
    });
    interned.set(key, attrs);
  }
  return attrs;
}

export const NO_ATTRIBUTES: RouteAttributes = intern("igp", [], [], null);

/**
 * An advertisement's `attributes` as a set (E8): standard communities
 * de-duplicated by value, then well-known ones whose value is not yet
 * present; large communities de-duplicated. Order does not reach the wire
 * (COMMUNITIES is a set), so herald keeps them sorted.
 */
export function attributesFrom(
  communities: Communities | undefined,
  localPreference: number | undefined | null,
  origin: Origin = "igp",
): RouteAttributes {
  const values = new Set<number>();
  for (const c of communities?.standard ?? []) values.add(parseCommunity(c));
  for (const w of communities?.wellKnown ?? []) values.add(WELL_KNOWN_COMMUNITIES[w as WellKnownCommunity] >>> 0);
  const large = new Set<string>();
  for (const l of communities?.large ?? []) large.add(canonicalLarge(l));
  return intern(
    origin,
    [...values].sort((a, b) => a - b),
    [...large].sort(compareLarge),
    localPreference ?? null,
  );
}

/** The same attributes with another ORIGIN. */
export function withOrigin(a: RouteAttributes, origin: Origin): RouteAttributes {
  return a.origin === origin ? a : intern(origin, [...a.communities], [...a.largeCommunities], a.localPreference);
}

const merged = new Map<RouteAttributes, Map<RouteAttributes, RouteAttributes>>();

/**
 * Two statements matching the same route merged as Cilium ≥ 1.18 does (E19):
 * union of communities and large communities, the higher LOCAL_PREF.
 * ORIGIN INCOMPLETE wins (only set for LoadBalancerIP routes in legacy mode, E4).
 */
export function mergeAttributes(a: RouteAttributes, b: RouteAttributes): RouteAttributes {
  if (a === b) return a;
  let row = merged.get(a);
  const hit = row?.get(b);
  if (hit) return hit;
  const communities = [...new Set([...a.communities, ...b.communities])].sort((x, y) => x - y);
  const large = [...new Set([...a.largeCommunities, ...b.largeCommunities])].sort(compareLarge);
  const lp = a.localPreference === null
    ? b.localPreference
    : b.localPreference === null
    ? a.localPreference
    : Math.max(a.localPreference, b.localPreference);
  const origin: Origin = a.origin === "incomplete" || b.origin === "incomplete" ? "incomplete" : "igp";
  const out = intern(origin, communities, large, lp);
  if (!row) merged.set(a, row = new Map());
  row.set(b, out);
  return out;
}

/**
 * v1 path attributes stack (G5, policy action "continue"): communities
 * accumulate, a later LOCAL_PREF replaces an earlier one.
 */
export function stackAttributes(base: RouteAttributes, next: RouteAttributes): RouteAttributes {
  const union = mergeAttributes(base, next);
  const lp = next.localPreference ?? base.localPreference;
  return union.localPreference === lp ? union : intern(union.origin, [...union.communities], [...union.largeCommunities], lp);
}
