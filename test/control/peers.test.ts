import { describe, expect, it } from "vitest";
import type { HostFacts } from "../../src/control/types.ts";
import { host, issuesOf, node, stateOf, withResources, yaml } from "./_helpers.ts";

/** A v2 setup for node n1: one instance, peers given as YAML list items. */
function setup(peers: string, opts: { instance?: string; extra?: string; nodeOpts?: Parameters<typeof node>[2] } = {}) {
  const text = `apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: main
${opts.instance ?? "      localASN: 65001"}
      peers:
${peers}
---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: tor}
spec:
  families:
    - afi: ipv4
      safi: unicast
      advertisements: {matchLabels: {advertise: bgp}}
${opts.extra ?? ""}`;
  return withResources(yaml(text).resources, node("n1", {}, opts.nodeOpts ?? { ipv4: "192.0.2.10" }));
}

const eth0 = (addrs: string[], extra: Partial<HostFacts["interfaces"][number]> = {}) => ({
  name: "eth0",
  adminUp: true,
  operState: "up",
  mac: "02:42:ac:11:00:02",
  addresses: addrs,
  ...extra,
});

describe("instances (C2–C5)", () => {
  it("does not start an instance without localASN and keeps the others (C3)", () => {
    const r = withResources(yaml(`apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: c}
spec:
  bgpInstances:
    - name: broken
    - name: good
      localASN: 65001
`).resources, node("n1", {}, { ipv4: "192.0.2.10" }));
    const s = stateOf(r, "n1");
    expect(s.instances.map((i) => i.name)).toEqual(["good"]);
    expect(issuesOf(s, "C3")).toEqual(["instance broken: missing ASN in desired config"]);
  });

  it.each([
    ["the NodeConfig routerID (override)", { routerID: "10.9.9.9" }, undefined, "10.9.9.9", "node-config"],
    ["the Node's InternalIP IPv4", {}, undefined, "192.0.2.10", "node-address"],
    ["the IPv4 of the default-route interface", { noNodeAddress: true }, host({
      interfaces: [eth0(["203.0.113.5/24", "fe80::1/64"]), { name: "lo", adminUp: true, operState: "unknown", addresses: ["127.0.0.1/8"] }],
      routes: [{ destination: "0.0.0.0/0", gateway: "203.0.113.1", interface: "eth0", metric: 100 }],
    }), "203.0.113.5", "host-address"],
    ["the last four MAC bytes when there is no IPv4 (cilium_host rule on the default-route interface)", { noNodeAddress: true }, host({
      interfaces: [eth0(["2001:db8::5/64"]), { name: "lo", adminUp: true, operState: "unknown", addresses: ["127.0.0.1/8"] }],
      routes: [{ destination: "::/0", gateway: "2001:db8::1", interface: "eth0", metric: 100 }],
    }), "172.17.0.2", "interface-mac"],
  ] as const)("chooses %s as router ID (C4)", (_what, o, facts, want, source) => {
    const ov = "routerID" in o ? `---
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfigOverride
metadata: {name: n1}
spec:
  bgpInstances: [{name: main, routerID: ${o.routerID}}]
` : "";
    const r = setup("        - name: tor-1\n          peerAddress: 10.0.0.1\n          peerASN: 65100", {
      extra: ov,
      nodeOpts: "noNodeAddress" in o ? {} : { ipv4: "192.0.2.10" },
    });
    const s = stateOf(r, "n1", {}, facts);
    expect(s.instances[0].routerID).toBe(want);
    expect(s.instances[0].routerIDSource).toBe(source);
  });

  it("uses the interface named by routerIDInterface for the MAC rule, and fails without any (C4)", () => {
    const r = setup("        - name: tor-1\n          peerAddress: 10.0.0.1\n          peerASN: 65100", { nodeOpts: {} });
    const facts = host({ interfaces: [eth0([]), { ...eth0([]), name: "eth1", mac: "02:00:0a:0b:0c:0d" }] });
    expect(stateOf(r, "n1", { routerIDInterface: "eth1" }, facts).instances[0].routerID).toBe("10.11.12.13");
    const s = stateOf(r, "n1", {}, host());
    expect(s.instances).toEqual([]);
    expect(issuesOf(s, "C4")[0]).toContain("Cannot choose a router ID: the node has no IPv4 address");
  });

  it("listens only when localPort is set (C5)", () => {
    const peers = "        - name: tor-1\n          peerAddress: 10.0.0.1\n          peerASN: 65100";
    expect(stateOf(setup(peers), "n1").instances[0].localPort).toBeNull();
    expect(stateOf(setup(peers, { instance: "      localASN: 65001\n      localPort: 1179" }), "n1").instances[0].localPort).toBe(1179);
  });
});

