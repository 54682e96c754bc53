/**
 * herald agent in a cluster: the Kubernetes mode of src/agent/agent.ts.
 *
 * - `KubeMode` (mode.ts): the source, the store, the node's status report
 *   and the leader election; the agent calls it at a handful of points.
 * - `LeaderDuties` (leader.ts): what Cilium's operator does, on one agent
 *   at a time: LB-IPAM (lb-ipam.ts), NodeConfigs and conditions
 *   (node-configs.ts), Events for unusable objects (issues.ts), each write
 *   fenced by the Lease and queued with backoff (write-queue.ts), after a
 *   freshness barrier (freshness.ts).
 * - `NodeStatusReporter` (node-status.ts): the node's CiliumBGPNodeConfig status.
 *
 * @example
 * ```ts
 * const agent = new Agent({
 *   nodeName: "worker-1", stateDir: "/var/lib/herald", api: null, datapath: { enabled: false }, control: {}, logger,
 *   kube: { kubeconfig: "kubeconfig", leaseNamespace: "herald", leaseName: "herald-operator" },
 * });
 * await agent.start();
 * ```
 */
export { type AgentPorts, type KubeAgentOptions, KubeMode, type KubeModeContext } from "./mode.ts";
export { LEADER_KINDS, LeaderDuties, type LeaderDutiesOptions } from "./leader.ts";
export { canonicalServiceStatus, LeaderLbIpam } from "./lb-ipam.ts";
export { NODE_CONFIG_INPUTS, NodeConfigDuty, OPERATOR_RETRY } from "./node-configs.ts";
export { CONDITION_RECONCILE_ERROR, nodeConfigStatus, NodeStatusReporter } from "./node-status.ts";
export { InvalidObjectEvents, KubeIssues, objectReference, withoutVersion } from "./issues.ts";
export { behind, compareVersions, waitUntilFresh } from "./freshness.ts";
export { ClusterStore, stableJson, type StoredProblem } from "./store.ts";
export { FIELD_MANAGER, mergeConditions, type PatchResult, RecentWrites, replaceStatus } from "./status.ts";
export { IPAM_RETRY, type RetryPolicy, WriteQueue } from "./write-queue.ts";
