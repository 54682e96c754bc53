/**
 * The libc-backed BGP transport at the socket level, on loopback: options are
 * on the sockets node:net ends up using (getsockopt on the very fd), TCP-MD5
 * lets only matching passwords connect, and no file descriptor leaks.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { readdirSync } from "node:fs";
import { createSockoptTransport } from "../../src/runtime/sockopt-transport.ts";
import { getIntOption, TTL_OPTION } from "../../src/runtime/socket.ts";
import { socketFd } from "../../src/runtime/socket-fd.ts";
import type { Listener } from "../../src/bgp/transport.ts";

const transport = createSockoptTransport();
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function echoServer(host: string): Promise<{ server: Server; port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    accepted.push(s);
    s.on("data", (d) => s.write(d));
    s.on("error", () => {});
  });
  cleanup.push(() => new Promise((r) => server.close(r)), () => accepted.forEach((s) => s.destroy()));
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve({ server, port: (server.address() as { port: number }).port, accepted }))
  );
}

async function listenEcho(address: string, md5Passwords?: Map<string, string>) {
  const accepted: Socket[] = [];
  const listener = await transport.listen({ address, port: 0, md5Passwords }, (s) => {
    accepted.push(s);
    s.on("data", (d) => s.write(d));
    s.on("error", () => {});
  });
  cleanup.push(() => listener.close(), () => accepted.forEach((s) => s.destroy()));
  return { listener, accepted };
}

function echo(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once("data", (d) => resolve(String(d)));
    socket.once("error", reject);
    socket.write(text);
  });
}

/** Connects with a deadline; resolves "timeout" when the SYN goes unanswered. */
async function tryConnect(o: Parameters<typeof transport.connect>[0], ms = 1500): Promise<Socket | "timeout"> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    const s = await transport.connect({ ...o, signal: ac.signal });
    cleanup.push(() => s.destroy());
    return s;
  } catch (err) {
    if (ac.signal.aborted) return "timeout";
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

describe("createSockoptTransport()", () => {
  it("reports no unsupported options", () => {
    expect([...transport.unsupported]).toEqual([]);
  });

  for (const [family, host] of [[4, "127.0.0.1"], [6, "::1"]] as const) {
    it(`connect() sets TTL and GTSM on the socket node:net uses (IPv${family})`, async () => {
      const { port } = await echoServer(host);
      // Loopback replies carry the default TTL of 64, so a minimum of 64 lets them in.
      const s = await transport.connect({ remoteAddress: host, remotePort: port, ttl: 7, minTtl: 64 });
      cleanup.push(() => s.destroy());
      const fd = socketFd(s);
      const o = TTL_OPTION[family];
      expect(getIntOption(fd, o.level, o.ttl)).toBe(7);
      expect(getIntOption(fd, o.level, o.minTtl)).toBe(64);
      expect(s.remoteAddress).toBe(host);
      expect(s.remotePort).toBe(port);
      expect(await echo(s, "hello")).toBe("hello");
    });

    it(`TCP-MD5 lets only the matching password connect (IPv${family})`, async () => {
      const { listener } = await listenEcho(host, new Map([[host, "s3cret"]]));
      const good = await tryConnect({ remoteAddress: host, remotePort: listener.port, md5Password: "s3cret" });
      expect(good).not.toBe("timeout");
      expect(await echo(good as Socket, "signed")).toBe("signed");
      expect(await tryConnect({ remoteAddress: host, remotePort: listener.port, md5Password: "wrong" }, 800)).toBe("timeout");
      expect(await tryConnect({ remoteAddress: host, remotePort: listener.port }, 800)).toBe("timeout");
    });
  }

  it("GTSM drops a reply whose TTL is below the minimum (RFC 5082)", async () => {
    const { port } = await echoServer("127.0.0.1");
    expect(await tryConnect({ remoteAddress: "127.0.0.1", remotePort: port, minTtl: 65 }, 800)).toBe("timeout");
  });

  it("a signed SYN to a listener without a key goes unanswered", async () => {
    const { listener } = await listenEcho("127.0.0.1");
    expect(await tryConnect({ remoteAddress: "127.0.0.1", remotePort: listener.port, md5Password: "x" }, 800)).toBe("timeout");
    const plain = await tryConnect({ remoteAddress: "127.0.0.1", remotePort: listener.port });
    expect(await echo(plain as Socket, "plain")).toBe("plain");
  });

  it("Listener.setMd5Passwords() adds, changes and removes peers' keys", async () => {
    const { listener } = await listenEcho("127.0.0.1");
    const to = (md5Password?: string) => tryConnect({ remoteAddress: "127.0.0.1", remotePort: listener.port, md5Password }, 800);
    listener.setMd5Passwords!(new Map([["127.0.0.1", "one"]]));
    expect(await to("one")).not.toBe("timeout");
    listener.setMd5Passwords!(new Map([["127.0.0.1", "two"]]));
    expect(await to("one")).toBe("timeout");
    expect(await to("two")).not.toBe("timeout");
    listener.setMd5Passwords!(new Map());
    expect(await to("two")).toBe("timeout");
    expect(await to(undefined)).not.toBe("timeout");
  });

  it("an IPv6 listener on :: takes keys for IPv4 peers", async () => {
    const { listener } = await listenEcho("::", new Map([["127.0.0.1", "mapped"]]));
    expect(await tryConnect({ remoteAddress: "127.0.0.1", remotePort: listener.port, md5Password: "mapped" })).not.toBe("timeout");
    expect(await tryConnect({ remoteAddress: "127.0.0.1", remotePort: listener.port, md5Password: "other" }, 800)).toBe("timeout");
  });

  it("configureAccepted() sets TTL and GTSM on an accepted connection", async () => {
    const { listener, accepted } = await listenEcho("127.0.0.1");
    const s = await transport.connect({ remoteAddress: "127.0.0.1", remotePort: listener.port });
    cleanup.push(() => s.destroy());
    await echo(s, "x");
    expect(accepted).toHaveLength(1);
    transport.configureAccepted!(accepted[0], { ttl: 3, minTtl: 253 });
    const fd = socketFd(accepted[0]);
    expect(getIntOption(fd, TTL_OPTION[4].level, TTL_OPTION[4].ttl)).toBe(3);
    expect(getIntOption(fd, TTL_OPTION[4].level, TTL_OPTION[4].minTtl)).toBe(253);
  });

  it("connect() binds the requested local address and port", async () => {
    const { port, accepted } = await echoServer("127.0.0.1");
    const s = await transport.connect({ remoteAddress: "127.0.0.1", remotePort: port, localAddress: "127.0.0.2" });
    cleanup.push(() => s.destroy());
    await echo(s, "x");
    expect(s.localAddress).toBe("127.0.0.2");
    expect(accepted[0].remoteAddress).toBe("127.0.0.2");
  });

  it("connect() rejects ECONNREFUSED and an aborted connect, closing the fd", async () => {
    const { port, server } = await echoServer("127.0.0.1");
    await new Promise((r) => server.close(r));
    await expect(transport.connect({ remoteAddress: "127.0.0.1", remotePort: port })).rejects.toThrow(
      /Cannot connect to "127.0.0.1" port \d+: ECONNREFUSED/,
    );
    const { listener } = await listenEcho("127.0.0.1", new Map([["127.0.0.1", "k"]]));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(transport.connect({ remoteAddress: "127.0.0.1", remotePort: listener.port, signal: ac.signal })).rejects
      .toThrow(/aborted/);
  });

  it("connects promptly while many other connects hang (one poll thread for all waits)", async () => {
    // Peers that never answer: SYNs without the listener's MD5 key are dropped.
    const { listener } = await listenEcho("127.0.0.1", new Map([["127.0.0.1", "k"]]));
    const ac = new AbortController();
    const hanging = Array.from({ length: 12 }, () =>
      transport.connect({ remoteAddress: "127.0.0.1", remotePort: listener.port, signal: ac.signal }).catch((e: Error) => e.message)
    );
    await new Promise((r) => setTimeout(r, 100));
    const { port } = await echoServer("127.0.0.1");
    const start = Date.now();
    const s = await transport.connect({ remoteAddress: "127.0.0.1", remotePort: port });
    cleanup.push(() => s.destroy());
    expect(Date.now() - start).toBeLessThan(500);
    expect(await echo(s, "through")).toBe("through");
    ac.abort();
    expect(new Set(await Promise.all(hanging))).toEqual(new Set(["Cannot connect: aborted"]));
  });

  it("refuses bad options with clear errors", async () => {
    await expect(transport.connect({ remoteAddress: "not-an-ip", remotePort: 179 })).rejects.toThrow(
      'Cannot use peer address "not-an-ip": not an IP address',
    );
    await expect(transport.connect({ remoteAddress: "127.0.0.1", remotePort: 1, ttl: 0 })).rejects.toThrow(
      "Cannot set TTL: must be an integer from 1 to 255: current value is 0",
    );
    await expect(transport.connect({ remoteAddress: "127.0.0.1", remotePort: 1, md5Password: "x".repeat(81) })).rejects
      .toThrow("Cannot use TCP-MD5 password: it is 81 bytes, the kernel accepts at most 80");
  });

  it("leaks no file descriptors over many connects, refusals and closes", async () => {
    const count = () => readdirSync("/proc/self/fd").length;
    const { listener } = await listenEcho("127.0.0.1", new Map([["127.0.0.1", "k"]]));
    const run = async () => {
      for (let i = 0; i < 20; i++) {
        const s = await transport.connect({ remoteAddress: "127.0.0.1", remotePort: listener.port, md5Password: "k" });
        await echo(s, "x");
        await new Promise<void>((r) => {
          s.once("close", () => r());
          s.destroy();
        });
        await transport.connect({ remoteAddress: "127.0.0.1", remotePort: 1 }).catch(() => {});
      }
      const l: Listener = await transport.listen({ address: "127.0.0.1", port: 0 }, () => {});
      await l.close();
    };
    await run(); // warm-up: lazily opened libraries and helper threads
    const before = count();
    await run();
    await new Promise((r) => setTimeout(r, 100));
    expect(count()).toBeLessThanOrEqual(before);
  });
});
