/**
 * Address families: AFI/SAFI numbers and their "afi/safi" text form (the
 * spelling of Cilium's CRD enums, e.g. "ipv4/unicast"), plus GoBGP's route
 * family names ("ipv4-unicast") used in path-attribute rendering.
 *
 * Only IPv4 and IPv6 unicast carry routes in herald; any other pair given in
 * configuration is negotiated as a Multiprotocol capability and nothing more.
 */

export const Afi = { IPv4: 1, IPv6: 2, L2vpn: 25, Ls: 16388 } as const;
export const Safi = {
  Unicast: 1,
  Multicast: 2,
  LabeledUnicast: 4,
  Mup: 85,
  Evpn: 70,
  Vpls: 65,
  MplsVpn: 128,
  RouteTargetConstraint: 132,
  Flowspec: 133,
  FlowspecVpn: 134,
} as const;

const AFI_NAMES: Record<number, string> = { 1: "ipv4", 2: "ipv6", 25: "l2vpn", 16388: "ls" };
const SAFI_NAMES: Record<number, string> = {
  1: "unicast",
  2: "multicast",
  4: "mpls_label",
  65: "vpls",
  70: "evpn",
  71: "ls",
  85: "mup",
  128: "mpls_vpn",
  132: "rtc",
  133: "flowspec",
  134: "flowspec_vpn",
};
const AFI_BY_NAME: Record<string, number> = Object.fromEntries(Object.entries(AFI_NAMES).map(([k, v]) => [v, Number(k)]));
const SAFI_BY_NAME: Record<string, number> = {
  ...Object.fromEntries(Object.entries(SAFI_NAMES).map(([k, v]) => [v, Number(k)])),
  "labeled-unicast": 4,
  "l3vpn": 128,
  "mpls-vpn": 128,
  "mpls-label": 4,
};

/** A family as one number: afi << 8 | safi (fits a Smi, usable as a Map key). */
export type FamilyCode = number;

export const familyCode = (afi: number, safi: number): FamilyCode => afi * 256 + safi;
export const familyAfi = (f: FamilyCode): number => Math.floor(f / 256);
export const familySafi = (f: FamilyCode): number => f & 0xff;

export const IPV4_UNICAST: FamilyCode = familyCode(Afi.IPv4, Safi.Unicast);
export const IPV6_UNICAST: FamilyCode = familyCode(Afi.IPv6, Safi.Unicast);

/** Families whose NLRI herald parses and sends (prefix-length + prefix bytes). */
export function isRouteFamily(f: FamilyCode): boolean {
  return f === IPV4_UNICAST || f === IPV6_UNICAST;
}

/** Families whose NLRI is a plain prefix (unicast and multicast), decodable for counting. */
export function hasPrefixNlri(f: FamilyCode): boolean {
  const safi = familySafi(f);
  const afi = familyAfi(f);
  return (afi === Afi.IPv4 || afi === Afi.IPv6) && (safi === Safi.Unicast || safi === Safi.Multicast);
}

export function afiName(afi: number): string {
  return AFI_NAMES[afi] ?? String(afi);
}

export function safiName(safi: number): string {
  return SAFI_NAMES[safi] ?? String(safi);
}

/** "ipv4/unicast" (numbers for unnamed values: "16388/71"). */
export function formatFamily(f: FamilyCode): string {
  return `${afiName(familyAfi(f))}/${safiName(familySafi(f))}`;
}

/** GoBGP's route family name: "ipv4-unicast", "l2vpn-evpn". */
export function gobgpFamilyName(f: FamilyCode): string {
  const afi = familyAfi(f);
  const safi = familySafi(f);
  if (f === IPV4_UNICAST) return "ipv4-unicast";
  if (f === IPV6_UNICAST) return "ipv6-unicast";
  const a = AFI_NAMES[afi];
  const s = SAFI_NAMES[safi];
  if (a && s) return `${a}-${s.replace(/_/g, "-")}`;
  return `afi: ${afi}, safi: ${safi}`;
}

/**
 * Parses "afi/safi" (names as in Cilium's CRDs, or numbers: "25/70").
 * Throws a TypeError naming the text when it is not a family.
 */
export function parseFamily(text: string): FamilyCode {
  const m = /^([a-z0-9]+)\/([a-z0-9_-]+)$/i.exec(text.trim());
  const num = (s: string, max: number) => (/^[0-9]+$/.test(s) && Number(s) <= max ? Number(s) : undefined);
  if (m) {
    const afi = AFI_BY_NAME[m[1].toLowerCase()] ?? num(m[1], 65535);
    const safi = SAFI_BY_NAME[m[2].toLowerCase()] ?? num(m[2], 255);
    if (afi !== undefined && safi !== undefined && afi > 0 && safi > 0) return familyCode(afi, safi);
  }
  throw new TypeError(`Cannot parse address family: "${text}" is not "afi/safi" (e.g. "ipv4/unicast")`);
}
