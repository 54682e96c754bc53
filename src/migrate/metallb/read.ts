/**
 * Reads MetalLB manifests into the normalised model (model.ts). A document
 * that is not valid MetalLB is an error naming file:line, the field and the
 * expected form; it is skipped and everything else is still read. Checks are
 * MetalLB's own (config.For): timers, ASNs, addresses, aggregation lengths
 * against the pools' prefixes, community syntax and aliases.
 */
import { parseResource } from "../../control/schemas/mod.ts";
import { parseIP } from "../../net/ip.ts";
import { formatLocation, type ManifestDocument, parseManifests } from "../../source/manifest.ts";
import { objectName, typeOf } from "../input.ts";
import { dnsName, NameSet } from "../names.ts";
import { type AddressRange, parseAddress } from "../ranges.ts";
import type { Findings } from "../report.ts";
import { fieldError, reportIssues, reportUnknown } from "./issues.ts";
import { resolve } from "./resolve.ts";
import { emptyModel, type MetalLBModel, type MPeer, type MPool, type Src } from "./model.ts";
import { AddressPoolSpec, BGPPeerSpec, KINDS, LegacyConfig, parseDuration } from "./schema.ts";

type Raw = Record<string, unknown>;
type Path = Array<string | number>;

export interface PendingAdvert {
  readonly name: string;
  readonly spec: Raw;
  readonly src: Src;
  /** Set for advertisements that belong to one pool (AddressPool, ConfigMap). */
  readonly pool?: string;
}

export interface Reader {
  readonly model: MetalLBModel;
  readonly findings: Findings;
  readonly aliases: Map<string, { value: string; src: Src }>;
  readonly adverts: PendingAdvert[];
  readonly l2: PendingAdvert[];
}

export function readMetalLB(docs: readonly ManifestDocument[], findings: Findings): MetalLBModel {
  const r: Reader = { model: emptyModel(), findings, aliases: new Map(), adverts: [], l2: [] };
  let namespaceSeen = false;
  for (const doc of docs) {
    const t = typeOf(doc);
    if (!t) {
      findings.add("error", `Cannot read document (${formatLocation(doc.location)}): not a Kubernetes object: expected a mapping with apiVersion and kind; skipped, the other documents are converted`, { location: doc.location });
      continue;
    }
    const [group, version] = t.apiVersion.includes("/") ? t.apiVersion.split("/", 2) : ["", t.apiVersion];
    const who = objectName(t.kind, t.name, t.namespace);
    const src: Src = { doc, who, base: [] };
    if (group === "metallb.io") {
      if (t.namespace && !namespaceSeen) {
        r.model.namespace = t.namespace;
        namespaceSeen = true;
      }
      readMetalLBObject(r, doc, t.kind, version, src);
    } else if (t.kind === "ConfigMap" && t.apiVersion === "v1") {
      readConfigMap(r, doc, src);
    } else if (t.kind === "Namespace" && t.apiVersion === "v1") {
      const m = (doc.value as { metadata?: { name?: string; labels?: Record<string, string> } }).metadata;
      if (m?.name) r.model.namespaces.push({ name: m.name, labels: m.labels ?? {} });
    } else if (["Service", "Node", "EndpointSlice", "Secret"].includes(t.kind)) {
      const res = parseResource(doc);
      for (const w of res.warnings) findings.add("warning", w.message, { location: w.location });
      if (res.status === "error") {
        for (const e of res.errors) findings.add("error", `${e.message}; skipped, the other documents are converted`, { location: e.location, field: e.field });
      } else if (res.status === "ok") {
        const o = res.resource;
        if (o.kind === "Service") r.model.services.push({ svc: o, raw: doc.value as Raw, src });
        else if (o.kind === "Node") r.model.nodes.push(o);
        else if (o.kind === "EndpointSlice") r.model.endpointSlices.push(o);
        else if (o.kind === "Secret") r.model.secrets.push(o);
      }
    } else {
      findings.add("warning", `${t.apiVersion} ${t.kind} is not used by this migration: ignored`, { location: doc.location, object: who });
    }
  }
  resolve(r);
  return r.model;
}

