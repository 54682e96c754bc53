/**
 * The capability view of `herald bgp peers -c` (spec/cilium-cli-and-metrics.md
 * §2, `-c`; §4 for cilium-dbg's `-c`): per peer, the union of the
 * capabilities herald advertised and the peer sent, sorted by code, each
 * marked `advertised`, `received` or `advertised and received`, with the
 * local and remote copies' details. Pure functions: BgpPeer JSON in, text out.
 *
 * Input is the API's `local-capabilities` / `remote-capabilities`: one
 * base64 capability TLV (code, length, value) each. The TLVs are checked
 * and decoded by the OPEN decoder (bgp/wire/capabilities.ts); the codes it
 * does not interpret (add-path, long-lived GR, FQDN, software version) are
 * read here, only to print them.
 *
 * Cilium's quirks kept: the graceful-restart, long-lived-graceful-restart
 * and extended-nexthop detail blocks start with one space before their
 * tabs; graceful-restart prints `restart time` only when it lists families;
 * a forward flag is shown only when the family's flags octet is exactly
 * 0x80; other capabilities without a detail form repeat their name.
 */
import { familyCode, gobgpFamilyName } from "../bgp/families.ts";
import { type Capabilities, CapabilityCode, capabilityName, decodeCapabilities, emptyCapabilities } from "../bgp/wire/capabilities.ts";
import type { BgpPeer } from "../api/schemas.ts";
import { sortPeers } from "./bgp-format.ts";

/** One capability TLV of one side, decoded. */
interface Cap {
  code: number;
  /** The TLV's value octets. */
  value: Uint8Array;
  /** What the OPEN decoder understood of it. */
  decoded: Capabilities;
}

function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Decodes one side's TLVs; an undecodable one is reported through `warn` and left out. */
function decodeSide(list: BgpPeer["local-capabilities"], side: "local" | "remote", warn: (message: string) => void): Cap[] {
  const caps: Cap[] = [];
  for (const item of list ?? []) {
    const text = item.capabilities ?? "";
    try {
      let tlv: Uint8Array;
      try {
        tlv = fromBase64(text);
      } catch {
        throw new Error(`could not decode from base64 to bytes ${text}`);
      }
      if (tlv.length < 2 || tlv.length < 2 + tlv[1]) throw new Error(`could not decode from bytes to capability ${text}: truncated capability`);
      const end = 2 + tlv[1];
      const decoded = emptyCapabilities();
      try {
        decodeCapabilities(tlv, 0, end, decoded);
      } catch (err) {
        throw new Error(`could not decode from bytes to capability ${text}: ${(err as Error).message}`);
      }
      caps.push({ code: tlv[0], value: tlv.slice(2, end), decoded });
    } catch (err) {
      warn(`Could not decode all ${side} capabilities: ${(err as Error).message}`);
    }
  }
  return caps;
}

/** Same capability: same code and, for multiprotocol, the same family. */
function sameCap(a: Cap, b: Cap): boolean {
  if (a.code !== b.code) return false;
  return a.code !== CapabilityCode.Multiprotocol || a.decoded.families[0] === b.decoded.families[0];
}

const lookup = (cap: Cap, list: readonly Cap[]): Cap | undefined => list.find((c) => sameCap(c, cap));

const familyOf = (v: Uint8Array, at: number): string => gobgpFamilyName(familyCode((v[at] << 8) | v[at + 1], v[at + 2]));

/** Graceful restart (RFC 4724 §3): header line, then one line per family. */
function gracefulRestartDetail(cap: Cap): string {
  const gr = cap.decoded.gracefulRestart!;
  const head: string[] = [];
  if (gr.families.length > 0) head.push(`restart time: ${gr.time} sec`);
  if (gr.restarting) head.push("restart flag set");
  if (gr.notification) head.push("notification flag set");
  let s = `\t\t\t${head.join(", ")}\n`;
  gr.families.forEach((f, i) => {
    // The flags octet of the i-th tuple; Cilium tests it for exactly 0x80.
    const forward = cap.value[2 + i * 4 + 3] === 0x80;
    s += `\t\t\t${gobgpFamilyName(f.family)}${forward ? ", forward flag set" : ""}\n`;
  });
  return s;
}

/** Long-lived GR (RFC 9494 §3): tuples of AFI(2) SAFI(1) flags(1) stale time(3). */
function longLivedDetail(cap: Cap): string {
  let s = "";
  for (let p = 0; p + 7 <= cap.value.length; p += 7) {
    const v = cap.value;
    const time = (v[p + 4] << 16) | (v[p + 5] << 8) | v[p + 6];
    s += `\t\t\t${familyOf(v, p)}, restart time ${time} sec${v[p + 3] === 0x80 ? ", forward flag set" : ""}\n`;
  }
  return s;
}

/** Extended next hop (RFC 8950 §3). */
function extendedNextHopDetail(cap: Cap): string {
  return cap.decoded.extendedNextHop
    .map((e) => `\t\t\tnlri: ${gobgpFamilyName(e.family)}, nexthop: ${e.nextHopAfi === 1 ? "ipv4" : e.nextHopAfi === 2 ? "ipv6" : String(e.nextHopAfi)}\n`)
    .join("");
}

