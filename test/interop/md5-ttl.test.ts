/**
 * TCP-MD5, TTL and GTSM against real daemons: herald's libc transport
 * (src/runtime/sockopt-transport.ts) in the root namespace, BIRD 2 and FRR in
 * namespaces the harness creates. A minimal OPEN/KEEPALIVE exchange written
 * here drives each session to Established on the daemon's side, which is
 * what the daemon reports.
 *
 * - MD5 (RFC 2385, spec D9): only the right password brings a session up,
 *   active (herald connects) and passive (the daemon connects to herald's
 *   listener); `ss` shows the key on herald's socket.
 * - TTL (spec D8): across a router, TTL 1 never reaches the peer, TTL 2
 *   (ebgpMultihop 2) does; IPv4 and IPv6 (hop limit).
 * - GTSM (RFC 5082): BIRD's `ttl security` accepts herald only at TTL 255;
 *   herald's minimum TTL refuses a peer that sends less.
 */
import { describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import { execFileSync } from "node:child_process";
import { createSockoptTransport } from "../../src/runtime/sockopt-transport.ts";
import type { ConnectOptions, Listener } from "../../src/bgp/transport.ts";
import { delay, freePort, perTest, ROOT, useHarness } from "./harness/mod.ts";

const h = useHarness("hmd");
const transport = createSockoptTransport();
const HERALD_AS = 65000;
const PEER_AS = 65001;

// --- A minimal BGP speaker: OPEN, KEEPALIVE, nothing else (RFC 4271 §4). ---

function header(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(19 + body.length);
  out.fill(0xff, 0, 16);
  new DataView(out.buffer).setUint16(16, out.length);
  out[18] = type;
  out.set(body, 19);
  return out;
}

function open(asn: number, routerId: string, ipv6: boolean): Uint8Array {
  // Capabilities (RFC 5492): multiprotocol (RFC 4760) for the session's family, 4-octet AS (RFC 6793).
  const mp = [1, 4, 0, ipv6 ? 2 : 1, 0, 1];
  const as4 = [65, 4, (asn >>> 24) & 255, (asn >>> 16) & 255, (asn >>> 8) & 255, asn & 255];
  const caps = [2, mp.length + as4.length, ...mp, ...as4];
  const id = routerId.split(".").map(Number);
  const body = [4, asn >> 8, asn & 255, 0, 9, ...id, caps.length, ...caps];
  return header(1, Uint8Array.from(body));
}

const keepalive = () => header(4, new Uint8Array());

/**
 * Speaks BGP on `socket` until the peer's OPEN and KEEPALIVE arrived, then
 * keeps the session alive (hold time 9 s) until the returned stop() is called.
 */
async function handshake(socket: Socket, ipv6: boolean): Promise<() => void> {
  let buf = new Uint8Array();
  const seen: number[] = [];
  const done = new Promise<void>((resolve, reject) => {
    socket.on("data", (d: Uint8Array) => {
      buf = Uint8Array.from([...buf, ...d]);
      while (buf.length >= 19) {
        const len = new DataView(buf.buffer).getUint16(16);
        if (buf.length < len) break;
        const type = buf[18];
        seen.push(type);
        if (type === 3) reject(new Error(`peer sent NOTIFICATION ${buf[19]}/${buf[20]}`));
        if (type === 1) socket.write(keepalive());
        if (type === 4 && seen.includes(1)) resolve();
        buf = buf.slice(len);
      }
    });
    socket.once("close", () => reject(new Error("peer closed the connection")));
    socket.on("error", reject);
  });
  socket.write(open(HERALD_AS, "192.0.2.1", ipv6));
  await done;
  const timer = setInterval(() => socket.write(keepalive()), 1000);
  return () => {
    clearInterval(timer);
    socket.destroy();
  };
}

/** Connects with a deadline: the socket, or why not ("timeout" when the SYN is never answered, or the errno name). */
async function connectWithin(o: ConnectOptions, ms: number): Promise<Socket | string> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    return await transport.connect({ ...o, signal: ac.signal });
  } catch (err) {
    if (ac.signal.aborted) return "timeout";
    return (err as { code?: string }).code ?? String(err);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects and runs the OPEN exchange within `ms`: "established" (the
 * session stays up until `stops` run), or why not.
 */
async function session(o: ConnectOptions, ms: number, stops: (() => void)[]): Promise<string> {
  const deadline = Date.now() + ms;
  const socket = await connectWithin(o, ms);
  if (typeof socket === "string") return socket;
  stops.push(() => socket.destroy());
  const left = Math.max(0, deadline - Date.now());
  const result = await Promise.race([
    handshake(socket, o.remoteAddress.includes(":")).then((stop) => {
      stops.push(stop);
      return "established";
    }, (err: Error) => `failed: ${err.message}`),
    delay(left).then(() => "timeout"),
  ]);
  return result;
}

/**
 * Like session(), retried as a speaker's connect-retry timer would while the
 * daemon clears an earlier failed connection (BIRD's error wait time).
 */
async function sessionEventually(o: ConnectOptions, stops: (() => void)[], totalMs = 12_000): Promise<string> {
  const until = Date.now() + totalMs;
  let last = "";
  while (Date.now() < until) {
    last = await session(o, 4000, stops);
    if (last === "established") return last;
    stops.splice(0).forEach((stop) => stop());
    await delay(1000);
  }
  return last;
}

/** The daemon must not be Established with herald for `ms`. */
async function staysDown(daemon: { peer(a: string): Promise<{ state: string }> }, address: string, ms = 2500) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect((await daemon.peer(address)).state).not.toBe("established");
    await delay(250);
  }
}

