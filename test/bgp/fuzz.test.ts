/**
 * Fuzz-style tests with a fixed seed: mutated and random messages into the
 * decoders and into a live session. Only NotificationError may escape a
 * decoder; every input ends as accepted, attribute-discard,
 * treat-as-withdraw, or a NOTIFICATION; a session never throws.
 */
import { describe, expect, it } from "vitest";
import { IPV4_UNICAST } from "../../src/bgp/families.ts";
import { Speaker } from "../../src/bgp/speaker.ts";
import {
  decodeNotification,
  decodeOpen,
  decodeRouteRefresh,
  decodeUpdate,
  encodeLocalCapabilities,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeUpdate,
  Framer,
  keyFromText,
  MessageType,
  NotificationError,
  readHeader,
} from "../../src/bgp/wire/mod.ts";
import { FakeClock, FakeTransport, type RawPeer, ticks } from "./_fakes.ts";
import { hex, MARKER } from "./_hex.ts";

/** mulberry32: small, seedable, good enough to spread mutations. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const k = (t: string) => keyFromText(t)!;

/** Well-formed messages to mutate. */
const SEEDS: Uint8Array[] = [
  encodeOpen({
    asn: 65002,
    holdTime: 90,
    routerId: 0x0a000002,
    capabilities: encodeLocalCapabilities({
      asn: 65002,
      families: [IPV4_UNICAST, 513],
      extendedMessage: true,
      extendedNextHop: [{ family: IPV4_UNICAST, nextHopAfi: 2 }],
      gracefulRestart: { restarting: true, notification: true, time: 120, families: [{ family: IPV4_UNICAST, forwarding: true }] },
    }),
  }),
  encodeUpdate({
    withdrawn: [k("10.9.0.0/16")],
    nlri: [k("10.0.0.0/24"), k("10.0.1.1/32"), k("0.0.0.0/0")],
    attrs: {
      origin: 0,
      asPath: [{ type: 2, asns: [65002, 64999] }, { type: 1, asns: [1, 2] }],
      nextHop: "192.0.2.1",
      med: 10,
      atomicAggregate: true,
      aggregator: { asn: 65002, address: "192.0.2.9" },
      communities: [0xfdea0001, 0xffffff01],
      extendedCommunities: [Uint8Array.of(0, 2, 0xfd, 0xea, 0, 0, 0, 1)],
      largeCommunities: [[65002, 1, 2]],
      unknown: [{ flags: 0xe0, code: 99, value: Uint8Array.of(1, 2, 3) }],
    },
  }, { as4: true }),
  encodeUpdate({
    withdrawn: [],
    nlri: [],
    attrs: {
      mpReach: { family: 513, nextHop: "fd00::1", linkLocal: "fe80::1", nlri: [k("fd00:1::/64"), k("2001:db8::/32")] },
      origin: 2,
      asPath: [],
      localPref: 100,
      clusterList: ["1.1.1.1"],
      originatorId: "2.2.2.2",
    },
  }, { as4: true }),
  hex`${MARKER} 0026 02 0000 000f 80 0f 0c 0002 01 40 fd00000100000000`,
  hex`${MARKER} 0017 02 0000 0000`,
  hex`${MARKER} 0013 04`,
  encodeNotification(6, 2, Uint8Array.of(5, 0x68, 0x65, 0x6c, 0x6c, 0x6f)),
  encodeRouteRefresh(IPV4_UNICAST),
];

type Outcome = "ok" | "attribute-discard" | "treat-as-withdraw" | "notification";

