/**
 * Field shapes shared by the cilium.io schemas: bounded integers, IP
 * patterns, AFI/SAFI enums, community formats, conditions.
 *
 * Every leaf carries its own "what was expected" text, so an error reads
 * `spec.timers.holdTimeSeconds must be an integer from 3 to 65535`.
 * Bounds and enum values are Cilium's (spec/cilium-api.md).
 */
import { z } from "zod";
import { parseIP, parsePrefix } from "../../net/ip.ts";

/** An integer in [min, max]; every failure gets the same message. */
export function int(min: number, max: number) {
  const expected = `must be an integer from ${min} to ${max}`;
  const error = (iss: { input?: unknown }) => iss.input === undefined ? "is required" : expected;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** An integer with no bounds (v2 `localPreference`): the API types it int64. */
export const int64 = z.number({ error: (iss) => iss.input === undefined ? "is required" : "must be an integer" })
  .int({ error: "must be an integer" });

export function str(min = 0, max = Infinity) {
  const expected = max === Infinity
    ? (min > 0 ? "must be a non-empty string" : "must be a string")
    : `must be a string of ${min} to ${max} characters`;
  const error = (iss: { input?: unknown }) => iss.input === undefined ? "is required" : expected;
  let s = z.string({ error });
  if (min > 0) s = s.min(min, { error });
  if (max !== Infinity) s = s.max(max, { error });
  return s;
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const expected = values.length === 1
    ? `must be "${values[0]}"`
    : `must be one of ${values.map((v) => `"${v}"`).join(", ")}`;
  return z.enum(values, { error: (iss) => iss.input === undefined ? "is required" : expected });
}

export const bool = z.boolean({ error: (iss) => iss.input === undefined ? "is required" : "must be true or false" });

/**
 * Cilium's address pattern (peerAddress, localAddress): IPv4 or IPv6,
 * optional `%zone`, surrounding whitespace tolerated. The value is kept as
 * written (trimmed); consumers canonicalise.
 */
export const ipAddress = z.string({ error: (iss) => iss.input === undefined ? "is required" : "must be an IP address" })
  .refine((s) => parseIP(s.trim()) !== null, { error: "must be an IPv4 or IPv6 address (no prefix length)" })
  .transform((s) => s.trim());

/** `format: ipv4` (routerID). */
export const ipv4Address = z.string({ error: (iss) => iss.input === undefined ? "is required" : "must be an IPv4 address" })
  .refine((s) => parseIP(s)?.family === 4 && !s.includes("%"), { error: "must be an IPv4 address" });

/** `format: cidr`. */
export const cidr = z.string({ error: (iss) => iss.input === undefined ? "is required" : "must be a CIDR" })
  .refine((s) => parsePrefix(s) !== null, { error: "must be a CIDR such as \"10.0.0.0/24\" or \"fd00::/64\"" });

export const AFIS = ["ipv4", "ipv6", "l2vpn", "ls", "opaque"] as const;
export const SAFIS = [
  "unicast",
  "multicast",
  "mpls_label",
  "encapsulation",
  "vpls",
  "evpn",
  "ls",
  "sr_policy",
  "mup",
  "mpls_vpn",
  "mpls_vpn_multicast",
  "route_target_constraints",
  "flowspec_unicast",
  "flowspec_vpn",
  "key_value",
] as const;
export type Afi = (typeof AFIS)[number];
export type Safi = (typeof SAFIS)[number];
export const afi = oneOf(AFIS);
export const safi = oneOf(SAFIS);

/** RFC 1997 community as Cilium's CRD pattern allows: decimal u32 or `0-65535:0-65535`. */
export const STANDARD_COMMUNITY = /^([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])$|^([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]):([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$/;
/** RFC 8092 large community: three decimal u32 joined by `:`. */
const U32 =
  "([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])";
export const LARGE_COMMUNITY = new RegExp(`^${U32}:${U32}:${U32}$`);

export const standardCommunity = str().regex(STANDARD_COMMUNITY, {
  error: "must be a community: a decimal number up to 4294967295 or \"<0-65535>:<0-65535>\"",
});
export const largeCommunity = str().regex(LARGE_COMMUNITY, {
  error: "must be a large community \"<u32>:<u32>:<u32>\"",
});

/** Well-known community names and values (RFC 1997, 7611, 7999, 8326, 8642, 9494). */
export const WELL_KNOWN_COMMUNITIES = {
  "internet": 0x00000000,
  "planned-shut": 0xffff0000,
  "accept-own": 0xffff0001,
  "route-filter-translated-v4": 0xffff0002,
  "route-filter-v4": 0xffff0003,
  "route-filter-translated-v6": 0xffff0004,
  "route-filter-v6": 0xffff0005,
  "llgr-stale": 0xffff0006,
  "no-llgr": 0xffff0007,
  "blackhole": 0xffff029a,
  "no-export": 0xffffff01,
  "no-advertise": 0xffffff02,
  "no-export-subconfed": 0xffffff03,
  "no-peer": 0xffffff04,
} as const;
export type WellKnownCommunity = keyof typeof WELL_KNOWN_COMMUNITIES;
export const wellKnownCommunity = oneOf(
  Object.keys(WELL_KNOWN_COMMUNITIES) as [WellKnownCommunity, ...WellKnownCommunity[]],
);

export const Communities = z.object({
  standard: z.array(standardCommunity).optional(),
  wellKnown: z.array(wellKnownCommunity).optional(),
  large: z.array(largeCommunity).optional(),
});
export type Communities = z.infer<typeof Communities>;

/** metav1.Condition. */
export const Condition = z.object({
  type: str(1),
  status: oneOf(["True", "False", "Unknown"]),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type Condition = z.infer<typeof Condition>;

export const ConditionsStatus = z.object({ conditions: z.array(Condition).optional() });

/**
 * A list whose items must be unique by `name` (the CRD `listMapKey`).
 * Reports the second occurrence.
 */
export function uniqueNames<T extends { name: string }>(
  items: readonly T[] | undefined,
  ctx: z.RefinementCtx,
  path: (string | number)[],
): void {
  const seen = new Set<string>();
  (items ?? []).forEach((item, i) => {
    if (seen.has(item.name)) {
      ctx.addIssue({ code: "custom", path: [...path, i, "name"], input: item.name, message: "must be unique within the list (names identify list items)" });
    }
    seen.add(item.name);
  });
}
