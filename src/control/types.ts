/**
 * The control plane's inputs and its output, the DesiredState of one node.
 *
 * Inputs are typed resources (already parsed by schemas/mod.ts), the node's
 * identity, facts about the host (gathered by the agent; herald has no
 * Cilium datapath to ask) and options mirroring Cilium's agent flags.
 */
import type { RouteAttributes } from "./attributes.ts";
import type { CiliumBGPAdvertisement, ServiceAddressType } from "./schemas/advertisement.ts";
import type { CiliumBGPClusterConfig } from "./schemas/cluster-config.ts";
import type { CiliumNode } from "./schemas/cilium-node.ts";
import type { EndpointSlice } from "./schemas/endpoint-slice.ts";
import type { CiliumL2AnnouncementPolicy } from "./schemas/l2-announcement-policy.ts";
import type { CiliumLoadBalancerIPPool } from "./schemas/lb-ip-pool.ts";
import type { Node } from "./schemas/node.ts";
import type { CiliumBGPNodeConfigOverride } from "./schemas/node-config-override.ts";
import type { CiliumBGPNodeConfig } from "./schemas/node-config.ts";
import type { CiliumBGPPeerConfig } from "./schemas/peer-config.ts";
import type { CiliumBGPPeeringPolicy } from "./schemas/peering-policy.ts";
import type { CiliumPodIPPool } from "./schemas/pod-ip-pool.ts";
import type { Secret } from "./schemas/secret.ts";
import type { Service } from "./schemas/service.ts";
import type { Afi, Safi } from "./schemas/_common.ts";

export type { RouteAttributes };

/** `"<afi>/<safi>"`, e.g. `"ipv4/unicast"`. */
export type Family = `${Afi}/${Safi}`;
/** The two families that carry routes. */
export type RouteFamily = "ipv4/unicast" | "ipv6/unicast";
export const ROUTE_FAMILIES: readonly RouteFamily[] = ["ipv4/unicast", "ipv6/unicast"];