/** Frames and decodes one message as the session would; only NotificationError may escape. */
function decodeAny(msg: Uint8Array, as4: boolean, ebgp: boolean): Outcome {
  try {
    const { type, length } = readHeader(msg, 0, 65535);
    if (length > msg.length) return "ok"; // incomplete: the framer waits for more
    switch (type) {
      case MessageType.Open:
        decodeOpen(msg, 19, length);
        return "ok";
      case MessageType.Update: {
        const u = decodeUpdate(msg, 19, length, { as4, ebgp, extendedNextHop: () => true, keepRaw: true });
        expect(["none", "attribute-discard", "treat-as-withdraw"]).toContain(u.action);
        expect(u.issues.length > 0).toBe(u.action !== "none");
        return u.action === "none" ? "ok" : u.action;
      }
      case MessageType.Notification:
        decodeNotification(msg, 19, length);
        return "ok";
      case MessageType.RouteRefresh:
        decodeRouteRefresh(msg, 19, length);
        return "ok";
      default:
        return "ok";
    }
  } catch (e) {
    if (e instanceof NotificationError) {
      expect(e.code).toBeGreaterThanOrEqual(1);
      expect(e.code).toBeLessThanOrEqual(7);
      return "notification";
    }
    throw new Error(`decoder threw ${(e as Error).name} for ${Buffer.from(msg).toString("hex")}: ${(e as Error).stack}`);
  }
}

/** One mutation of a seed: byte flips, truncation, extension, length-field edits, splices. */
function mutate(r: () => number, seed: Uint8Array): Uint8Array {
  let m = new Uint8Array(seed);
  const ops = 1 + Math.floor(r() * 4);
  for (let i = 0; i < ops; i++) {
    const at = 16 + Math.floor(r() * Math.max(1, m.length - 16));
    switch (Math.floor(r() * 7)) {
      case 0: // flip a byte
        m[Math.min(at, m.length - 1)] = Math.floor(r() * 256);
        break;
      case 1: // flip a bit
        m[Math.min(at, m.length - 1)] ^= 1 << Math.floor(r() * 8);
        break;
      case 2: // truncate
        m = m.slice(0, Math.max(19, at));
        break;
      case 3: { // append random bytes
        const extra = Uint8Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 256));
        const n = new Uint8Array(m.length + extra.length);
        n.set(m);
        n.set(extra, m.length);
        m = n;
        break;
      }
      case 4: { // splice: delete a few bytes
        const n = Math.floor(r() * 8) + 1;
        m = new Uint8Array([...m.slice(0, at), ...m.slice(at + n)]);
        break;
      }
      case 5: { // edit a 2-byte length field inside the body
        const p = 19 + Math.floor(r() * Math.max(1, m.length - 21));
        if (p + 1 < m.length) {
          m[p] = Math.floor(r() * 3);
          m[p + 1] = Math.floor(r() * 256);
        }
        break;
      }
      case 6: { // duplicate a slice (repeated attributes, prefixes)
        const len = Math.floor(r() * 12) + 1;
        const from = 19 + Math.floor(r() * Math.max(1, m.length - 19 - len));
        m = new Uint8Array([...m.slice(0, at), ...m.slice(from, from + len), ...m.slice(at)]);
        break;
      }
    }
  }
  // Most of the time keep the header length honest, so bodies get exercised.
  if (r() < 0.85 && m.length >= 19 && m.length <= 65535) {
    m[16] = m.length >>> 8;
    m[17] = m.length & 0xff;
  }
  return m;
}

function randomMessage(r: () => number): Uint8Array {
  const len = 19 + Math.floor(r() * 200);
  const m = Uint8Array.from({ length: len }, () => Math.floor(r() * 256));
  m.fill(0xff, 0, 16);
  m[16] = len >>> 8;
  m[17] = len & 0xff;
  m[18] = 1 + Math.floor(r() * 5);
  return m;
}