function readMetalLBObject(r: Reader, doc: ManifestDocument, kind: string, version: string, src: Src): void {
  const entry = KINDS[kind];
  if (!entry) {
    r.findings.add("warning", `metallb.io ${kind} has no Cilium equivalent herald converts: ignored`, { location: doc.location, object: src.who });
    return;
  }
  if (!entry.versions.includes(version)) {
    fieldError(doc, src.who, ["apiVersion"], `must be ${entry.versions.map((v) => `"metallb.io/${v}"`).join(" or ")} for ${kind}: current value is "metallb.io/${version}"; skipped, the other documents are converted`, r.findings);
    return;
  }
  const value = doc.value as Raw;
  const name = (value.metadata as { name?: unknown } | undefined)?.name;
  if (typeof name !== "string" || name === "") {
    fieldError(doc, src.who, ["metadata", "name"], "is required; skipped, the other documents are converted", r.findings);
    return;
  }
  const spec = (value.spec ?? {}) as Raw;
  const parsed = entry.spec.safeParse(spec);
  if (!parsed.success) {
    reportIssues(parsed.error.issues, doc, src.who, r.findings, spec, ["spec"]);
    return;
  }
  const shape = (entry.spec as unknown as { shape?: Record<string, unknown> }).shape;
  if (shape) reportUnknown(spec, Object.keys(shape), doc, src.who, r.findings, ["spec"]);
  const s = { ...src, base: ["spec"] };
  switch (kind) {
    case "IPAddressPool":
      addPool(r, name, (value.metadata as { labels?: Record<string, string> }).labels ?? {}, spec, s, {
        addresses: "addresses",
        autoAssign: "autoAssign",
        avoidBuggyIPs: "avoidBuggyIPs",
      }, value);
      break;
    case "AddressPool": {
      r.findings.add("note", `AddressPool is MetalLB's deprecated kind: converted as an IPAddressPool with its ${(spec as { protocol: string }).protocol} advertisements`, { location: doc.location, object: src.who });
      const p = AddressPoolSpec.parse(spec);
      if (addPool(r, name, (value.metadata as { labels?: Record<string, string> }).labels ?? {}, spec, s, { addresses: "addresses", autoAssign: "autoAssign", avoidBuggyIPs: "avoidBuggyIPs" }, value)) {
        poolAdverts(r, name, p.protocol, (p.bgpAdvertisements ?? []).map((a) => ({ ...a })), s, "bgpAdvertisements");
      }
      break;
    }
    case "BGPPeer":
      addPeer(r, name, BGPPeerSpec.parse(spec), s);
      break;
    case "BGPAdvertisement":
      r.adverts.push({ name, spec, src: s });
      break;
    case "L2Advertisement":
      r.l2.push({ name, spec, src: s });
      break;
    case "Community":
      ((spec.communities ?? []) as Array<{ name: string; value: string }>).forEach((c, i) => addAlias(r, c.name, c.value, { ...s, base: ["spec", "communities", i] }));
      break;
    case "BFDProfile":
      r.model.bfdProfiles.push(name);
      break;
  }
}

function readConfigMap(r: Reader, doc: ManifestDocument, src: Src): void {
  const value = doc.value as { data?: Record<string, unknown> };
  const text = value.data?.config;
  if (typeof text !== "string") {
    r.findings.add("warning", "ConfigMap without a MetalLB `config` key: ignored", { location: doc.location, object: src.who });
    return;
  }
  const keyLine = doc.locate(["data", "config"]).line;
  const parsed = parseManifests(doc.file, text);
  // Lines inside the block scalar start on the line after `config: |`.
  const shift = (l: { file: string; line: number; column: number }) => ({ file: doc.file, line: l.line + keyLine, column: l.column });
  for (const e of parsed.errors) {
    r.findings.add("error", `Cannot read ${src.who} (${formatLocation(shift(e.location))}): data.config is not valid YAML: ${e.message}; skipped`, { location: shift(e.location) });
  }
  const inner = parsed.documents[0];
  if (!inner) return;
  const sub: ManifestDocument = { ...inner, location: shift(inner.location), locate: (p) => shift(inner.locate(p)) };
  const who = `${src.who} data.config`;
  const cfg = LegacyConfig.safeParse(inner.value ?? {});
  if (!cfg.success) {
    reportIssues(cfg.error.issues, sub, who, r.findings, inner.value);
    return;
  }
  reportUnknown(inner.value, ["peers", "bgp-communities", "address-pools", "bfd-profiles", "peer-autodiscovery"], sub, who, r.findings, []);
  const c = cfg.data;
  if ((inner.value as Raw)["peer-autodiscovery"] !== undefined) {
    fieldError(sub, who, ["peer-autodiscovery"], "(peers from node annotations or labels) has no Cilium equivalent: not converted; list the peers explicitly", r.findings, "gap");
  }
  r.findings.add("note", `${src.who}: the legacy MetalLB ConfigMap (MetalLB ≤ 0.12); read as the equivalent CRDs`, { location: doc.location });
  const raw = structuredClone(inner.value) as Record<string, unknown>;
  r.model.configMap = { raw: doc.value as Raw, config: raw, src };
  const ns = (doc.value as { metadata?: { namespace?: string } }).metadata?.namespace;
  if (ns) r.model.namespace = ns;
  for (const [alias, v] of Object.entries(c["bgp-communities"] ?? {})) addAlias(r, alias, v, { doc: sub, who, base: ["bgp-communities", alias] });
  for (const p of c["bfd-profiles"] ?? []) r.model.bfdProfiles.push(p.name);
  const peerNames = new NameSet();
  (c.peers ?? []).forEach((p, i) => {
    const name = peerNames.take(dnsName("peer", p["peer-address"]));
    addPeer(r, name, {
      myASN: p["my-asn"],
      peerASN: p["peer-asn"],
      peerAddress: p["peer-address"],
      sourceAddress: p["source-address"],
      peerPort: p["peer-port"],
      holdTime: p["hold-time"],
      keepaliveTime: p["keepalive-time"],
      routerID: p["router-id"],
      nodeSelectors: (p["node-selectors"] ?? []).map((ns) => ({
        matchLabels: ns["match-labels"],
        matchExpressions: ns["match-expressions"]?.map((e) => ({ key: e.key, operator: e.operator as "In", values: e.values })),
      })),
      password: p.password,
      bfdProfile: p["bfd-profile"],
      ebgpMultiHop: p["ebgp-multihop"],
    }, { doc: sub, who: `${who} peers[${i}] (${name})`, base: ["peers", i] });
  });
  (c["address-pools"] ?? []).forEach((p, i) => {
    const s: Src = { doc: sub, who: `${who} address-pools[${i}] (${p.name})`, base: ["address-pools", i] };
    if (!addPool(r, p.name, {}, p as Raw, s, { addresses: "addresses", autoAssign: "auto-assign", avoidBuggyIPs: "avoid-buggy-ips" }, null)) return;
    poolAdverts(r, p.name, p.protocol, (p["bgp-advertisements"] ?? []).map((a) => ({
      aggregationLength: a["aggregation-length"],
      aggregationLengthV6: a["aggregation-length-v6"],
      localPref: a.localpref,
      communities: a.communities,
    })), s, "bgp-advertisements");
  });
}

