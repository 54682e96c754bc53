/**
 * The operator's BGP work, done by the leader (spec A1, B): every node's
 * CiliumBGPNodeConfig derived from the cluster configs, overrides and
 * nodes, and the conditions on cluster and peer configs.
 *
 * One job, "nodeconfigs", recomputes everything from the store whenever an
 * input changes (B8: a full recompute; retried from 1 s, doubling):
 * - NodeConfigs (B2–B6): created with an ownerReference to their cluster
 *   config (`controller: true`, so Kubernetes deletes them with it, B5);
 *   updated when the spec or the owner differs (read, change, PUT with the
 *   version read: a concurrent change makes it fail and retry); deleted
 *   when owned by a cluster config that no longer selects the node (with a
 *   uid precondition). Hand-written NodeConfigs (no owner) are left alone.
 * - Cluster config conditions (B7: NoMatchingNode, MissingPeerConfigs,
 *   ConflictingClusterConfig) and peer config conditions (D9:
 *   MissingAuthSecret), each written only when it changed, as separate
 *   jobs so that one refused write does not hold up the others.
 * Ownership among configs selecting the same node is herald's
 * deterministic rule (oldest creationTimestamp, then name; B4).
 */
import {
  candidateNodes,
  deriveNodeConfigs,
  nodeConfigWrites,
  peerConfigConditions,
} from "../../control/mod.ts";
import {
  canonicalJSON,
  CONDITION_CONFLICTING_CLUSTER_CONFIG,
  CONDITION_MISSING_AUTH_SECRET,
  CONDITION_MISSING_PEER_CONFIGS,
  CONDITION_NO_MATCHING_NODE,
} from "../../control/node-config.ts";
import type { Condition } from "../../control/schemas/_common.ts";
import type { CiliumBGPClusterConfig } from "../../control/schemas/cluster-config.ts";
import type { CiliumBGPNodeConfig } from "../../control/schemas/node-config.ts";
import type { CiliumBGPPeerConfig } from "../../control/schemas/peer-config.ts";
import type { ControlOptions } from "../../control/types.ts";
import type { Logger } from "../../log.ts";
import type { EventRecorder } from "../../source/kube/events.ts";
import { KubeApiError, type KubeClient } from "../../source/kube/client.ts";
import { CLUSTER_CONFIGS, NODE_CONFIGS, PEER_CONFIGS, type ResourceRef, resourcePath } from "../../source/kube/resources.ts";
import { compareVersions } from "./freshness.ts";
import { FIELD_MANAGER, mergeConditions, RecentWrites, replaceStatus } from "./status.ts";
import { type ClusterStore, stableJson } from "./store.ts";
import type { RetryPolicy, WriteQueue } from "./write-queue.ts";

/** B8: failures retry from 1 s, doubling (Cilium stops after 10 steps; herald keeps going, capped). */
export const OPERATOR_RETRY: RetryPolicy = { initialMs: 1000, maxMs: 300_000 };

const CLUSTER_TYPES = [CONDITION_NO_MATCHING_NODE, CONDITION_MISSING_PEER_CONFIGS, CONDITION_CONFLICTING_CLUSTER_CONFIG];
const PEER_TYPES = [CONDITION_MISSING_AUTH_SECRET];

/** The kinds the derivation reads, whose changes make the leader recompute NodeConfigs and conditions. */
export const NODE_CONFIG_INPUTS = new Set([
  "Node",
  "CiliumNode",
  "CiliumBGPClusterConfig",
  "CiliumBGPNodeConfigOverride",
  "CiliumBGPNodeConfig",
  "CiliumBGPPeerConfig",
  "Secret",
]);

export interface NodeConfigDutyOptions {
  client: KubeClient;
  store: ClusterStore;
  queue: WriteQueue;
  fence: () => boolean;
  events: EventRecorder | null;
  options: Pick<ControlOptions, "routerIDAllocationMode" | "routerIDAllocationIPPool" | "statusReport" | "bgpSecretsNamespace">;
  now?: () => Date;
  log: Logger;
}

const controllerOf = (nc: { metadata: { ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean }> } }) =>
  nc.metadata.ownerReferences?.find((r) => r.kind === "CiliumBGPClusterConfig" && r.controller) ??
    nc.metadata.ownerReferences?.find((r) => r.kind === "CiliumBGPClusterConfig");

/** A conditions-only status in one form: an empty list is no list. */
function canonicalConditions(status: { conditions?: Condition[] } | undefined): string {
  const { conditions, ...rest } = status ?? {};
  return stableJson(conditions?.length ? { ...rest, conditions } : rest);
}

