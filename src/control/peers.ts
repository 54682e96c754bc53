/**
 * Instances and peers of a v2 NodeConfig on this node (C2–C5, D1–D13):
 * router ID, listen port, peer address (explicit or default gateway),
 * PeerConfig resolution with Cilium's defaults, TCP-MD5 secrets, source
 * address. Routes are attached later by the engine, through route groups.
 */
import { canonicalIP, parseIP } from "../net/ip.ts";
import { defaultGateway, hostIPv4, routerIDFromMAC, sourceInterfaceAddress } from "./host.ts";
import type { RouteGroup } from "./groups.ts";
import type { CiliumBGPNodeConfig, CiliumBGPNodeInstance } from "./schemas/node-config.ts";
import type { CiliumBGPPeerConfig } from "./schemas/peer-config.ts";
import { type Secret, secretValue } from "./schemas/secret.ts";
import type {
  ControlIssue,
  ControlOptions,
  DesiredInstance,
  DesiredPeer,
  Family,
  HostFacts,
  PeerTimers,
  RouteFamily,
  RouterIDSource,
} from "./types.ts";

/** Families a peer negotiates when its PeerConfig lists none, or has no PeerConfig (D5, D6). */
export const DEFAULT_FAMILIES: readonly Family[] = ["ipv6/unicast", "ipv4/unicast"];
export const DEFAULT_TIMERS: PeerTimers = { connectRetryTimeSeconds: 120, holdTimeSeconds: 90, keepAliveTimeSeconds: 30 };
export const DEFAULT_PEER_PORT = 179;

export type PeerSettings = Omit<DesiredPeer, "routes">;
export interface PeerModel {
  readonly peer: PeerSettings;
  /** null ⇒ no advertisements (no PeerConfig, D5/E2). */
  readonly group: RouteGroup | null;
}
export interface InstanceModel {
  readonly instance: Omit<DesiredInstance, "peers">;
  readonly peers: readonly PeerModel[];
}

export interface ModelContext {
  readonly nodeName: string;
  /** The node's IPv4 from its Node / CiliumNode / identity (C4 step 2). */
  readonly nodeIPv4: { address: string; detail: string } | null;
  readonly host?: HostFacts;
  readonly options: ControlOptions;
  readonly peerConfigs: ReadonlyMap<string, CiliumBGPPeerConfig>;
  /** "namespace/name" → Secret. */
  readonly secrets: ReadonlyMap<string, Secret>;
  readonly issues: ControlIssue[];
  groupFor(pc: CiliumBGPPeerConfig): RouteGroup;
}

export type RouterIDChoice = { ok: true; routerID: string; source: RouterIDSource; detail: string } | { ok: false; reason: string };

/**
 * C4: explicit router ID; else (default mode) the node's IPv4; else herald's
 * host fallbacks: an IPv4 on the host, then four MAC bytes of
 * `routerIDInterface` (default: the default-route interface). In ip-pool
 * mode a missing router ID is an error.
 */
export function chooseRouterID(
  explicit: { value: string; source: RouterIDSource; detail: string } | null,
  ctx: Pick<ModelContext, "nodeIPv4" | "host" | "options">,
): RouterIDChoice {
  if (explicit) return { ok: true, routerID: explicit.value, source: explicit.source, detail: explicit.detail };
  if (ctx.options.routerIDAllocationMode === "ip-pool") {
    return { ok: false, reason: "router ID is missing: ip-pool mode needs one in the NodeConfig (B9)" };
  }
  if (ctx.nodeIPv4) return { ok: true, routerID: ctx.nodeIPv4.address, source: "node-address", detail: ctx.nodeIPv4.detail };
  const v4 = hostIPv4(ctx.host);
  if (v4.ok) return { ok: true, routerID: v4.value, source: "host-address", detail: v4.detail };
  const mac = routerIDFromMAC(ctx.host, ctx.options.routerIDInterface);
  if (mac.ok) return { ok: true, routerID: mac.value, source: "interface-mac", detail: mac.detail };
  return { ok: false, reason: `Cannot choose a router ID: the node has no IPv4 address and ${mac.reason}` };
}

