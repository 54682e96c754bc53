/**
 * The double driven by the real kubectl. Every expectation is what kubectl
 * prints, or what the object looks like, against a real kube-apiserver:
 * apply (create, unchanged, configured), get -o json (resourceVersion,
 * generation), patch --subresource=status (merge and json), selectors,
 * errors kubectl prints for NotFound / AlreadyExists / Conflict / Invalid /
 * strict field validation, delete, printer columns and `get -w`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type ApiServerDouble, startApiServer } from "../support/apiserver/mod.ts";
import { eventually, Kubectl } from "./_kubectl.ts";
import { pool, poolCRD } from "./_fixtures.ts";

let api: ApiServerDouble;
let k: Kubectl;

const poolYaml = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) =>
  stringify({ apiVersion: "cilium.io/v2", kind: "CiliumLoadBalancerIPPool", metadata: { name, labels }, spec });
const json = async (args: string[]) => JSON.parse(await k.ok([...args, "-o", "json"]));

beforeAll(async () => {
  api = await startApiServer();
  k = await Kubectl.forDouble(api);
  // YAML 1.1 output: kubectl (Go yaml) would read an unquoted Yes/No as a boolean.
  const crd = await k.file("crd.yaml", stringify(poolCRD(), { version: "1.1" }));
  expect(await k.ok(["apply", "-f", crd])).toBe("customresourcedefinition.apiextensions.k8s.io/ciliumloadbalancerippools.cilium.io created\n");
});
afterAll(async () => {
  await api.stop();
  await k.cleanup();
});

describe("kubectl apply and get", () => {
  it("kubectl wait sees the CRD Established, and api-resources lists its names", async () => {
    const out = await k.ok(["wait", "--for", "condition=established", "crd/ciliumloadbalancerippools.cilium.io", "--timeout=5s"]);
    expect(out).toBe("customresourcedefinition.apiextensions.k8s.io/ciliumloadbalancerippools.cilium.io condition met\n");
    const res = await k.ok(["api-resources", "--api-group=cilium.io", "--no-headers"]);
    expect(res.split(/\s+/).slice(0, 5)).toEqual(["ciliumloadbalancerippools", "ippools,ippool,lbippool,lbippools", "cilium.io/v2", "false", "CiliumLoadBalancerIPPool"]);
  });

  it("apply creates, leaves unchanged, then configures; generation follows spec changes only", async () => {
    const file = await k.file("pool.yaml", poolYaml("pool-a", { blocks: [{ cidr: "10.0.10.0/24" }] }, { rack: "r1" }));
    expect(await k.ok(["apply", "-f", file])).toBe("ciliumloadbalancerippool.cilium.io/pool-a created\n");
    const first = await json(["get", "ippool", "pool-a"]);
    expect(first.metadata.generation).toBe(1);
    expect(first.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]).toContain('"name":"pool-a"');
    expect(await k.ok(["apply", "-f", file])).toBe("ciliumloadbalancerippool.cilium.io/pool-a unchanged\n");
    expect((await json(["get", "ippool", "pool-a"])).metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    await k.file("pool.yaml", poolYaml("pool-a", { blocks: [{ cidr: "10.0.10.0/24" }, { cidr: "10.0.11.0/24" }] }, { rack: "r1" }));
    expect(await k.ok(["apply", "-f", file])).toBe("ciliumloadbalancerippool.cilium.io/pool-a configured\n");
    const second = await json(["get", "ippool", "pool-a"]);
    expect(second.metadata.generation).toBe(2);
    expect(Number(second.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
    expect(second.spec.blocks).toHaveLength(2);
    expect(second.spec.disabled).toBe(false);
  });

  it("apply of a Service goes through a strategic merge patch that merges ports", async () => {
    const svc = (ports: unknown[]) =>
      stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { type: "LoadBalancer", selector: { app: "web" }, ports } });
    const file = await k.file("svc.yaml", svc([{ name: "http", port: 80 }, { name: "https", port: 443 }]));
    expect(await k.ok(["apply", "-f", file])).toBe("service/web created\n");
    await k.file("svc.yaml", svc([{ name: "http", port: 80 }, { name: "alt", port: 8443 }]));
    expect(await k.ok(["apply", "-f", file])).toBe("service/web configured\n");
    const got = await json(["get", "svc", "web"]);
    expect(got.spec.ports.map((p: { port: number }) => p.port)).toEqual([80, 8443]);
    expect(got.status).toEqual({ loadBalancer: {} });
    expect(got.metadata.generation).toBeUndefined();
    const table = await k.ok(["get", "svc", "web"]);
    expect(table.split("\n")[0].split(/\s{2,}/)).toEqual(["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
    expect(table).toMatch(/web\s+LoadBalancer\s+10\.\d+\.\d+\.\d+\s+<pending>\s+80:3\d{4}\/TCP,8443:3\d{4}\/TCP/);
  });

  it("get prints the CRD's printer columns; -l filters with set-based selectors", async () => {
    await k.ok(["apply", "-f", "-"], poolYaml("pool-b", { blocks: [{ cidr: "10.0.20.0/24" }], disabled: true }, { rack: "r2" }));
    const table = await k.ok(["get", "ippools"]);
    const lines = table.trim().split("\n");
    expect(lines[0].split(/\s{2,}/)).toEqual(["NAME", "DISABLED", "CONFLICTING", "IPS AVAILABLE", "AGE"]);
    expect(lines[2]).toMatch(/^pool-b\s+true\s+\d+s$/);
    expect(await k.ok(["get", "ippools", "-l", "rack in (r2,r3)", "-o", "name"])).toBe("ciliumloadbalancerippool.cilium.io/pool-b\n");
    expect(await k.ok(["get", "ippools", "-l", "rack!=r2", "-o", "name"])).toBe("ciliumloadbalancerippool.cilium.io/pool-a\n");
    expect(await k.ok(["get", "ippools", "-l", "!rack", "-o", "name"])).toBe("");
    expect(await k.ok(["get", "ippools", "--field-selector", "metadata.name=pool-a", "-o", "name"])).toBe("ciliumloadbalancerippool.cilium.io/pool-a\n");
  });

  it("an object is served at v2alpha1 with that apiVersion", async () => {
    const got = await json(["get", "ciliumloadbalancerippools.v2alpha1.cilium.io", "pool-a"]);
    expect(got.apiVersion).toBe("cilium.io/v2alpha1");
  });
});

describe("kubectl patch --subresource=status", () => {
  it("a merge patch on status changes status only, not generation", async () => {
    const before = await json(["get", "ippool", "pool-a"]);
    const patch = JSON.stringify({ status: { conditions: [{ type: "cilium.io/IPsAvailable", status: "Unknown", reason: "noreason", message: "510", lastTransitionTime: "2024-01-01T00:00:00Z" }] }, spec: { disabled: true } });
    expect(await k.ok(["patch", "ippool", "pool-a", "--subresource=status", "--type=merge", "-p", patch])).toBe(
      "ciliumloadbalancerippool.cilium.io/pool-a patched\n",
    );
    const after = await json(["get", "ippool", "pool-a"]);
    expect(after.status.conditions[0].message).toBe("510");
    expect(after.spec.disabled).toBe(false);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Number(before.metadata.resourceVersion));
    expect(await k.ok(["patch", "ippool", "pool-a", "--subresource=status", "--type=merge", "-p", patch])).toBe(
      "ciliumloadbalancerippool.cilium.io/pool-a patched (no change)\n",
    );
    expect((await k.ok(["get", "ippools", "pool-a", "--no-headers"])).split(/\s+/).slice(0, 3)).toEqual(["pool-a", "false", "510"]);
  });

  it("a JSON patch `replace /status` on the status subresource (I13, I14)", async () => {
    const patch = JSON.stringify([{ op: "replace", path: "/status", value: { conditions: [{ type: "cilium.io/PoolConflict", status: "False", reason: "resolved", message: "", lastTransitionTime: "2024-01-01T00:00:00Z" }] } }]);
    expect(await k.ok(["patch", "ippool", "pool-a", "--subresource=status", "--type=json", "-p", patch])).toBe("ciliumloadbalancerippool.cilium.io/pool-a patched\n");
    expect((await json(["get", "ippool", "pool-a"])).status.conditions.map((c: { type: string }) => c.type)).toEqual(["cilium.io/PoolConflict"]);
    const svc = JSON.stringify([{ op: "replace", path: "/status", value: { loadBalancer: { ingress: [{ ip: "10.0.10.1" }] } } }]);
    await k.ok(["patch", "svc", "web", "--subresource=status", "--type=json", "-p", svc]);
    expect(await k.ok(["get", "svc", "web", "--no-headers"])).toMatch(/web\s+LoadBalancer\s+\S+\s+10\.0\.10\.1\s/);
  });

  it("a status written through the main resource is ignored", async () => {
    await k.ok(["patch", "ippool", "pool-a", "--type=merge", "-p", JSON.stringify({ status: { conditions: [] } })]);
    expect((await json(["get", "ippool", "pool-a"])).status.conditions).toHaveLength(1);
  });
});

describe("errors as kubectl prints them", () => {
  it("NotFound", async () => {
    const r = await k.run(["get", "svc", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error from server (NotFound): services "nope" not found\n');
    const cr = await k.run(["get", "ippool", "nope"]);
    expect(cr.stderr).toBe('Error from server (NotFound): ciliumloadbalancerippools.cilium.io "nope" not found\n');
  });

  it("AlreadyExists on create", async () => {
    const file = await k.file("dup.yaml", poolYaml("pool-a", { blocks: [] }));
    const r = await k.run(["create", "-f", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error from server (AlreadyExists): error when creating "${file}": ciliumloadbalancerippools.cilium.io "pool-a" already exists\n`);
  });

  it("Conflict on a replace with a stale resourceVersion", async () => {
    const stale = await json(["get", "ippool", "pool-b"]);
    await k.ok(["label", "ippool", "pool-b", "touched=yes"]);
    stale.spec.disabled = false;
    const file = await k.file("stale.json", JSON.stringify(stale));
    const r = await k.run(["replace", "-f", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error from server (Conflict): error when replacing "${file}": Operation cannot be fulfilled on ciliumloadbalancerippools.cilium.io "pool-b": the object has been modified; please apply your changes to the latest version and try again\n`,
    );
  });

  it("unknown fields under kubectl's default --validate=strict, and Invalid values", async () => {
    const unknown = await k.file("unknown.yaml", poolYaml("bad", { foo: 1 }));
    const r = await k.run(["apply", "-f", unknown]);
    expect(r.stderr).toBe(
      `Error from server (BadRequest): error when creating "${unknown}": CiliumLoadBalancerIPPool in version "v2" cannot be handled as a CiliumLoadBalancerIPPool: strict decoding error: unknown field "spec.foo"\n`,
    );
    const warn = await k.run(["apply", "--validate=warn", "-f", unknown]);
    expect(warn.code).toBe(0);
    expect(warn.stderr).toBe('Warning: unknown field "spec.foo"\n');
    const invalid = await k.file("invalid.yaml", poolYaml("bad2", { allowFirstLastIPs: "maybe" }));
    const i = await k.run(["apply", "-f", invalid]);
    expect(i.code).toBe(1);
    expect(i.stderr).toBe(
      'The CiliumLoadBalancerIPPool "bad2" is invalid: spec.allowFirstLastIPs: Unsupported value: "maybe": supported values: "Yes", "No"\n',
    );
  });
});

describe("kubectl get -w and delete", () => {
  it("get -w streams the changes; delete prints what real clusters print", async () => {
    api.put(pool("watched", "10.0.30.0/24"));
    const w = k.start(["get", "ippools", "--watch", "--output-watch-events", "-o", "json"]);
    await eventually(() => w.output().includes('"watched"'), "the initial ADDED event");
    await k.ok(["label", "ippool", "watched", "phase=two"]);
    expect(await k.ok(["delete", "ippool", "watched"])).toBe('ciliumloadbalancerippool.cilium.io "watched" deleted\n');
    await eventually(() => w.output().includes('"DELETED"'), "the DELETED event");
    const { stdout } = await w.stop();
    const events = stdout.split(/\n(?=\{)/).map((s) => JSON.parse(s)).filter((e) => e.object.metadata.name === "watched");
    expect(events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(events[1].object.metadata.labels).toEqual({ phase: "two" });

    const table = k.start(["get", "svc", "-w"]);
    await eventually(() => table.output().includes("web"), "the first table row");
    await k.ok(["patch", "svc", "web", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: "10.0.10.9" }] } } })]);
    await eventually(() => table.output().includes("10.0.10.9"), "the updated row");
    const lines = (await table.stop()).stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP/);
    expect(lines.filter((l) => l.startsWith("NAME"))).toHaveLength(1);
  });

  it("deleting the CRD deletes its objects", async () => {
    expect(await k.ok(["delete", "crd", "ciliumloadbalancerippools.cilium.io"])).toBe(
      'customresourcedefinition.apiextensions.k8s.io "ciliumloadbalancerippools.cilium.io" deleted\n',
    );
    const r = await k.run(["get", "ciliumloadbalancerippools.cilium.io"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the server doesn\'t have a resource type "ciliumloadbalancerippools"');
  });
});