/** Protocol-bound advertisements of an AddressPool or ConfigMap pool (none given ⇒ one default). */
function poolAdverts(r: Reader, pool: string, protocol: string, adverts: Raw[], src: Src, field: string): void {
  if (protocol === "layer2") {
    r.l2.push({ name: pool, spec: { ipAddressPools: [pool] }, src, pool });
    return;
  }
  if (adverts.length === 0) r.adverts.push({ name: pool, spec: {}, src, pool });
  adverts.forEach((a, i) => r.adverts.push({ name: adverts.length > 1 ? `${pool}-${i + 1}` : pool, spec: a, src: { ...src, base: [...src.base, field, i] }, pool }));
}

function addAlias(r: Reader, name: string, value: string, src: Src): void {
  if (r.aliases.has(name)) {
    fieldError(src.doc, src.who, [...src.base], `defines community "${name}" a second time (MetalLB refuses duplicates): ignored`, r.findings);
    return;
  }
  r.aliases.set(name, { value, src });
}

function addPool(r: Reader, name: string, labels: Record<string, string>, spec: Raw, src: Src, keys: { addresses: string; autoAssign: string; avoidBuggyIPs: string }, rawDoc: Raw | null): boolean {
  if (r.model.pools.some((p) => p.name === name)) {
    const at = src.base.length === 1 && src.base[0] === "spec" ? ["metadata", "name"] : [...src.base, "name"];
    fieldError(src.doc, src.who, at, `"${name}" is defined twice (MetalLB refuses duplicate pools); skipped`, r.findings);
    return false;
  }
  const ranges: AddressRange[] = [];
  let ok = true;
  (spec[keys.addresses] as string[]).forEach((text, i) => {
    const a = parseAddress(text);
    if ("error" in a) {
      fieldError(src.doc, src.who, [...src.base, keys.addresses, i], `${a.error}: current value is "${text}"; the pool is skipped`, r.findings);
      ok = false;
    } else {
      for (const other of r.model.pools) {
        if (other.ranges.some((o) => o.family === a.family && o.start <= a.stop && a.start <= o.stop)) {
          fieldError(src.doc, src.who, [...src.base, keys.addresses, i], `"${text}" overlaps pool "${other.name}" (MetalLB refuses overlapping pools); the pool is skipped`, r.findings);
          ok = false;
        }
      }
      ranges.push(a);
    }
  });
  if (!ok) return false;
  const alloc = spec.serviceAllocation as MPool["allocation"] & { namespaces?: string[]; namespaceSelectors?: unknown[]; serviceSelectors?: unknown[] } | undefined;
  r.model.pools.push({
    name,
    labels,
    ranges,
    autoAssign: (spec[keys.autoAssign] as boolean | undefined) ?? true,
    avoidBuggyIPs: (spec[keys.avoidBuggyIPs] as boolean | undefined) ?? false,
    allocation: alloc
      ? { priority: alloc.priority, namespaces: alloc.namespaces ?? [], namespaceSelectors: (alloc.namespaceSelectors ?? []) as never, serviceSelectors: (alloc.serviceSelectors ?? []) as never }
      : null,
    src,
  });
  if (rawDoc) r.model.poolDocs.set(name, rawDoc);
  return true;
}

