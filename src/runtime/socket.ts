/**
 * TCP sockets through libc, for what node:net cannot do: IP_TTL /
 * IPV6_UNICAST_HOPS, IP_MINTTL / IPV6_MINHOPCOUNT (GTSM, RFC 5082) and
 * TCP_MD5SIG (RFC 2385), all set before the first SYN leaves. The finished
 * socket is handed to node:net by file descriptor (see sockopt-transport.ts).
 */
import { lastErrno, libc } from "./ffi.ts";
import { ErrnoError } from "./errno.ts";
import { fdPoller } from "./fd-poller.ts";
import {
  AF_INET,
  AF_INET6,
  decodeSockaddr,
  encodeSockaddr,
  encodeTcpMd5sig,
  intBuffer,
  SOCKADDR_IN6_SIZE,
} from "./sockaddr.ts";
import { mustParseIP } from "../net/ip.ts";
import type { IPAddress } from "../net/ip.ts";

const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_ERROR = 4;
const IPPROTO_IP = 0;
const IP_TTL = 2;
const IP_MINTTL = 21;
const IPPROTO_IPV6 = 41;
const IPV6_UNICAST_HOPS = 16;
const IPV6_V6ONLY = 26;
const IPV6_MINHOPCOUNT = 73;
const IPPROTO_TCP = 6;
const TCP_MD5SIG = 14;
const EINPROGRESS = 115;
const POLLOUT = 0x4;

export type SocketFamily = 4 | 6;

/** A non-blocking, close-on-exec TCP socket of the given family. */
export function openTcpSocket(family: SocketFamily): number {
  const fd = libc().socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new ErrnoError(`create a TCP socket`, lastErrno());
  return fd;
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

function setOption(fd: number, level: number, name: number, value: Uint8Array, what: string): void {
  if (libc().setsockopt(fd, level, name, value, value.length) < 0) throw new ErrnoError(`set ${what}`, lastErrno());
}

/** getsockopt for an `int` option. */
export function getIntOption(fd: number, level: number, name: number): number {
  const value = new Uint8Array(4);
  const len = intBuffer(4);
  if (libc().getsockopt(fd, level, name, value, len) < 0) throw new ErrnoError(`read socket option ${level}/${name}`, lastErrno());
  return new DataView(value.buffer).getInt32(0, true);
}

/** The option numbers behind TTL and GTSM, per family (for tests and `ss` checks). */
export const TTL_OPTION = {
  4: { level: IPPROTO_IP, ttl: IP_TTL, minTtl: IP_MINTTL },
  6: { level: IPPROTO_IPV6, ttl: IPV6_UNICAST_HOPS, minTtl: IPV6_MINHOPCOUNT },
} as const;

function checkTtl(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 1 || value > 255) {
    throw new RangeError(`Cannot set ${what}: must be an integer from 1 to 255: current value is ${value}`);
  }
}

/** Outgoing TTL / hop limit: 1 for directly connected eBGP, ebgpMultihop otherwise (D8). */
export function setTtl(fd: number, family: SocketFamily, ttl: number): void {
  checkTtl(ttl, "TTL");
  const o = TTL_OPTION[family];
  setOption(fd, o.level, o.ttl, intBuffer(ttl), family === 4 ? `IP_TTL to ${ttl}` : `IPV6_UNICAST_HOPS to ${ttl}`);
}

/** GTSM (RFC 5082): the kernel drops segments that arrive with a lower TTL / hop limit. */
export function setMinTtl(fd: number, family: SocketFamily, minTtl: number): void {
  checkTtl(minTtl, "minimum TTL");
  const o = TTL_OPTION[family];
  setOption(fd, o.level, o.minTtl, intBuffer(minTtl), family === 4 ? `IP_MINTTL to ${minTtl}` : `IPV6_MINHOPCOUNT to ${minTtl}`);
}

/**
 * TCP-MD5 key for one peer address (RFC 2385); `password` undefined or ""
 * removes it. Signs the SYN too, so it must be set before connect/listen.
 */
export function setMd5(fd: number, family: SocketFamily, peer: string | IPAddress, password: string | undefined): void {
  const ip = typeof peer === "string" ? mustParseIP(peer) : peer;
  const key = new TextEncoder().encode(password ?? "");
  const sig = encodeTcpMd5sig(ip, family, key);
  const what = key.length ? "TCP-MD5 password" : "removal of TCP-MD5 password";
  if (libc().setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, sig, sig.length) < 0) {
    const errno = lastErrno();
    // Deleting a key that is not there is not an error for herald.
    if (!key.length && errno === 2) return;
    throw new ErrnoError(`set ${what} for peer "${typeof peer === "string" ? peer : ip.value}"`, errno);
  }
}

export function setReuseAddress(fd: number): void {
  setOption(fd, SOL_SOCKET, SO_REUSEADDR, intBuffer(1), "SO_REUSEADDR");
}

/** IPV6_V6ONLY: false lets an IPv6 listener on "::" accept IPv4 peers too. */
export function setV6Only(fd: number, only: boolean): void {
  setOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, intBuffer(only ? 1 : 0), "IPV6_V6ONLY");
}

export function bindSocket(fd: number, address: string, port: number): void {
  const sa = encodeSockaddr(address, port);
  if (libc().bind(fd, sa, sa.length) < 0) throw new ErrnoError(`bind to "${address}" port ${port}`, lastErrno());
}

export function listenSocket(fd: number, backlog: number): void {
  if (libc().listen(fd, backlog) < 0) throw new ErrnoError(`listen`, lastErrno());
}

/** Starts a non-blocking connect; true when it completed at once (loopback can). */
export function startConnect(fd: number, address: string, port: number): boolean {
  const sa = encodeSockaddr(address, port);
  if (libc().connect(fd, sa, sa.length) === 0) return true;
  const errno = lastErrno();
  if (errno === EINPROGRESS) return false;
  throw new ErrnoError(`connect to "${address}" port ${port}`, errno);
}

/** SO_ERROR: the outcome of a non-blocking connect (0 when connected). */
export function pendingError(fd: number): number {
  return getIntOption(fd, SOL_SOCKET, SO_ERROR);
}

/** The local address and port a socket is bound to. */
export function localAddress(fd: number): { ip: IPAddress; port: number } {
  const sa = new Uint8Array(SOCKADDR_IN6_SIZE);
  const len = intBuffer(sa.length);
  if (libc().getsockname(fd, sa, len) < 0) throw new ErrnoError(`read the local address of socket ${fd}`, lastErrno());
  return decodeSockaddr(sa);
}

/**
 * Resolves when `fd` becomes writable (a non-blocking connect finished,
 * either way), or rejects when `signal` aborts (see fd-poller.ts).
 */
export async function waitWritable(fd: number, signal?: AbortSignal): Promise<void> {
  await fdPoller.wait(fd, POLLOUT, signal);
}
