/**
 * One route table of a (group, family): the contributions per prefix and
 * the merged routes, with the prefixes touched since the last flush, so an
 * incremental change rebuilds only those routes.
 *
 * Memory: a prefix with one contributor (nearly all Service routes) is
 * stored as that contribution itself when it carries its contributor key
 * (`Keyed`, as the engine's Service entries do), not in a wrapper object.
 */
import { mergeAttributes, type RouteAttributes } from "./attributes.ts";
import type { Contribution } from "./groups.ts";
import type { Route, RouteFamily, RouteSource } from "./types.ts";

/** A contribution that names its contributor. */
export interface Keyed extends Contribution {
  readonly who: string;
}

/** A prefix's contributors: one (the common case, no Map) or several. */
type Row = Keyed | Map<string, Contribution>;

const keyed = (who: string, c: Contribution): Keyed =>
  (c as Partial<Keyed>).who === who ? c as Keyed : { who, attributes: c.attributes, sources: c.sources };

/** One (group, family) table: contributions per prefix, and the merged routes. */
export class TableState {
  readonly routes = new Map<string, Route>();
  readonly #contributors = new Map<string, Row>();
  /** Prefixes touched since the last flush; null while loading from scratch (all are). */
  #dirty: string[] | null = null;

  constructor(readonly family: RouteFamily) {}

  set(prefix: string, who: string, c: Contribution): void {
    const row = this.#contributors.get(prefix);
    if (row === undefined || (!(row instanceof Map) && row.who === who)) {
      this.#contributors.set(prefix, keyed(who, c));
    } else if (row instanceof Map) {
      row.set(who, c);
    } else {
      this.#contributors.set(prefix, new Map<string, Contribution>([[row.who, row], [who, c]]));
    }
    this.#dirty?.push(prefix);
  }

  remove(prefix: string, who: string): void {
    const row = this.#contributors.get(prefix);
    if (row === undefined) return;
    if (!(row instanceof Map)) {
      if (row.who !== who) return;
      this.#contributors.delete(prefix);
    } else {
      if (!row.delete(who)) return;
      if (row.size === 1) {
        const [only] = row;
        this.#contributors.set(prefix, keyed(only[0], only[1]));
      }
    }
    this.#dirty?.push(prefix);
  }

  /** Rebuilds the routes of changed prefixes (all of them the first time); returns each change. */
  flush(): Array<{ prefix: string; before: Route | undefined; after: Route | undefined }> {
    if (this.#dirty === null) {
      for (const [prefix, row] of this.#contributors) this.routes.set(prefix, buildRoute(prefix, this.family, row));
      this.#dirty = [];
      return [];
    }
    const out = [];
    const seen = new Set<string>();
    for (const prefix of this.#dirty) {
      if (seen.has(prefix)) continue;
      seen.add(prefix);
      const before = this.routes.get(prefix);
      const row = this.#contributors.get(prefix);
      const after = row ? buildRoute(prefix, this.family, row) : undefined;
      if (after) this.routes.set(prefix, after);
      else this.routes.delete(prefix);
      out.push({ prefix, before, after });
    }
    this.#dirty = [];
    return out;
  }
}

const routeOf = (prefix: string, family: RouteFamily, a: RouteAttributes, sources: readonly RouteSource[]): Route => ({
  prefix,
  family,
  origin: a.origin,
  communities: a.communities,
  largeCommunities: a.largeCommunities,
  localPreference: a.localPreference,
  sources,
});

/**
 * Several contributors to one prefix (aggregates, or one address from two
 * objects): merged like E19 — union of communities, highest LOCAL_PREF.
 * Contributors are taken in key order so the result does not depend on
 * arrival order.
 */
function buildRoute(prefix: string, family: RouteFamily, row: Row): Route {
  if (!(row instanceof Map)) return routeOf(prefix, family, row.attributes, row.sources);
  const keys = [...row.keys()].sort();
  let attrs: RouteAttributes | null = null;
  const sources: RouteSource[] = [];
  for (const k of keys) {
    const c = row.get(k)!;
    attrs = attrs === null ? c.attributes : mergeAttributes(attrs, c.attributes);
    sources.push(...c.sources);
  }
  return routeOf(prefix, family, attrs!, sources);
}

/** Same attributes on the wire (sources are bookkeeping). Attribute arrays are interned. */
export function sameOnWire(a: Route, b: Route): boolean {
  return a.origin === b.origin && a.communities === b.communities && a.largeCommunities === b.largeCommunities &&
    a.localPreference === b.localPreference;
}

