/**
 * Speaker and control snapshots → Cilium's API shapes (schemas.ts), with
 * keys in Go's marshalling order and Go's `omitempty` applied, so that
 * `JSON.stringify` of the result is what Cilium's agent would send.
 */
import type { PeerStatus, RouteEntry } from "../bgp/status.ts";
import { formatCommunity, wellKnownName } from "../control/attributes.ts";
import type { RoutePolicy } from "../control/policies.ts";
import type { BgpPath, BgpPeer, BgpPeerFamilies, BgpRoute, BgpRoutePolicy, BgpRoutePolicyStatement } from "./schemas.ts";

const b64 = (bytes: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
};

/** Cilium's session-state strings (spec cli §1). */
const SESSION_STATE: Record<string, string> = {
  idle: "idle",
  connect: "connect",
  active: "active",
  opensent: "open_sent",
  openconfirm: "open_confirm",
  established: "established",
};

/** Drops undefined, zero, false and "" values: Go's omitempty on scalars. */
function omitEmpty<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || v === 0 || v === false || v === "") delete o[k];
  }
  return o;
}

export function bgpPeer(p: PeerStatus): BgpPeer {
  const families: BgpPeerFamilies[] = p.families.map((f) =>
    omitEmpty({ accepted: f.accepted, advertised: f.advertised, afi: f.afi, received: f.received, safi: f.safi })
  );
  const gr = p.gracefulRestart.enabled ? { enabled: true, "restart-time-seconds": p.gracefulRestart.restartTimeSeconds } : {};
  const out: BgpPeer = {
    "applied-hold-time-seconds": p.appliedHoldTimeSeconds,
    "applied-keep-alive-time-seconds": p.appliedKeepaliveSeconds,
    "configured-hold-time-seconds": p.timers.holdTimeSeconds,
    "configured-keep-alive-time-seconds": p.timers.keepaliveSeconds,
    "connect-retry-time-seconds": p.timers.connectRetrySeconds,
    "ebgp-multihop-ttl": p.ebgpMultihopTtl,
    families: families.length ? families : null,
    "graceful-restart": gr,
    "local-asn": p.localAsn,
    "local-capabilities": p.localCapabilities.length ? p.localCapabilities.map((c) => ({ capabilities: b64(c) })) : null,
    name: p.name,
    "peer-address": p.peerAddress,
    "peer-asn": p.peerAsn,
    "peer-port": p.peerPort,
    "remote-capabilities": p.remoteCapabilities.length ? p.remoteCapabilities.map((c) => ({ capabilities: b64(c) })) : null,
    "session-state": SESSION_STATE[p.state] ?? "unknown",
    "tcp-password-enabled": p.tcpPasswordEnabled,
    "uptime-nanoseconds": p.state === "established" && p.uptimeMs !== undefined ? Math.round(p.uptimeMs * 1e6) : undefined,
  };
  return omitEmpty(out);
}

export function bgpPath(r: RouteEntry): BgpPath {
  const [afi, safi] = r.family.split("/");
  return omitEmpty({
    "age-nanoseconds": Math.max(0, Math.round(r.ageMs * 1e6)),
    best: r.best,
    family: { afi, safi },
    nlri: { base64: b64(r.nlri) },
    "path-attributes": r.attributes.length ? r.attributes.map((a) => ({ base64: b64(a) })) : null,
    stale: r.stale,
  });
}

/** One route of a listing: Adj-RIB-Out entries carry the neighbour address. */
export function bgpRoute(routerAsn: number, r: RouteEntry, neighbor?: string): BgpRoute {
  return omitEmpty({ neighbor, paths: [bgpPath(r)], prefix: r.prefix, "router-asn": routerAsn });
}

const communityText = (v: number) => wellKnownName(v) ?? formatCommunity(v);

/**
 * Cilium's export policies plus each instance's global import policy
 * `allow-local` (accept locally originated paths only, spec A4), sorted by
 * router ASN then name.
 */
export function bgpRoutePolicies(policies: readonly RoutePolicy[], instances: ReadonlyArray<{ localASN: number }>): BgpRoutePolicy[] {
  const out: BgpRoutePolicy[] = [];
  for (const asn of new Set(instances.map((i) => i.localASN))) {
    out.push({
      name: "allow-local",
      "router-asn": asn,
      statements: [{
        "add-communities": null,
        "add-large-communities": null,
        "match-families": null,
        "route-action": "accept",
        "set-local-preference": -1,
      }],
      type: "import",
    });
  }
  for (const p of policies) {
    out.push({
      name: p.name,
      "router-asn": p.localASN,
      statements: p.statements.map((s): BgpRoutePolicyStatement => {
        const [afi, safi] = s.family.split("/");
        return {
          "add-communities": s.attributes.communities.length ? s.attributes.communities.map(communityText) : null,
          "add-large-communities": s.attributes.largeCommunities.length ? [...s.attributes.largeCommunities] : null,
          "match-families": [{ afi, safi }],
          "match-neighbors": { neighbors: [s.peerAddress], type: "any" },
          "match-prefixes": {
            prefixes: s.prefixes.map((x) => ({ cidr: x.prefix, "prefix-len-max": x.max, "prefix-len-min": x.min })),
            type: "any",
          },
          "route-action": "accept",
          "set-local-preference": s.attributes.localPreference ?? -1,
        };
      }),
      type: "export",
    });
  }
  return out.sort((a, b) => (a["router-asn"] ?? 0) - (b["router-asn"] ?? 0) || ((a.name ?? "") < (b.name ?? "") ? -1 : (a.name ?? "") > (b.name ?? "") ? 1 : 0));
}
