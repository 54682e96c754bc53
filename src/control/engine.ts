/**
 * The incremental control engine: holds the inputs, the model (everything
 * but Service routes) and per-Service route contributions, so that a
 * Service or EndpointSlice change recomputes only that Service's routes and
 * yields a delta of (instance, peer, family, prefix) changes (E20). Any
 * other change rebuilds the model and diffs the result, as Cilium
 * re-evaluates all Services when the advertisement selection changes.
 *
 * `desiredState()` (desired.ts) is the same computation from scratch; the
 * tests check that both agree after every step.
 */
import { parsePrefix } from "../net/ip.ts";
import { mergeAttributes, type RouteAttributes, withOrigin } from "./attributes.ts";
import { type Keyed, sameOnWire, TableState } from "./route-table.ts";
import type { RouteGroup, ServiceRule } from "./groups.ts";
import { buildModel, type Model } from "./model.ts";
import type { InstanceModel } from "./peers.ts";
import { missingOwnFamily, unicastFamilies } from "./peers.ts";
import { addSummaries, type EndpointSummary, NO_ENDPOINTS, type ServiceAddresses, serviceAddresses, servicePrefix, sliceService, sliceSummary } from "./services.ts";
import type { Resource, ResourceKind } from "./schemas/mod.ts";
import type { EndpointSlice } from "./schemas/endpoint-slice.ts";
import type { Service } from "./schemas/service.ts";
import { serviceLabels } from "./selector.ts";
import { type ChangePlan, classifyChanges, diffRoutes, type RouteChange } from "./diff.ts";
import {
  type ControlInput,
  type ControlIssue,
  type ControlOptions,
  type DesiredPeer,
  type DesiredState,
  emptyResources,
  type HostFacts,
  type Resources,
  type RouteFamily,
  type RouteSource,
  type RouteTable,
} from "./types.ts";
import type { ServiceAddressType } from "./schemas/advertisement.ts";

export type ResourceChange =
  | { readonly type: "upsert"; readonly resource: Resource }
  | { readonly type: "delete"; readonly kind: ResourceKind; readonly name: string; readonly namespace?: string };

export interface ControlDelta {
  /** True when the change rebuilt everything (not a Service or EndpointSlice change). */
  readonly rebuilt: boolean;
  /** Instance and peer changes, classified per C6/D1/D7 (empty plan for Service changes). */
  readonly plan: ChangePlan;
  /** Route changes per (instance, peer, family, prefix), wire attributes only. */
  readonly routes: readonly RouteChange[];
}

const EMPTY_TABLE: RouteTable = new Map();

/** Where each kind lives in Resources, and whether it is namespaced. */
const KIND_FIELD: Record<ResourceKind, [keyof Resources, boolean]> = {
  CiliumBGPClusterConfig: ["clusterConfigs", false],
  CiliumBGPPeerConfig: ["peerConfigs", false],
  CiliumBGPAdvertisement: ["advertisements", false],
  CiliumBGPNodeConfig: ["nodeConfigs", false],
  CiliumBGPNodeConfigOverride: ["nodeConfigOverrides", false],
  CiliumBGPPeeringPolicy: ["peeringPolicies", false],
  CiliumPodIPPool: ["podIPPools", false],
  CiliumNode: ["ciliumNodes", false],
  CiliumL2AnnouncementPolicy: ["l2AnnouncementPolicies", false],
  CiliumLoadBalancerIPPool: ["lbIPPools", false],
  Service: ["services", true],
  EndpointSlice: ["endpointSlices", true],
  Node: ["nodes", false],
  Secret: ["secrets", true],
};

const objectKey = (kind: ResourceKind, name: string, namespace: string | undefined) =>
  KIND_FIELD[kind][1] ? `${namespace ?? "default"}/${name}` : name;

/**
 * One route a Service contributes: also its contribution to the table, under
 * its own key (`svc:<namespace>/<name>`), so a Service route costs one object
 * here, not three (entry, contribution, table row).
 */
interface ServiceEntry extends Keyed {
  readonly table: TableState;
  readonly prefix: string;
}

interface Hit {
  readonly table: TableState;
  readonly prefix: string;
  readonly type: ServiceAddressType;
  attrs: RouteAttributes;
  /** Shared by every route of one rule until a second advertisement joins (then a copy). */
  names: readonly string[];
}