export class NodeConfigDuty {
  readonly #o: NodeConfigDutyOptions;
  readonly #now: () => Date;
  /** Router-ID errors already reported (B9), so each is logged once. */
  #reported = new Set<string>();
  /**
   * NodeConfigs this leader wrote that the watch has not delivered yet
   * (null: deleted). A run in between compares against these, so it does
   * not create the same object twice (a 409) or delete it twice.
   */
  readonly #recent = new RecentWrites();
  readonly #written = new Map<string, { resourceVersion: string; object: CiliumBGPNodeConfig | null }>();
  readonly stats = { created: 0, updated: 0, deleted: 0, conditionWrites: 0, runs: 0 };

  constructor(o: NodeConfigDutyOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
  }

  /** Something the derivation reads changed: recompute (once, however many calls). */
  touch(): void {
    this.#o.queue.add("nodeconfigs", () => this.#reconcile(), OPERATOR_RETRY);
  }

  async #reconcile(): Promise<void> {
    this.stats.runs++;
    const { store, options } = this.#o;
    // Not Services or EndpointSlices: thousands of them, and nothing the derivation reads.
    const resources = store.resources(NODE_CONFIG_INPUTS);
    const derived = deriveNodeConfigs({ resources, nodes: candidateNodes(resources), options });
    for (const e of derived.errors) {
      const id = `${e.node}|${e.message}`;
      if (this.#reported.has(id)) continue;
      this.#reported.add(id);
      this.#o.log.error("Cannot derive a NodeConfig", { node: e.node, cluster_config: e.clusterConfig, error: e.message });
    }
    // Conditions first, as separate jobs: they do not depend on the writes below.
    for (const cc of resources.clusterConfigs) {
      const ours = derived.conditions.get(cc.metadata.name) ?? [];
      this.#o.queue.add(`cluster-config/${cc.metadata.name}`, () => this.#writeConditions(CLUSTER_CONFIGS, "CiliumBGPClusterConfig", cc.metadata.name, ours, CLUSTER_TYPES), OPERATOR_RETRY);
    }
    for (const [name, ours] of peerConfigConditions(resources, options)) {
      this.#o.queue.add(`peer-config/${name}`, () => this.#writeConditions(PEER_CONFIGS, "CiliumBGPPeerConfig", name, ours, PEER_TYPES), OPERATOR_RETRY);
    }

    const existing = this.#overlay(resources.nodeConfigs);
    const writes = nodeConfigWrites(existing, derived.nodeConfigs, new Set(resources.clusterConfigs.map((c) => c.metadata.name)));
    const have = new Map(existing.map((n) => [n.metadata.name, n]));
    const update = new Map(writes.update.map((n) => [n.metadata.name, n]));
    // B4 as herald decides it: a NodeConfig whose owner lost the node moves to the winner.
    for (const want of derived.nodeConfigs) {
      const cur = have.get(want.metadata.name);
      if (!cur || update.has(want.metadata.name)) continue;
      const a = controllerOf(cur);
      const b = controllerOf(want);
      if (a?.name !== b?.name || a?.uid !== b?.uid) update.set(want.metadata.name, want);
    }
    let failed: unknown = null;
    const attempt = async (what: string, name: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        this.#o.log.warn(`Cannot ${what} CiliumBGPNodeConfig`, { node_config: name, error: err as Error });
        failed ??= err;
      }
    };
    for (const nc of writes.create) await attempt("create", nc.metadata.name, () => this.#create(nc));
    for (const nc of update.values()) await attempt("update", nc.metadata.name, () => this.#update(nc));
    for (const name of writes.delete) await attempt("delete", name, () => this.#delete(have.get(name)!));
    if (failed) throw failed;
  }

  /** The store's NodeConfigs with this leader's own writes the watch has not brought yet. */
  #overlay(stored: readonly CiliumBGPNodeConfig[]): CiliumBGPNodeConfig[] {
    const byName = new Map(stored.map((n) => [n.metadata.name, n]));
    for (const [name, w] of this.#written) {
      const seen = this.#o.store.seenVersion("CiliumBGPNodeConfig", name);
      const caughtUp = w.object === null ? seen === undefined || (compareVersions(seen, w.resourceVersion) ?? 0) > 0 : seen !== undefined && (compareVersions(seen, w.resourceVersion) ?? -1) >= 0;
      if (caughtUp) {
        this.#written.delete(name);
        continue;
      }
      if (w.object === null) byName.delete(name);
      else byName.set(name, w.object);
    }
    return [...byName.values()];
  }

  #path(name?: string): string {
    return resourcePath(NODE_CONFIGS, { name });
  }