describe("fuzz: decoders", () => {
  it("decodes 20000 mutated and 5000 random messages with only NotificationError escaping (seed 4271)", () => {
    const r = rng(4271);
    const tally: Record<Outcome, number> = { "ok": 0, "attribute-discard": 0, "treat-as-withdraw": 0, "notification": 0 };
    let cases = 0;
    for (let i = 0; i < 20000; i++) {
      const m = mutate(r, SEEDS[i % SEEDS.length]);
      tally[decodeAny(m, r() < 0.8, r() < 0.7)]++;
      cases++;
    }
    for (let i = 0; i < 5000; i++) {
      tally[decodeAny(randomMessage(r), r() < 0.8, r() < 0.7)]++;
      cases++;
    }
    console.log(`fuzz decoders: ${cases} cases: ${JSON.stringify(tally)}`);
    expect(cases).toBe(25000);
    // every kind of outcome happens
    expect(Object.values(tally).every((n) => n > 100)).toBe(true);
  });

  it("frames a stream cut at random places into the same messages (seed 2918)", () => {
    const r = rng(2918);
    const stream = new Uint8Array(SEEDS.reduce((n, s) => n + s.length, 0) * 50);
    const expected: number[] = [];
    let p = 0;
    for (let i = 0; i < 50; i++) {
      for (const s of SEEDS) {
        stream.set(s, p);
        p += s.length;
        expected.push(s[18]);
      }
    }
    for (let round = 0; round < 200; round++) {
      const f = new Framer();
      f.maxLength = 65535;
      const got: number[] = [];
      let off = 0;
      while (off < stream.length) {
        const n = 1 + Math.floor(r() * 300);
        f.push(stream.subarray(off, off + n), (type) => got.push(type));
        off += n;
      }
      expect(got).toEqual(expected);
      expect(f.pending).toBe(0);
    }
  });
});

describe("fuzz: live session", () => {
  it("feeds 3000 mutated UPDATEs to an established session: each is accepted, withdrawn or answered with a NOTIFICATION (seed 7606)", async () => {
    const clock = new FakeClock();
    const transport = new FakeTransport();
    const speaker = new Speaker({ clock, transport, random: () => 0 });
    await speaker.setInstance({ name: "i", asn: 65001, routerId: "10.0.0.1" });
    speaker.setPeer("i", { name: "p", address: "127.0.0.2", asn: 65002, timers: { holdTimeSeconds: 90, keepaliveSeconds: 30, connectRetrySeconds: 1 } });
    speaker.announce("i", "p", "ipv4/unicast", ["198.51.100.0/24"]);
    const r = rng(7606);
    const updates = SEEDS.filter((s) => s[18] === MessageType.Update);
    let peer: RawPeer | null = null;
    const tally = { accepted: 0, withdrawn: 0, discarded: 0, notification: 0, peerNotification: 0 };
    const state = () => speaker.peer("i", "p")!;
    for (let i = 0; i < 3000; i++) {
      if (!peer || state().state !== "established") {
        if (peer) clock.advance(5000); // idle hold
        peer = (await transport.nextConnect()).accept();
        await peer.establish();
        await peer.until(() => state().state === "established", "established");
      }
      const before = state().malformedUpdates;
      const notes = peer.notifications().length;
      const m = mutate(r, updates[i % updates.length]);
      peer.send(m);
      await ticks(3);
      const st = state();
      if (st.state === "established") {
        if (st.malformedUpdates > before) {
          if (decodeAny(m, true, true) === "treat-as-withdraw") tally.withdrawn++;
          else tally.discarded++;
        } else tally.accepted++;
        expect(peer.notifications().length).toBe(notes);
      } else if (st.lastError?.reason === "notification-received") {
        // the mutation turned the UPDATE into a NOTIFICATION from the peer
        tally.peerNotification++;
      } else {
        expect(["update-error", "header-error", "fsm-error", "route-refresh-error"]).toContain(st.lastError?.reason);
        await peer.until(() => peer!.notifications().length > notes, "NOTIFICATION sent");
        tally.notification++;
      }
    }
    console.log(`fuzz live session: 3000 UPDATEs: ${JSON.stringify(tally)}`);
    expect(tally.accepted + tally.withdrawn + tally.discarded + tally.notification + tally.peerNotification).toBe(3000);
    expect(tally.notification).toBeGreaterThan(100);
    expect(tally.withdrawn).toBeGreaterThan(50);
    await speaker.close();
  });
});
