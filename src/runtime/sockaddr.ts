/**
 * Byte layouts of the Linux socket structures herald passes to libc:
 * `sockaddr_in`, `sockaddr_in6` and `struct tcp_md5sig` (linux/tcp.h).
 * Little-endian host fields, network-order ports and addresses (x86-64 and
 * arm64 are both little-endian).
 */
import { ipFromBytes, ipToBytes, mustParseIP } from "../net/ip.ts";
import type { IPAddress } from "../net/ip.ts";

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;
/** sizeof(struct __kernel_sockaddr_storage): the address field of tcp_md5sig. */
const SOCKADDR_STORAGE_SIZE = 128;
/** TCP_MD5SIG_MAXKEYLEN. */
export const TCP_MD5_MAX_KEY_LEN = 80;
/** sizeof(struct tcp_md5sig): addr 128, flags 1, prefixlen 1, keylen 2, ifindex 4, key 80. */
export const TCP_MD5SIG_SIZE = SOCKADDR_STORAGE_SIZE + 8 + TCP_MD5_MAX_KEY_LEN;

/** Writes a sockaddr for `ip`:`port` at the start of `out`; returns its length. */
function writeSockaddr(out: Uint8Array, ip: IPAddress, port: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (ip.family === 4) {
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    out.set(ipToBytes(ip), 4);
    return SOCKADDR_IN_SIZE;
  }
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port, false);
  // sin6_flowinfo (4..8) and sin6_scope_id (24..28) stay zero.
  out.set(ipToBytes(ip), 8);
  return SOCKADDR_IN6_SIZE;
}

/** `sockaddr_in` or `sockaddr_in6` for an address in text form. */
export function encodeSockaddr(address: string, port: number): Uint8Array {
  const ip = mustParseIP(address);
  const out = new Uint8Array(ip.family === 4 ? SOCKADDR_IN_SIZE : SOCKADDR_IN6_SIZE);
  writeSockaddr(out, ip, port);
  return out;
}

/** Reads back what getsockname() filled in. */
export function decodeSockaddr(bytes: Uint8Array): { ip: IPAddress; port: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = view.getUint16(0, true);
  const port = view.getUint16(2, false);
  if (family === AF_INET) return { ip: ipFromBytes(bytes.subarray(4, 8)), port };
  if (family === AF_INET6) return { ip: ipFromBytes(bytes.subarray(8, 24)), port };
  throw new RangeError(`Cannot read socket address: family ${family} is neither AF_INET nor AF_INET6`);
}

/** The IPv4-mapped IPv6 form of an IPv4 address (::ffff:a.b.c.d); IPv6 unchanged. */
export function toIPv6(ip: IPAddress): IPAddress {
  return ip.family === 6 ? ip : { family: 6, value: 0xffff00000000n | ip.value };
}

/**
 * `struct tcp_md5sig` for TCP_MD5SIG (RFC 2385): the peer address and the
 * key; an empty key deletes the peer's entry. On an IPv6 socket an IPv4 peer
 * is given in its IPv4-mapped form (the kernel then files it as AF_INET).
 */
export function encodeTcpMd5sig(peer: IPAddress, socketFamily: 4 | 6, key: Uint8Array): Uint8Array {
  if (key.length > TCP_MD5_MAX_KEY_LEN) {
    throw new RangeError(`Cannot use TCP-MD5 password: it is ${key.length} bytes, the kernel accepts at most ${TCP_MD5_MAX_KEY_LEN}`);
  }
  if (socketFamily === 4 && peer.family === 6) {
    throw new RangeError("Cannot set a TCP-MD5 password for an IPv6 peer on an IPv4 socket");
  }
  const out = new Uint8Array(TCP_MD5SIG_SIZE);
  writeSockaddr(out, socketFamily === 6 ? toIPv6(peer) : peer, 0);
  const view = new DataView(out.buffer);
  view.setUint16(SOCKADDR_STORAGE_SIZE + 2, key.length, true); // tcpm_keylen
  out.set(key, SOCKADDR_STORAGE_SIZE + 8);
  return out;
}

/** Little-endian 32-bit integer buffer, as setsockopt takes an `int`. */
export function intBuffer(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
}

/** NUL-terminated UTF-8, as C functions take a `const char *`. */
export function cString(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
