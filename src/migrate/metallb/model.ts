/**
 * MetalLB's configuration as one normalised model, whichever way it was
 * written (CRDs of any served version, the deprecated AddressPool, or the
 * legacy ConfigMap), with MetalLB's defaults applied and references
 * resolved (pool selectors → pool names, community aliases → values).
 */
import type { EndpointSlice } from "../../control/schemas/endpoint-slice.ts";
import type { LabelSelector } from "../../control/schemas/meta.ts";
import type { Node } from "../../control/schemas/node.ts";
import type { Secret } from "../../control/schemas/secret.ts";
import type { Service } from "../../control/schemas/service.ts";
import type { ManifestDocument } from "../../source/manifest.ts";
import type { AddressRange } from "../ranges.ts";

/** Where an object came from: its document, a display name, and its path inside the document. */
export interface Src {
  readonly doc: ManifestDocument;
  /** "IPAddressPool metallb-system/prod" */
  readonly who: string;
  /** Path of the object inside the document ([] for a CRD; into `config` for the ConfigMap). */
  readonly base: ReadonlyArray<string | number>;
}

export interface MPool {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ranges: readonly AddressRange[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly allocation: {
    readonly priority?: number;
    readonly namespaces: readonly string[];
    readonly namespaceSelectors: readonly LabelSelector[];
    readonly serviceSelectors: readonly LabelSelector[];
  } | null;
  readonly src: Src;
}

export interface MPeer {
  readonly name: string;
  readonly myASN: number;
  readonly peerASN: number | null;
  readonly dynamicASN?: "internal" | "external";
  readonly address?: string;
  readonly iface?: string;
  readonly sourceAddress?: string;
  readonly port?: number;
  /** Seconds, as MetalLB computes them (hold = 3 × keepalive or keepalive = hold / 3 when one is set). */
  readonly holdTime?: number;
  readonly keepaliveTime?: number;
  readonly connectTime?: number;
  readonly routerID?: string;
  readonly nodeSelectors: readonly LabelSelector[];
  readonly password?: string;
  readonly passwordSecret?: { readonly name: string; readonly namespace?: string };
  readonly bfdProfile?: string;
  readonly gracefulRestart: boolean;
  readonly ebgpMultiHop: boolean;
  readonly vrf?: string;
  readonly disableMP: boolean;
  readonly dualStackAddressFamily?: boolean;
  readonly src: Src;
}

export interface MBgpAdvert {
  readonly name: string;
  readonly aggregationLength: number;
  readonly aggregationLengthV6: number;
  /** 0 when unset (MetalLB sends LOCAL_PREF 0 then in native mode, nothing in FRR mode). */
  readonly localPref: number;
  /** RFC 1997 values. */
  readonly communities: readonly number[];
  /** "g:l1:l2" */
  readonly largeCommunities: readonly string[];
  /** Resolved pool names. */
  readonly pools: readonly string[];
  readonly nodeSelectors: readonly LabelSelector[];
  /** BGPPeer names; empty = all peers. */
  readonly peers: readonly string[];
  readonly src: Src;
}

export interface ML2Advert {
  readonly name: string;
  readonly pools: readonly string[];
  readonly nodeSelectors: readonly LabelSelector[];
  readonly interfaces: readonly string[];
  readonly src: Src;
}

export interface InputService {
  readonly svc: Service;
  /** The document as written, for the patched output. */
  readonly raw: Record<string, unknown>;
  readonly src: Src;
}

export interface MetalLBModel {
  readonly pools: MPool[];
  readonly peers: MPeer[];
  readonly bgpAdverts: MBgpAdvert[];
  readonly l2Adverts: ML2Advert[];
  readonly bfdProfiles: string[];
  /** Where MetalLB runs (its objects' namespace), for Secrets. */
  namespace: string;
  /** The legacy ConfigMap, when the configuration came from one (the split rewrites it). */
  configMap: { readonly raw: Record<string, unknown>; readonly config: Record<string, unknown>; readonly src: Src } | null;
  /** The raw IPAddressPool documents by pool name (the split rewrites them). */
  readonly poolDocs: Map<string, Record<string, unknown>>;
  readonly services: InputService[];
  readonly nodes: Node[];
  readonly endpointSlices: EndpointSlice[];
  readonly secrets: Secret[];
  readonly namespaces: Array<{ name: string; labels: Record<string, string> }>;
}

export function emptyModel(): MetalLBModel {
  return {
    pools: [],
    peers: [],
    bgpAdverts: [],
    l2Adverts: [],
    bfdProfiles: [],
    namespace: "metallb-system",
    configMap: null,
    poolDocs: new Map(),
    services: [],
    nodes: [],
    endpointSlices: [],
    secrets: [],
    namespaces: [],
  };
}