/** D9: the TCP-MD5 password, or an instance error. */
export function peerPassword(
  ref: string | undefined,
  ctx: Pick<ModelContext, "options" | "secrets" | "issues">,
  who: { instance: string; peer: string; peerConfig: string },
): { ok: true; password: string | null } | { ok: false; error: string } {
  if (!ref) return { ok: true, password: null };
  const ns = ctx.options.bgpSecretsNamespace;
  if (ns === "") return { ok: false, error: `failed to fetch secret "${ref}": SecretsNamespace not configured` };
  const secret = ctx.secrets.get(`${ns}/${ref}`);
  if (!secret) {
    ctx.issues.push({
      level: "warning",
      rule: "D9",
      instance: who.instance,
      peer: who.peer,
      message: `Referenced Auth Secret "${ref}" is missing (namespace "${ns}"): peer ${who.peer} runs without a TCP-MD5 password`,
    });
    return { ok: true, password: null };
  }
  const pw = secretValue(secret, "password");
  if (!pw) return { ok: false, error: `failed to fetch secret "${ref}": missing password key` };
  return { ok: true, password: pw };
}

const sessionType = (localASN: number, peerASN: number): DesiredPeer["sessionType"] =>
  peerASN === 0 ? "unknown" : peerASN === localASN ? "ibgp" : "ebgp";

export function unicastFamilies(families: readonly Family[]): RouteFamily[] {
  return families.filter((f): f is RouteFamily => f === "ipv4/unicast" || f === "ipv6/unicast");
}

/**
 * D12: routes of the other IP family (IPv4 to an IPv6 peer, IPv6 to an IPv4
 * peer) are sent only when the session also negotiates its own family.
 * Returns that own family when it is missing, else null.
 */
export function missingOwnFamily(peer: Pick<DesiredPeer, "address" | "families">, family: RouteFamily): RouteFamily | null {
  const own: RouteFamily = peer.address.includes(":") ? "ipv6/unicast" : "ipv4/unicast";
  return family !== own && !peer.families.includes(own) ? own : null;
}

