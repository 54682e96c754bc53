/**
 * herald's BGP-4 speaker: no Kubernetes knowledge, real routers accept it.
 *
 * ```
 * Speaker ─ instances (local AS, router ID, optional listener)
 *    └─ Session per peer ─ FSM (RFC 4271 §8, pure) · timers on a Clock
 *         ├─ Connection(s): framing, backpressure, collision (§6.8)
 *         ├─ AdjRibIn: received, counted, never installed
 *         └─ AdjRibOut: per family prefix → interned AttrSet; packs UPDATEs
 * wire/ ─ codec on Uint8Array/DataView, one codec per path attribute
 * ```
 *
 * Supported: 4-octet AS (RFC 6793, AS_TRANS/AS4_PATH to old speakers),
 * multiprotocol (RFC 4760; other AFI/SAFI pairs negotiated, no routes),
 * route refresh (RFC 2918), graceful restart (RFC 4724, N bit of RFC 8538,
 * End-of-RIB), extended messages (RFC 8654), extended next hop (RFC 8950),
 * revised error handling (RFC 7606), communities (RFC 1997) and large
 * communities (RFC 8092), extended optional parameters (RFC 9072).
 *
 * Prefixes are "packed keys" (NLRI bytes in a string; see `keyFromText`)
 * and attribute sets are interned, so large tables cost one map entry per
 * prefix. Times are milliseconds from the speaker's Clock.
 *
 * @example Announce a prefix to one eBGP peer
 * ```ts
 * import { Speaker } from "./src/bgp/mod.ts";
 * const speaker = new Speaker({ logger });              // transport: node:net by default
 * await speaker.setInstance({ name: "default", asn: 65001, routerId: "10.0.0.1", listen: { address: "0.0.0.0", port: 179 } });
 * speaker.setPeer("default", { name: "tor", address: "10.0.0.254", asn: 65000, families: ["ipv4/unicast", "ipv6/unicast"],
 *   timers: { holdTimeSeconds: 9, keepaliveSeconds: 3 }, gracefulRestart: { enabled: true, restartTimeSeconds: 120 } });
 * const attrs = speaker.attributes({ communities: [parseCommunity("65000:99")!], largeCommunities: [[65000, 1, 2]] });
 * speaker.announce("default", "tor", "ipv4/unicast", ["192.0.2.10/32"], attrs);   // incremental
 * speaker.withdraw("default", "tor", "ipv4/unicast", ["192.0.2.10/32"]);
 * speaker.subscribe((e) => { if (e.type === "state") console.log(e.peer, e.previous, "→", e.state, e.reason ?? ""); });
 * speaker.peers();                                      // PeerStatus[] (state, counts, capabilities, timers…)
 * [...speaker.advertised("default", "tor", "ipv4/unicast")].map((r) => renderAttributes(r.attributes));
 * await speaker.close({ notify: false });               // agent shutdown: GR peers keep the routes
 * ```
 *
 * @example A million routes (what scripts/bench-bgp does)
 * ```ts
 * const keys: PrefixKey[] = [];
 * for (let i = 0; i < 1_000_000; i++) keys.push(keyFromText(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`)!);
 * speaker.announceKeys("default", "collector", "ipv4/unicast", keys, speaker.attributes({}));   // one AttrSet, ~1 map entry per prefix
 * speaker.subscribe((e) => e.type === "end-of-rib" && e.direction === "sent" && console.log("all sent"));
 * ```
 *
 * @example Collect what peers send
 * ```ts
 * await speaker.setInstance({ name: "collect", asn: 65000, routerId: "192.0.2.255", listen: { address: "127.0.0.1", port: 1790 }, acceptAnyPeer: true });
 * speaker.subscribe((e) => { if (e.type === "received") for (const k of e.announced) console.log(keyToText(k, 4), e.path?.attrs); }, { received: true });
 * ```
 */
export { Speaker } from "./speaker.ts";
export type { InstanceOptions, InstanceResult, PeerResult, SpeakerOptions } from "./speaker.ts";
export type { PeerOptions } from "./peer-config.ts";
export type { AttrSet, OriginName, RouteAttributes } from "./attr-set.ts";
export type { SpeakerEvent, SpeakerListener } from "./events.ts";
export type { FamilyStatus, GracefulRestartStatus, PeerStatus, RouteEntry } from "./status.ts";
export type { Reason, State } from "./fsm.ts";
export { REASON_TEXT, STATES, transition } from "./fsm.ts";
export type { Clock } from "./clock.ts";
export { systemClock } from "./clock.ts";
export type { BgpTransport } from "./transport.ts";
export { netTransport } from "./transport.ts";
export { nextHopOf, renderAttribute, renderAttributes, splitAttribute } from "./render.ts";
export { formatFamily, gobgpFamilyName, parseFamily } from "./families.ts";
export type { FamilyCode } from "./families.ts";
export {
  capabilityName,
  describeNotification,
  errorCodeName,
  errorSubcodeName,
  formatCommunity,
  formatLargeCommunity,
  keyFromPrefix,
  keyFromText,
  keyToBytes,
  keyToText,
  NotificationError,
  parseCommunity,
  parseLargeCommunity,
  WELL_KNOWN_COMMUNITIES,
} from "./wire/mod.ts";
export type { PrefixKey } from "./wire/mod.ts";
