/**
 * Capabilities (RFC 5492): encode herald's own, decode the peer's, keep both
 * as raw TLVs (code, length, value) because the API shows them base64 as
 * they were on the wire.
 *
 * Understood: Multiprotocol (RFC 4760), Route Refresh (RFC 2918), Extended
 * Next Hop (RFC 8950), Extended Message (RFC 8654), Graceful Restart
 * (RFC 4724, N bit of RFC 8538), 4-octet AS (RFC 6793). Anything else is
 * kept raw and ignored, as RFC 5492 §3 allows.
 */
import { type FamilyCode, familyAfi, familyCode, familySafi } from "../families.ts";
import { ErrorCode, NotificationError } from "./errors.ts";

export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedNextHop: 5,
  ExtendedMessage: 6,
  GracefulRestart: 64,
  FourOctetAs: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
  LongLivedGracefulRestart: 71,
  Fqdn: 73,
  SoftwareVersion: 75,
  CiscoRouteRefresh: 128,
} as const;

const CAPABILITY_NAMES: Record<number, string> = {
  1: "multiprotocol",
  2: "route-refresh",
  4: "carrying-label-info",
  5: "extended-nexthop",
  6: "extended-message",
  64: "graceful-restart",
  65: "4-octet-as",
  69: "add-path",
  70: "enhanced-route-refresh",
  71: "long-lived-graceful-restart",
  73: "fqdn",
  75: "software-version",
  128: "cisco-route-refresh",
};

/** The names the Cilium CLI prints for capability codes. */
export function capabilityName(code: number): string {
  return CAPABILITY_NAMES[code] ?? `UnknownCapability(${code})`;
}

export interface GracefulRestartFamily {
  family: FamilyCode;
  /** F bit: forwarding state was preserved across the restart. */
  forwarding: boolean;
}

export interface GracefulRestartCapability {
  /** R bit: the sender has restarted. */
  restarting: boolean;
  /** N bit (RFC 8538): the sender supports graceful NOTIFICATION handling. */
  notification: boolean;
  /** Restart time in seconds (12 bits). */
  time: number;
  families: GracefulRestartFamily[];
}

export interface ExtendedNextHopEntry {
  /** The NLRI family (e.g. IPv4 unicast). */
  family: FamilyCode;
  /** The next hop AFI allowed for it (2 = IPv6). */
  nextHopAfi: number;
}

/** What one side offered, decoded; `raw` holds each TLV as it was on the wire. */
export interface Capabilities {
  families: FamilyCode[];
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  /** The real AS number from the 4-octet AS capability, if present. */
  as4?: number;
  extendedMessage: boolean;
  extendedNextHop: ExtendedNextHopEntry[];
  gracefulRestart?: GracefulRestartCapability;
  raw: Uint8Array[];
}

export function emptyCapabilities(): Capabilities {
  return { families: [], routeRefresh: false, enhancedRouteRefresh: false, extendedMessage: false, extendedNextHop: [], raw: [] };
}

function tlv(code: number, value: Uint8Array): Uint8Array {
  if (value.length > 255) throw new RangeError(`Cannot encode capability ${code}: value is ${value.length} bytes, at most 255`);
  const out = new Uint8Array(2 + value.length);
  out[0] = code;
  out[1] = value.length;
  out.set(value, 2);
  return out;
}

export function encodeMultiprotocol(f: FamilyCode): Uint8Array {
  const afi = familyAfi(f);
  return tlv(CapabilityCode.Multiprotocol, Uint8Array.of(afi >>> 8, afi & 0xff, 0, familySafi(f)));
}

export function encodeFourOctetAs(asn: number): Uint8Array {
  return tlv(CapabilityCode.FourOctetAs, Uint8Array.of(asn >>> 24, (asn >>> 16) & 0xff, (asn >>> 8) & 0xff, asn & 0xff));
}

export function encodeGracefulRestart(gr: GracefulRestartCapability): Uint8Array {
  const v = new Uint8Array(2 + gr.families.length * 4);
  const time = Math.min(gr.time, 0xfff);
  v[0] = (gr.restarting ? 0x80 : 0) | (gr.notification ? 0x40 : 0) | (time >>> 8);
  v[1] = time & 0xff;
  gr.families.forEach((f, i) => {
    const afi = familyAfi(f.family);
    v.set([afi >>> 8, afi & 0xff, familySafi(f.family), f.forwarding ? 0x80 : 0], 2 + i * 4);
  });
  return tlv(CapabilityCode.GracefulRestart, v);
}

export function encodeExtendedNextHop(entries: ExtendedNextHopEntry[]): Uint8Array {
  const v = new Uint8Array(entries.length * 6);
  entries.forEach((e, i) => {
    const afi = familyAfi(e.family);
    const safi = familySafi(e.family);
    v.set([afi >>> 8, afi & 0xff, 0, safi, e.nextHopAfi >>> 8, e.nextHopAfi & 0xff], i * 6);
  });
  return tlv(CapabilityCode.ExtendedNextHop, v);
}