function addPeer(r: Reader, name: string, p: ReturnType<typeof BGPPeerSpec.parse>, src: Src): void {
  const err = (path: Path, message: string) => fieldError(src.doc, src.who, [...src.base, ...path], `${message}; the peer is skipped`, r.findings);
  if (p.peerASN === undefined && p.dynamicASN === undefined) return err(["peerASN"], "is required (or dynamicASN)");
  if (p.peerASN !== undefined && p.peerASN !== 0 && p.dynamicASN !== undefined) return err(["dynamicASN"], "must not be set together with peerASN");
  if (!p.peerAddress && !p.interface) return err(["peerAddress"], "is required (or interface)");
  if (p.peerAddress && (parseIP(p.peerAddress.trim()) === null || p.peerAddress.includes("%"))) return err(["peerAddress"], `must be an IP address: current value is "${p.peerAddress}"`);
  if (p.sourceAddress && parseIP(p.sourceAddress) === null) return err(["sourceAddress"], `must be an IP address: current value is "${p.sourceAddress}"`);
  if (p.routerID && parseIP(p.routerID)?.family !== 4) return err(["routerID"], `must be an IPv4 address: current value is "${p.routerID}"`);
  if (p.password && p.passwordSecret?.name) return err(["passwordSecret"], "must not be set together with password");
  if (p.ebgpMultiHop && p.peerASN === p.myASN) return err(["ebgpMultiHop"], "must not be set for an iBGP peer (peerASN equals myASN)");
  const seconds = (field: "holdTime" | "keepaliveTime" | "connectTime") => {
    const text = p[field];
    if (text === undefined) return { ok: true as const, value: undefined };
    const v = parseDuration(text);
    if (v === null) {
      err([field], `must be a duration such as "90s" or "1m30s": current value is "${text}"`);
      return { ok: false as const };
    }
    return { ok: true as const, value: v };
  };
  const h = seconds("holdTime");
  const k = seconds("keepaliveTime");
  const c = seconds("connectTime");
  if (!h.ok || !k.ok || !c.ok) return;
  // MetalLB's parseTimers: one given ⇒ the other derived (×3 or ÷3).
  let hold = h.value;
  let keepalive = k.value;
  if (hold !== undefined && keepalive === undefined) keepalive = hold / 3;
  if (hold === undefined && keepalive !== undefined) hold = keepalive * 3;
  if (hold !== undefined && Math.floor(hold) !== 0 && Math.floor(hold) < 3) return err(["holdTime"], `must be 0 or at least 3s: current value is "${p.holdTime}"`);
  if (hold !== undefined && keepalive !== undefined && keepalive > hold) return err(["keepaliveTime"], `must not be larger than holdTime`);
  if (p.bfdProfile && !r.model.bfdProfiles.includes(p.bfdProfile)) {
    // MetalLB waits for the profile; it may be defined later in the input, checked in resolve().
  }
  if (r.model.peers.some((x) => x.name === name)) return err(["name"], `"${name}" is defined twice`);
  r.model.peers.push({
    name,
    myASN: p.myASN,
    peerASN: p.dynamicASN ? null : p.peerASN ?? null,
    dynamicASN: p.dynamicASN,
    address: p.peerAddress?.trim(),
    iface: p.interface,
    sourceAddress: p.sourceAddress,
    port: p.peerPort === 0 ? undefined : p.peerPort,
    holdTime: hold,
    keepaliveTime: keepalive,
    connectTime: c.value,
    routerID: p.routerID,
    nodeSelectors: p.nodeSelectors ?? [],
    password: p.password,
    passwordSecret: p.passwordSecret?.name ? { name: p.passwordSecret.name, namespace: p.passwordSecret.namespace } : undefined,
    bfdProfile: p.bfdProfile,
    gracefulRestart: p.enableGracefulRestart ?? false,
    ebgpMultiHop: p.ebgpMultiHop ?? false,
    vrf: p.vrf || undefined,
    disableMP: p.disableMP ?? false,
    dualStackAddressFamily: p.dualStackAddressFamily,
    src,
  });
}

export type { MPeer, MPool };
