/**
 * Cross-reference checks for `herald validate`: the silent traps, where
 * every manifest is valid on its own and yet nothing (or not what the user
 * meant) is advertised. Each finding names file:line, the field and the
 * spec rule. Pure: works on a LoadResult.
 */
import { formatLocation } from "../source/manifest.ts";
import type { LoadedResource, LoadResult } from "./load.ts";
import { matchesOrEverything, podIPPoolLabels, selectorMatches, serviceLabels } from "./selector.ts";
import type { ManifestIssue, Resource } from "./schemas/mod.ts";
import type { CiliumBGPAdvertisement } from "./schemas/advertisement.ts";
import type { CiliumBGPClusterConfig } from "./schemas/cluster-config.ts";
import type { CiliumBGPPeerConfig } from "./schemas/peer-config.ts";
import type { LabelSelector } from "./schemas/meta.ts";
import { candidateNodes } from "./node-config.ts";
import { BGP_LOAD_BALANCER_CLASS } from "./schemas/advertisement.ts";
import { DEFAULT_OPTIONS } from "./types.ts";

type Path = (string | number)[];

export interface LintOptions {
  /** Namespace of authSecretRef Secrets (D9). */
  bgpSecretsNamespace?: string;
}

const sel = (s: LabelSelector | null | undefined) => JSON.stringify(s ?? null);

