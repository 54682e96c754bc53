/**
 * Adj-RIB-In of one peer: what the peer announced, kept and counted, never
 * installed anywhere (Cilium rejects every import, spec A4). Prefixes from
 * one UPDATE share one `ReceivedPath`, so the cost per prefix is a map entry.
 *
 * RFC 7606 treat-as-withdraw is applied here: the prefixes of such an UPDATE
 * are removed as if withdrawn.
 */
import { type FamilyCode, hasPrefixNlri } from "./families.ts";
import type { PathAttrs } from "./wire/attrs/_codec.ts";
import type { PrefixKey } from "./wire/nlri.ts";
import { announcedFamilies, type DecodedUpdate, withdrawnFamilies } from "./wire/update.ts";

export interface ReceivedPath {
  attrs: PathAttrs;
  /** Each attribute's wire bytes (MP_REACH excluded). */
  raw: Uint8Array[];
  /** Clock time (ms) the UPDATE arrived. */
  since: number;
}

/** What one UPDATE changed, per family (for events and the collector). */
export interface RibInChange {
  family: FamilyCode;
  announced: PrefixKey[];
  withdrawn: PrefixKey[];
  path: ReceivedPath | null;
}

export class AdjRibIn {
  #families = new Map<FamilyCode, Map<PrefixKey, ReceivedPath>>();

  #family(f: FamilyCode): Map<PrefixKey, ReceivedPath> {
    let m = this.#families.get(f);
    if (!m) this.#families.set(f, m = new Map());
    return m;
  }

  /**
   * Applies a decoded UPDATE; returns the changes per family. Families for
   * which `accept` is false (not negotiated) are ignored.
   */
  apply(u: DecodedUpdate, now: number, accept: (f: FamilyCode) => boolean = () => true): RibInChange[] {
    const changes: RibInChange[] = [];
    for (const [f, keys] of withdrawnFamilies(u)) {
      if (!accept(f)) continue;
      const m = this.#family(f);
      for (const k of keys) m.delete(k);
      changes.push({ family: f, announced: [], withdrawn: keys, path: null });
    }
    const announced = announcedFamilies(u);
    if (announced.length === 0) return changes;
    const withdrawInstead = u.action === "treat-as-withdraw";
    const path: ReceivedPath = { attrs: u.attrs, raw: u.raw ?? [], since: now };
    for (const [f, keys] of announced) {
      if (!hasPrefixNlri(f) || !accept(f)) continue;
      const m = this.#family(f);
      if (withdrawInstead) {
        for (const k of keys) m.delete(k);
        changes.push({ family: f, announced: [], withdrawn: keys, path: null });
      } else {
        for (const k of keys) m.set(k, path);
        changes.push({ family: f, announced: keys, withdrawn: [], path });
      }
    }
    return changes;
  }

  count(f: FamilyCode): number {
    return this.#families.get(f)?.size ?? 0;
  }

  routes(f: FamilyCode): ReadonlyMap<PrefixKey, ReceivedPath> {
    return this.#families.get(f) ?? new Map();
  }

  clear(): void {
    this.#families.clear();
  }
}
