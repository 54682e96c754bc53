import { describe, expect, it } from "vitest";
import { BGP_CLASS, buildView, incompatibility, isResponsible, L2_CLASS, requestedFamilies } from "../../src/ipam/service-view.ts";
import type { ViewOptions } from "../../src/ipam/service-view.ts";
import { svc } from "./_fixtures.ts";

const base: ViewOptions = {
  ipv4: true,
  ipv6: true,
  defaultLBServiceIPAM: "lbipam",
  classes: [BGP_CLASS],
  protocolAwareSharing: false,
  permitDifferentPods: false,
};

describe("isResponsible() (I1)", () => {
  it.each([
    ["LoadBalancer, no class, default lbipam", svc("s"), base, true],
    ["ClusterIP", svc("s", { type: "ClusterIP" }), base, false],
    ["NodePort", svc("s", { type: "NodePort" }), base, false],
    ["no class, default-lb-service-ipam=nodeipam", svc("s"), { ...base, defaultLBServiceIPAM: "nodeipam" }, false],
    ["no class, default-lb-service-ipam=none", svc("s"), { ...base, defaultLBServiceIPAM: "none" }, false],
    ["BGP class with BGP on", svc("s", { cls: BGP_CLASS }), base, true],
    ["BGP class with BGP off", svc("s", { cls: BGP_CLASS }), { ...base, classes: [] }, false],
    ["L2 class with L2 off", svc("s", { cls: L2_CLASS }), base, false],
    ["L2 class with L2 on", svc("s", { cls: L2_CLASS }), { ...base, classes: [BGP_CLASS, L2_CLASS] }, true],
    ["another controller's class", svc("s", { cls: "example.com/lb" }), base, false],
  ] as const)("%s ⇒ %s", (_name, s, o, want) => {
    expect(isResponsible(s, o)).toBe(want);
  });
});

describe("requestedFamilies() (I8, J2)", () => {
  const dual = { ipv4: true, ipv6: true };
  const v4only = { ipv4: true, ipv6: false };
  const v6only = { ipv4: false, ipv6: true };
  it.each([
    ["unset policy, no families, dual cluster", {}, dual, { v4: true, v6: false }],
    ["unset policy, no families, v6-only cluster", {}, v6only, { v4: false, v6: true }],
    ["SingleStack IPv6 on a v4-only cluster (the family is not filtered)", { policy: "SingleStack", families: ["IPv6"] }, v4only, { v4: false, v6: true }],
    ["unset policy, families [IPv6, IPv4]", { families: ["IPv6", "IPv4"] }, dual, { v4: false, v6: true }],
    ["PreferDualStack, no families, dual cluster", { policy: "PreferDualStack" }, dual, { v4: true, v6: true }],
    ["PreferDualStack [IPv4] only", { policy: "PreferDualStack", families: ["IPv4"] }, dual, { v4: true, v6: false }],
    ["PreferDualStack [IPv4, IPv6] on a v4-only cluster", { policy: "PreferDualStack", families: ["IPv4", "IPv6"] }, v4only, { v4: true, v6: false }],
    ["RequireDualStack, dual cluster", { policy: "RequireDualStack", families: ["IPv4"] }, dual, { v4: true, v6: true }],
    ["RequireDualStack on a v4-only cluster asks for IPv4 only (J2: code wins over docs)", { policy: "RequireDualStack" }, v4only, { v4: true, v6: false }],
  ] as const)("%s", (_name, args, o, want) => {
    expect(requestedFamilies(svc("s", args as never), o)).toEqual(want);
  });
});

describe("buildView() requested IPs (I9, §9.1)", () => {
  const ips = (s: ReturnType<typeof svc>) => buildView(s, base).requested.map((r) => `${r.family}:${r.value.toString(16)}`);

  it("unions spec.loadBalancerIP with the annotation in order, trims entries and collapses adjacent duplicates only (Cilium's CompactFunc)", () => {
    const v = buildView(svc("s", { lbIP: "10.0.0.1", annotations: { "lbipam.cilium.io/ips": " 10.0.0.1,10.0.0.2 ,10.0.0.1, 2001:db8::1" } }), base);
    expect(v.requested.map((r) => r.value)).toEqual([0x0a000001n, 0x0a000002n, 0x0a000001n, 0x20010db8000000000000000000000001n]);
    expect(v.unparsable).toEqual([]);
  });

  it("reads the legacy alias io.cilium/lb-ipam-ips when the primary key is absent (J6)", () => {
    expect(ips(svc("s", { annotations: { "io.cilium/lb-ipam-ips": "10.0.0.3" } }))).toEqual(["4:a000003"]);
  });

  it("uses the primary key when present, even empty, and then ignores the alias", () => {
    expect(ips(svc("s", { annotations: { "lbipam.cilium.io/ips": "10.0.0.4", "io.cilium/lb-ipam-ips": "10.0.0.5" } }))).toEqual(["4:a000004"]);
    expect(ips(svc("s", { annotations: { "lbipam.cilium.io/ips": "", "io.cilium/lb-ipam-ips": "10.0.0.5" } }))).toEqual([]);
  });

  it("reports and skips unparsable entries, keeping the good ones", () => {
    const v = buildView(svc("s", { lbIP: "bogus", annotations: { "lbipam.cilium.io/ips": "10.0.0.1,10.0.0.300,,fe80::1%eth0" } }), base);
    expect(v.requested.map((r) => r.value)).toEqual([0x0a000001n]);
    expect(v.unparsable).toEqual([
      `spec.loadBalancerIP entry "bogus" is not an IP address`,
      `annotation lbipam.cilium.io/ips entry "10.0.0.300" is not an IP address`,
      `annotation lbipam.cilium.io/ips entry "" is not an IP address`,
      `annotation lbipam.cilium.io/ips entry "fe80::1%eth0" is not an IP address`,
    ]);
  });

  it("reads sharing key and cross-namespace list from primary keys or aliases; the list is split, not trimmed (§9.1 quirk)", () => {
    const v = buildView(svc("s", { annotations: { "io.cilium/lb-ipam-sharing-key": "k", "lbipam.cilium.io/sharing-cross-namespace": "a, b,*" } }), base);
    expect(v.sharingKey).toBe("k");
    expect(v.crossNamespace).toEqual(["a", " b", "*"]);
    const w = buildView(svc("s", { annotations: { "lbipam.cilium.io/sharing-key": "p", "io.cilium/lb-ipam-sharing-key": "q", "io.cilium/lb-ipam-sharing-cross-namespace": "x" } }), base);
    expect([w.sharingKey, w.crossNamespace]).toEqual(["p", ["x"]]);
  });

  it("adds the service pseudo-labels (§9.3)", () => {
    const v = buildView(svc("web", { ns: "prod", labels: { app: "x" } }), base);
    expect(v.labels).toEqual({ app: "x", "io.kubernetes.service.name": "web", "io.kubernetes.service.namespace": "prod" });
  });
});

