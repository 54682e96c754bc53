/**
 * MetalLB's resources as zod schemas: IPAddressPool, BGPPeer (v1beta1 and
 * v1beta2), BGPAdvertisement, L2Advertisement, Community, BFDProfile, the
 * deprecated AddressPool, and the legacy ConfigMap (`metallb-system/config`,
 * key `config`). Only the fields the migration reads are listed; unknown
 * fields are reported as warnings by the reader, as for Cilium kinds.
 *
 * Every leaf says what it expects, so an error reads
 * `spec.peerASN must be an integer from 0 to 4294967295: current value is "x"`.
 */
import { z } from "zod";
import { LabelSelector, ObjectMeta } from "../../control/schemas/meta.ts";

const expect = (text: string) => (iss: { input?: unknown }) => iss.input === undefined ? "is required" : text;
const int = (min: number, max: number) =>
  z.number({ error: expect(`must be an integer from ${min} to ${max}`) }).int({ error: expect(`must be an integer from ${min} to ${max}`) })
    .min(min, { error: `must be an integer from ${min} to ${max}` }).max(max, { error: `must be an integer from ${min} to ${max}` });
const str = z.string({ error: expect("must be a string") });
const bool = z.boolean({ error: expect("must be true or false") });
const strings = z.array(str, { error: expect("must be a list of strings") });
const selectors = z.array(LabelSelector, { error: expect("must be a list of label selectors") });
/** A Go duration ("90s", "1m30s"); checked by parseDuration. */
const duration = z.string({ error: expect(`must be a duration such as "90s" or "1m30s"`) });

export const MetalLBMeta = ObjectMeta.extend({ namespace: z.string().optional() });

export const IPAddressPoolSpec = z.object({
  addresses: z.array(str, { error: expect("must be a list of CIDRs or ranges") }).min(1, { error: "must list at least one CIDR or range" }),
  autoAssign: bool.optional(),
  avoidBuggyIPs: bool.optional(),
  serviceAllocation: z.object({
    priority: int(-2147483648, 2147483647).optional(),
    namespaces: strings.optional(),
    namespaceSelectors: selectors.optional(),
    serviceSelectors: selectors.optional(),
  }).optional(),
});

/** metallb.io/v1beta1 AddressPool (deprecated in 0.13): a pool with its protocol and advertisements. */
export const LegacyAdvertisement = z.object({
  aggregationLength: int(0, 32).optional(),
  aggregationLengthV6: int(0, 128).optional(),
  localPref: int(0, 4294967295).optional(),
  communities: strings.optional(),
});
export const AddressPoolSpec = z.object({
  protocol: z.enum(["bgp", "layer2"], { error: expect(`must be "bgp" or "layer2"`) }),
  addresses: IPAddressPoolSpec.shape.addresses,
  autoAssign: bool.optional(),
  avoidBuggyIPs: bool.optional(),
  bgpAdvertisements: z.array(LegacyAdvertisement).optional(),
});

/** v1beta1 node selectors are MetalLB's own type; v1beta2 uses LabelSelector. Both have the same fields. */
export const BGPPeerSpec = z.object({
  myASN: int(1, 4294967295),
  peerASN: int(0, 4294967295).optional(),
  dynamicASN: z.enum(["internal", "external"], { error: expect(`must be "internal" or "external"`) }).optional(),
  peerAddress: str.optional(),
  interface: str.optional(),
  sourceAddress: str.optional(),
  peerPort: int(0, 65535).optional(),
  holdTime: duration.optional(),
  keepaliveTime: duration.optional(),
  connectTime: duration.optional(),
  routerID: str.optional(),
  nodeSelectors: selectors.optional(),
  password: str.optional(),
  passwordSecret: z.object({ name: str.optional(), namespace: str.optional() }).optional(),
  bfdProfile: str.optional(),
  enableGracefulRestart: bool.optional(),
  ebgpMultiHop: bool.optional(),
  vrf: str.optional(),
  disableMP: bool.optional(),
  dualStackAddressFamily: bool.optional(),
});
export type BGPPeerSpec = z.infer<typeof BGPPeerSpec>;

