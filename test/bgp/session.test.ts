import { describe, expect, it } from "vitest";
import { IPV4_UNICAST, IPV6_UNICAST } from "../../src/bgp/families.ts";
import type { PeerOptions } from "../../src/bgp/peer-config.ts";
import { type InstanceOptions, Speaker } from "../../src/bgp/speaker.ts";
import type { SpeakerEvent } from "../../src/bgp/events.ts";
import {
  CapabilityCode,
  decodeOpen,
  encodeLocalCapabilities,
  decodeUpdate,
  encodeRouteRefresh,
  encodeUpdate,
  HEADER_LENGTH,
  keyFromText,
  keyToText,
  MessageType,
} from "../../src/bgp/wire/mod.ts";
import { renderAttributes } from "../../src/bgp/render.ts";
import { createLogger } from "../../src/log.ts";
import { FakeClock, FakeTransport, type RawOpen, type RawPeer, ticks } from "./_fakes.ts";
import { hex, MARKER } from "./_hex.ts";

const k = (t: string) => keyFromText(t)!;

interface Setup {
  clock: FakeClock;
  transport: FakeTransport;
  speaker: Speaker;
  lines: string[];
  events: SpeakerEvent[];
}

async function setup(o: { peer?: Partial<PeerOptions>; instance?: Partial<InstanceOptions>; unsupported?: Array<"ttl" | "minTtl" | "md5">; random?: number } = {}): Promise<Setup> {
  const clock = new FakeClock();
  const transport = new FakeTransport(o.unsupported);
  const lines: string[] = [];
  const logger = createLogger({ write: (l) => lines.push(l), level: "debug" });
  const speaker = new Speaker({ clock, transport, logger, random: () => o.random ?? 0 });
  const events: SpeakerEvent[] = [];
  speaker.subscribe((e) => events.push(e), { received: true });
  await speaker.setInstance({ name: "i", asn: 65001, routerId: "10.0.0.1", listen: { address: "127.0.0.1", port: 179 }, ...o.instance });
  speaker.setPeer("i", {
    name: "p",
    address: "127.0.0.2",
    asn: 65002,
    timers: { holdTimeSeconds: 9, keepaliveSeconds: 3, connectRetrySeconds: 10 },
    ...o.peer,
  });
  return { clock, transport, speaker, lines, events };
}

const state = (t: Setup) => t.speaker.peer("i", "p")!.state;

async function up(t: Setup, open: RawOpen = {}): Promise<RawPeer> {
  const c = await t.transport.nextConnect();
  const peer = c.accept();
  await peer.establish(open);
  await peer.until(() => state(t) === "established", "established");
  return peer;
}

/** UPDATEs the raw peer received, decoded (4-octet AS unless told otherwise). */
function updates(peer: RawPeer, as4 = true, ebgp = true) {
  return peer.of(MessageType.Update).map((m) => decodeUpdate(m.bytes, HEADER_LENGTH, m.bytes.length, { as4, ebgp, extendedNextHop: () => true }));
}

