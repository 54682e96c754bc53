/**
 * The BPF load balancer forwarding real traffic, in namespaces this test
 * creates:
 *
 *   client (c0 10.77.1.2) ── (l0) lb (l1) ── (b0 10.77.2.2, .3, .4) backends
 *
 * herald's program sits at tc ingress of l0 and l1 in the lb namespace. A
 * client sends to a LoadBalancer IP; the program DNATs to a backend, and the
 * reply comes back from the LoadBalancer IP. IPv4 and IPv6, TCP and UDP.
 * Needs root, bpffs, clang and iproute2; fails without them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Datapath } from "../../src/datapath/datapath.ts";
import { buildProgramObject } from "../../src/datapath/program.ts";
import { queryTcIngress, interfaceIndex } from "../../src/runtime/bpf-program.ts";
import { withNetns } from "../../src/runtime/netns.ts";
import { TC_FILTER } from "../../src/datapath/datapath.ts";
import { defaultRouteDevices } from "../../src/datapath/devices.ts";
import { echoClientJs, echoServerJs, Netns } from "./_netns.ts";
import { pinDirFor, removePinDir, service, slice } from "./_fixtures.ts";

const tag = `hdpf${process.pid}`;
const C = `${tag}c`;
const L = `${tag}l`;
const B = `${tag}b`;
const net = new Netns();
const pinDir = pinDirFor("fwd");
let dp: Datapath;

const VIP4 = "192.0.2.100";
const VIP6 = "2001:db8:77::100";
const lb = (lbIPs: string[], ports = [{ name: "http", port: 80 }, { name: "dns", port: 53, protocol: "UDP" as const }]) =>
  service({ name: "echo", lbIPs, ports });
const endpoints = (ips: string[]) => {
  const v4 = ips.filter((ip) => !ip.includes(":"));
  const v6 = ips.filter((ip) => ip.includes(":"));
  const ports = [{ name: "http", port: 8080 }, { name: "dns", port: 5353, protocol: "UDP" as const }];
  return [
    ...(v4.length ? [slice("echo", "echo-v4", v4, ports)] : []),
    ...(v6.length ? [slice("echo", "echo-v6", v6, ports)] : []),
  ];
};

type Reply = string;
const client = (proto: "tcp" | "udp", host: string, port: number, count: number, sourcePort?: number, timeoutMs?: number) =>
  net.runClient<Reply[]>(C, echoClientJs(proto, host, port, count, { sourcePort, timeoutMs }));
/** "b2:ping0@192.0.2.100:80" → "b2" */
const backendOf = (r: Reply) => r.split(":")[0];

beforeAll(async () => {
  await buildProgramObject();
  net.add(C);
  net.add(L);
  net.add(B);
  net.link({ ns: C, dev: "c0", addrs: ["10.77.1.2/24", "fd77:1::2/64"] }, { ns: L, dev: "l0", addrs: ["10.77.1.1/24", "fd77:1::1/64"] });
  net.link({ ns: L, dev: "l1", addrs: ["10.77.2.1/24", "fd77:2::1/64"] }, {
    ns: B,
    dev: "b0",
    addrs: ["10.77.2.2/24", "10.77.2.3/24", "10.77.2.4/24", "fd77:2::2/64", "fd77:2::3/64"],
  });
  net.ip(C, "route", "add", "default", "via", "10.77.1.1");
  net.ip(C, "-6", "route", "add", "default", "via", "fd77:1::1");
  net.ip(B, "route", "add", "default", "via", "10.77.2.1");
  net.ip(B, "-6", "route", "add", "default", "via", "fd77:2::1");
  net.sysctl(L, "net.ipv4.ip_forward=1");
  net.sysctl(L, "net.ipv6.conf.all.forwarding=1");
  const servers = [];
  for (const [id, ip] of [["b2", "10.77.2.2"], ["b3", "10.77.2.3"], ["b4", "10.77.2.4"], ["v6b2", "fd77:2::2"], ["v6b3", "fd77:2::3"]]) {
    servers.push(net.startServer(B, echoServerJs("tcp", ip, 8080, id)), net.startServer(B, echoServerJs("udp", ip, 5353, id)));
  }
  await Promise.all(servers);
  dp = Datapath.open({ pinDir, sizes: { frontends: 64, backendSlots: 256, flows: 1024 } });
  dp.attach(["l0", "l1"], { netns: `/run/netns/${L}` });
}, 60_000);

afterAll(() => {
  dp?.close();
  net.destroy();
  removePinDir(pinDir);
});