const ADD_PATH_MODES = ["none", "receive", "send", "receive/send"];

/** ADD-PATH (RFC 7911 §4): tuples of AFI(2) SAFI(1) send/receive(1). */
function addPathDetail(cap: Cap): string {
  let s = "";
  for (let p = 0; p + 4 <= cap.value.length; p += 4) {
    const mode = cap.value[p + 3];
    s += `\t\t\t${familyOf(cap.value, p)}: ${ADD_PATH_MODES[mode] ?? `unknown(${mode})`}\n`;
  }
  return s;
}

const utf8 = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** FQDN (draft-walton-bgp-hostname-capability): host length, host, domain length, domain. */
function fqdnDetail(cap: Cap): string {
  const v = cap.value;
  const hostLen = v[0] ?? 0;
  const host = v.subarray(1, 1 + hostLen);
  const domainLen = v[1 + hostLen] ?? 0;
  const domain = v.subarray(2 + hostLen, 2 + hostLen + domainLen);
  return `\t\t\tname: ${utf8(host)}\n\t\t\tdomain: ${utf8(domain)}\n`;
}

/** Software version (draft-abraitis-bgp-version-capability): length, text. */
function softwareVersionDetail(cap: Cap): string {
  return `\t\t\t${utf8(cap.value.subarray(1, 1 + (cap.value[0] ?? 0)))}\n`;
}

/** The detail block of one copy (local or remote) of a capability. */
function detail(cap: Cap): string {
  // Quirk: these three blocks start with one space when they are not blank.
  const spaced = (s: string) => (s.trim().length > 0 ? ` ${s}` : "");
  switch (cap.code) {
    case CapabilityCode.GracefulRestart:
      return spaced(gracefulRestartDetail(cap));
    case CapabilityCode.LongLivedGracefulRestart:
      return spaced(longLivedDetail(cap));
    case CapabilityCode.ExtendedNextHop:
      return spaced(extendedNextHopDetail(cap));
    case CapabilityCode.AddPath:
      return addPathDetail(cap);
    case CapabilityCode.Fqdn:
      return fqdnDetail(cap);
    case CapabilityCode.SoftwareVersion:
      return softwareVersionDetail(cap);
    default:
      return `\t\t\t${capabilityName(cap.code)}\n`;
  }
}

/** The merged capability list of one peer, as Cilium's printLocalRemoteCaps lays it out. */
function formatLocalRemote(local: readonly Cap[], remote: readonly Cap[]): string {
  const merged = [...local, ...remote.filter((c) => !lookup(c, local))];
  merged.sort((a, b) => a.code - b.code); // stable, like Go's insertion sort on short lists
  let out = "";
  let mpHeader = false;
  for (const cap of merged) {
    const mine = lookup(cap, local);
    const theirs = lookup(cap, remote);
    const support = [mine ? "advertised" : "", theirs ? "received" : ""].filter(Boolean).join(" and ");
    if (cap.code === CapabilityCode.Multiprotocol) {
      if (!mpHeader) out += `\t${capabilityName(cap.code)}:\n`;
      mpHeader = true;
      out += `\t\t${gobgpFamilyName(cap.decoded.families[0])}: ${support}\n`;
      continue;
    }
    out += `\t${capabilityName(cap.code)}: ${support}\n`;
    if (mine) out += `\t\tlocal:\n${detail(mine)}`;
    if (theirs) out += `\t\tremote:\n${detail(theirs)}`;
  }
  return out;
}

/**
 * One node's peers: `BGP neighbor is …` and `Neighbor capabilities:` per peer
 * (Cilium's PrintBGPPeersCaps). Raw tabs; cilium-dbg passes it through its
 * tabwriter. `warn` receives the stderr lines for undecodable capabilities.
 */
export function formatNodeCapabilities(peers: readonly BgpPeer[], warn: (message: string) => void = () => {}): string {
  if (peers.length === 0) return "No BGP peer sessions found on this node\n";
  let out = "";
  for (const p of sortPeers(peers)) {
    const local = decodeSide(p["local-capabilities"], "local", warn);
    const remote = decodeSide(p["remote-capabilities"], "remote", warn);
    out += `BGP neighbor is ${p["peer-address"] ?? ""}, remote AS ${p["peer-asn"] ?? 0}\nNeighbor capabilities:\n`;
    out += local.length === 0 && remote.length === 0 ? "No capabilities found\n" : formatLocalRemote(local, remote);
  }
  return out;
}

/** `cilium bgp peers -c` (cilium-cli): `Cilium node: <node>` before each node's block, nodes sorted. */
export function formatPeersCapabilities(perNode: Readonly<Record<string, readonly BgpPeer[]>>, warn?: (message: string) => void): string {
  const nodes = Object.keys(perNode).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (nodes.length === 0) return "No BGP peer sessions found on any node\n";
  return nodes.map((node) => `Cilium node: ${node}\n${formatNodeCapabilities(perNode[node], warn)}`).join("");
}
