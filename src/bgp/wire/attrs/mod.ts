/**
 * The path-attribute table: one codec per type code (BIRD's
 * `bgp_attr_table`, GoBGP's one type per attribute). update.ts looks codecs
 * up here; the renderer uses the same table, so every attribute herald
 * understands is decoded, checked and printed in one place.
 */
import type { AttrCodec } from "./_codec.ts";
import { aggregator, as4Aggregator, atomicAggregate } from "./aggregation.ts";
import { as4Path, asPath } from "./as-path.ts";
import { communities, largeCommunities } from "./communities.ts";
import { localPref, med } from "./metrics.ts";
import { mpReach, mpUnreach } from "./mp.ts";
import { nextHop } from "./next-hop.ts";
import { clusterList, extendedCommunities, originatorId } from "./opaque.ts";
import { origin } from "./origin.ts";

export * from "./_codec.ts";
export { aggregator, as4Aggregator, as4Path, asPath, atomicAggregate, clusterList, communities, extendedCommunities, largeCommunities, localPref, med, mpReach, mpUnreach, nextHop, origin, originatorId };
export { formatCommunity, formatLargeCommunity, parseCommunity, parseLargeCommunity, WELL_KNOWN_COMMUNITIES } from "./communities.ts";
export { mergeAs4Path, renderSegment } from "./as-path.ts";
export { writeAddress } from "./mp.ts";

// deno-lint-ignore no-explicit-any
const ALL: AttrCodec<any>[] = [
  origin,
  asPath,
  nextHop,
  med,
  localPref,
  atomicAggregate,
  aggregator,
  communities,
  originatorId,
  clusterList,
  mpReach,
  mpUnreach,
  extendedCommunities,
  as4Path,
  as4Aggregator,
  largeCommunities,
];

/** Codec per type code; undefined for attributes herald keeps opaque. */
// deno-lint-ignore no-explicit-any
export const ATTRIBUTE_CODECS: ReadonlyArray<AttrCodec<any> | undefined> = (() => {
  // deno-lint-ignore no-explicit-any
  const table = new Array<AttrCodec<any> | undefined>(256);
  for (const c of ALL) table[c.code] = c;
  return table;
})();

/** Type codes in ascending order, for encoding and rendering in a stable order. */
export const KNOWN_ATTRIBUTE_CODES: readonly number[] = ALL.map((c) => c.code).sort((a, b) => a - b);