describe("TCP-MD5 (RFC 2385)", () => {
  for (const kind of ["bird", "frr"] as const) {
    it(`${kind}: an active session comes up only with the right password, and ss shows the key`, async () => {
      const t = perTest(h);
      const ns = await t.namespace();
      const link = await t.link(ROOT, ns);
      const daemon = await t.daemon(kind, {
        netns: ns,
        routerId: "192.0.2.2",
        asn: PEER_AS,
        neighbors: [{ address: link.a.ipv4, asn: HERALD_AS, md5Password: "s3cret", passive: true }],
      });
      const to = { remoteAddress: link.b.ipv4, remotePort: 179, localAddress: link.a.ipv4, ttl: 1 };

      // The daemon's kernel drops unsigned or wrongly signed SYNs: no answer at all.
      expect(await connectWithin({ ...to, md5Password: "wrong" }, 1200)).toBe("timeout");
      expect(await connectWithin(to, 1200)).toBe("timeout");
      await staysDown(daemon, link.a.ipv4, 500);

      const socket = await connectWithin({ ...to, md5Password: "s3cret" }, 5000);
      expect(typeof socket).not.toBe("string");
      const s = socket as Socket;
      const ss = execFileSync("ss", ["-tinH", "src", `${link.a.ipv4}:${s.localPort}`], { encoding: "utf8" });
      expect(ss).toContain(`md5keys:${link.b.ipv4}/32`);
      const stop = await handshake(s, false);
      try {
        expect((await daemon.waitForPeer(link.a.ipv4)).remoteAs).toBe(HERALD_AS);
      } finally {
        stop();
      }
    });
  }

  it("bird: a passive session on herald's listener comes up only with the right password (IPv6)", async () => {
    const t = perTest(h);
    const ns = await t.namespace();
    const link = await t.link(ROOT, ns);
    const port = await freePort();
    const accepted: Socket[] = [];
    const listener: Listener = await transport.listen(
      { address: link.a.ipv6, port, md5Passwords: new Map([[link.b.ipv6, "wrong"]]) },
      (s) => accepted.push(s),
    );
    t.defer(() => listener.close());
    t.defer(() => accepted.forEach((s) => s.destroy()));
    const bird = await t.bird({
      netns: ns,
      routerId: "192.0.2.2",
      asn: PEER_AS,
      neighbors: [{ address: link.a.ipv6, port, asn: HERALD_AS, md5Password: "v6secret", connectRetry: 1 }],
    });
    await delay(2500); // BIRD retries every second; none of its SYNs gets through
    expect(accepted).toHaveLength(0);

    listener.setMd5Passwords!(new Map([[link.b.ipv6, "v6secret"]]));
    const start = Date.now();
    while (accepted.length === 0 && Date.now() - start < 10_000) await delay(100);
    expect(accepted.length).toBeGreaterThan(0);
    transport.configureAccepted!(accepted[0], { ttl: 1 });
    const stop = await handshake(accepted[0], true);
    try {
      await bird.waitForPeer(link.a.ipv6);
    } finally {
      stop();
    }
  });
});

