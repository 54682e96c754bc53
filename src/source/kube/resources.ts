/**
 * The Kubernetes resources herald reads and writes, as group/version/resource
 * with scope, and their URL paths. cilium.io kinds are read at the version
 * Cilium stores them in (spec/cilium-api.md §0.1): v2 for the BGP v2 API and
 * LB pools, v2alpha1 for the kinds that only exist there.
 */

export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  /** Plural resource name, as in URLs. */
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const core = (resource: string, kind: string, namespaced: boolean): ResourceRef => ({ group: "", version: "v1", resource, kind, namespaced });
const cilium = (resource: string, kind: string, version = "v2"): ResourceRef => ({ group: "cilium.io", version, resource, kind, namespaced: false });

export const SERVICES = core("services", "Service", true);
export const NODES = core("nodes", "Node", false);
export const SECRETS = core("secrets", "Secret", true);
export const ENDPOINT_SLICES: ResourceRef = { group: "discovery.k8s.io", version: "v1", resource: "endpointslices", kind: "EndpointSlice", namespaced: true };
export const LEASES: ResourceRef = { group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true };
export const EVENTS: ResourceRef = { group: "events.k8s.io", version: "v1", resource: "events", kind: "Event", namespaced: true };

export const CLUSTER_CONFIGS = cilium("ciliumbgpclusterconfigs", "CiliumBGPClusterConfig");
export const PEER_CONFIGS = cilium("ciliumbgppeerconfigs", "CiliumBGPPeerConfig");
export const ADVERTISEMENTS = cilium("ciliumbgpadvertisements", "CiliumBGPAdvertisement");
export const NODE_CONFIGS = cilium("ciliumbgpnodeconfigs", "CiliumBGPNodeConfig");
export const NODE_CONFIG_OVERRIDES = cilium("ciliumbgpnodeconfigoverrides", "CiliumBGPNodeConfigOverride");
export const LB_IP_POOLS = cilium("ciliumloadbalancerippools", "CiliumLoadBalancerIPPool");
export const CILIUM_NODES = cilium("ciliumnodes", "CiliumNode");
export const PEERING_POLICIES = cilium("ciliumbgppeeringpolicies", "CiliumBGPPeeringPolicy", "v2alpha1");
export const POD_IP_POOLS = cilium("ciliumpodippools", "CiliumPodIPPool", "v2alpha1");
export const L2_ANNOUNCEMENT_POLICIES = cilium("ciliuml2announcementpolicies", "CiliumL2AnnouncementPolicy", "v2alpha1");

/** `/api/v1/...` or `/apis/<group>/<version>/...`, with namespace, name and subresource when given. */
export function resourcePath(ref: ResourceRef, at: { namespace?: string; name?: string; subresource?: string } = {}): string {
  const parts = [ref.group === "" ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`];
  if (ref.namespaced && at.namespace) parts.push("namespaces", encodeURIComponent(at.namespace));
  parts.push(ref.resource);
  if (at.name !== undefined) parts.push(encodeURIComponent(at.name));
  if (at.subresource) parts.push(at.subresource);
  return parts.join("/");
}

/** "namespace/name" for namespaced kinds, "name" otherwise: the key objects are known by. */
export function objectKey(ref: ResourceRef, meta: { name: string; namespace?: string }): string {
  return ref.namespaced ? `${meta.namespace ?? ""}/${meta.name}` : meta.name;
}