describe("peers (D1–D13)", () => {
  it("fails the instance's peers when a hand-written NodeConfig peer has no peerASN (D2)", () => {
    const r = withResources(yaml(`apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfig
metadata: {name: n1}
spec:
  bgpInstances:
    - name: main
      localASN: 65001
      routerID: 10.0.0.100
      peers:
        - {name: ok, peerAddress: 10.0.0.1, peerASN: 65100}
        - {name: no-asn, peerAddress: 10.0.0.2}
`).resources);
    const s = stateOf(r, "n1", { nodeConfigSource: "resource" });
    expect(s.instances[0].peers).toEqual([]);
    expect(s.instances[0].errors).toEqual(["peer no-asn does not have a PeerASN"]);
  });

  it("treats peerASN 0 as learn-from-OPEN (D2)", () => {
    const s = stateOf(setup("        - name: any\n          peerAddress: 10.0.0.1"), "n1");
    expect(s.instances[0].peers[0]).toMatchObject({ peerASN: 0, sessionType: "unknown" });
  });

  it("skips a peer with no address (D3)", () => {
    const s = stateOf(setup("        - name: nowhere\n          peerASN: 65100\n        - name: tor-1\n          peerAddress: 10.0.0.1\n          peerASN: 65100"), "n1");
    expect(s.instances[0].peers.map((p) => p.name)).toEqual(["tor-1"]);
    expect(issuesOf(s, "D3")).toEqual(["peer nowhere has neither peerAddress nor autoDiscovery: skipped"]);
  });

  describe("autoDiscovery DefaultGateway (D4)", () => {
    const peer = (fam: string, addr = "") =>
      `        - name: gw\n          peerASN: 65100${addr}\n          autoDiscovery: {mode: DefaultGateway, defaultGateway: {addressFamily: ${fam}}}`;
    const facts = host({
      interfaces: [eth0(["203.0.113.5/24"]), { ...eth0(["198.51.100.5/24"]), name: "eth1" }, { ...eth0([]), name: "eth2", operState: "down" }],
      routes: [
        { destination: "0.0.0.0/0", gateway: "198.51.100.1", interface: "eth1", metric: 200 },
        { destination: "0.0.0.0/0", gateway: "203.0.113.1", interface: "eth0", metric: 100 },
        { destination: "0.0.0.0/0", gateway: "192.0.2.1", interface: "eth2", metric: 1 },
        { destination: "0.0.0.0/0", interface: "eth0", metric: 0 },
        { destination: "::/0", gateway: "fe80::1", interface: "eth0", metric: 100 },
      ],
    });
    it("picks the lowest-metric default route with a gateway on an up link", () => {
      const p = stateOf(setup(peer("ipv4")), "n1", {}, facts).instances[0].peers[0];
      expect(p).toMatchObject({ address: "203.0.113.1", addressSource: "autoDiscovery" });
    });
    it("refuses IPv6 link-local gateways and skips the peer", () => {
      const s = stateOf(setup(peer("ipv6")), "n1", {}, facts);
      expect(s.instances[0].peers).toEqual([]);
      expect(issuesOf(s, "D4")[0]).toContain("IPv6 link-local gateways, which Cilium refuses (fe80::1 via eth0)");
    });
    it("skips the peer without a usable route, and lets an explicit peerAddress win", () => {
      expect(stateOf(setup(peer("ipv4")), "n1", {}, host()).instances[0].peers).toEqual([]);
      const p = stateOf(setup(peer("ipv4", "\n          peerAddress: 10.0.0.1")), "n1", {}, facts).instances[0].peers[0];
      expect(p).toMatchObject({ address: "10.0.0.1", addressSource: "peerAddress" });
    });
  });

  it("uses defaults and advertises nothing without peerConfigRef; does not configure a peer whose PeerConfig is missing (D5)", () => {
    const s = stateOf(setup(`        - name: plain
          peerAddress: 10.0.0.1
          peerASN: 65100
        - name: dangling
          peerAddress: 10.0.0.2
          peerASN: 65100
          peerConfigRef: {name: nope}`), "n1");
    const [plain] = s.instances[0].peers;
    expect(s.instances[0].peers.map((p) => p.name)).toEqual(["plain"]);
    expect(plain).toMatchObject({
      peerConfig: null,
      peerPort: 179,
      timers: { connectRetryTimeSeconds: 120, holdTimeSeconds: 90, keepAliveTimeSeconds: 30 },
      ebgpMultihop: 1,
      gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
      families: ["ipv6/unicast", "ipv4/unicast"],
    });
    expect([...plain.routes.values()].every((t) => t.size === 0)).toBe(true);
    expect(issuesOf(s, "D5")[0]).toContain(`peer dangling references CiliumBGPPeerConfig "nope", which does not exist`);
  });

  it("fills agent defaults for unset PeerConfig fields; families default only when empty (D6, D12)", () => {
    const s = stateOf(setup("        - {name: tor-1, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: bare}}", {
      extra: `---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: bare}
`,
    }), "n1");
    expect(s.instances[0].peers[0]).toMatchObject({
      peerConfig: "bare",
      peerPort: 179,
      timers: { connectRetryTimeSeconds: 120, holdTimeSeconds: 90, keepAliveTimeSeconds: 30 },
      gracefulRestart: { enabled: false, restartTimeSeconds: 120 },
      families: ["ipv6/unicast", "ipv4/unicast"],
    });
    const listed = stateOf(setup("        - {name: tor-1, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tor}}"), "n1");
    expect(listed.instances[0].peers[0].families).toEqual(["ipv4/unicast"]);
  });

  it("carries timers, GR, port, multihop and session type (D7, D8, D10)", () => {
    const s = stateOf(setup(`        - {name: ebgp, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: tuned}}
        - {name: ibgp, peerAddress: 10.0.0.2, peerASN: 65001, peerConfigRef: {name: tuned}}`, {
      extra: `---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: tuned}
spec:
  transport: {peerPort: 1790}
  timers: {holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 5}
  gracefulRestart: {enabled: true, restartTimeSeconds: 30}
  ebgpMultihop: 4
  families: [{afi: ipv6, safi: unicast}, {afi: ipv4, safi: multicast}]
`,
    }), "n1");
    const [e, i] = s.instances[0].peers;
    expect(e).toMatchObject({
      peerPort: 1790,
      timers: { connectRetryTimeSeconds: 5, holdTimeSeconds: 9, keepAliveTimeSeconds: 3 },
      gracefulRestart: { enabled: true, restartTimeSeconds: 30 },
      ebgpMultihop: 4,
      families: ["ipv6/unicast", "ipv4/multicast"],
      sessionType: "ebgp",
    });
    expect(i.sessionType).toBe("ibgp");
    expect([...e.routes.keys()]).toEqual(["ipv6/unicast"]);
  });

  describe("TCP-MD5 secrets (D9)", () => {
    const pc = (ref: string) => `---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: auth}
spec:
  authSecretRef: ${ref}
`;
    const secret = (ns: string, name: string, data: string) => `---
apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: ${ns}}
${data}
`;
    const peers = "        - {name: tor-1, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: auth}}";
    it("reads key password of the Secret in the secrets namespace (data or stringData)", () => {
      const s = stateOf(setup(peers, { extra: pc("bgp-auth") + secret("kube-system", "bgp-auth", "data: {password: czNjcjN0}") }), "n1");
      expect(s.instances[0].peers[0]).toMatchObject({ password: "s3cr3t", authSecretRef: "bgp-auth" });
      const s2 = stateOf(setup(peers, { extra: pc("bgp-auth") + secret("bgp", "bgp-auth", "stringData: {password: pw}") }), "n1", { bgpSecretsNamespace: "bgp" });
      expect(s2.instances[0].peers[0].password).toBe("pw");
    });
    it("runs without a password when the Secret is missing, and warns like MissingAuthSecret", () => {
      const s = stateOf(setup(peers, { extra: pc("bgp-auth") + secret("default", "bgp-auth", "stringData: {password: pw}") }), "n1");
      expect(s.instances[0].peers[0].password).toBeNull();
      expect(issuesOf(s, "D9")[0]).toContain(`Referenced Auth Secret "bgp-auth" is missing (namespace "kube-system")`);
    });
    it("refuses Secret data that is not base64, as the API server does, without printing the value (D9)", () => {
      const text = secret("kube-system", "bgp-auth", "data: {password: \"s3cr3t!\"}");
      const r = yaml(text, "secret.yaml", true);
      expect(r.issues.map((i) => `${i.level} ${i.message}`)).toEqual([
        `error Cannot load Secret "bgp-auth" (secret.yaml:5): data key "password" must be base64-encoded (the API server stores Secret data that way; plain text goes under stringData)`,
      ]);
      expect(r.resources.secrets).toEqual([]);
      // The PeerConfig then references a Secret that does not exist: no password, no crash.
      const s = stateOf(withResources(setup(peers, { extra: pc("bgp-auth") }), ...r.resources.secrets), "n1");
      expect(s.instances[0].peers[0].password).toBeNull();
      expect(yaml(secret("kube-system", "ok", "data: {password: \"czNjcjN0\\n\", empty: \"\"}"), "s.yaml").issues).toEqual([]);
    });
    it("fails the instance's peers when the key is empty or no namespace is configured", () => {
      const s = stateOf(setup(peers, { extra: pc("bgp-auth") + secret("kube-system", "bgp-auth", "stringData: {other: x}") }), "n1");
      expect(s.instances[0].peers).toEqual([]);
      expect(s.instances[0].errors).toEqual([`failed to fetch secret "bgp-auth": missing password key`]);
      const s2 = stateOf(setup(peers, { extra: pc("bgp-auth") }), "n1", { bgpSecretsNamespace: "" });
      expect(s2.instances[0].errors).toEqual([`failed to fetch secret "bgp-auth": SecretsNamespace not configured`]);
    });
  });

  describe("local address (D11)", () => {
    const withSource = (iface: string) => `---
apiVersion: cilium.io/v2
kind: CiliumBGPPeerConfig
metadata: {name: src}
spec:
  transport: {sourceInterface: ${iface}}
`;
    const peers = "        - {name: tor-1, peerAddress: 10.0.0.1, peerASN: 65100, peerConfigRef: {name: src}}";
    it("takes the one usable address of the peer's family on sourceInterface", () => {
      const facts = host({ interfaces: [eth0(["10.0.0.5/24", "2001:db8::5/64", "fe80::5/64"])] });
      expect(stateOf(setup(peers, { extra: withSource("eth0") }), "n1", {}, facts).instances[0].peers[0])
        .toMatchObject({ localAddress: "10.0.0.5", localAddressSource: "sourceInterface" });
      // IPv4 link-local counts as usable.
      const ll = host({ interfaces: [eth0(["169.254.0.5/16"])] });
      expect(stateOf(setup(peers, { extra: withSource("eth0") }), "n1", {}, ll).instances[0].peers[0].localAddress).toBe("169.254.0.5");
    });
    it("skips the peer when the interface is missing or has several addresses (J9: code wins over CRD text)", () => {
      const two = host({ interfaces: [eth0(["10.0.0.5/24", "10.0.0.6/24"])] });
      const s = stateOf(setup(peers, { extra: withSource("eth0") }), "n1", {}, two);
      expect(s.instances[0].peers).toEqual([]);
      expect(issuesOf(s, "D11")[0]).toContain(`interface "eth0" has 2 usable IPv4 addresses (10.0.0.5, 10.0.0.6)`);
      expect(stateOf(setup(peers, { extra: withSource("bond0") }), "n1", {}, two).instances[0].peers).toEqual([]);
    });
    it("lets the override's localAddress win over sourceInterface", () => {
      const ov = `---
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfigOverride
metadata: {name: n1}
spec:
  bgpInstances: [{name: main, peers: [{name: tor-1, localAddress: 10.0.0.77}]}]
`;
      const p = stateOf(setup(peers, { extra: withSource("bond0") + ov }), "n1", {}, host()).instances[0].peers[0];
      expect(p).toMatchObject({ localAddress: "10.0.0.77", localAddressSource: "override" });
    });
  });

  it("refuses a second peer on an address already used, keeping the first (D1)", () => {
    const s = stateOf(setup(`        - {name: a, peerAddress: 10.0.0.1, peerASN: 65100}
        - {name: b, peerAddress: 10.0.0.1, peerASN: 65200}`), "n1");
    expect(s.instances[0].peers.map((p) => p.name)).toEqual(["a"]);
    expect(s.instances[0].errors[0]).toContain("peer a already uses address 10.0.0.1");
  });

  it("skips unnumbered peers, which herald does not support ([newer])", () => {
    const s = stateOf(setup("        - {name: un, peerASN: 65100, peerInterface: eth0}"), "n1");
    expect(s.instances[0].peers).toEqual([]);
    expect(issuesOf(s, "D3")[0]).toContain("unnumbered (interface) peering is not supported");
  });
});