describe("TTL (spec D8) across a router", () => {
  for (const family of ["ipv4", "ipv6"] as const) {
    it(`bird two hops away: TTL 1 never comes up, ebgpMultihop 2 does (${family})`, async () => {
      const t = perTest(h);
      const path = await t.twoHop({ a: ROOT });
      const herald = path.left.a[family];
      const peer = path.right.b[family];
      const bird = await t.bird({
        netns: path.b,
        routerId: "192.0.2.2",
        asn: PEER_AS,
        neighbors: [{ address: herald, asn: HERALD_AS, multihop: 2, passive: true }],
      });
      const to = { remoteAddress: peer, remotePort: 179, localAddress: herald };
      const stops: (() => void)[] = [];
      t.defer(() => stops.forEach((stop) => stop()));

      // The router drops the SYN (TTL exceeded) and says so with ICMP, or the SYN just dies.
      expect(["EHOSTUNREACH", "timeout"]).toContain(await session({ ...to, ttl: 1 }, 2500, stops));
      await staysDown(bird, herald, 500);

      expect(await session({ ...to, ttl: 2 }, 5000, stops)).toBe("established");
      await bird.waitForPeer(herald);
    });
  }
});

describe("GTSM (RFC 5082)", () => {
  it("bird with ttl security accepts herald's BGP messages at TTL 255 only", async () => {
    const t = perTest(h);
    const ns = await t.namespace();
    const link = await t.link(ROOT, ns);
    const bird = await t.bird({
      netns: ns,
      routerId: "192.0.2.2",
      asn: PEER_AS,
      // Hold time 3: BIRD gives up on the TTL-64 connection quickly.
      neighbors: [{ address: link.a.ipv4, asn: HERALD_AS, ttlSecurity: 1, passive: true, holdTime: 3 }],
    });
    const to = { remoteAddress: link.b.ipv4, remotePort: 179, localAddress: link.a.ipv4 };
    const stops: (() => void)[] = [];
    t.defer(() => stops.forEach((stop) => stop()));
    // TCP completes (the kernel answers the SYN), but BIRD's socket drops every segment below
    // TTL 255. BIRD sets that minimum just after accept, so herald's first OPEN may slip in and
    // BIRD answer it; herald's KEEPALIVE never gets through, so BIRD never gets to Established.
    await session({ ...to, ttl: 64 }, 2500, stops);
    await staysDown(bird, link.a.ipv4, 1500);
    stops.splice(0).forEach((stop) => stop());
    expect(await sessionEventually({ ...to, ttl: 255, minTtl: 255 }, stops)).toBe("established");
    await bird.waitForPeer(link.a.ipv4);
  });

  it("herald's minimum TTL refuses BGP messages from a peer that sends with a lower TTL", async () => {
    const t = perTest(h);
    const ns = await t.namespace();
    const link = await t.link(ROOT, ns);
    const bird = await t.bird({
      netns: ns,
      routerId: "192.0.2.2",
      asn: PEER_AS,
      neighbors: [{ address: link.a.ipv4, asn: HERALD_AS, passive: true, holdTime: 3 }],
    });
    // Without ttl security BIRD sends its session with TTL 1 (direct eBGP): below herald's minimum.
    const to = { remoteAddress: link.b.ipv4, remotePort: 179, localAddress: link.a.ipv4, ttl: 255 };
    const stops: (() => void)[] = [];
    t.defer(() => stops.forEach((stop) => stop()));
    expect(await session({ ...to, minTtl: 255 }, 2500, stops)).not.toBe("established");
    await staysDown(bird, link.a.ipv4, 500);
    stops.splice(0).forEach((stop) => stop());
    expect(await sessionEventually({ ...to, minTtl: 1 }, stops)).toBe("established");
    await bird.waitForPeer(link.a.ipv4);
  });
});
