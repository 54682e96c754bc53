/**
 * The second pass of reading MetalLB: references resolved as MetalLB's
 * config.For does. Communities (Community aliases or bgp-communities, then
 * "a:b" and "large:a:b:c"), advertisement pools (names and
 * ipAddressPoolSelectors; none ⇒ every pool), aggregation lengths against
 * the pools' prefixes, advertisement peers and BFD profile names.
 */
import { parseCommunity, wellKnownName } from "../../control/attributes.ts";
import { selectorMatches } from "../../control/selector.ts";
import { formatLocation } from "../../source/manifest.ts";
import { summarize } from "../ranges.ts";
import { fieldError } from "./issues.ts";
import type { MBgpAdvert } from "./model.ts";
import type { PendingAdvert, Reader } from "./read.ts";

/** Names MetalLB users sometimes write for well-known communities (no alias needed here). */
const WELL_KNOWN_VALUES = [0, ...Array.from({ length: 8 }, (_, i) => 0xffff0000 + i), 0xffff029a, 0xffffff01, 0xffffff02, 0xffffff03, 0xffffff04];
const WELL_KNOWN = new Map(WELL_KNOWN_VALUES.map((v) => [wellKnownName(v)!, v]));

/** A community as MetalLB reads it: alias, "a:b", "large:a:b:c" (plus well-known names). */
function community(r: Reader, text: string): { standard: number } | { large: string } | { error: string } {
  const alias = r.aliases.get(text);
  const value = alias ? alias.value : text;
  const parts = value.split(":");
  const u = (s: string, max: number) => /^[0-9]+$/.test(s) && Number(s) <= max;
  if (parts.length === 2 && parts.every((p) => u(p, 65535))) return { standard: parseCommunity(value) };
  if (parts.length === 4 && parts[0] === "large" && parts.slice(1).every((p) => u(p, 4294967295))) return { large: parts.slice(1).map(Number).join(":") };
  const wk = WELL_KNOWN.get(value);
  if (wk !== undefined) return { standard: wk };
  return { error: alias ? `alias "${text}" has the value "${value}", which is not "<0-65535>:<0-65535>" or "large:<u32>:<u32>:<u32>"` : `must be "<0-65535>:<0-65535>", "large:<u32>:<u32>:<u32>" or the name of a Community: current value is "${text}"` };
}

export function resolve(r: Reader): void {
  const { model, findings } = r;
  for (const p of model.peers) {
    if (p.bfdProfile && !model.bfdProfiles.includes(p.bfdProfile)) {
      findings.add("warning", `${p.src.who}: bfdProfile "${p.bfdProfile}" is not defined in the input`, { location: p.src.doc.locate([...p.src.base, "bfdProfile"]) });
    }
  }
  const poolsFor = (a: PendingAdvert, field: string): string[] => {
    if (a.pool) return [a.pool];
    const names = (a.spec.ipAddressPools ?? []) as string[];
    const sels = (a.spec.ipAddressPoolSelectors ?? []) as Parameters<typeof selectorMatches>[0][];
    if (names.length === 0 && sels.length === 0) return model.pools.map((p) => p.name);
    names.forEach((n, i) => {
      if (!model.pools.some((p) => p.name === n)) {
        findings.add("warning", `${a.src.who} (${formatLocation(a.src.doc.locate([...a.src.base, "ipAddressPools", i]))}): ${field} names pool "${n}", which is not in the input: ignored`);
      }
    });
    const picked = model.pools.filter((p) => names.includes(p.name) || sels.some((s) => selectorMatches(s, p.labels)));
    if (sels.length) findings.add("note", `${a.src.who}: ipAddressPoolSelectors resolved against the pools in the input (${picked.map((p) => p.name).join(", ") || "none"}); pools added later need their own advertisement entry`);
    return picked.map((p) => p.name);
  };
  for (const a of r.adverts) {
    const s = a.spec as { aggregationLength?: number; aggregationLengthV6?: number; localPref?: number; communities?: string[]; nodeSelectors?: never[]; peers?: string[] };
    const communities: number[] = [];
    const large: string[] = [];
    let bad = false;
    (s.communities ?? []).forEach((text, i) => {
      const c = community(r, text);
      if ("error" in c) {
        fieldError(a.src.doc, a.src.who, [...a.src.base, "communities", i], `${c.error}; the advertisement is skipped`, findings);
        bad = true;
      } else if ("standard" in c) {
        if (!communities.includes(c.standard)) communities.push(c.standard);
        if (!r.aliases.has(text) && !/:/.test(text)) findings.add("note", `${a.src.who}: community "${text}" read as the well-known ${wellKnownName(c.standard)} (MetalLB itself needs a Community alias for a name)`);
      } else if (!large.includes(c.large)) large.push(c.large);
    });
    if (bad) continue;
    const advert: MBgpAdvert = {
      name: a.name,
      aggregationLength: s.aggregationLength ?? 32,
      aggregationLengthV6: s.aggregationLengthV6 ?? 128,
      localPref: s.localPref ?? 0,
      communities,
      largeCommunities: large,
      pools: poolsFor(a, "ipAddressPools"),
      nodeSelectors: s.nodeSelectors ?? [],
      peers: s.peers ?? [],
      src: a.src,
    };
    // MetalLB's validateBGPAdvPerPool: the aggregate may not be longer than a pool prefix.
    let valid = true;
    for (const pool of model.pools.filter((p) => advert.pools.includes(p.name))) {
      for (const range of pool.ranges) {
        const lowest = Math.min(...summarize(range).map((x) => x.len));
        const agg = range.family === 4 ? advert.aggregationLength : advert.aggregationLengthV6;
        if (agg < lowest) {
          fieldError(a.src.doc, a.src.who, [...a.src.base, range.family === 4 ? "aggregationLength" : "aggregationLengthV6"], `must not be shorter than the prefixes of pool "${pool.name}" (/${lowest} in "${range.text}"): current value is ${agg}; MetalLB refuses it, the advertisement is skipped`, findings);
          valid = false;
        }
      }
    }
    for (const peer of advert.peers) {
      if (!model.peers.some((p) => p.name === peer)) findings.add("warning", `${a.src.who}: peers names "${peer}", which is not a BGPPeer in the input: it selects nothing`);
    }
    if (valid) model.bgpAdverts.push(advert);
  }
  for (const a of r.l2) {
    const s = a.spec as { nodeSelectors?: never[]; interfaces?: string[] };
    model.l2Adverts.push({ name: a.name, pools: poolsFor(a, "ipAddressPools"), nodeSelectors: s.nodeSelectors ?? [], interfaces: s.interfaces ?? [], src: a.src });
  }
}

