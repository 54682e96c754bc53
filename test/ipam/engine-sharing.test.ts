/**
 * LbIpam address sharing (I11): sharing keys, compatibility reasons,
 * cross-namespace sharing with its no-trim split, and when a shared address
 * is freed. Step tables, each step on the engine the previous ones left.
 */
import { describe, it } from "vitest";
import { engine, pool, runSteps, svc } from "./_fixtures.ts";
import type { SvcArgs } from "./_fixtures.ts";

const D = "default/";
const ok = (...ips: string[]) => ({ ips, reason: "satisfied", message: "" });
const KEY = "lbipam.cilium.io/sharing-key";
const XNS = "lbipam.cilium.io/sharing-cross-namespace";
const incompatible = (ip: string, why: string) => ({
  ips: [],
  reason: "already_allocated_incompatible_service",
  message: `The IP '${ip}' is already allocated to an incompatible service. Reason: ${why}`,
});
/** A Service with sharing key `key`. */
const keyed = (name: string, key: string, a: SvcArgs = {}) => svc(name, { ...a, annotations: { [KEY]: key, ...a.annotations } });

describe("sharing (I11)", () => {
  it("shares automatically within a key, allocates anew when incompatible, frees with the last holder", () => {
    const { ipam } = engine();
    runSteps(ipam, [
      { name: "pool /29", do: (i) => i.upsertPool(pool("a", ["10.0.0.0/29"])) },
      { name: "http:80", do: (i) => i.upsertService(keyed("http", "web", { ports: [80] })), want: { [D + "http"]: ok("10.0.0.0") } },
      { name: "https:443 shares it", do: (i) => i.upsertService(keyed("https", "web", { ports: [443] })), want: { [D + "https"]: ok("10.0.0.0") } },
      {
        name: "http2:80 clashes on the port: a new address, which joins the key's set",
        do: (i) => i.upsertService(keyed("http2", "web", { ports: [80] })),
        want: { [D + "http2"]: ok("10.0.0.1") },
        pools: { a: { used: "2" } },
      },
      {
        name: "alt:8080 takes the key's first compatible address",
        do: (i) => i.upsertService(keyed("alt", "web", { ports: [8080] })),
        want: { [D + "alt"]: ok("10.0.0.0") },
      },
      {
        name: "no key, no sharing",
        do: (i) => i.upsertService(svc("plain", { ports: [9000] })),
        want: { [D + "plain"]: ok("10.0.0.2") },
      },
      { name: "http leaves: 10.0.0.0 still has holders", do: (i) => i.deleteService(D + "http"), pools: { a: { used: "3" } } },
      { name: "https and alt leave: 10.0.0.0 is free", do: (i) => (i.deleteService(D + "https"), i.deleteService(D + "alt")), pools: { a: { used: "2" } } },
    ]);
  });

  it("shares a requested address (the seed guide's example, legacy annotation keys)", () => {
    const { ipam } = engine();
    const ann = { "io.cilium/lb-ipam-ips": "10.100.0.50", "io.cilium/lb-ipam-sharing-key": "web-frontend" };
    runSteps(ipam, [
      { name: "pool", do: (i) => i.upsertPool(pool("production-pool", ["10.100.0.0/24"])) },
      { name: "web-http:80", do: (i) => i.upsertService(svc("web-http", { annotations: ann, ports: [80] })), want: { [D + "web-http"]: ok("10.100.0.50") } },
      { name: "web-https:443", do: (i) => i.upsertService(svc("web-https", { annotations: ann, ports: [443] })), want: { [D + "web-https"]: ok("10.100.0.50") } },
      {
        name: "same port: already_allocated_incompatible_service, Reason: same port",
        do: (i) => i.upsertService(svc("web-http-2", { annotations: ann, ports: [80] })),
        want: { [D + "web-http-2"]: incompatible("10.100.0.50", "same port") },
      },
      {
        name: "other traffic policy",
        do: (i) => i.upsertService(svc("web-local", { annotations: ann, ports: [81], etp: "Local", selector: { app: "w" } })),
        want: { [D + "web-local"]: incompatible("10.100.0.50", "different ExternalTrafficPolicy") },
      },
      {
        name: "other namespace without permission",
        do: (i) => i.upsertService(svc("web-other", { ns: "other", annotations: ann, ports: [82] })),
        want: { ["other/web-other"]: incompatible("10.100.0.50", "different and not permitted namespace") },
      },
      {
        name: "other key",
        do: (i) => i.upsertService(svc("api", { annotations: { ...ann, "io.cilium/lb-ipam-sharing-key": "api" }, ports: [83] })),
        want: { [D + "api"]: incompatible("10.100.0.50", "different sharing key") },
      },
      {
        name: "web-http moves to port 8081: web-http-2, waiting for that address, now fits",
        do: (i) => i.upsertService(svc("web-http", { annotations: ann, ports: [8081] })),
        want: { [D + "web-http"]: ok("10.100.0.50"), [D + "web-http-2"]: ok("10.100.0.50") },
        writes: [D + "web-http", D + "web-http-2"],
      },
    ]);
  });

  it("checks Local services' selectors", () => {
    const { ipam } = engine();
    const local = (name: string, selector: Record<string, string> | undefined, port: number) =>
      svc(name, { annotations: { [KEY]: "k", "lbipam.cilium.io/ips": "10.0.0.7" }, ports: [port], etp: "Local", ...(selector ? { selector } : {}) });
    runSteps(ipam, [
      { name: "pool", do: (i) => i.upsertPool(pool("a", ["10.0.0.0/29"])) },
      { name: "l1 app=x", do: (i) => i.upsertService(local("l1", { app: "x" }, 80)), want: { [D + "l1"]: ok("10.0.0.7") } },
      { name: "l2 same selector shares", do: (i) => i.upsertService(local("l2", { app: "x" }, 81)), want: { [D + "l2"]: ok("10.0.0.7") } },
      {
        name: "l3 other pods",
        do: (i) => i.upsertService(local("l3", { app: "y" }, 82)),
        want: { [D + "l3"]: incompatible("10.0.0.7", "compatible ExternalTrafficPolicy local but selecting different set of pods") },
      },
      {
        name: "l4 no selector",
        do: (i) => i.upsertService(local("l4", undefined, 83)),
        want: { [D + "l4"]: incompatible("10.0.0.7", "compatible ExternalTrafficPolicy local but selecting different set of pods") },
      },
    ]);
  });

  it("[newer] lets Local services select different pods when both opt in (option permitDifferentPods)", () => {
    const { ipam } = engine({ permitDifferentPods: true });
    const permit = { [KEY]: "k", "lbipam.cilium.io/sharing-permit-different-pods": "true" };
    runSteps(ipam, [
      { name: "pool", do: (i) => i.upsertPool(pool("a", ["10.0.0.0/29"])) },
      { name: "p1", do: (i) => i.upsertService(svc("p1", { annotations: permit, ports: [80], etp: "Local", selector: { app: "a" } })), want: { [D + "p1"]: ok("10.0.0.0") } },
      { name: "p2 shares", do: (i) => i.upsertService(svc("p2", { annotations: permit, ports: [81], etp: "Local", selector: { app: "b" } })), want: { [D + "p2"]: ok("10.0.0.0") } },
      {
        name: "p3 without the opt-in gets its own address",
        do: (i) => i.upsertService(svc("p3", { annotations: { [KEY]: "k" }, ports: [82], etp: "Local", selector: { app: "c" } })),
        want: { [D + "p3"]: ok("10.0.0.1") },
      },
    ]);
  });

  it("[newer] lets the same port share across protocols (option protocolAwareSharing)", () => {
    const { ipam } = engine({ protocolAwareSharing: true });
    runSteps(ipam, [
      { name: "pool", do: (i) => i.upsertPool(pool("a", ["10.0.0.0/29"])) },
      { name: "dns/udp", do: (i) => i.upsertService(keyed("udp", "dns", { ports: [{ port: 53, protocol: "UDP" }] })), want: { [D + "udp"]: ok("10.0.0.0") } },
      { name: "dns/tcp shares", do: (i) => i.upsertService(keyed("tcp", "dns", { ports: [{ port: 53, protocol: "TCP" }] })), want: { [D + "tcp"]: ok("10.0.0.0") } },
    ]);
  });

  it("shares across namespaces only when both sides permit it, splitting the list without trimming", () => {
    const { ipam } = engine();
    const ip = { "lbipam.cilium.io/ips": "10.0.0.9" };
    runSteps(ipam, [
      { name: "pool", do: (i) => i.upsertPool(pool("a", ["10.0.0.0/28"])) },
      {
        name: "ns-a lists ns-b",
        do: (i) => i.upsertService(keyed("a", "k", { ns: "ns-a", ports: [80], annotations: { ...ip, [XNS]: "ns-b,ns-c" } })),
        want: { "ns-a/a": ok("10.0.0.9") },
      },
      {
        name: "ns-b lists ns-a: shared",
        do: (i) => i.upsertService(keyed("b", "k", { ns: "ns-b", ports: [81], annotations: { ...ip, [XNS]: "ns-a" } })),
        want: { "ns-b/b": ok("10.0.0.9") },
      },
      {
        name: "ns-c permits * and a lists ns-c, but b does not: every holder must agree",
        do: (i) => i.upsertService(keyed("c", "k", { ns: "ns-c", ports: [82], annotations: { ...ip, [XNS]: "*" } })),
        want: { "ns-c/c": incompatible("10.0.0.9", "different and not permitted namespace") },
      },
      {
        name: "b opens up to *: c fits now",
        do: (i) => i.upsertService(keyed("b", "k", { ns: "ns-b", ports: [81], annotations: { ...ip, [XNS]: "*" } })),
        want: { "ns-c/c": ok("10.0.0.9") },
      },
      {
        name: "the no-trim quirk: \"ns-x, ns-d\" permits \" ns-d\", not \"ns-d\"",
        do: (i) => i.upsertService(keyed("d", "k", { ns: "ns-d", ports: [83], annotations: { ...ip, [XNS]: "ns-a, ns-d" } })),
        want: { "ns-d/d": incompatible("10.0.0.9", "different and not permitted namespace") },
      },
    ]);
  });

  it("shares automatically across namespaces too, and follows a change of sharing key", () => {
    const { ipam } = engine();
    runSteps(ipam, [
      { name: "pool", do: (i) => i.upsertPool(pool("a", ["10.0.0.0/28"])) },
      { name: "x in ns-a", do: (i) => i.upsertService(keyed("x", "k1", { ns: "ns-a", ports: [80], annotations: { [XNS]: "*" } })), want: { "ns-a/x": ok("10.0.0.0") } },
      { name: "y in ns-b", do: (i) => i.upsertService(keyed("y", "k1", { ns: "ns-b", ports: [81], annotations: { [XNS]: "*" } })), want: { "ns-b/y": ok("10.0.0.0") } },
      {
        name: "y moves to key k2: it no longer fits x's group and gets its own address",
        do: (i) => i.upsertService(keyed("y", "k2", { ns: "ns-b", ports: [81], annotations: { [XNS]: "*" } })),
        want: { "ns-b/y": ok("10.0.0.1") },
      },
      {
        name: "z with key k2 shares y's address",
        do: (i) => i.upsertService(keyed("z", "k2", { ns: "ns-b", ports: [82] })),
        want: { "ns-b/z": ok("10.0.0.1") },
      },
    ]);
  });

  it("shares without checking the pool selector (I11), as Cilium does", () => {
    const { ipam } = engine();
    runSteps(ipam, [
      { name: "pool for app=x only", do: (i) => i.upsertPool(pool("x", ["10.0.0.0/30"], { selector: { matchLabels: { app: "x" } } })) },
      { name: "h app=x", do: (i) => i.upsertService(keyed("h", "k", { ports: [80], labels: { app: "x" } })), want: { [D + "h"]: ok("10.0.0.0") } },
      { name: "j, not selected, shares h's address", do: (i) => i.upsertService(keyed("j", "k", { ports: [81] })), want: { [D + "j"]: ok("10.0.0.0") } },
      { name: "j revalidated: it loses and regains the shared address", do: (i) => i.upsertService(keyed("j", "k", { ports: [81], generation: 2 })), want: { [D + "j"]: ok("10.0.0.0") } },
    ]);
  });
});