describe("Session: establishment and negotiation", () => {
  it("connects at start, reaches Established and sends End-of-RIB for each family", async () => {
    const t = await setup();
    const peer = await up(t);
    await peer.until(() => updates(peer).filter((u) => u.endOfRib !== undefined).length === 2, "two End-of-RIB");
    expect(updates(peer).map((u) => u.endOfRib)).toEqual([IPV6_UNICAST, IPV4_UNICAST]);
    const st = t.speaker.peer("i", "p")!;
    expect(st).toMatchObject({ state: "established", appliedHoldTimeSeconds: 9, appliedKeepaliveSeconds: 3, negotiatedFamilies: ["ipv6/unicast", "ipv4/unicast"] });
    expect(st.remoteCapabilities.length).toBeGreaterThan(0);
    expect(t.lines.some((l) => l.includes('msg="BGP session established"'))).toBe(true);
  });

  it("offers its capabilities: MP per family, route refresh, extended message, 4-octet AS", async () => {
    const t = await setup({ peer: { families: ["ipv4/unicast", "l2vpn/evpn"] } });
    const c = await t.transport.nextConnect();
    const peer = c.accept();
    const m = await peer.next(MessageType.Open);
    const open = decodeOpen(m.bytes, HEADER_LENGTH, m.bytes.length);
    expect(open).toMatchObject({ asn: 65001, holdTime: 9, routerId: 0x0a000001 });
    expect(open.capabilities).toMatchObject({ families: [IPV4_UNICAST, 25 * 256 + 70], routeRefresh: true, extendedMessage: true, as4: 65001 });
    expect(open.capabilities.gracefulRestart).toBeUndefined();
  });

  it("refuses a peer whose AS does not match with OPEN Message Error / Bad Peer AS", async () => {
    const t = await setup();
    const c = await t.transport.nextConnect();
    const peer = c.accept();
    await peer.next(MessageType.Open);
    peer.sendOpen({ asn: 65003 });
    await peer.until(() => peer.notifications().length > 0, "NOTIFICATION");
    expect(peer.notifications()[0]).toMatchObject({ code: 2, subcode: 2 });
    expect(t.lines.some((l) => l.includes("as number mismatch expected 65002, received 65003"))).toBe(true);
    expect(t.speaker.peer("i", "p")!.lastError).toMatchObject({ reason: "open-error", message: expect.stringContaining("as number mismatch expected 65002, received 65003") });
    expect(state(t)).toBe("idle");
  });

  it("learns the peer AS from the OPEN when configured 0 (D2)", async () => {
    const t = await setup({ peer: { asn: 0 } });
    await up(t, { asn: 64999 });
    expect(t.speaker.peer("i", "p")).toMatchObject({ peerAsn: 64999, configuredPeerAsn: 0 });
  });

  it.each([
    ["My AS 0 and 4-octet AS 0", 0, 0],
    ["4-octet AS capability 0", 65002, 0],
    ["My AS 0 without the 4-octet AS capability", 0, undefined],
  ])("refuses %s with Bad Peer AS even when the AS is learned (RFC 7607 §2)", async (_n, myAs, as4) => {
    const t = await setup({ peer: { asn: 0 } });
    const peer = (await t.transport.nextConnect()).accept();
    await peer.next(MessageType.Open);
    const caps = encodeLocalCapabilities({ asn: as4 ?? 0, families: [IPV4_UNICAST], extendedMessage: false, extendedNextHop: [] }).filter((c) => as4 !== undefined || c[0] !== CapabilityCode.FourOctetAs);
    peer.sendOpen({ asn: myAs, capabilities: caps });
    await peer.until(() => peer.notifications().length > 0, "NOTIFICATION");
    expect(peer.notifications()[0]).toMatchObject({ code: 2, subcode: 2 });
    expect(state(t)).toBe("idle");
  });

  it("refuses its own BGP identifier from an internal peer (RFC 6286)", async () => {
    const t = await setup({ peer: { asn: 65001 } });
    const peer = (await t.transport.nextConnect()).accept();
    await peer.next(MessageType.Open);
    peer.sendOpen({ asn: 65001, routerId: "10.0.0.1" });
    await peer.until(() => peer.notifications().length > 0, "NOTIFICATION");
    expect(peer.notifications()[0]).toMatchObject({ code: 2, subcode: 3 });
  });

  it("uses the smaller hold time and a third of it for keepalives when the peer's is smaller", async () => {
    const t = await setup({ peer: { timers: { holdTimeSeconds: 90, keepaliveSeconds: 30 } } });
    await up(t, { holdTime: 6 });
    expect(t.speaker.peer("i", "p")).toMatchObject({ appliedHoldTimeSeconds: 6, appliedKeepaliveSeconds: 2 });
  });
});

