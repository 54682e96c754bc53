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
import { parsePrefix, type IPPrefix } from "../net/ip.ts";
import { mergeAttributes, type RouteAttributes, withOrigin } from "./attributes.ts";
import type { Contribution, RouteGroup } from "./groups.ts";
import { buildModel, type Model } from "./model.ts";
import type { InstanceModel } from "./peers.ts";
import { unicastFamilies } from "./peers.ts";
import { addSummaries, type EndpointSummary, serviceAddresses, servicePrefix, sliceService, sliceSummary } from "./services.ts";
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
  type Route,
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

/** One (group, family) table: contributions per prefix, and the merged routes. */
class TableState {
  readonly routes = new Map<string, Route>();
  readonly #contributors = new Map<string, Map<string, Contribution>>();
  readonly #dirty = new Set<string>();

  constructor(readonly family: RouteFamily) {}

  set(prefix: string, who: string, c: Contribution): void {
    let row = this.#contributors.get(prefix);
    if (!row) this.#contributors.set(prefix, row = new Map());
    row.set(who, c);
    this.#dirty.add(prefix);
  }

  remove(prefix: string, who: string): void {
    const row = this.#contributors.get(prefix);
    if (!row?.delete(who)) return;
    if (row.size === 0) this.#contributors.delete(prefix);
    this.#dirty.add(prefix);
  }

  /** Rebuilds the routes of changed prefixes; returns (prefix, before, after) for each. */
  flush(): Array<{ prefix: string; before: Route | undefined; after: Route | undefined }> {
    const out = [];
    for (const prefix of this.#dirty) {
      const before = this.routes.get(prefix);
      const row = this.#contributors.get(prefix);
      const after = row ? buildRoute(prefix, this.family, row) : undefined;
      if (after) this.routes.set(prefix, after);
      else this.routes.delete(prefix);
      out.push({ prefix, before, after });
    }
    this.#dirty.clear();
    return out;
  }
}

/**
 * Several contributors to one prefix (aggregates, or one address from two
 * objects): merged like E19 — union of communities, highest LOCAL_PREF.
 * Contributors are taken in key order so the result does not depend on
 * arrival order.
 */
function buildRoute(prefix: string, family: RouteFamily, row: Map<string, Contribution>): Route {
  if (row.size === 1) {
    const c = row.values().next().value as Contribution;
    return { prefix, family, ...c.attributes, sources: c.sources };
  }
  const keys = [...row.keys()].sort();
  let attrs: RouteAttributes | null = null;
  const sources: RouteSource[] = [];
  for (const k of keys) {
    const c = row.get(k)!;
    attrs = attrs === null ? c.attributes : mergeAttributes(attrs, c.attributes);
    sources.push(...c.sources);
  }
  return { prefix, family, ...attrs!, sources };
}

