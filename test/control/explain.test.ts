import { describe, expect, it } from "vitest";
import { desiredState, stateToJSON } from "../../src/control/desired.ts";
import { explain } from "../../src/control/explain.ts";
import type { ControlInput } from "../../src/control/types.ts";
import { node, slice, svc, withResources, yaml } from "./_helpers.ts";

const CONFIG = `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: main
      localASN: 65001
      peers:
        - {name: tor-1, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tor}}
        - {name: bare, peerAddress: 10.0.0.2, peerASN: 65100}
        - {name: v6only, peerAddress: 10.0.0.3, peerASN: 65100, peerConfigRef: {name: v6}}
        - {name: dangling, peerAddress: 10.0.0.4, peerASN: 65100, peerConfigRef: {name: missing}}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: tor}
spec:
  families:
    - {afi: ipv4, safi: unicast, advertisements: {matchLabels: {advertise: bgp}}}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: v6}
spec:
  families:
    - {afi: ipv4, safi: unicast}
---
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata: {name: lb, labels: {advertise: bgp}}
spec:
  advertisements:
    - advertisementType: Service
      service: {addresses: [LoadBalancerIP]}
      selector: {matchLabels: {expose: "yes"}}
      attributes: {communities: {standard: ["65001:100"]}, localPreference: 120}
    - advertisementType: PodCIDR
`;

function input(...extra: Array<Parameters<typeof withResources>[1]>): ControlInput {
  const resources = withResources(yaml(CONFIG).resources, node("n1", {}, { ipv4: "192.0.2.10", podCIDRs: ["10.244.1.0/24"] }), ...extra);
  return { resources, node: { name: "n1" } };
}

const texts = (e: ReturnType<typeof explain>, peer: string) =>
  e.verdicts.filter((v) => v.peer === peer).flatMap((v) => v.reasons.map((r) => `${v.advertised ? "+" : "-"} ${r.text} (${r.rule})`));

describe("explain()", () => {
  it("explains an advertised Service with its prefix, attributes and selecting advertisement", () => {
    const e = explain(input(svc("prod/web", { labels: { expose: "yes" }, lb: ["198.51.100.1"] })), { service: "prod/web" });
    expect(texts(e, "tor-1")).toEqual([
      "+ 198.51.100.1/32 is advertised to tor-1 with communities 65001:100, LOCAL_PREF 120 set but not sent on eBGP (E8): from Service prod/web LoadBalancerIP (selected by lb) (E12, E19)",
    ]);
  });

  it("names the rule when a peer gets nothing: no peerConfigRef (D5, E2), no selector (E2), missing PeerConfig (D5)", () => {
    const e = explain(input(svc("prod/web", { labels: { expose: "yes" }, lb: ["198.51.100.1"] })), { service: "prod/web" });
    expect(texts(e, "bare")).toEqual(["- peer bare has no peerConfigRef: nothing is advertised (D5, E2)"]);
    expect(texts(e, "v6only")).toEqual([`- CiliumBGPPeerConfig "v6": its ipv4/unicast entry has no advertisements selector, so nothing is advertised for that family (E1, E2)`]);
    expect(texts(e, "dangling")[0]).toContain(`peer dangling references CiliumBGPPeerConfig "missing", which does not exist`);
  });

  it("explains a Service that is not selected, and one whose traffic policy keeps it local (E12, E15)", () => {
    const e = explain(input(svc("prod/db", { labels: { app: "db" }, lb: ["198.51.100.2"] })), { service: "prod/db", peer: "tor-1" });
    expect(texts(e, "tor-1")).toEqual([
      `- CiliumBGPAdvertisement lb advertisements[0] selector {"matchLabels":{"expose":"yes"}} does not match Service prod/db labels {"app":"db"} (E12)`,
    ]);
    const local = explain(input(
      svc("prod/local", { labels: { expose: "yes" }, eTP: "Local", lb: ["198.51.100.3"] }),
      slice("prod/local", [{ node: "n2" }]),
    ), { service: "prod/local", peer: "tor-1" });
    expect(texts(local, "tor-1")).toEqual([
      "- CiliumBGPAdvertisement lb advertisements[0] selects Service prod/local, but its LoadBalancerIP is not announced: externalTrafficPolicy is Local and it has no ready, non-terminating endpoint on this node (E15)",
    ]);
  });

  it("explains a prefix: covered by the PodCIDR, or owned by a Service that is not selected", () => {
    const inp = input(svc("prod/db", { lb: ["198.51.100.2"] }));
    expect(texts(explain(inp, { prefix: "10.244.1.7", peer: "tor-1" }), "tor-1")).toEqual([
      "+ 10.244.1.0/24 is advertised to tor-1: from PodCIDR of node n1 (selected by lb) (E1)",
    ]);
    expect(texts(explain(inp, { prefix: "198.51.100.2", peer: "tor-1" }), "tor-1")).toEqual([
      `- CiliumBGPAdvertisement lb advertisements[0] selector {"matchLabels":{"expose":"yes"}} does not match Service prod/db labels {} (E12)`,
    ]);
    expect(texts(explain(inp, { prefix: "192.0.2.99/32", peer: "tor-1" }), "tor-1")).toEqual([
      "- no Service, PodCIDR, pod IP pool or interface of node n1 advertised to tor-1 covers 192.0.2.99/32 (E1)",
    ]);
  });

  it("says when no configuration selects the node (B1, C1)", () => {
    const e = explain({ ...input(), node: { name: "elsewhere" }, options: { nodeConfigSource: "resource" } }, { service: "prod/web" });
    expect(e.notes.map((n) => n.text)).toEqual([
      "no CiliumBGPClusterConfig selects node elsewhere (labels {}; configs: c): no BGP on this node",
      "Service prod/web does not exist",
    ]);
    expect(e.verdicts).toEqual([]);
  });
});

describe("stateToJSON()", () => {
  it("turns route tables into plain objects keyed by prefix", () => {
    const j = stateToJSON(desiredState(input())) as { instances: Array<{ peers: Array<{ routes: Record<string, Record<string, { prefix: string }>> }> }> };
    expect(j.instances[0].peers[0].routes["ipv4/unicast"]["10.244.1.0/24"].prefix).toBe("10.244.1.0/24");
  });
});