describe("Session: timers on a fake clock", () => {
  it("sends KEEPALIVE every keepalive interval", async () => {
    const t = await setup();
    const peer = await up(t);
    const before = peer.of(MessageType.Keepalive).length;
    for (let i = 0; i < 3; i++) {
      t.clock.advance(3000);
      peer.sendKeepalive(); // keep our hold timer happy
      await ticks();
    }
    expect(peer.of(MessageType.Keepalive).length - before).toBe(3);
  });

  it("hold timer expiry sends NOTIFICATION Hold Timer Expired, logs it, and reconnects after the idle hold time (D7)", async () => {
    const t = await setup();
    const peer = await up(t);
    t.clock.advance(9000);
    await peer.until(() => peer.notifications().length > 0, "NOTIFICATION");
    expect(peer.notifications()[0]).toMatchObject({ code: 4, subcode: 0 });
    expect(t.lines.some((l) => l.includes("hold timer expired"))).toBe(true);
    expect(state(t)).toBe("idle");
    expect(t.events.find((e) => e.type === "state" && e.state === "idle")).toMatchObject({ reason: "hold-timer-expired" });
    expect(t.transport.connects.length).toBe(0);
    t.clock.advance(4999);
    await ticks();
    expect(t.transport.connects.length).toBe(0);
    t.clock.advance(1);
    await t.transport.nextConnect();
    expect(state(t)).toBe("connect");
  });

  it("hold time 0 means no keepalives and no hold timer", async () => {
    const t = await setup({ peer: { timers: { holdTimeSeconds: 0, keepaliveSeconds: 0 } } });
    const peer = await up(t, { holdTime: 0 });
    const before = peer.of(MessageType.Keepalive).length;
    t.clock.advance(3_600_000);
    await ticks();
    expect(peer.of(MessageType.Keepalive).length).toBe(before);
    expect(state(t)).toBe("established");
  });

  it.each([[0, 10_000], [0.5, 15_000], [0.9999, 19_999]])("connect retry with random %f waits %i ms, within [T, 2T) (D7)", async (r, ms) => {
    const t = await setup({ random: r });
    const c = await t.transport.nextConnect();
    expect(t.clock.pending().map(Math.floor)).toContain(ms);
    c.refuse();
    await ticks();
    expect(t.speaker.peer("i", "p")!.lastError).toMatchObject({ reason: "connection-failed", message: "connection refused" });
    expect(t.lines.some((l) => l.includes("level=info") && l.includes('error="connection refused"'))).toBe(true);
    expect(state(t)).toBe("active");
    t.clock.advance(ms);
    await t.transport.nextConnect();
  });

  it("OpenSent waits 240 s for the OPEN, then sends Hold Timer Expired", async () => {
    const t = await setup();
    const peer = (await t.transport.nextConnect()).accept();
    await peer.next(MessageType.Open);
    t.clock.advance(239_000);
    await ticks();
    expect(peer.notifications()).toEqual([]);
    t.clock.advance(1000);
    await peer.until(() => peer.notifications().length > 0);
    expect(peer.notifications()[0]).toMatchObject({ code: 4 });
  });
});

describe("Session: errors", () => {
  it("an UPDATE in OpenSent is an FSM error (RFC 6608 subcode 1)", async () => {
    const t = await setup();
    const peer = (await t.transport.nextConnect()).accept();
    await peer.next(MessageType.Open);
    peer.send(hex`${MARKER} 0017 02 0000 0000`);
    await peer.until(() => peer.notifications().length > 0);
    expect(peer.notifications()[0]).toMatchObject({ code: 5, subcode: 1 });
  });

  it("a broken marker is Message Header Error / Connection Not Synchronized", async () => {
    const t = await setup();
    const peer = await up(t);
    peer.send(hex`ffffffffffffffffffffffffffffff00 0013 04`);
    await peer.until(() => peer.notifications().length > 0);
    expect(peer.notifications()[0]).toMatchObject({ code: 1, subcode: 1 });
    expect(t.speaker.peer("i", "p")!.lastError?.reason).toBe("header-error");
  });

  it("treat-as-withdraw removes the prefixes and keeps the session (RFC 7606)", async () => {
    const t = await setup();
    const peer = await up(t);
    const good = encodeUpdate({ withdrawn: [], nlri: [k("10.9.0.0/24")], attrs: { origin: 0, asPath: [{ type: 2, asns: [65002] }], nextHop: "127.0.0.2" } }, { as4: true });
    peer.send(good);
    await peer.until(() => t.speaker.peer("i", "p")!.families.find((f) => f.family === "ipv4/unicast")!.received === 1, "received 1");
    // same prefix, ORIGIN value 7: malformed, so withdrawn
    const bad = hex`${MARKER} 002f 02 0000 0014 40 01 01 07  40 02 06 02 01 0000fdea  40 03 04 7f000002  18 0a0900`;
    peer.send(bad);
    await peer.until(() => t.speaker.peer("i", "p")!.families.find((f) => f.family === "ipv4/unicast")!.received === 0, "withdrawn");
    expect(state(t)).toBe("established");
    expect(peer.notifications()).toEqual([]);
    expect(t.speaker.peer("i", "p")!.malformedUpdates).toBe(1);
    expect(t.events.some((e) => e.type === "received" && e.malformed?.startsWith("treat-as-withdraw"))).toBe(true);
  });

  it("a malformed MP_REACH_NLRI resets with UPDATE Message Error", async () => {
    const t = await setup();
    const peer = await up(t);
    peer.send(hex`${MARKER} 0020 02 0000 0009 80 0e 06 0002 01 05 0000`);
    await peer.until(() => peer.notifications().length > 0);
    expect(peer.notifications()[0]).toMatchObject({ code: 3, subcode: 9 });
  });

  it("a NOTIFICATION from the peer ends the session with its text as the last error", async () => {
    const t = await setup();
    const peer = await up(t);
    peer.send(hex`${MARKER} 0015 03 06 04`);
    await peer.until(() => state(t) === "idle");
    expect(t.speaker.peer("i", "p")!.lastError).toMatchObject({ reason: "notification-received", message: "received Cease / Administrative Reset" });
  });
});

