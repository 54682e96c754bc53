/** desiredFrontends(): Services and EndpointSlices → frontends and their backends (pure). */
import { describe, expect, it } from "vitest";
import { desiredFrontends, serviceFrontends } from "../../src/datapath/desired.ts";
import { service, slice } from "./_fixtures.ts";

const view = (fs: ReturnType<typeof serviceFrontends>) =>
  Object.fromEntries(fs.map((f) => [f.id, f.backends.map((b) => `${b.address}|${b.port}`)]));

describe("serviceFrontends()", () => {
  it("makes one frontend per address (cluster, external, LoadBalancer) and TCP/UDP port", () => {
    const svc = service({
      name: "s",
      clusterIPs: ["10.96.0.1"],
      externalIPs: ["198.51.100.1", "10.96.0.1"],
      lbIPs: ["192.0.2.1"],
      ports: [{ name: "a", port: 80 }, { name: "b", port: 53, protocol: "UDP" }, { name: "c", port: 9, protocol: "SCTP" }],
    });
    const fs = serviceFrontends(svc, []);
    expect(fs.map((f) => f.id).sort()).toEqual([
      "10.96.0.1|53|UDP",
      "10.96.0.1|80|TCP",
      "192.0.2.1|53|UDP",
      "192.0.2.1|80|TCP",
      "198.51.100.1|53|UDP",
      "198.51.100.1|80|TCP",
    ]);
  });

  it("maps Service ports to slice ports by name and protocol", () => {
    const svc = service({ name: "s", clusterIPs: ["10.96.0.1"], ports: [{ name: "http", port: 80 }, { name: "metrics", port: 9090 }] });
    const sl = slice("s", "s1", ["10.0.0.1"], [{ name: "metrics", port: 9100 }, { name: "http", port: 8080 }, {
      name: "http",
      port: 5000,
      protocol: "UDP",
    }]);
    expect(view(serviceFrontends(svc, [sl]))).toEqual({
      "10.96.0.1|80|TCP": ["10.0.0.1|8080"],
      "10.96.0.1|9090|TCP": ["10.0.0.1|9100"],
    });
  });

  it("keeps only ready, non-terminating endpoints, deduplicated across slices and sorted", () => {
    const svc = service({ name: "s", clusterIPs: ["10.96.0.1"], ports: [{ port: 80 }] });
    const s1 = slice("s", "s1", ["10.0.0.9", { ip: "10.0.0.2", ready: false }, { ip: "10.0.0.3", terminating: true }, "10.0.0.10"], [{
      port: 8080,
    }]);
    const s2 = slice("s", "s2", ["10.0.0.9", "10.0.0.1"], [{ port: 8080 }]);
    expect(view(serviceFrontends(svc, [s1, s2]))).toEqual({ "10.96.0.1|80|TCP": ["10.0.0.1|8080", "10.0.0.9|8080", "10.0.0.10|8080"] });
  });

  it("gives each address family only backends of its own family", () => {
    const svc = service({ name: "s", clusterIPs: ["10.96.0.1", "fd00::1"], ports: [{ port: 80 }] });
    const v4 = slice("s", "v4", ["10.0.0.1"], [{ port: 8080 }]);
    const v6 = slice("s", "v6", ["fd00:1::2"], [{ port: 8080 }]);
    const fqdn = slice("s", "f", ["ignored.example"], [{ port: 8080 }], { addressType: "FQDN" });
    expect(view(serviceFrontends(svc, [v4, v6, fqdn]))).toEqual({
      "10.96.0.1|80|TCP": ["10.0.0.1|8080"],
      "fd00::1|80|TCP": ["fd00:1::2|8080"],
    });
  });

  it("applies Local traffic policies with the node name: external for LB/external IPs, internal for cluster IPs", () => {
    const svc = service({
      name: "s",
      clusterIPs: ["10.96.0.1"],
      lbIPs: ["192.0.2.1"],
      ports: [{ port: 80 }],
      externalTrafficPolicy: "Local",
    });
    const sl = slice("s", "s1", [{ ip: "10.0.0.1", node: "n1" }, { ip: "10.0.0.2", node: "n2" }], [{ port: 8080 }]);
    expect(view(serviceFrontends(svc, [sl], { nodeName: "n1" }))).toEqual({
      "10.96.0.1|80|TCP": ["10.0.0.1|8080", "10.0.0.2|8080"],
      "192.0.2.1|80|TCP": ["10.0.0.1|8080"],
    });
    const internal = service({ name: "s", clusterIPs: ["10.96.0.1"], ports: [{ port: 80 }], internalTrafficPolicy: "Local" });
    expect(view(serviceFrontends(internal, [sl], { nodeName: "n2" }))).toEqual({ "10.96.0.1|80|TCP": ["10.0.0.2|8080"] });
    // Without a node name the policies cannot apply: all endpoints.
    expect(view(serviceFrontends(svc, [sl]))["192.0.2.1|80|TCP"]).toHaveLength(2);
  });

  it("programs nothing for ExternalName and headless Services", () => {
    expect(serviceFrontends(service({ name: "x", type: "ExternalName", ports: [{ port: 80 }] }), [])).toEqual([]);
    expect(serviceFrontends(service({ name: "h", type: "ClusterIP", clusterIPs: ["None"], ports: [{ port: 80 }] }), [])).toEqual([]);
  });

  it("equal backend lists have equal content, different ones differ", () => {
    const svc = service({ name: "s", clusterIPs: ["10.96.0.1"], lbIPs: ["192.0.2.1"], ports: [{ port: 80 }] });
    const [a, b] = serviceFrontends(svc, [slice("s", "s1", ["10.0.0.1"], [{ port: 8080 }])]);
    expect(a.content).toBe(b.content);
    const [c] = serviceFrontends(svc, [slice("s", "s1", ["10.0.0.1"], [{ port: 8081 }])]);
    expect(c.content).not.toBe(a.content);
  });
});

describe("desiredFrontends()", () => {
  it("groups slices by the kubernetes.io/service-name label within the namespace", () => {
    const a = service({ name: "web", namespace: "a", clusterIPs: ["10.96.0.1"], ports: [{ port: 80 }] });
    const b = service({ name: "web", namespace: "b", clusterIPs: ["10.96.0.2"], ports: [{ port: 80 }] });
    const d = desiredFrontends([a, b], [
      slice("web", "w1", ["10.0.0.1"], [{ port: 8080 }], { namespace: "a" }),
      slice("web", "w2", ["10.0.0.2"], [{ port: 8080 }], { namespace: "b" }),
    ]);
    expect(view(d.get("a/web")!)).toEqual({ "10.96.0.1|80|TCP": ["10.0.0.1|8080"] });
    expect(view(d.get("b/web")!)).toEqual({ "10.96.0.2|80|TCP": ["10.0.0.2|8080"] });
  });
});