export const BGPAdvertisementSpec = z.object({
  aggregationLength: int(0, 32).optional(),
  aggregationLengthV6: int(0, 128).optional(),
  localPref: int(0, 4294967295).optional(),
  communities: strings.optional(),
  ipAddressPools: strings.optional(),
  ipAddressPoolSelectors: selectors.optional(),
  nodeSelectors: selectors.optional(),
  peers: strings.optional(),
});

export const L2AdvertisementSpec = z.object({
  ipAddressPools: strings.optional(),
  ipAddressPoolSelectors: selectors.optional(),
  nodeSelectors: selectors.optional(),
  interfaces: strings.optional(),
});

export const CommunitySpec = z.object({
  communities: z.array(z.object({ name: str, value: str }), { error: expect("must be a list of {name, value}") }).optional(),
});

/** The kinds and the versions MetalLB serves them in. */
export const KINDS: Record<string, { versions: readonly string[]; spec: z.ZodType }> = {
  IPAddressPool: { versions: ["v1beta1"], spec: IPAddressPoolSpec },
  AddressPool: { versions: ["v1beta1", "v1alpha1"], spec: AddressPoolSpec },
  BGPPeer: { versions: ["v1beta1", "v1beta2"], spec: BGPPeerSpec },
  BGPAdvertisement: { versions: ["v1beta1"], spec: BGPAdvertisementSpec },
  L2Advertisement: { versions: ["v1beta1"], spec: L2AdvertisementSpec },
  Community: { versions: ["v1beta1"], spec: CommunitySpec },
  BFDProfile: { versions: ["v1beta1"], spec: z.record(z.string(), z.unknown()) },
};

// The legacy ConfigMap's `config` (MetalLB ≤ 0.12): kebab-case keys.
const LegacySelector = z.object({
  "match-labels": z.record(z.string(), z.string()).optional(),
  "match-expressions": z.array(z.object({ key: str, operator: str, values: strings.optional() })).optional(),
});
export const LegacyPeer = z.object({
  "my-asn": int(1, 4294967295),
  "peer-asn": int(0, 4294967295),
  "peer-address": str,
  "source-address": str.optional(),
  "peer-port": int(0, 65535).optional(),
  "hold-time": duration.optional(),
  "keepalive-time": duration.optional(),
  "router-id": str.optional(),
  "node-selectors": z.array(LegacySelector).optional(),
  password: str.optional(),
  "bfd-profile": str.optional(),
  "ebgp-multihop": bool.optional(),
});
export const LegacyPool = z.object({
  name: str,
  protocol: z.enum(["bgp", "layer2"], { error: expect(`must be "bgp" or "layer2"`) }),
  addresses: IPAddressPoolSpec.shape.addresses,
  "avoid-buggy-ips": bool.optional(),
  "auto-assign": bool.optional(),
  "bgp-advertisements": z.array(z.object({
    "aggregation-length": int(0, 32).optional(),
    "aggregation-length-v6": int(0, 128).optional(),
    localpref: int(0, 4294967295).optional(),
    communities: strings.optional(),
  })).optional(),
});
export const LegacyConfig = z.object({
  peers: z.array(LegacyPeer).optional(),
  "bgp-communities": z.record(z.string(), str).optional(),
  "address-pools": z.array(LegacyPool).optional(),
  "bfd-profiles": z.array(z.object({ name: str }).passthrough()).optional(),
});
export type LegacyConfig = z.infer<typeof LegacyConfig>;

/** Go's time.ParseDuration, to seconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (t === "0") return 0;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  if (t === "") return null;
  while (at < t.length) {
    re.lastIndex = at;
    const m = re.exec(t);
    if (!m) return null;
    total += Number(m[1]) * unit[m[2]];
    at = re.lastIndex;
  }
  return total;
}