/** `[rule.advertisement]`, one frozen array per rule: ten thousand Services share it. */
const ADVERTISEMENT_LISTS = new WeakMap<ServiceRule, readonly string[]>();
function advertisementList(rule: ServiceRule): readonly string[] {
  let list = ADVERTISEMENT_LISTS.get(rule);
  if (!list) ADVERTISEMENT_LISTS.set(rule, list = Object.freeze([rule.advertisement]));
  return list;
}

const NOTHING: { entries: ServiceEntry[]; issues: ControlIssue[] } = Object.freeze({ entries: [], issues: [] });

const tableKey = (group: RouteGroup, family: RouteFamily) => `${group.key}|${family}`;

export class ControlEngine {
  #input: ControlInput;
  readonly #objects = new Map<keyof Resources, Map<string, Resource>>();
  /** service key → slice key → summary (E15, E16). */
  readonly #endpoints = new Map<string, Map<string, EndpointSummary>>();
  /** slice key → its service key, to move a slice between Services. */
  readonly #sliceOwner = new Map<string, string>();
  #model!: Model;
  #tables = new Map<string, TableState>();
  /** rule id → the tables (and their group) it feeds. */
  #ruleTables = new Map<number, Array<{ group: RouteGroup; table: TableState }>>();
  /** table key → the (instance, peer) pairs it is sent to. */
  #tablePeers = new Map<string, Array<{ instance: string; peer: string }>>();
  #serviceEntries = new Map<string, ServiceEntry[]>();
  #serviceIssues = new Map<string, ControlIssue[]>();
  #state!: DesiredState;

  constructor(input: ControlInput) {
    this.#input = { ...input, resources: emptyResources() };
    for (const [field] of Object.values(KIND_FIELD)) this.#objects.set(field, new Map());
    for (const [field, list] of Object.entries(input.resources) as [keyof Resources, Resource[]][]) {
      for (const res of list) this.#store(res, field);
    }
    this.#rebuild();
  }

  /** The current desired state. Live: later changes update its route tables in place. */
  state(): DesiredState {
    return this.#state;
  }

