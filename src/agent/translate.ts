/**
 * Desired state (control's words) → speaker options (the speaker's words):
 * one instance per DesiredInstance, one peer per DesiredPeer, and for each
 * route its interned attribute set.
 *
 * Route attributes arrive interned from control (equal community arrays
 * are the same array), so `AttrSets` caches the speaker's set per
 * (communities, large communities, origin, LOCAL_PREF) by identity: ten
 * thousand Services sharing one advertisement cost one lookup each, not one
 * string key each.
 */
import type { InstanceOptions } from "../bgp/speaker.ts";
import type { PeerOptions } from "../bgp/peer-config.ts";
import type { AttrSet, RouteAttributes as SpeakerAttributes } from "../bgp/attr-set.ts";
import type { DesiredInstance, DesiredPeer, Route } from "../control/types.ts";

/** The speaker instance for a desired instance. `listenAddress` applies when it listens (C5). */
export function instanceOptions(inst: DesiredInstance, listenAddress: string, restarting: boolean): InstanceOptions {
  return {
    name: inst.name,
    asn: inst.localASN,
    routerId: inst.routerID,
    listen: inst.localPort === null ? null : { address: listenAddress, port: inst.localPort },
    restarting,
  };
}

/** The speaker peer for a desired peer (timers, families, GR, multihop, TCP-MD5 as resolved by control). */
export function peerOptions(peer: DesiredPeer): PeerOptions {
  const o: PeerOptions = {
    name: peer.name,
    address: peer.address,
    asn: peer.peerASN,
    port: peer.peerPort,
    timers: {
      connectRetrySeconds: peer.timers.connectRetryTimeSeconds,
      holdTimeSeconds: peer.timers.holdTimeSeconds,
      keepaliveSeconds: peer.timers.keepAliveTimeSeconds,
    },
    families: [...peer.families],
    gracefulRestart: { ...peer.gracefulRestart },
    ebgpMultihop: peer.ebgpMultihop,
  };
  if (peer.localAddress !== null) o.localAddress = peer.localAddress;
  if (peer.password !== null && peer.password !== "") o.md5Password = peer.password;
  return o;
}

/** "65001:1:2" → [65001, 1, 2]. */
function largeCommunity(text: string): [number, number, number] {
  const [a, b, c] = text.split(":").map(Number);
  return [a, b, c];
}

/** Control route attributes → the speaker's interned AttrSet, cached by identity. */
export class AttrSets {
  readonly #intern: (a: SpeakerAttributes) => AttrSet;
  readonly #cache = new WeakMap<readonly number[], WeakMap<readonly string[], Map<string, AttrSet>>>();

  constructor(intern: (a: SpeakerAttributes) => AttrSet) {
    this.#intern = intern;
  }

  of(route: Route): AttrSet {
    let byLarge = this.#cache.get(route.communities);
    if (!byLarge) this.#cache.set(route.communities, byLarge = new WeakMap());
    let rest = byLarge.get(route.largeCommunities);
    if (!rest) byLarge.set(route.largeCommunities, rest = new Map());
    const key = `${route.origin}|${route.localPreference ?? ""}`;
    let set = rest.get(key);
    if (!set) {
      const a: SpeakerAttributes = { origin: route.origin };
      if (route.communities.length) a.communities = route.communities;
      if (route.largeCommunities.length) a.largeCommunities = route.largeCommunities.map(largeCommunity);
      // LOCAL_PREF goes on the wire on iBGP only; the speaker decides per session (E8).
      if (route.localPreference !== null) a.localPref = route.localPreference;
      set = this.#intern(a);
      rest.set(key, set);
    }
    return set;
  }
}