describe("Session: routes", () => {
  it("re-sends the family on ROUTE-REFRESH (RFC 2918) and ignores families not negotiated", async () => {
    const t = await setup();
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.1.0.0/24", "10.2.0.0/24"]);
    const peer = await up(t);
    await peer.until(() => updates(peer).filter((u) => u.endOfRib !== undefined).length === 2);
    const count = () => updates(peer).reduce((n, u) => n + u.nlri.length, 0);
    expect(count()).toBe(2);
    peer.send(encodeRouteRefresh(IPV4_UNICAST));
    await peer.until(() => count() === 4, "re-sent");
    peer.send(encodeRouteRefresh(25 * 256 + 70));
    await ticks(10);
    expect(count()).toBe(4);
    expect(state(t)).toBe("established");
  });

  it("answers only a normal ROUTE-REFRESH: other subtypes are ignored (RFC 7313 §5, no enhanced route refresh offered)", async () => {
    const t = await setup();
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.1.0.0/24", "10.2.0.0/24"]);
    const peer = await up(t);
    await peer.until(() => updates(peer).filter((u) => u.endOfRib !== undefined).length === 2);
    const count = () => updates(peer).reduce((n, u) => n + u.nlri.length, 0);
    peer.send(hex`${MARKER} 0017 05  0001 02 01   # ROUTE-REFRESH ipv4/unicast, subtype 2 (End-of-RIB-Refresh)`);
    peer.send(hex`${MARKER} 0017 05  0001 07 01   # ROUTE-REFRESH ipv4/unicast, subtype 7 (unknown)`);
    await ticks(10);
    expect(count()).toBe(2);
    peer.send(hex`${MARKER} 0017 05  0001 00 01   # ROUTE-REFRESH ipv4/unicast, subtype 0 (normal)`);
    await peer.until(() => count() === 4, "re-sent");
    expect(state(t)).toBe("established");
  });

  it("a next hop change that leaves a family without a usable next hop resets the session, and one that gives it one sends its routes", async () => {
    // IPv4 routes on an IPv6 session, no extended next hop (RFC 8950) from the peer: only a configured IPv4 next hop makes them sendable.
    const v6 = { address: "fd00::2", localAddress: "fd00::1", families: ["ipv4/unicast"] };
    const t = await setup({ peer: { ...v6, nextHop: { ipv4: "192.0.2.1" } } });
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.1.0.0/24"]);
    const first = await up(t);
    await first.until(() => updates(first).some((u) => u.nlri.length === 1), "route sent");
    expect(updates(first).find((u) => u.nlri.length === 1)!.attrs.nextHop).toBe("192.0.2.1");
    const base = { name: "p", asn: 65002, timers: { holdTimeSeconds: 9, keepaliveSeconds: 3, connectRetrySeconds: 10 }, ...v6 };
    expect(t.speaker.setPeer("i", base)).toEqual({ action: "reset", changed: ["nextHop"] });
    await first.until(() => first.notifications().length > 0, "NOTIFICATION");
    expect(first.notifications()[0]).toMatchObject({ code: 6, subcode: 6 });
    // never an IPv4 NLRI without NEXT_HOP (RFC 4271 §5.1.3)
    expect(updates(first).every((u) => u.nlri.length === 0 || u.attrs.nextHop !== undefined)).toBe(true);
    const second = await up(t);
    await second.until(() => updates(second).some((u) => u.endOfRib === IPV4_UNICAST), "End-of-RIB");
    expect(updates(second).every((u) => u.nlri.length === 0)).toBe(true);
    expect(t.speaker.setPeer("i", { ...base, nextHop: { ipv4: "192.0.2.7" } })).toEqual({ action: "reset", changed: ["nextHop"] });
    const third = await up(t);
    await third.until(() => updates(third).some((u) => u.nlri.length === 1), "route sent again");
    expect(updates(third).find((u) => u.nlri.length === 1)!.attrs.nextHop).toBe("192.0.2.7");
  });

  it("lists routes from a 2-octet AS peer with the AS path rebuilt from AS4_PATH, in 4-octet form (RFC 6793 §4.2.3)", async () => {
    const t = await setup();
    const peer = await up(t, { as4: false });
    peer.send(encodeUpdate({
      withdrawn: [],
      nlri: [k("10.9.0.0/24")],
      attrs: { origin: 0, asPath: [{ type: 2, asns: [65002, 23456] }], nextHop: "127.0.0.2", as4Path: [{ type: 2, asns: [4200000001] }] },
    }, { as4: false }));
    await peer.until(() => [...t.speaker.received("i", "p", "ipv4/unicast")].length === 1, "received");
    const [route] = [...t.speaker.received("i", "p", "ipv4/unicast")];
    expect(renderAttributes(route.attributes)).toBe("[{Origin: i} {AsPath: 65002 4200000001} {Nexthop: 127.0.0.2}]");
    const ev = t.events.find((e) => e.type === "received" && e.announced.length === 1);
    expect(ev?.type === "received" && ev.path?.attrs.asPath).toEqual([{ type: 2, asns: [65002, 4200000001] }]);
  });

  it("sends announcements, attribute changes and withdraws incrementally", async () => {
    const t = await setup();
    const peer = await up(t);
    await peer.until(() => updates(peer).length === 2);
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.1.0.0/24", "10.2.0.0/24"], { communities: [1] });
    await peer.until(() => updates(peer).length === 3);
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.2.0.0/24"], { communities: [2] });
    await peer.until(() => updates(peer).length === 4);
    t.speaker.withdraw("i", "p", "ipv4/unicast", ["10.1.0.0/24"]);
    await peer.until(() => updates(peer).length === 5);
    const u = updates(peer).slice(2);
    expect(u[0].nlri.map((x) => keyToText(x, 4))).toEqual(["10.1.0.0/24", "10.2.0.0/24"]);
    expect(u[1].nlri.map((x) => keyToText(x, 4))).toEqual(["10.2.0.0/24"]);
    expect(u[1].attrs.communities).toEqual([2]);
    expect(u[2].withdrawn.map((x) => keyToText(x, 4))).toEqual(["10.1.0.0/24"]);
  });

  it("eBGP: own AS prepended, next hop = local address, no LOCAL_PREF; MED sent", async () => {
    const t = await setup();
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.1.0.0/24"], { med: 7, localPref: 300 });
    t.speaker.announce("i", "p", "ipv6/unicast", ["fd00:1::/64"]);
    const peer = await up(t);
    await peer.until(() => updates(peer).length === 4);
    const v4 = updates(peer).find((u) => u.nlri.length > 0)!;
    const v6 = updates(peer).find((u) => u.attrs.mpReach)!;
    expect(v4.attrs).toMatchObject({ origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: "127.0.0.1", med: 7 });
    expect(v4.attrs.localPref).toBeUndefined();
    expect(v6.attrs.mpReach).toMatchObject({ family: IPV6_UNICAST, nextHop: "::ffff:127.0.0.1", nlri: [k("fd00:1::/64")] });
  });

  it("iBGP: empty AS_PATH and LOCAL_PREF (default 100)", async () => {
    const t = await setup({ peer: { asn: 65001 } });
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.1.0.0/24"], { localPref: 300 });
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.2.0.0/24"]);
    const peer = await up(t, { asn: 65001 });
    await peer.until(() => updates(peer).length >= 3);
    const us = updates(peer, true, false).filter((u) => u.nlri.length > 0);
    expect(us.map((u) => [keyToText(u.nlri[0], 4), u.attrs.asPath, u.attrs.localPref])).toEqual([["10.1.0.0/24", [], 300], ["10.2.0.0/24", [], 100]]);
  });

  it("towards a 2-octet peer: AS_TRANS in AS_PATH and the real AS in AS4_PATH (RFC 6793)", async () => {
    const t = await setup({ instance: { asn: 4200000001 } });
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.1.0.0/24"]);
    const peer = (await t.transport.nextConnect()).accept();
    const m = await peer.next(MessageType.Open);
    expect(decodeOpen(m.bytes, 19, m.bytes.length).asn).toBe(23456);
    peer.sendOpen({ as4: false });
    peer.sendKeepalive();
    await peer.until(() => updates(peer, false).some((u) => u.nlri.length > 0));
    const u = updates(peer, false).find((u) => u.nlri.length > 0)!;
    expect(u.attrs.asPath).toEqual([{ type: 2, asns: [23456] }]);
    expect(u.attrs.as4Path).toEqual([{ type: 2, asns: [4200000001] }]);
  });

  it("packs up to 65535 bytes per UPDATE when both sides offer extended messages (RFC 8654)", async () => {
    const t = await setup();
    const many = Array.from({ length: 20_000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    t.speaker.announce("i", "p", "ipv4/unicast", many);
    const peer = await up(t, { extendedMessage: true });
    await peer.until(() => updates(peer).filter((u) => u.endOfRib !== undefined).length === 2, "EoR");
    const sizes = peer.of(MessageType.Update).map((m) => m.bytes.length);
    expect(Math.max(...sizes)).toBeGreaterThan(4096);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(65535);
    expect(updates(peer).reduce((n, u) => n + u.nlri.length, 0)).toBe(20_000);
  });

  it("sends IPv4 routes with an IPv6 next hop over an IPv6 session when extended next hop is negotiated (RFC 8950)", async () => {
    const t = await setup({ peer: { address: "fd00::2", localAddress: "fd00::1" } });
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.1.0.0/24"]);
    const peer = (await t.transport.nextConnect()).accept();
    const m = await peer.next(MessageType.Open);
    const open = decodeOpen(m.bytes, 19, m.bytes.length);
    expect(open.capabilities.extendedNextHop).toEqual([{ family: IPV4_UNICAST, nextHopAfi: 2 }]);
    const caps = [...open.capabilities.raw].filter((c) => c[0] !== CapabilityCode.GracefulRestart).map((c) => c[0] === 65 ? Uint8Array.of(65, 4, 0, 0, 0xfd, 0xea) : c);
    peer.sendOpen({ capabilities: caps });
    peer.sendKeepalive();
    await peer.until(() => updates(peer).some((u) => u.attrs.mpReach?.family === IPV4_UNICAST && u.attrs.mpReach.nlri.length > 0));
    const u = updates(peer).find((u) => u.attrs.mpReach?.family === IPV4_UNICAST)!;
    expect(u.attrs.mpReach).toMatchObject({ nextHop: "fd00::1", nlri: [k("10.1.0.0/24")] });
    expect(u.nlri).toEqual([]);
  });

  it("builds the next UPDATE only after the socket drained", async () => {
    const t = await setup();
    t.speaker.announce("i", "p", "ipv4/unicast", Array.from({ length: 200_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`));
    const c = await t.transport.nextConnect();
    const peer = c.accept();
    await peer.establish();
    const ours = peer.socket.peer;
    ours.autoFlush = false;
    await ticks(20);
    // One 128 KiB chunk went out and the write returned false: nothing more is built.
    const writes = ours.writes.length;
    await ticks(20);
    expect(ours.writes.length).toBe(writes);
    expect(ours.queuedBytes).toBeGreaterThan(64 * 1024);
    ours.flush();
    await ticks(5);
    expect(ours.writes.length).toBeGreaterThan(writes);
    ours.autoFlush = true;
    ours.flush();
    await peer.until(() => updates(peer).reduce((n, u) => n + u.nlri.length, 0) === 200_000, "all sent");
  });
});

describe("Session: graceful restart and stopping", () => {
  it("offers restart time, N bit, R bit after a restart and per-family F (D10); R is cleared once up", async () => {
    const t = await setup({ instance: { restarting: true }, peer: { gracefulRestart: { enabled: true, restartTimeSeconds: 77 } } });
    const peer = (await t.transport.nextConnect()).accept();
    const m = await peer.next(MessageType.Open);
    expect(decodeOpen(m.bytes, 19, m.bytes.length).capabilities.gracefulRestart).toEqual({
      restarting: true,
      notification: true,
      time: 77,
      families: [{ family: IPV6_UNICAST, forwarding: true }, { family: IPV4_UNICAST, forwarding: true }],
    });
    peer.sendOpen({ gracefulRestart: { restarting: false, notification: true, time: 120, families: [{ family: IPV4_UNICAST, forwarding: false }] } });
    peer.sendKeepalive();
    await peer.until(() => state(t) === "established");
    expect(t.speaker.peer("i", "p")!.gracefulRestart).toMatchObject({ enabled: true, restartTimeSeconds: 77, remote: { restartTimeSeconds: 120, notification: true } });
    peer.close();
    await peer.until(() => state(t) === "idle");
    t.clock.advance(5000);
    const again = (await t.transport.nextConnect()).accept();
    const m2 = await again.next(MessageType.Open);
    expect(decodeOpen(m2.bytes, 19, m2.bytes.length).capabilities.gracefulRestart?.restarting).toBe(false);
  });

  it("removing a peer sends Hard Reset when both sides set the N bit (RFC 8538)", async () => {
    const t = await setup({ peer: { gracefulRestart: { enabled: true } } });
    const peer = await up(t, { gracefulRestart: { restarting: false, notification: true, time: 120, families: [] } });
    t.speaker.removePeer("i", "p");
    await peer.until(() => peer.notifications().length > 0);
    expect(peer.notifications()[0]).toMatchObject({ code: 6, subcode: 9, data: Uint8Array.of(6, 3) });
  });

  it("removing a peer sends Cease / Peer De-configured without N bits", async () => {
    const t = await setup();
    const peer = await up(t);
    t.speaker.removePeer("i", "p");
    await peer.until(() => peer.notifications().length > 0);
    expect(peer.notifications()[0]).toMatchObject({ code: 6, subcode: 3 });
    expect(t.speaker.peers()).toEqual([]);
  });

  it("close({ notify: false }) closes the socket without NOTIFICATION (C7)", async () => {
    const t = await setup();
    const peer = await up(t);
    await t.speaker.close({ notify: false });
    await peer.until(() => peer.closed, "closed");
    expect(peer.notifications()).toEqual([]);
  });

  it("removing the instance sends Cease to its peers (C7)", async () => {
    const t = await setup();
    const peer = await up(t);
    await t.speaker.removeInstance("i");
    await peer.until(() => peer.notifications().length > 0);
    expect(peer.notifications()[0]).toMatchObject({ code: 6, subcode: 2 });
  });

  it("a new connection from a graceful-restart peer while Established replaces the session (RFC 4724 §4.2)", async () => {
    const t = await setup({ peer: { gracefulRestart: { enabled: true } } });
    t.speaker.announce("i", "p", "ipv4/unicast", ["10.1.0.0/24"]);
    const old = await up(t, { gracefulRestart: { restarting: false, notification: true, time: 120, families: [{ family: IPV4_UNICAST, forwarding: false }] } });
    const fresh = t.transport.dial(179, "127.0.0.2");
    await fresh.next(MessageType.Open);
    fresh.sendOpen({ gracefulRestart: { restarting: true, notification: true, time: 120, families: [{ family: IPV4_UNICAST, forwarding: true }] } });
    fresh.sendKeepalive();
    await fresh.until(() => updates(fresh).some((u) => u.nlri.length === 1), "routes on the new session");
    await old.until(() => old.closed, "old closed");
    expect(state(t)).toBe("established");
  });

  it("a second connection while Established without graceful restart is refused with Cease / Collision", async () => {
    const t = await setup();
    await up(t);
    const extra = t.transport.dial(179, "127.0.0.2");
    await extra.next(MessageType.Open);
    extra.sendOpen();
    await extra.until(() => extra.notifications().length > 0);
    expect(extra.notifications()[0]).toMatchObject({ code: 6, subcode: 7 });
    expect(state(t)).toBe("established");
  });
});

describe("Session: connection collision (RFC 4271 §6.8)", () => {
  it("keeps the connection the peer initiated when the peer's identifier is higher", async () => {
    const t = await setup();
    const out = (await t.transport.nextConnect()).accept();
    await out.next(MessageType.Open);
    const inc = t.transport.dial(179, "127.0.0.2");
    await inc.next(MessageType.Open);
    out.sendOpen({ routerId: "10.0.0.9" });
    await out.until(() => out.of(MessageType.Keepalive).length > 0);
    inc.sendOpen({ routerId: "10.0.0.9" });
    await out.until(() => out.notifications().length > 0, "outgoing dumped");
    expect(out.notifications()[0]).toMatchObject({ code: 6, subcode: 7 });
    inc.sendKeepalive();
    await inc.until(() => state(t) === "established");
    expect(inc.notifications()).toEqual([]);
  });

  it.each([
    ["the peer initiated when the peer's AS is larger", 65001, "incoming"],
    ["it initiated when its own AS is larger", 65003, "outgoing"],
  ])("with equal BGP identifiers keeps the connection %s (RFC 6286 §2.3)", async (_n, localAsn, kept) => {
    const t = await setup({ instance: { asn: localAsn } });
    const out = (await t.transport.nextConnect()).accept();
    await out.next(MessageType.Open);
    const inc = t.transport.dial(179, "127.0.0.2");
    await inc.next(MessageType.Open);
    out.sendOpen({ routerId: "10.0.0.1" });
    await out.until(() => out.of(MessageType.Keepalive).length > 0);
    inc.sendOpen({ routerId: "10.0.0.1" });
    const [winner, loser] = kept === "incoming" ? [inc, out] : [out, inc];
    await loser.until(() => loser.notifications().length > 0, "loser dumped");
    expect(loser.notifications()[0]).toMatchObject({ code: 6, subcode: 7 });
    winner.sendKeepalive();
    await winner.until(() => state(t) === "established");
    expect(winner.notifications()).toEqual([]);
  });

  it("closes a colliding connection the peer sent a NOTIFICATION on without answering it (RFC 4271 §6.8)", async () => {
    const t = await setup();
    const out = (await t.transport.nextConnect()).accept();
    await out.next(MessageType.Open);
    const inc = t.transport.dial(179, "127.0.0.2");
    await inc.next(MessageType.Open);
    inc.send(hex`${MARKER} 0015 03 06 07   # NOTIFICATION Cease / Connection Collision Resolution`);
    await inc.until(() => inc.closed, "colliding connection closed");
    expect(inc.notifications()).toEqual([]);
    out.sendOpen();
    out.sendKeepalive();
    await out.until(() => state(t) === "established");
  });

  it("keeps its own connection when its identifier is higher", async () => {
    const t = await setup();
    const out = (await t.transport.nextConnect()).accept();
    await out.next(MessageType.Open);
    const inc = t.transport.dial(179, "127.0.0.2");
    await inc.next(MessageType.Open);
    inc.sendOpen({ routerId: "9.0.0.9" });
    await inc.until(() => inc.notifications().length > 0, "incoming dumped");
    expect(inc.notifications()[0]).toMatchObject({ code: 6, subcode: 7 });
    out.sendOpen({ routerId: "9.0.0.9" });
    out.sendKeepalive();
    await out.until(() => state(t) === "established");
  });
});

describe("Session: configuration and transport", () => {
  it("a hold time change resets the session (D7); a connect-retry change applies in place", async () => {
    const t = await setup();
    const peer = await up(t);
    const base = { name: "p", address: "127.0.0.2", asn: 65002 };
    expect(t.speaker.setPeer("i", { ...base, timers: { holdTimeSeconds: 9, keepaliveSeconds: 3, connectRetrySeconds: 30 } })).toEqual({ action: "updated", changed: ["timers.connectRetrySeconds"] });
    expect(state(t)).toBe("established");
    expect(t.speaker.setPeer("i", { ...base, timers: { holdTimeSeconds: 30, keepaliveSeconds: 10, connectRetrySeconds: 30 } })).toEqual({
      action: "reset",
      changed: ["timers.holdTimeSeconds", "timers.keepaliveSeconds"],
    });
    await peer.until(() => peer.notifications().length > 0);
    expect(peer.notifications()[0]).toMatchObject({ code: 6, subcode: 6 });
    await t.transport.nextConnect();
  });

  it("refuses a peer with a password when the transport cannot do TCP-MD5, with a clear error", async () => {
    const t = await setup({ unsupported: ["md5"], peer: { md5Password: "s3cret" } });
    expect(t.transport.connects).toEqual([]);
    expect(t.speaker.peer("i", "p")).toMatchObject({ state: "idle", tcpPasswordEnabled: true, lastError: { reason: "transport-unsupported" } });
    expect(t.speaker.peer("i", "p")!.lastError!.message).toMatch(/Cannot connect to peer "p": the transport cannot set TCP-MD5/);
    // without the password it runs
    expect(t.speaker.setPeer("i", { name: "p", address: "127.0.0.2", asn: 65002, timers: { holdTimeSeconds: 9, keepaliveSeconds: 3, connectRetrySeconds: 10 } }).action).toBe("reset");
    await t.transport.nextConnect();
  });

  it("passes TTL 1 for eBGP, the multihop TTL when set, none for iBGP; and the password", async () => {
    const t = await setup({ peer: { md5Password: "pw", minTtl: 254 } });
    expect((await t.transport.nextConnect()).options).toMatchObject({ ttl: 1, md5Password: "pw", minTtl: 254, remotePort: 179 });
    t.speaker.setPeer("i", { name: "m", address: "127.0.0.3", asn: 65003, ebgpMultihop: 4 });
    expect((await t.transport.nextConnect()).options.ttl).toBe(4);
    t.speaker.setPeer("i", { name: "ibgp", address: "127.0.0.4", asn: 65001, ebgpMultihop: 4 });
    expect((await t.transport.nextConnect()).options.ttl).toBeUndefined();
  });

  it("waits for the peer when passive, and refuses connections from unknown addresses", async () => {
    const t = await setup({ peer: { passive: true } });
    await ticks(10);
    expect(t.transport.connects).toEqual([]);
    expect(state(t)).toBe("active");
    const stranger = t.transport.dial(179, "127.0.0.66");
    await stranger.until(() => stranger.closed, "stranger refused");
    const peer = t.transport.dial(179, "127.0.0.2");
    await peer.establish();
    await peer.until(() => state(t) === "established");
  });
});