describe("incompatibility() (I11)", () => {
  /** A view with sharing key "k" unless the annotations say otherwise. */
  const view = (name: string, a: Parameters<typeof svc>[1] = {}, o = base) =>
    buildView(svc(name, { ...a, annotations: { "lbipam.cilium.io/sharing-key": "k", ...a.annotations } }), o);

  it("is compatible for the same key and namespace, other ports, same policy", () => {
    expect(incompatibility(view("a", { ports: [80] }), view("b", { ports: [443] }), base)).toBeNull();
  });

  it.each([
    ["different sharing key", { annotations: { "lbipam.cilium.io/sharing-key": "other" } }, {}],
    ["different and not permitted namespace", { ns: "other" }, {}],
    ["same port", { ports: [80] }, { ports: [{ port: 80, protocol: "UDP" }] }], // protocol ignored (baseline)
    ["different ExternalTrafficPolicy", { etp: "Local", selector: { app: "x" } }, { etp: "Cluster" }],
    ["compatible ExternalTrafficPolicy local but selecting different set of pods", { etp: "Local", selector: { app: "x" } }, { etp: "Local", selector: { app: "y" } }],
    ["compatible ExternalTrafficPolicy local but selecting different set of pods", { etp: "Local" }, { etp: "Local" }], // no selector
  ] as const)("reports %j", (reason, a, b) => {
    const va = view("a", { ports: [443], ...a } as never);
    const vb = view("b", { ports: [8443], ...b } as never);
    expect(incompatibility(va, vb, base)).toBe(reason);
  });

  it("allows other namespaces only when both sides list each other or * (cross-namespace)", () => {
    const x = "lbipam.cilium.io/sharing-cross-namespace";
    const a = view("a", { ns: "ns-a", ports: [80], annotations: { [x]: "ns-b" } });
    const b = view("b", { ns: "ns-b", ports: [443], annotations: { [x]: "*" } });
    const c = view("c", { ns: "ns-c", ports: [443], annotations: { [x]: "ns-a" } });
    expect(incompatibility(a, b, base)).toBeNull();
    expect(incompatibility(a, c, base)).toBe("different and not permitted namespace"); // a does not list ns-c
    // "ns-a, ns-b" is split without trimming: " ns-b" does not permit "ns-b".
    const d = view("d", { ns: "ns-d", ports: [81], annotations: { [x]: "ns-a, ns-b" } });
    const e = view("e", { ns: "ns-b", ports: [82], annotations: { [x]: "*" } });
    expect(incompatibility(d, e, base)).toBe("different and not permitted namespace");
  });

  it("[newer] compares protocols too when protocol-aware sharing is on", () => {
    const o = { ...base, protocolAwareSharing: true };
    const a = view("a", { ports: [{ port: 53, protocol: "UDP" }] });
    expect(incompatibility(a, view("b", { ports: [{ port: 53, protocol: "TCP" }] }), o)).toBeNull();
    expect(incompatibility(a, view("c", { ports: [{ port: 53, protocol: "UDP" }] }), o)).toBe("same port and protocol");
  });

  it("[newer] lets Local services with different selectors share when both carry sharing-permit-different-pods", () => {
    const o = { ...base, permitDifferentPods: true };
    const permit = { "lbipam.cilium.io/sharing-permit-different-pods": "true" };
    const a = view("a", { ports: [80], etp: "Local", selector: { app: "a" }, annotations: permit }, o);
    const b = view("b", { ports: [81], etp: "Local", selector: { app: "b" }, annotations: permit }, o);
    const c = view("c", { ports: [82], etp: "Local", selector: { app: "c" } }, o);
    const d = view("d", { ports: [83], etp: "Local", annotations: permit }, o);
    expect(incompatibility(a, b, o)).toBeNull();
    expect(incompatibility(a, c, o)).toBe(
      "ExternalTrafficPolicy local but selecting different set of pods without lbipam.cilium.io/sharing-permit-different-pods on both services",
    );
    expect(incompatibility(a, d, o)).toBe("ExternalTrafficPolicy local but a service has no selector");
    // With the option off (baseline) the annotation means nothing.
    const a0 = view("a", { ports: [80], etp: "Local", selector: { app: "a" }, annotations: permit });
    const b0 = view("b", { ports: [81], etp: "Local", selector: { app: "b" }, annotations: permit });
    expect(incompatibility(a0, b0, base)).toBe("compatible ExternalTrafficPolicy local but selecting different set of pods");
  });
});