  /** The inputs the engine holds now, as a ControlInput (for desiredState() or explain()). */
  input(): ControlInput {
    const resources = emptyResources();
    for (const [field, map] of this.#objects) (resources[field] as Resource[]) = [...map.values()];
    return { ...this.#input, resources };
  }

  /** Applies resource changes; Service and EndpointSlice changes are incremental. */
  apply(changes: readonly ResourceChange[]): ControlDelta {
    const services = new Set<string>();
    let full = false;
    for (const ch of changes) {
      const kind = ch.type === "upsert" ? ch.resource.kind : ch.kind;
      if (kind === "Service") {
        services.add(this.#applyObject(ch));
      } else if (kind === "EndpointSlice") {
        const key = ch.type === "upsert"
          ? objectKey(kind, ch.resource.metadata.name, ch.resource.metadata.namespace)
          : objectKey(kind, ch.name, ch.namespace);
        const before = this.#sliceOwner.get(key);
        this.#applyObject(ch); // an upsert re-indexes the slice
        if (ch.type === "delete") this.#indexSlice(key, null);
        const after = this.#sliceOwner.get(key);
        if (before) services.add(before);
        if (after) services.add(after);
      } else {
        this.#applyObject(ch);
        full = true;
      }
    }
    if (full) return this.#rebuildWithDelta();
    const routes: RouteChange[] = [];
    for (const key of [...services].sort()) routes.push(...this.#updateService(key));
    return { rebuilt: false, plan: { instances: [], peers: [] }, routes };
  }

  setHostFacts(host: HostFacts | undefined): ControlDelta {
    this.#input = { ...this.#input, host };
    return this.#rebuildWithDelta();
  }

  setOptions(options: Partial<ControlOptions>): ControlDelta {
    this.#input = { ...this.#input, options: { ...this.#input.options, ...options } };
    return this.#rebuildWithDelta();
  }

  #store(res: Resource, field = KIND_FIELD[res.kind][0]): string {
    const key = objectKey(res.kind, res.metadata.name, res.metadata.namespace);
    this.#objects.get(field)!.set(key, res);
    if (res.kind === "EndpointSlice") this.#indexSlice(key, res);
    return key;
  }

  #applyObject(ch: ResourceChange): string {
    if (ch.type === "upsert") return this.#store(ch.resource);
    const key = objectKey(ch.kind, ch.name, ch.namespace);
    this.#objects.get(KIND_FIELD[ch.kind][0])!.delete(key);
    return key;
  }

  #indexSlice(key: string, slice: EndpointSlice | null): void {
    const prev = this.#sliceOwner.get(key);
    if (prev) {
      this.#endpoints.get(prev)?.delete(key);
      this.#sliceOwner.delete(key);
    }
    const svc = slice ? sliceService(slice) : null;
    if (!slice || !svc) return;
    let m = this.#endpoints.get(svc);
    if (!m) this.#endpoints.set(svc, m = new Map());
    m.set(key, sliceSummary(slice, this.#input.node.name));
    this.#sliceOwner.set(key, svc);
  }

  #rebuildWithDelta(): ControlDelta {
    const before = this.#state;
    // Slice summaries depend on the node name only, which does not change.
    this.#rebuild();
    return { rebuilt: true, plan: classifyChanges(before, this.#state), routes: diffRoutes(before, this.#state) };
  }

  #rebuild(): void {
    this.#model = buildModel(this.input());
    this.#tables = new Map();
    this.#tablePeers = new Map();
    for (const group of this.#model.groups.values()) {
      for (const family of group.families) {
        const t = new TableState(family);
        for (const [prefix, row] of group.staticRoutes.get(family) ?? []) {
          for (const [who, c] of row) t.set(prefix, `static:${who}`, c);
        }
        this.#tables.set(tableKey(group, family), t);
      }
    }
    this.#ruleTables = new Map();
    for (const [id, usages] of this.#model.usages) {
      this.#ruleTables.set(id, usages.map((u) => ({ group: u.group, table: this.#tables.get(tableKey(u.group, u.family))! })));
    }
    for (const inst of this.#model.instances) {
      for (const p of inst.peers) {
        if (!p.group) continue;
        for (const f of unicastFamilies(p.peer.families)) {
          if (!p.group.families.includes(f) || missingOwnFamily(p.peer, f)) continue; // as #peer() (D12)
          const tk = tableKey(p.group, f);
          const list = this.#tablePeers.get(tk) ?? [];
          list.push({ instance: inst.instance.name, peer: p.peer.name });
          this.#tablePeers.set(tk, list);
        }
      }
    }
    this.#serviceEntries = new Map();
    this.#serviceIssues = new Map();
    for (const [key, svc] of this.#objects.get("services")! as Map<string, Service>) {
      const { entries, issues } = this.#serviceContributions(key, svc);
      for (const e of entries) e.table.set(e.prefix, e.who, e);
      if (entries.length) this.#serviceEntries.set(key, entries);
      if (issues.length) this.#serviceIssues.set(key, issues);
    }
    for (const t of this.#tables.values()) t.flush();
    this.#state = this.#assemble();
  }

  #assemble(): DesiredState {
    const m = this.#model;
    return {
      node: m.node,
      api: m.api,
      nodeConfig: m.nodeConfig,
      clusterConfig: m.clusterConfig,
      peeringPolicy: m.peeringPolicy,
      ipFamilies: m.ipFamilies,
      instances: m.instances.map((inst) => ({ ...inst.instance, peers: inst.peers.map((p) => this.#peer(p)) })),
      issues: this.#issues(),
    };
  }

  #peer(p: InstanceModel["peers"][number]): DesiredPeer {
    const routes = new Map<RouteFamily, RouteTable>();
    for (const f of unicastFamilies(p.peer.families)) {
      const t = p.group && p.group.families.includes(f) && !missingOwnFamily(p.peer, f) ? this.#tables.get(tableKey(p.group, f)) : undefined;
      routes.set(f, t?.routes ?? EMPTY_TABLE);
    }
    return { ...p.peer, routes };
  }

  #issues(): ControlIssue[] {
    const out = [...this.#model.issues];
    for (const key of [...this.#serviceIssues.keys()].sort()) out.push(...this.#serviceIssues.get(key)!);
    return out;
  }

  #serviceContributions(key: string, svc: Service): { entries: ServiceEntry[]; issues: ControlIssue[] } {
    const m = this.#model;
    const ns = svc.metadata.namespace;
    const name = svc.metadata.name;
    const rules = m.ruleIndex.matches(serviceLabels(svc.metadata.labels, name, ns));
    if (rules.length === 0) return NOTHING;
    const slices = this.#endpoints.get(key);
    const endpoints = slices ? addSummaries(slices.values()) : NO_ENDPOINTS;
    const evals: Partial<Record<ServiceAddressType, ServiceAddresses>> = {};
    let issues: ControlIssue[] | undefined;
    // One hit per (table, prefix, address type); usually a handful per Service.
    const hits: Hit[] = [];
    for (const rule of rules) {
      for (const { group, table } of this.#ruleTables.get(rule.id) ?? []) {
        const want = table.family === "ipv4/unicast" ? 4 : 6;
        for (const type of rule.addressTypes) {
          let ev = evals[type];
          if (!ev) {
            ev = evals[type] = serviceAddresses(svc, type, endpoints, m.options);
            for (const bad of ev.invalid) {
              (issues ??= []).push({ level: "warning", rule: "E12", message: `Service ${key}: ${type} "${bad}" is not an IP address: skipped` });
            }
          }
          if (ev.skipped) continue;
          for (const addr of ev.ips) {
            if (addr.family !== want) continue; // E5
            const prefix = servicePrefix(addr, rule, ev.policy);
            let attrs = rule.attributes;
            if (type === "LoadBalancerIP" && m.options.legacyOriginAttribute) attrs = withOrigin(attrs, "incomplete");
            if (group.servicePrefixAttributes) attrs = group.servicePrefixAttributes(parsePrefix(prefix)!, attrs);
            const same = hits.find((h) => h.table === table && h.prefix === prefix && h.type === type);
            if (!same) hits.push({ table, prefix, type, attrs, names: advertisementList(rule) });
            else {
              same.attrs = mergeAttributes(same.attrs, attrs); // E19: same match, merged
              if (!same.names.includes(rule.advertisement)) same.names = [...same.names, rule.advertisement];
            }
          }
        }
      }
    }
    // Group the hits of one (table, prefix) into one contribution, sources by address type.
    const who = `svc:${key}`;
    const entries: ServiceEntry[] = [];
    const done = new Array<boolean>(hits.length).fill(false);
    for (let i = 0; i < hits.length; i++) {
      if (done[i]) continue;
      const { table, prefix } = hits[i];
      const group: Hit[] = [];
      for (let j = i; j < hits.length; j++) {
        if (!done[j] && hits[j].table === table && hits[j].prefix === prefix) {
          done[j] = true;
          group.push(hits[j]);
        }
      }
      if (group.length > 1) group.sort((a, b) => a.type < b.type ? -1 : 1);
      let merged: RouteAttributes | null = null;
      for (const h of group) merged = merged === null ? h.attrs : mergeAttributes(merged, h.attrs);
      // map() sizes the array exactly; a push()ed one keeps room for 17 (these live as long as the Service).
      const sources: RouteSource[] = group.map((h) => ({
        kind: "Service",
        name,
        namespace: ns,
        addressType: h.type,
        advertisements: h.names.length > 1 ? [...h.names].sort() : h.names,
        attributes: h.attrs,
      }));
      entries.push({ table, prefix, who, attributes: merged!, sources });
    }
    return { entries: entries.slice(), issues: issues ?? [] };
  }

  #updateService(key: string): RouteChange[] {
    const svc = (this.#objects.get("services")! as Map<string, Service>).get(key);
    const old = this.#serviceEntries.get(key) ?? [];
    const { entries, issues } = svc ? this.#serviceContributions(key, svc) : { entries: [], issues: [] };
    const who = `svc:${key}`;
    for (const e of old) e.table.remove(e.prefix, who);
    for (const e of entries) e.table.set(e.prefix, who, e);
    if (entries.length) this.#serviceEntries.set(key, entries);
    else this.#serviceEntries.delete(key);
    const hadIssues = this.#serviceIssues.has(key);
    if (issues.length) this.#serviceIssues.set(key, issues);
    else this.#serviceIssues.delete(key);
    if (hadIssues || issues.length) this.#state = { ...this.#state, issues: this.#issues() };

    const touched = new Set<TableState>([...old, ...entries].map((e) => e.table));
    const out: RouteChange[] = [];
    for (const [tk, table] of this.#tables) {
      if (!touched.has(table)) continue;
      for (const { prefix, before, after } of table.flush()) {
        const action = !before ? (after ? "advertise" : null) : !after ? "withdraw" : sameOnWire(before, after) ? null : "update";
        if (!action) continue;
        for (const { instance, peer } of this.#tablePeers.get(tk) ?? []) {
          out.push({ instance, peer, family: table.family, prefix, action, route: after ?? null });
        }
      }
    }
    return out;
  }
}