  async #create(nc: CiliumBGPNodeConfig): Promise<void> {
    if (!this.#o.fence()) return;
    // 409 (created by someone else, not seen yet) fails the run; the retry compares again.
    const made = await this.#o.client.request<CiliumBGPNodeConfig>("POST", this.#path(), { query: { fieldManager: FIELD_MANAGER.bgpOperator }, body: nc });
    this.#written.set(nc.metadata.name, { resourceVersion: made.metadata.resourceVersion ?? "", object: made });
    this.stats.created++;
    this.#o.log.info("Created CiliumBGPNodeConfig", { node_config: nc.metadata.name, owner: controllerOf(nc)?.name });
  }

  async #update(nc: CiliumBGPNodeConfig): Promise<void> {
    const name = nc.metadata.name;
    // The raw object, so that fields herald does not read survive the PUT.
    const raw = await this.#o.client.request<{ metadata: Record<string, unknown> & { ownerReferences?: unknown[] }; spec?: unknown }>("GET", this.#path(name));
    const others = (raw.metadata.ownerReferences ?? []).filter((r) => (r as { kind?: string }).kind !== "CiliumBGPClusterConfig");
    const next = { ...raw, metadata: { ...raw.metadata, ownerReferences: [...others, ...(nc.metadata.ownerReferences ?? [])] }, spec: nc.spec };
    if (canonicalJSON(next) === canonicalJSON(raw)) return;
    if (!this.#o.fence()) return;
    try {
      const made = await this.#o.client.request<CiliumBGPNodeConfig>("PUT", this.#path(name), { query: { fieldManager: FIELD_MANAGER.bgpOperator }, body: next });
      this.#written.set(name, { resourceVersion: made.metadata.resourceVersion ?? "", object: made });
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return; // gone: the next run creates it
      throw err;
    }
    this.stats.updated++;
    this.#o.log.info("Updated CiliumBGPNodeConfig", { node_config: name, owner: controllerOf(nc)?.name });
  }

  async #delete(nc: CiliumBGPNodeConfig): Promise<void> {
    if (!this.#o.fence()) return;
    const name = nc.metadata.name;
    try {
      await this.#o.client.request("DELETE", this.#path(name), {
        body: { apiVersion: "v1", kind: "DeleteOptions", ...(nc.metadata.uid ? { preconditions: { uid: nc.metadata.uid } } : {}) },
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) return;
      throw err;
    }
    this.#written.set(name, { resourceVersion: nc.metadata.resourceVersion ?? "", object: null });
    this.stats.deleted++;
    this.#o.log.info("Deleted CiliumBGPNodeConfig: its cluster config no longer selects the node (B5)", { node_config: name });
  }

  async #writeConditions(ref: ResourceRef, kind: string, name: string, ours: readonly Condition[], types: readonly string[]): Promise<void> {
    const current = this.#o.store.get<CiliumBGPClusterConfig | CiliumBGPPeerConfig>(kind, name);
    if (!current) return;
    const conditions = mergeConditions(current.status?.conditions, ours.map(({ lastTransitionTime: _t, ...c }) => c), types, this.#now);
    const desired: { conditions?: Condition[] } = { ...(current.status ?? {}), conditions };
    if (!conditions.length) delete desired.conditions;
    if (canonicalConditions(desired) === canonicalConditions(current.status)) return;
    const id = `${kind}/${name}`;
    const text = canonicalConditions(desired);
    if (this.#recent.inFlight(id, text, this.#o.store.seenVersion(kind, name))) return;
    const r = await replaceStatus(this.#o.client, ref, { name }, current.status !== undefined, desired, FIELD_MANAGER.bgpOperator, this.#o.fence);
    if (r.outcome !== "written") return;
    this.#recent.record(id, text, r.resourceVersion);
    this.stats.conditionWrites++;
    const gained = conditions.filter((c) => c.status === "True" && types.includes(c.type) && !current.status?.conditions?.some((p) => p.type === c.type && p.status === "True" && p.message === c.message));
    for (const c of gained) {
      void this.#o.events?.record(
        { apiVersion: "cilium.io/v2", kind, name, uid: current.metadata.uid },
        { type: "Warning", reason: c.reason ?? c.type, action: "Reconcile", note: c.message ?? c.type },
      );
    }
  }
}