export function lintResources(load: LoadResult, options: LintOptions = {}): ManifestIssue[] {
  const out: ManifestIssue[] = [];
  const find = (r: Resource) => load.loaded.find((l) => l.resource === r)!;
  const warn = (lr: LoadedResource, path: Path, rule: string, text: string, level: "warning" | "error" = "warning") => {
    const location = lr.doc.locate(path);
    const field = path.length ? path.map((p, i) => typeof p === "number" ? `[${p}]` : i ? `.${p}` : p).join("") : "";
    out.push({
      level,
      location,
      kind: lr.resource.kind,
      name: lr.resource.metadata.name,
      field: field || undefined,
      message: `${lr.resource.kind} "${lr.resource.metadata.name}" (${formatLocation(location)}): ${field ? `${field}: ` : ""}${text} (${rule})`,
    });
  };
  const r = load.resources;
  const adverts = r.advertisements;
  const peerConfigs = new Map(r.peerConfigs.map((p) => [p.metadata.name, p]));
  const nodes = candidateNodes(r);
  const haveServices = r.services.length > 0;

  // PeerConfigs: families, selectors (E1, E2).
  const selectedAdverts = new Set<string>();
  const advertUsers = new Map<string, CiliumBGPPeerConfig[]>();
  for (const pc of r.peerConfigs) {
    const lr = find(pc);
    const fams = pc.spec.families ?? [];
    if (fams.length === 0) {
      warn(lr, ["spec"], "E2", "lists no families: the session negotiates ipv6/unicast and ipv4/unicast by default, but nothing is advertised to its peers");
    }
    fams.forEach((f, i) => {
      if (f.safi !== "unicast" || (f.afi !== "ipv4" && f.afi !== "ipv6")) {
        warn(lr, ["spec", "families", i], "E1", `${f.afi}/${f.safi} is negotiated but carries no routes (only ipv4/unicast and ipv6/unicast do)`);
        return;
      }
      if (f.advertisements == null) {
        warn(lr, ["spec", "families", i], "E2", `${f.afi}/${f.safi} has no advertisements selector: nothing is advertised for it`);
        return;
      }
      const matched = adverts.filter((a) => selectorMatches(f.advertisements!, a.metadata.labels ?? {}));
      if (matched.length === 0) {
        warn(lr, ["spec", "families", i, "advertisements"], "E1", `selector ${sel(f.advertisements)} matches no CiliumBGPAdvertisement labels: nothing is advertised for ${f.afi}/${f.safi}`);
      }
      for (const a of matched) {
        selectedAdverts.add(a.metadata.name);
        advertUsers.set(a.metadata.name, [...(advertUsers.get(a.metadata.name) ?? []), pc]);
      }
    });
    if (pc.spec.authSecretRef) {
      const ns = options.bgpSecretsNamespace ?? DEFAULT_OPTIONS.bgpSecretsNamespace;
      if (!r.secrets.some((s) => s.metadata.name === pc.spec.authSecretRef && s.metadata.namespace === ns)) {
        warn(lr, ["spec", "authSecretRef"], "D9", `Secret "${ns}/${pc.spec.authSecretRef}" is not among these manifests: if it does not exist, sessions run without a TCP-MD5 password`);
      }
    }
  }

  // Advertisements (E12, E10, E18, E8).
  for (const a of adverts) {
    const lr = find(a);
    if (r.peerConfigs.length > 0 && !selectedAdverts.has(a.metadata.name)) {
      warn(lr, ["metadata", "labels"], "E1", `labels ${JSON.stringify(a.metadata.labels ?? {})} are matched by no CiliumBGPPeerConfig family: this advertisement is not used`);
    }
    a.spec.advertisements.forEach((e, i) => lintEntry(a, e, i, lr));
  }
  function lintEntry(a: CiliumBGPAdvertisement, e: CiliumBGPAdvertisement["spec"]["advertisements"][number], i: number, lr: LoadedResource) {
    const at: Path = ["spec", "advertisements", i];
    if (e.advertisementType === "Service") {
      if (e.selector == null) {
        warn(lr, at, "E12", "Service advertisement without a selector selects no Service (Cilium treats a missing selector as \"nothing\", not \"all\"; use selector: {} for every Service)");
      } else if (haveServices && !r.services.some((s) => selectorMatches(e.selector!, serviceLabels(s.metadata.labels, s.metadata.name, s.metadata.namespace)))) {
        warn(lr, [...at, "selector"], "E12", `selector ${sel(e.selector)} matches none of the ${r.services.length} Services given`);
      }
      if (e.service?.aggregationLengthIPv4 !== undefined || e.service?.aggregationLengthIPv6 !== undefined) {
        warn(lr, [...at, "service"], "E18", "aggregation announces a whole prefix: addresses in it that no Service owns still attract traffic (loops or black holes); it is ignored for externalTrafficPolicy/internalTrafficPolicy Local");
      }
      if (e.selector != null && e.service?.addresses.includes("LoadBalancerIP")) {
        for (const s of r.services) {
          const cls = s.spec.loadBalancerClass;
          if (cls && cls !== BGP_LOAD_BALANCER_CLASS && selectorMatches(e.selector, serviceLabels(s.metadata.labels, s.metadata.name, s.metadata.namespace))) {
            warn(lr, [...at, "selector"], "E13", `selects Service ${s.metadata.namespace}/${s.metadata.name}, whose loadBalancerClass "${cls}" keeps its LoadBalancer IP from being advertised`);
          }
        }
      }
    }
    if (e.advertisementType === "CiliumPodIPPool") {
      if (e.selector == null) warn(lr, at, "E10", "CiliumPodIPPool advertisement without a selector selects no pool");
      else if (r.podIPPools.length && !r.podIPPools.some((p) => selectorMatches(e.selector!, podIPPoolLabels(p.metadata.labels, p.metadata.name)))) {
        warn(lr, [...at, "selector"], "E10", `selector ${sel(e.selector)} matches no CiliumPodIPPool`);
      }
    }
    if (e.attributes?.localPreference !== undefined) {
      const ebgp = ebgpUsers(a.metadata.name);
      if (ebgp.length) {
        warn(lr, [...at, "attributes", "localPreference"], "E8", `LOCAL_PREF is only sent to iBGP peers; it has no effect towards eBGP peer(s) ${ebgp.join(", ")}`);
      }
    }
  }
  function ebgpUsers(advert: string): string[] {
    const pcs = new Set((advertUsers.get(advert) ?? []).map((p) => p.metadata.name));
    const out: string[] = [];
    for (const cc of r.clusterConfigs) {
      for (const inst of cc.spec.bgpInstances) {
        for (const p of inst.peers ?? []) {
          if (p.peerConfigRef && pcs.has(p.peerConfigRef.name) && p.peerASN !== 0 && p.peerASN !== inst.localASN) out.push(p.name);
        }
      }
    }
    return out;
  }

  // Cluster configs (B1, B4, D3, D5, C3).
  const ownersByNode = new Map<string, CiliumBGPClusterConfig[]>();
  for (const cc of r.clusterConfigs) {
    const lr = find(cc);
    cc.spec.bgpInstances.forEach((inst, i) => {
      if (inst.localASN === undefined) warn(lr, ["spec", "bgpInstances", i], "C3", "has no localASN: the instance does not start");
      (inst.peers ?? []).forEach((p, j) => {
        const at: Path = ["spec", "bgpInstances", i, "peers", j];
        if (!p.peerAddress && !p.autoDiscovery && !p.peerInterface) warn(lr, at, "D3", `peer ${p.name} has neither peerAddress nor autoDiscovery: it is skipped`);
        if (!p.peerConfigRef) warn(lr, at, "D5, E2", `peer ${p.name} has no peerConfigRef: default settings and nothing is advertised to it`);
        else if (!peerConfigs.has(p.peerConfigRef.name)) {
          warn(lr, [...at, "peerConfigRef", "name"], "D5", `CiliumBGPPeerConfig "${p.peerConfigRef.name}" does not exist: peer ${p.name} is not configured until it does (MissingPeerConfigs)`);
        }
      });
    });
    if (nodes.length) {
      const selected = nodes.filter((n) => matchesOrEverything(cc.spec.nodeSelector, n.labels));
      if (selected.length === 0) warn(lr, ["spec", "nodeSelector"], "B7", `nodeSelector ${sel(cc.spec.nodeSelector)} matches none of the ${nodes.length} Nodes given (NoMatchingNode)`);
      for (const n of selected) ownersByNode.set(`node ${n.name}`, [...(ownersByNode.get(`node ${n.name}`) ?? []), cc]);
    }
  }
  if (nodes.length === 0) {
    // Without Nodes, two configs collide for sure when their selectors are equal (or both absent).
    const bySelector = new Map<string, CiliumBGPClusterConfig[]>();
    for (const cc of r.clusterConfigs) bySelector.set(sel(cc.spec.nodeSelector), [...(bySelector.get(sel(cc.spec.nodeSelector)) ?? []), cc]);
    for (const list of bySelector.values()) if (list.length > 1) ownersByNode.set("identical nodeSelector", list);
  }
  const reported = new Set<string>();
  for (const [node, list] of ownersByNode) {
    if (list.length < 2) continue;
    const names = list.map((c) => `"${c.metadata.name}"`).join(", ");
    for (const cc of list) {
      if (reported.has(cc.metadata.name)) continue;
      reported.add(cc.metadata.name);
      warn(find(cc), ["spec", "nodeSelector"], "B4", `${names} select the same node (${node}): only the oldest (then smallest name) applies there; the others get ConflictingClusterConfig`);
    }
  }

  // Overrides (B3).
  for (const ov of r.nodeConfigOverrides) {
    const lr = find(ov);
    const all = r.clusterConfigs.flatMap((c) => c.spec.bgpInstances);
    ov.spec.bgpInstances.forEach((oi, i) => {
      const same = all.filter((inst) => inst.name === oi.name);
      if (r.clusterConfigs.length && same.length === 0) warn(lr, ["spec", "bgpInstances", i, "name"], "B3", `no CiliumBGPClusterConfig has an instance named "${oi.name}": this override is ignored`);
      (oi.peers ?? []).forEach((op, j) => {
        if (same.length && !same.some((inst) => (inst.peers ?? []).some((p) => p.name === op.name))) {
          warn(lr, ["spec", "bgpInstances", i, "peers", j, "name"], "B3", `instance "${oi.name}" has no peer "${op.name}": this peer override is ignored`);
        }
        if (op.localPort !== undefined) warn(lr, ["spec", "bgpInstances", i, "peers", j, "localPort"], "B3", "peers[].localPort has no effect (Cilium does not propagate it)");
      });
    });
  }

  // v1 (G1, G3, H1).
  if (nodes.length === 0) {
    // Without Nodes, equal selectors (or both absent) surely select the same nodes.
    for (const pp of r.peeringPolicies) {
      const same = r.peeringPolicies.filter((o) => o !== pp && sel(o.spec.nodeSelector) === sel(pp.spec.nodeSelector));
      if (same.length) {
        warn(find(pp), ["spec", "nodeSelector"], "G1", `${same.map((o) => `"${o.metadata.name}"`).join(", ")} ha${same.length > 1 ? "ve" : "s"} the same nodeSelector: on a node selected by more than one policy, every session is torn down`);
      }
      if (r.clusterConfigs.some((c) => sel(c.spec.nodeSelector) === sel(pp.spec.nodeSelector))) {
        warn(find(pp), ["spec", "nodeSelector"], "H1", "a CiliumBGPClusterConfig has the same nodeSelector: v1 wins on those nodes (Cilium 1.16–1.18); Cilium ≥ 1.19 ignores v1 (herald --v2-only)");
      }
    }
  }
  for (const pp of r.peeringPolicies) {
    const lr = find(pp);
    pp.spec.virtualRouters.forEach((vr, i) => {
      vr.neighbors.forEach((n, j) => {
        if (n.keepAliveTimeSeconds > n.holdTimeSeconds) {
          warn(lr, ["spec", "virtualRouters", i, "neighbors", j], "G3", `keepAliveTimeSeconds (${n.keepAliveTimeSeconds}) can not be larger than holdTimeSeconds (${n.holdTimeSeconds}): the agent rejects the whole policy`, "error");
        }
      });
      if (vr.serviceSelector == null && !vr.exportPodCIDR && vr.podIPPoolSelector == null) {
        warn(lr, ["spec", "virtualRouters", i], "G4", "exports nothing: no exportPodCIDR, podIPPoolSelector or serviceSelector");
      }
    });
    for (const n of nodes) {
      if (!matchesOrEverything(pp.spec.nodeSelector, n.labels)) continue;
      const others = r.peeringPolicies.filter((o) => o !== pp && matchesOrEverything(o.spec.nodeSelector, n.labels));
      if (others.length) warn(lr, ["spec", "nodeSelector"], "G1", `node ${n.name} is also selected by ${others.map((o) => `"${o.metadata.name}"`).join(", ")}: with more than one policy, every session on the node is torn down`);
      if (r.clusterConfigs.some((c) => matchesOrEverything(c.spec.nodeSelector, n.labels))) {
        warn(lr, ["spec", "nodeSelector"], "H1", `node ${n.name} is also selected by a CiliumBGPClusterConfig: v1 wins there (Cilium 1.16–1.18); Cilium ≥ 1.19 ignores v1 (herald --v2-only)`);
      }
    }
  }
  // De-duplicate (a finding can be reached through several nodes).
  const seen = new Set<string>();
  return out.filter((i) => !seen.has(i.message) && (seen.add(i.message), true));
}