export const encodeRouteRefreshCapability = (): Uint8Array => tlv(CapabilityCode.RouteRefresh, new Uint8Array(0));
export const encodeExtendedMessage = (): Uint8Array => tlv(CapabilityCode.ExtendedMessage, new Uint8Array(0));

/** What herald offers; the session fills it from the peer's configuration. */
export interface LocalCapabilityOptions {
  asn: number;
  families: FamilyCode[];
  extendedMessage: boolean;
  /** Families sent with an IPv6 next hop (RFC 8950), e.g. IPv4 unicast on an IPv6 session. */
  extendedNextHop: ExtendedNextHopEntry[];
  gracefulRestart?: GracefulRestartCapability;
}

/** The TLVs of herald's OPEN, in a stable order (MP, RR, ENH, EM, GR, AS4). */
export function encodeLocalCapabilities(o: LocalCapabilityOptions): Uint8Array[] {
  const out = o.families.map(encodeMultiprotocol);
  out.push(encodeRouteRefreshCapability());
  if (o.extendedNextHop.length > 0) out.push(encodeExtendedNextHop(o.extendedNextHop));
  if (o.extendedMessage) out.push(encodeExtendedMessage());
  if (o.gracefulRestart) out.push(encodeGracefulRestart(o.gracefulRestart));
  out.push(encodeFourOctetAs(o.asn));
  return out;
}

function malformed(code: number, why: string): NotificationError {
  // RFC 5492 names no subcode for a malformed capability; BIRD and GoBGP send
  // OPEN Message Error with subcode 0 (Unspecific), as does herald.
  return new NotificationError(ErrorCode.Open, 0, new Uint8Array(0), `malformed ${capabilityName(code)} capability: ${why}`);
}

/**
 * Decodes the capabilities inside one Capabilities optional parameter value
 * ([off, end)) into `caps`. Unknown codes are kept raw only.
 */
export function decodeCapabilities(buf: Uint8Array, off: number, end: number, caps: Capabilities): void {
  while (off < end) {
    if (off + 2 > end) throw malformed(buf[off], "truncated header");
    const code = buf[off];
    const len = buf[off + 1];
    const v = off + 2;
    if (v + len > end) throw malformed(code, `length ${len} runs past the parameter`);
    caps.raw.push(buf.slice(off, v + len));
    switch (code) {
      case CapabilityCode.Multiprotocol: {
        if (len !== 4) throw malformed(code, `length ${len}, expected 4`);
        const f = familyCode((buf[v] << 8) | buf[v + 1], buf[v + 3]);
        if (!caps.families.includes(f)) caps.families.push(f);
        break;
      }
      case CapabilityCode.RouteRefresh:
      case CapabilityCode.CiscoRouteRefresh:
        caps.routeRefresh = true;
        break;
      case CapabilityCode.EnhancedRouteRefresh:
        caps.enhancedRouteRefresh = true;
        break;
      case CapabilityCode.ExtendedMessage:
        if (len !== 0) throw malformed(code, `length ${len}, expected 0`);
        caps.extendedMessage = true;
        break;
      case CapabilityCode.FourOctetAs:
        if (len !== 4) throw malformed(code, `length ${len}, expected 4`);
        caps.as4 = ((buf[v] << 24) | (buf[v + 1] << 16) | (buf[v + 2] << 8) | buf[v + 3]) >>> 0;
        break;
      case CapabilityCode.ExtendedNextHop:
        if (len % 6 !== 0) throw malformed(code, `length ${len} is not a multiple of 6`);
        for (let p = v; p < v + len; p += 6) {
          caps.extendedNextHop.push({
            family: familyCode((buf[p] << 8) | buf[p + 1], (buf[p + 2] << 8) | buf[p + 3]),
            nextHopAfi: (buf[p + 4] << 8) | buf[p + 5],
          });
        }
        break;
      case CapabilityCode.GracefulRestart: {
        if (len < 2 || (len - 2) % 4 !== 0) throw malformed(code, `length ${len}, expected 2 + 4n`);
        const gr: GracefulRestartCapability = {
          restarting: (buf[v] & 0x80) !== 0,
          notification: (buf[v] & 0x40) !== 0,
          time: ((buf[v] & 0x0f) << 8) | buf[v + 1],
          families: [],
        };
        for (let p = v + 2; p < v + len; p += 4) {
          gr.families.push({ family: familyCode((buf[p] << 8) | buf[p + 1], buf[p + 2]), forwarding: (buf[p + 3] & 0x80) !== 0 });
        }
        caps.gracefulRestart = gr;
        break;
      }
    }
    off = v + len;
  }
}