/** Every resource kind the control plane reads, as lists. */
export interface Resources {
  clusterConfigs: CiliumBGPClusterConfig[];
  peerConfigs: CiliumBGPPeerConfig[];
  advertisements: CiliumBGPAdvertisement[];
  nodeConfigs: CiliumBGPNodeConfig[];
  nodeConfigOverrides: CiliumBGPNodeConfigOverride[];
  peeringPolicies: CiliumBGPPeeringPolicy[];
  podIPPools: CiliumPodIPPool[];
  ciliumNodes: CiliumNode[];
  l2AnnouncementPolicies: CiliumL2AnnouncementPolicy[];
  lbIPPools: CiliumLoadBalancerIPPool[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  nodes: Node[];
  secrets: Secret[];
}

export function emptyResources(): Resources {
  return {
    clusterConfigs: [],
    peerConfigs: [],
    advertisements: [],
    nodeConfigs: [],
    nodeConfigOverrides: [],
    peeringPolicies: [],
    podIPPools: [],
    ciliumNodes: [],
    l2AnnouncementPolicies: [],
    lbIPPools: [],
    services: [],
    endpointSlices: [],
    nodes: [],
    secrets: [],
  };
}

/** Who this node is. Labels and addresses default to those of its Node / CiliumNode. */
export interface NodeIdentity {
  name: string;
  /** Extra labels, over the Node's (file mode: `--node-labels`). */
  labels?: Readonly<Record<string, string>>;
  /** Node addresses when no Node resource says (router ID, C4; IP families). */
  addresses?: readonly string[];
}

export interface HostInterface {
  name: string;
  /** Administratively up (IFF_UP). */
  adminUp: boolean;
  /** Kernel operational state: "up", "down", "unknown", "dormant", "lowerlayerdown", … */
  operState: string;
  /** "aa:bb:cc:dd:ee:ff", absent for interfaces without one. */
  mac?: string;
  /** Addresses, with or without prefix length ("10.0.0.5/24"). */
  addresses: readonly string[];
}

export interface HostRoute {
  /** "0.0.0.0/0", "::/0", … (only default routes are used, D4). */
  destination: string;
  gateway?: string;
  /** Output interface name. */
  interface: string;
  /** Route priority; lower wins. */
  metric?: number;
}

/** What the agent learnt about the host: an input, never gathered here. */
export interface HostFacts {
  interfaces: readonly HostInterface[];
  routes: readonly HostRoute[];
}

export interface ControlOptions {
  /**
   * "derive": compute this node's NodeConfig from the cluster configs, as
   * Cilium's operator would (file mode, B). "resource": run the
   * CiliumBGPNodeConfig named after the node (Kubernetes mode, C1).
   */
  nodeConfigSource: "derive" | "resource";
  /** Ignore CiliumBGPPeeringPolicy entirely (baseline Cilium, H2). */
  v2Only: boolean;
  /** Cluster IP families; null ⇒ the families of the node's addresses. */
  ipFamilies: "ipv4" | "ipv6" | "dual" | null;
  /** Cilium `ipam` mode; PodCIDR adverts only for "kubernetes" and "cluster-pool" (E9). */
  ipamMode: string;
  /** Where `authSecretRef` Secrets live (D9); Helm's default. "" ⇒ none configured. */
  bgpSecretsNamespace: string;
  /** ORIGIN INCOMPLETE for LoadBalancerIP routes (E4). */
  legacyOriginAttribute: boolean;
  /** Announce Cluster-policy VIPs of Services with no backends (E16). */
  noServiceEndpointsRoutable: boolean;
  /** Router-ID allocation (B9, C4). */
  routerIDAllocationMode: "default" | "ip-pool";
  routerIDAllocationIPPool: string;
  /** Interface whose MAC gives the router ID when the node has no IPv4 (C4); null ⇒ default-route interface. */
  routerIDInterface: string | null;
  /** Status/condition reporting (B7, F4). */
  statusReport: boolean;
}

export const DEFAULT_OPTIONS: ControlOptions = {
  nodeConfigSource: "derive",
  v2Only: false,
  ipFamilies: null,
  ipamMode: "cluster-pool",
  bgpSecretsNamespace: "kube-system",
  legacyOriginAttribute: false,
  noServiceEndpointsRoutable: true,
  routerIDAllocationMode: "default",
  routerIDAllocationIPPool: "",
  routerIDInterface: null,
  statusReport: true,
};

export interface ControlInput {
  resources: Resources;
  node: NodeIdentity;
  host?: HostFacts;
  options?: Partial<ControlOptions>;
}

/** Which object made a route, for explanations and route-policy names (E6). */
export interface RouteSource {
  readonly kind: "PodCIDR" | "Interface" | "CiliumPodIPPool" | "Service";
  /** Node name (PodCIDR), interface name, pool name, or Service name. */
  readonly name: string;
  /** Service namespace. */
  readonly namespace?: string;
  readonly addressType?: ServiceAddressType;
  /** CiliumBGPAdvertisement name(s) (v2) or CiliumBGPPeeringPolicy name (v1) that selected it. */
  readonly advertisements: readonly string[];
  /** What this source's export policy sets (E6); the route carries the merge of all its sources. */
  readonly attributes: RouteAttributes;
}

export interface Route extends RouteAttributes {
  /** Canonical prefix text: "10.100.0.50/32", "fd00::/64". */
  readonly prefix: string;
  readonly family: RouteFamily;
  readonly sources: readonly RouteSource[];
}

/** prefix → route. Peers that share a PeerConfig share the same table object. */
export type RouteTable = ReadonlyMap<string, Route>;

export interface PeerTimers {
  connectRetryTimeSeconds: number;
  holdTimeSeconds: number;
  keepAliveTimeSeconds: number;
}

export interface DesiredPeer {
  readonly name: string;
  /** Canonical address the session goes to. */
  readonly address: string;
  readonly addressSource: "peerAddress" | "autoDiscovery";
  /** 0 ⇒ accept the AS the peer sends (D2). */
  readonly peerASN: number;
  readonly peerPort: number;
  /** Source address; null ⇒ the kernel picks (D11). */
  readonly localAddress: string | null;
  readonly localAddressSource: "override" | "sourceInterface" | null;
  /** The CiliumBGPPeerConfig in force, null when defaults are used (D5). */
  readonly peerConfig: string | null;
  readonly timers: PeerTimers;
  readonly gracefulRestart: { enabled: boolean; restartTimeSeconds: number };
  /** TTL; 1 = multihop off (D8). */
  readonly ebgpMultihop: number;
  /** Negotiated families, in configured order (D12). */
  readonly families: readonly Family[];
  /** TCP-MD5 password, null for none (D9). */
  readonly password: string | null;
  readonly authSecretRef: string | null;
  /** "unknown" when peerASN is 0 (decided by the peer's OPEN). */
  readonly sessionType: "ibgp" | "ebgp" | "unknown";
  /** Routes per family this peer is sent (E1–E3); every negotiated unicast family has a table. */
  readonly routes: ReadonlyMap<RouteFamily, RouteTable>;
}

export type RouterIDSource =
  | "node-config" // NodeConfig routerID: override or ip-pool allocation (C4 step 1)
  | "annotation" // v1 node annotation (G2)
  | "node-address" // Node / CiliumNode IPv4 (C4 step 2)
  | "host-address" // an IPv4 on the host (herald: no CiliumNode address)
  | "interface-mac"; // last four MAC bytes (C4 step 3)

export interface DesiredInstance {
  readonly name: string;
  readonly localASN: number;
  readonly routerID: string;
  readonly routerIDSource: RouterIDSource;
  /** Human-readable origin of the router ID, e.g. "interface eth0 MAC 02:42:ac:11:00:02". */
  readonly routerIDDetail: string;
  /** Listen port; null ⇒ does not listen (C5). */
  readonly localPort: number | null;
  readonly peers: readonly DesiredPeer[];
  /** Reconcile errors kept for this instance (C9, F3); peers are still listed when possible. */
  readonly errors: readonly string[];
}

export interface ControlIssue {
  readonly level: "error" | "warning";
  /** Spec rule, e.g. "D9". */
  readonly rule: string;
  readonly message: string;
  readonly instance?: string;
  readonly peer?: string;
}

export interface DesiredState {
  readonly node: string;
  /** Which API configured the node (H1). "none": nothing selects it. */
  readonly api: "v2" | "v1" | "none";
  /** The NodeConfig in force (derived or read), null for v1 / none. */
  readonly nodeConfig: CiliumBGPNodeConfig | null;
  /** The cluster config that owns this node (derive mode). */
  readonly clusterConfig: string | null;
  /** The v1 policy in force. */
  readonly peeringPolicy: string | null;
  readonly ipFamilies: { ipv4: boolean; ipv6: boolean; source: "option" | "node-addresses" | "default" };
  readonly instances: readonly DesiredInstance[];
  readonly issues: readonly ControlIssue[];
}