/** Peers of one NodeConfig instance; null peers + error when the neighbour reconcile fails as a whole. */
function instancePeers(inst: CiliumBGPNodeInstance, localASN: number, ctx: ModelContext): { peers: PeerModel[]; errors: string[] } {
  const peers: PeerModel[] = [];
  const warn = (rule: string, peer: string, message: string) =>
    ctx.issues.push({ level: "warning", rule, instance: inst.name, peer, message });
  const seenAddress = new Map<string, string>();
  const errors: string[] = [];
  for (const p of inst.peers ?? []) {
    // D2: checked for every peer before anything is configured.
    if (p.peerASN === undefined) return { peers: [], errors: [`peer ${p.name} does not have a PeerASN`] };
  }
  for (const p of inst.peers ?? []) {
    const peerASN = p.peerASN!;
    if (p.peerInterface || p.autoDiscovery?.mode === "Unnumbered") {
      warn("D3", p.name, `peer ${p.name}: unnumbered (interface) peering is not supported by herald: skipped`);
      continue;
    }
    // Address: explicit wins over auto-discovery (D4); none ⇒ skipped (D3).
    let address: string | null = null;
    let addressSource: DesiredPeer["addressSource"] = "peerAddress";
    if (p.peerAddress !== undefined) {
      address = canonicalIP(p.peerAddress.split("%")[0]) ?? p.peerAddress;
    } else if (p.autoDiscovery?.mode === "DefaultGateway" && p.autoDiscovery.defaultGateway) {
      const gw = defaultGateway(ctx.host, p.autoDiscovery.defaultGateway.addressFamily);
      if (!gw.ok) {
        warn("D4", p.name, `peer ${p.name}: default gateway discovery found nothing: ${gw.reason}: skipped`);
        continue;
      }
      address = gw.value;
      addressSource = "autoDiscovery";
    } else {
      warn("D3", p.name, `peer ${p.name} has neither peerAddress nor autoDiscovery: skipped`);
      continue;
    }
    // PeerConfig: unset ⇒ defaults and no adverts; named but missing ⇒ not configured (D5).
    const refName = p.peerConfigRef?.name;
    const pc = refName ? ctx.peerConfigs.get(refName) : undefined;
    if (refName && !pc) {
      warn("D5", p.name, `peer ${p.name} references CiliumBGPPeerConfig "${refName}", which does not exist: the peer is not configured until it does`);
      continue;
    }
    const spec = pc?.spec;
    const pw = peerPassword(spec?.authSecretRef, ctx, { instance: inst.name, peer: p.name, peerConfig: refName ?? "" });
    if (!pw.ok) return { peers: [], errors: [pw.error] };
    // Local address: override wins, else sourceInterface (D11).
    let localAddress: string | null = null;
    let localAddressSource: DesiredPeer["localAddressSource"] = null;
    if (p.localAddress !== undefined) {
      localAddress = canonicalIP(p.localAddress.split("%")[0]) ?? p.localAddress;
      localAddressSource = "override";
    } else if (spec?.transport?.sourceInterface) {
      const fam = parseIP(address)?.family ?? 4;
      const src = sourceInterfaceAddress(ctx.host, spec.transport.sourceInterface, fam);
      if (!src.ok) {
        warn("D11", p.name, `peer ${p.name}: ${src.reason}: skipped`);
        continue;
      }
      localAddress = src.value;
      localAddressSource = "sourceInterface";
    }
    const prior = seenAddress.get(address);
    if (prior !== undefined) {
      // The speaker refuses a second neighbour on one address; the first stays.
      errors.push(`failed to add neighbor ${p.name} in instance ${inst.name}: peer ${prior} already uses address ${address}`);
      continue;
    }
    seenAddress.set(address, p.name);
    const listed = [...new Set((spec?.families ?? []).map((f) => `${f.afi}/${f.safi}` as Family))];
    const families = listed.length ? listed : [...DEFAULT_FAMILIES];
    const gr = spec?.gracefulRestart;
    peers.push({
      peer: {
        name: p.name,
        address,
        addressSource,
        peerASN,
        peerPort: spec?.transport?.peerPort ?? DEFAULT_PEER_PORT,
        localAddress,
        localAddressSource,
        peerConfig: pc ? pc.metadata.name : null,
        timers: spec?.timers ? { ...spec.timers } : { ...DEFAULT_TIMERS },
        gracefulRestart: { enabled: gr?.enabled ?? false, restartTimeSeconds: gr?.restartTimeSeconds ?? 120 },
        ebgpMultihop: spec?.ebgpMultihop ?? 1,
        families,
        password: pw.password,
        authSecretRef: spec?.authSecretRef ?? null,
        sessionType: sessionType(localASN, peerASN),
      },
      group: pc ? ctx.groupFor(pc) : null,
    });
  }
  return { peers, errors };
}

/** C2–C5: every startable instance of the NodeConfig. */
export function v2Instances(nodeConfig: CiliumBGPNodeConfig, ctx: ModelContext): InstanceModel[] {
  const out: InstanceModel[] = [];
  for (const inst of nodeConfig.spec.bgpInstances) {
    const fail = (rule: string, message: string) =>
      ctx.issues.push({ level: "error", rule, instance: inst.name, message: `instance ${inst.name}: ${message}` });
    if (inst.localASN === undefined) {
      fail("C3", "missing ASN in desired config");
      continue;
    }
    const rid = chooseRouterID(
      inst.routerID ? { value: inst.routerID, source: "node-config", detail: `CiliumBGPNodeConfig "${nodeConfig.metadata.name}" routerID` } : null,
      ctx,
    );
    if (!rid.ok) {
      fail("C4", rid.reason);
      continue;
    }
    const { peers, errors } = instancePeers(inst, inst.localASN, ctx);
    for (const e of errors) ctx.issues.push({ level: "error", rule: "C9", instance: inst.name, message: `instance ${inst.name}: ${e}` });
    out.push({
      instance: {
        name: inst.name,
        localASN: inst.localASN,
        routerID: rid.routerID,
        routerIDSource: rid.source,
        routerIDDetail: rid.detail,
        localPort: inst.localPort ?? null,
        errors,
      },
      peers,
    });
  }
  return out;
}
