/**
 * The control plane: Cilium's BGP semantics as pure functions. From typed
 * resources (schemas/mod.ts), the node's identity, host facts and options,
 * it computes this node's desired BGP state: instances, peers with their
 * effective settings, and per peer and family the prefixes with their path
 * attributes. No I/O, no clocks.
 *
 * - `desiredState(input)`: from scratch (desired.ts).
 * - `ControlEngine`: the same, incrementally; a Service or EndpointSlice
 *   change yields a route delta in microseconds (engine.ts).
 * - `classifyChanges` / `diffRoutes`: what the speaker must recreate, reset,
 *   update or re-send (diff.ts).
 * - `deriveNodeConfigs` / `nodeConfigForNode`: the operator's NodeConfig
 *   derivation and cluster-config conditions (node-config.ts).
 * - `explain(input, query)`: why a prefix or Service is or is not advertised.
 * - `routePolicies(state)`: Cilium's export-policy names and statements.
 * - `loadManifests` / `lintResources`: manifests in, located issues out.
 *
 * @example
 * ```ts
 * const { resources } = loadManifests([{ file: "bgp.yaml", text }]);
 * const state = desiredState({ resources, node: { name: "worker-1" } });
 * for (const inst of state.instances) for (const peer of inst.peers) {
 *   console.log(inst.name, peer.name, [...peer.routes.get("ipv4/unicast")!.keys()]);
 * }
 * ```
 */
export { availableRoutes, desiredState, stateToJSON, wireLocalPreference } from "./desired.ts";
export { ControlEngine } from "./engine.ts";
export type { ControlDelta, ResourceChange } from "./engine.ts";
export { classifyChanges, diffRoutes } from "./diff.ts";
export type { ChangePlan, InstanceChange, PeerChange, RouteChange } from "./diff.ts";
export {
  candidateNodes,
  clusterConfigConditions,
  deriveNodeConfigs,
  nodeConfigForNode,
  nodeConfigWrites,
  peerConfigConditions,
} from "./node-config.ts";
export type { DerivedNodeConfigs, NodeConfigForNode, NodeConfigWrites, NodeInfo } from "./node-config.ts";
export { explain } from "./explain.ts";
export type { Explanation, ExplainQuery, Reason, Verdict } from "./explain.ts";
export { policyName, routePolicies } from "./policies.ts";
export type { PolicyStatement, RoutePolicy } from "./policies.ts";
export { addResource, loadManifests, resourceKey } from "./load.ts";
export type { LoadedResource, LoadResult } from "./load.ts";
export { lintResources } from "./lint.ts";
export { clusterIPFamilies } from "./model.ts";
export { formatCommunity, parseCommunity, wellKnownName } from "./attributes.ts";
export type { Origin, RouteAttributes } from "./attributes.ts";
export { KINDS, parseDocument, parseResource, schemaFor } from "./schemas/mod.ts";
export type { ManifestIssue, ParseResult, Resource, ResourceKind } from "./schemas/mod.ts";
export * from "./types.ts";