interface ServiceEntry {
  readonly table: TableState;
  readonly prefix: string;
  readonly contribution: Contribution;
}

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
  /** group key → the (instance, peer) pairs using it. */
  #groupPeers = new Map<string, Array<{ instance: string; peer: string }>>();
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
    this.#groupPeers = new Map();
    for (const group of this.#model.groups.values()) {
      for (const family of group.families) {
        const t = new TableState(family);
        for (const [prefix, row] of group.staticRoutes.get(family) ?? []) {
          for (const [who, c] of row) t.set(prefix, `static:${who}`, c);
        }
        this.#tables.set(tableKey(group, family), t);
      }
    }
    for (const inst of this.#model.instances) {
      for (const p of inst.peers) {
        if (!p.group) continue;
        const list = this.#groupPeers.get(p.group.key) ?? [];
        list.push({ instance: inst.instance.name, peer: p.peer.name });
        this.#groupPeers.set(p.group.key, list);
      }
    }
    this.#serviceEntries = new Map();
    this.#serviceIssues = new Map();
    for (const [key, svc] of this.#objects.get("services")! as Map<string, Service>) {
      const { entries, issues } = this.#serviceContributions(key, svc);
      for (const e of entries) e.table.set(e.prefix, `svc:${key}`, e.contribution);
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
      const t = p.group && p.group.families.includes(f) ? this.#tables.get(tableKey(p.group, f)) : undefined;
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
    if (rules.length === 0) return { entries: [], issues: [] };
    const endpoints = addSummaries(this.#endpoints.get(key)?.values() ?? []);
    const evals = new Map<ServiceAddressType, ReturnType<typeof serviceAddresses>>();
    const issues: ControlIssue[] = [];
    // table → prefix → addressType → { attrs, advert names }
    type PerType = Map<ServiceAddressType, { attrs: RouteAttributes; names: Set<string> }>;
    const acc = new Map<TableState, Map<string, PerType>>();
    for (const rule of rules) {
      for (const { group, family } of m.usages.get(rule.id) ?? []) {
        const table = this.#tables.get(tableKey(group, family))!;
        const want = family === "ipv4/unicast" ? 4 : 6;
        for (const type of rule.addressTypes) {
          let ev = evals.get(type);
          if (!ev) {
            ev = serviceAddresses(svc, type, endpoints, m.options);
            evals.set(type, ev);
            for (const bad of ev.invalid) {
              issues.push({ level: "warning", rule: "E12", message: `Service ${key}: ${type} "${bad}" is not an IP address: skipped` });
            }
          }
          if (ev.skipped) continue;
          let rows = acc.get(table);
          if (!rows) acc.set(table, rows = new Map());
          for (const addr of ev.ips) {
            if (addr.ip.family !== want) continue; // E5
            const prefix = servicePrefix(addr, rule, ev.policy);
            let attrs = rule.attributes;
            if (type === "LoadBalancerIP" && m.options.legacyOriginAttribute) attrs = withOrigin(attrs, "incomplete");
            if (group.servicePrefixAttributes) attrs = group.servicePrefixAttributes(prefixOfText(prefix), attrs);
            let row = rows.get(prefix);
            if (!row) rows.set(prefix, row = new Map());
            const cur = row.get(type);
            // E19: statements with the same match are merged.
            if (!cur) row.set(type, { attrs, names: new Set([rule.advertisement]) });
            else {
              cur.attrs = mergeAttributes(cur.attrs, attrs);
              cur.names.add(rule.advertisement);
            }
          }
        }
      }
    }
    const entries: ServiceEntry[] = [];
    for (const [table, rows] of acc) {
      for (const [prefix, types] of rows) {
        let merged: RouteAttributes | null = null;
        const sources: RouteSource[] = [...types].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([addressType, { attrs, names }]) => {
          merged = merged === null ? attrs : mergeAttributes(merged, attrs);
          return { kind: "Service", name, namespace: ns, addressType, advertisements: [...names].sort(), attributes: attrs };
        });
        entries.push({ table, prefix, contribution: { attributes: merged!, sources } });
      }
    }
    return { entries, issues };
  }

  #updateService(key: string): RouteChange[] {
    const svc = (this.#objects.get("services")! as Map<string, Service>).get(key);
    const old = this.#serviceEntries.get(key) ?? [];
    const { entries, issues } = svc ? this.#serviceContributions(key, svc) : { entries: [], issues: [] };
    const who = `svc:${key}`;
    for (const e of old) e.table.remove(e.prefix, who);
    for (const e of entries) e.table.set(e.prefix, who, e.contribution);
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
      const groupKey = tk.slice(0, tk.lastIndexOf("|"));
      for (const { prefix, before, after } of table.flush()) {
        const action = !before ? (after ? "advertise" : null) : !after ? "withdraw" : sameOnWire(before, after) ? null : "update";
        if (!action) continue;
        for (const { instance, peer } of this.#groupPeers.get(groupKey) ?? []) {
          out.push({ instance, peer, family: table.family, prefix, action, route: after ?? null });
        }
      }
    }
    return out;
  }
}

/** Same attributes on the wire (sources are bookkeeping). Attribute arrays are interned. */
export function sameOnWire(a: Route, b: Route): boolean {
  return a.origin === b.origin && a.communities === b.communities && a.largeCommunities === b.largeCommunities &&
    a.localPreference === b.localPreference;
}

function prefixOfText(text: string): IPPrefix {
  return parsePrefix(text)!;
}
