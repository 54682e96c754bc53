/**
 * A BgpTransport whose sockets are made through libc, so that they carry the
 * options node:net cannot set: outgoing TTL (1 for directly connected eBGP,
 * `ebgpMultihop` otherwise, spec D8), GTSM minimum TTL (RFC 5082, opt-in) and
 * TCP-MD5 signatures (RFC 2385, spec D9: the control plane resolves the
 * Secret and passes the password).
 *
 * How the socket reaches node:net, under both runtimes (verified on Node 20
 * and Deno 2.9, see test/runtime/sockopt-transport.test.ts):
 * - active: socket() + options + bind + non-blocking connect() through libc,
 *   wait for it (fd-poller.ts: one poll on a helper thread for all pending
 *   connects), then adopt the *connected* fd with `new net.Socket({ fd })`. Deno adopts connected fds but, given an
 *   unconnected fd and `connect()`, silently closes it and opens its own
 *   socket, so the connect is always finished before adoption.
 * - passive: socket() + SO_REUSEADDR + MD5 keys per peer + bind + listen
 *   through libc, then `server.listen({ fd })`; both runtimes keep using that
 *   fd, so MD5 keys can be changed on it later. Accepted connections inherit
 *   the keys (and the listener's TTL) from the kernel; per-peer TTL/GTSM is set
 *   after accept on the connection's fd (`configureAccepted`).
 */
import { createServer, isIP, Socket } from "node:net";
import type { Socket as NetSocket } from "node:net";
import type { AcceptedSocketOptions, BgpTransport, ConnectOptions, Listener, ListenOptions } from "../bgp/transport.ts";
import { mustParseIP } from "../net/ip.ts";
import { ErrnoError } from "./errno.ts";
import {
  bindSocket,
  closeFd,
  listenSocket,
  localAddress,
  openTcpSocket,
  pendingError,
  setMd5,
  setMinTtl,
  setReuseAddress,
  setTtl,
  setV6Only,
  startConnect,
  waitWritable,
} from "./socket.ts";
import type { SocketFamily } from "./socket.ts";
import { socketFd } from "./socket-fd.ts";
import { libc } from "./ffi.ts";

const LISTEN_BACKLOG = 64;

function familyOf(address: string, what: string): SocketFamily {
  const f = isIP(address);
  if (f !== 4 && f !== 6) throw new TypeError(`Cannot use ${what} "${address}": not an IP address`);
  return f;
}

/** The family whose options govern traffic to `address` (an IPv4-mapped peer is IPv4). */
function trafficFamily(address: string): SocketFamily {
  const ip = mustParseIP(address);
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) return 4;
  return ip.family;
}

function adopt(fd: number): NetSocket {
  return new Socket({ fd, readable: true, writable: true });
}

async function connect(o: ConnectOptions): Promise<NetSocket> {
  const family = familyOf(o.remoteAddress, "peer address");
  // Everything up to the first await runs synchronously, so a caller that
  // switched network namespace around this call gets the socket there.
  const fd = openTcpSocket(family);
  try {
    if (o.ttl !== undefined) setTtl(fd, family, o.ttl);
    if (o.minTtl !== undefined) setMinTtl(fd, family, o.minTtl);
    if (o.md5Password) setMd5(fd, family, o.remoteAddress, o.md5Password);
    if (o.localAddress !== undefined || o.localPort !== undefined) {
      if (o.localPort) setReuseAddress(fd);
      bindSocket(fd, o.localAddress ?? (family === 4 ? "0.0.0.0" : "::"), o.localPort ?? 0);
    }
    if (!startConnect(fd, o.remoteAddress, o.remotePort)) await waitWritable(fd, o.signal);
    const err = pendingError(fd);
    if (err !== 0) throw new ErrnoError(`connect to "${o.remoteAddress}" port ${o.remotePort}`, err);
    return adopt(fd);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
}

async function listen(o: ListenOptions, onConnection: (socket: NetSocket) => void): Promise<Listener> {
  const family = familyOf(o.address, "listen address");
  const fd = openTcpSocket(family);
  let passwords = new Map<string, string>();
  const applyPasswords = (next: ReadonlyMap<string, string>) => {
    for (const peer of passwords.keys()) if (!next.has(peer)) setMd5(fd, family, peer, undefined);
    for (const [peer, password] of next) {
      if (passwords.get(peer) !== password) setMd5(fd, family, peer, password || undefined);
    }
    passwords = new Map(next);
  };
  try {
    setReuseAddress(fd);
    if (family === 6 && mustParseIP(o.address).value === 0n) setV6Only(fd, false);
    applyPasswords(o.md5Passwords ?? new Map());
    bindSocket(fd, o.address, o.port);
    listenSocket(fd, LISTEN_BACKLOG);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  const port = localAddress(fd).port;
  const server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ fd }, () => {
      server.removeListener("error", reject);
      resolve();
    });
  }).catch((err) => {
    closeFd(fd);
    throw err;
  });
  let closed = false;
  return {
    port,
    setMd5Passwords(next) {
      if (closed) throw new Error(`Cannot set TCP-MD5 passwords: the listener on port ${port} is closed`);
      applyPasswords(next);
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function configureAccepted(socket: NetSocket, o: AcceptedSocketOptions): void {
  if (o.ttl === undefined && o.minTtl === undefined) return;
  const fd = socketFd(socket);
  const family = trafficFamily(socket.remoteAddress ?? "");
  if (o.ttl !== undefined) setTtl(fd, family, o.ttl);
  if (o.minTtl !== undefined) setMinTtl(fd, family, o.minTtl);
}

/**
 * The libc-backed transport. Throws `Cannot load "libc.so.6": …` when the
 * FFI layer is unavailable (the caller then falls back to `netTransport`,
 * whose `unsupported` set makes sessions refuse TTL/MD5 with a clear error).
 */
export function createSockoptTransport(): BgpTransport {
  libc();
  return { unsupported: new Set(), connect, listen, configureAccepted };
}
