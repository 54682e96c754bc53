/**
 * Names, labels and attribute blocks of generated objects: Kubernetes names
 * (DNS subdomains), label values (63 characters), the labels the migration
 * adds, and path attributes written back as a CiliumBGPAdvertisement
 * `attributes` block.
 */
import { formatCommunity, type RouteAttributes, wellKnownName } from "../control/attributes.ts";

/** Label on generated CiliumBGPAdvertisements; PeerConfig families select by it. */
export const ADVERT_LABEL = "migrate.herald.io/advertisement";
/** Service label that pins a Service to one converted pool (metallb.universe.tf/address-pool). */
export const POOL_LABEL = "migrate.herald.io/pool";
/** Node label the staged v2 ClusterConfigs select (`--staging`). */
export const STAGING_LABEL = "migrate.herald.io/bgp-v2";

/** FNV-1a, for short stable suffixes. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36);
}

/** A DNS-subdomain name (lowercase, [a-z0-9.-], ≤ 253) from parts joined by "-". */
export function dnsName(...parts: Array<string | number>): string {
  const raw = parts.map(String).filter((p) => p !== "").join("-");
  let s = raw.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  if (s === "") s = "x";
  if (s.length > 253) s = `${s.slice(0, 240).replace(/[^a-z0-9]+$/, "")}-${hash(raw)}`;
  return s;
}

/** A label value (≤ 63, alphanumeric at both ends, [-_.a-zA-Z0-9] inside). */
export function labelValue(text: string): string {
  let s = text.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  if (s.length > 63) s = `${s.slice(0, 55).replace(/[^A-Za-z0-9]+$/, "")}-${hash(text)}`;
  return s;
}

/** Unique names within one kind: "x", then "x-2", "x-3"… */
export class NameSet {
  readonly #used = new Set<string>();

  take(name: string): string {
    let n = name;
    for (let i = 2; this.#used.has(n); i++) n = dnsName(name, i);
    this.#used.add(n);
    return n;
  }
}

/**
 * Path attributes as a v2 `attributes` block, or undefined when there are
 * none. Well-known values are written by name (same value on the wire).
 */
export function attributesBlock(a: RouteAttributes): Record<string, unknown> | undefined {
  const standard: string[] = [];
  const wellKnown: string[] = [];
  for (const c of a.communities) {
    const name = wellKnownName(c);
    if (name) wellKnown.push(name);
    else standard.push(formatCommunity(c));
  }
  const communities: Record<string, string[]> = {};
  if (standard.length) communities.standard = standard;
  if (wellKnown.length) communities.wellKnown = wellKnown;
  if (a.largeCommunities.length) communities.large = [...a.largeCommunities];
  const out: Record<string, unknown> = {};
  if (Object.keys(communities).length) out.communities = communities;
  if (a.localPreference !== null) out.localPreference = a.localPreference;
  return Object.keys(out).length ? out : undefined;
}

/** Attributes as short text, for comments and messages. */
export function attributesText(a: RouteAttributes): string {
  const parts: string[] = [];
  if (a.communities.length) parts.push(`communities ${a.communities.map((c) => wellKnownName(c) ?? formatCommunity(c)).join(" ")}`);
  if (a.largeCommunities.length) parts.push(`large ${a.largeCommunities.join(" ")}`);
  if (a.localPreference !== null) parts.push(`local-pref ${a.localPreference}`);
  if (a.origin !== "igp") parts.push(`origin ${a.origin}`);
  return parts.length ? parts.join(", ") : "no attributes";
}