describe("herald_lb (tc ingress)", () => {
  it("is attached at tc ingress of both lb devices", () => {
    withNetns(`/run/netns/${L}`, () => {
      for (const dev of ["l0", "l1"]) expect(queryTcIngress(interfaceIndex(dev), TC_FILTER)).toBeGreaterThan(0);
    });
  });

  it("defaultRouteDevices() reads the routes of the namespace it runs in", () => {
    expect(withNetns(`/run/netns/${C}`, () => defaultRouteDevices())).toEqual(["c0"]);
    expect(withNetns(`/run/netns/${L}`, () => defaultRouteDevices())).toEqual([]);
  });

  it("forwards TCP to a LoadBalancer IPv4 address to every backend, and the reply comes from the frontend", async () => {
    dp.sync([lb([VIP4, VIP6])], endpoints(["10.77.2.2", "10.77.2.3", "fd77:2::2", "fd77:2::3"]));
    const replies = await client("tcp", VIP4, 80, 16);
    for (const [i, r] of replies.entries()) expect(r).toMatch(new RegExp(`^b[23]:ping${i}@192\\.0\\.2\\.100:80$`));
    expect(new Set(replies.map(backendOf))).toEqual(new Set(["b2", "b3"]));
  });

  it("forwards UDP over IPv4 and the reply comes from the frontend", async () => {
    const replies = await client("udp", VIP4, 53, 16);
    for (const [i, r] of replies.entries()) expect(r).toMatch(new RegExp(`^b[23]:ping${i}@192\\.0\\.2\\.100:53$`));
    expect(new Set(replies.map(backendOf))).toEqual(new Set(["b2", "b3"]));
  });

  it("forwards TCP and UDP over IPv6", async () => {
    const tcp = await client("tcp", VIP6, 80, 12);
    for (const [i, r] of tcp.entries()) expect(r).toMatch(new RegExp(`^v6b[23]:ping${i}@2001:db8:77::100:80$`));
    expect(new Set(tcp.map(backendOf))).toEqual(new Set(["v6b2", "v6b3"]));
    const udp = await client("udp", VIP6, 53, 12);
    for (const [i, r] of udp.entries()) expect(r).toMatch(new RegExp(`^v6b[23]:ping${i}@2001:db8:77::100:53$`));
  });

  it("keeps a flow on its backend across an endpoint change, and moves it when that backend goes", async () => {
    const first = (await client("udp", VIP4, 53, 1, 40001))[0];
    const mine = backendOf(first);
    // A third backend arrives: the frontend moves to a new slot range; the flow stays.
    dp.upsertService(lb([VIP4, VIP6]), endpoints(["10.77.2.2", "10.77.2.3", "10.77.2.4", "fd77:2::2", "fd77:2::3"]));
    for (let i = 0; i < 3; i++) expect(backendOf((await client("udp", VIP4, 53, 1, 40001))[0])).toBe(mine);
    // Its backend leaves: the same flow goes to one still there.
    const rest = ["10.77.2.2", "10.77.2.3", "10.77.2.4"].filter((ip) => `b${ip.split(".")[3]}` !== mine);
    dp.upsertService(lb([VIP4, VIP6]), endpoints(rest));
    const moved = backendOf((await client("udp", VIP4, 53, 1, 40001))[0]);
    expect(moved).not.toBe(mine);
    expect(rest.map((ip) => `b${ip.split(".")[3]}`)).toContain(moved);
  });

  it("sends new connections only to the remaining backend after an endpoint change", async () => {
    dp.upsertService(lb([VIP4]), endpoints(["10.77.2.3"]));
    const replies = await client("tcp", VIP4, 80, 8);
    expect(replies.map(backendOf)).toEqual(Array(8).fill("b3"));
  });

  it("drops traffic to a frontend without ready backends, and leaves a deleted Service's traffic alone", async () => {
    dp.upsertService(lb([VIP4]), endpoints([]));
    expect(await client("udp", VIP4, 53, 2, undefined, 700)).toEqual(["timeout", "timeout"]);
    dp.deleteService("default/echo");
    // Not translated any more: the lb namespace has no route to the VIP and says so.
    const [r] = await client("tcp", VIP4, 80, 1, undefined, 700);
    expect(r === "timeout" || r.startsWith("error:")).toBe(true);
  });

  it("keeps forwarding while the agent restarts, then reconciles the reopened maps", async () => {
    dp.sync([lb([VIP4])], endpoints(["10.77.2.2"]));
    dp.close(); // the agent stops: maps stay pinned, the filter stays attached
    expect((await client("tcp", VIP4, 80, 2)).map(backendOf)).toEqual(["b2", "b2"]);
    dp = Datapath.open({ pinDir, sizes: { frontends: 64, backendSlots: 256, flows: 1024 } });
    expect(dp.sync([lb([VIP4])], endpoints(["10.77.2.2"]))).toMatchObject({ upserted: 0, deleted: 0 });
    dp.attach(["l0", "l1"], { netns: `/run/netns/${L}` }); // replaces the filter in place
    dp.upsertService(lb([VIP4]), endpoints(["10.77.2.4"]));
    expect((await client("tcp", VIP4, 80, 2)).map(backendOf)).toEqual(["b4", "b4"]);
  });

  it("detach() removes herald's filter: traffic is no longer translated", async () => {
    dp.detach(["l0", "l1"], `/run/netns/${L}`);
    withNetns(`/run/netns/${L}`, () => {
      for (const dev of ["l0", "l1"]) expect(queryTcIngress(interfaceIndex(dev), TC_FILTER)).toBeUndefined();
    });
    const [r] = await client("tcp", VIP4, 80, 1, undefined, 700);
    expect(r === "timeout" || r.startsWith("error:")).toBe(true);
  });
});
