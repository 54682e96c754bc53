/**
 * Byte layouts of the datapath maps, shared with bpf/herald_lb.c (keep the
 * two in step; the README ("Map layout") describes them for operators).
 *
 * One layout serves IPv4 and IPv6: an address is 16 bytes, IPv6 or the
 * IPv4-mapped form ::ffff:a.b.c.d, in network byte order. Ports are network
 * byte order too; slot numbers and counts are host byte order (the program
 * and herald run on the same machine).
 *
 * ```text
 * services  HASH  key lb_frontend_key (20)     value lb_frontend (8)
 *   key:   addr[16] | port be16 | proto u8 (6 TCP, 17 UDP) | pad u8
 *   value: backend_first u32 | backend_count u32
 * backends  HASH  key slot u32 (4)             value lb_addr_port (20)
 *   value: addr[16] | port be16 | pad u16
 * ct        LRU   key lb_flow_key (40)         value lb_ct_entry (24)
 *   key:   src[16] | dst[16] | sport be16 | dport be16 | proto u8 | pad[3]
 *   value: backend lb_addr_port (20) | slot u32
 * revnat    LRU   key lb_flow_key (40)         value lb_addr_port (20), the frontend
 * ```
 */
import { ipFromBytes, ipToBytes, mustParseIP, formatIP } from "../net/ip.ts";
import type { IPAddress } from "../net/ip.ts";

export type Protocol = "TCP" | "UDP";

export const PROTOCOL_NUMBER: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17 };
const PROTOCOL_NAME: Readonly<Record<number, Protocol>> = { 6: "TCP", 17: "UDP" };

/** Where clients send: an address (canonical text), a port and a protocol. */
export interface Frontend {
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** Where packets go instead. */
export interface Backend {
  readonly address: string;
  readonly port: number;
}

export const FRONTEND_KEY_SIZE = 20;
export const FRONTEND_VALUE_SIZE = 8;
export const SLOT_KEY_SIZE = 4;
export const BACKEND_VALUE_SIZE = 20;
export const FLOW_KEY_SIZE = 40;
export const CT_VALUE_SIZE = 24;
export const REVNAT_VALUE_SIZE = 20;

/**
 * A canonical dotted quad (no leading zeros, as Go's netip) as a number, or
 * undefined. The hot path: most Services and endpoints are IPv4, and this
 * avoids bigint parsing for each of 100,000 backends.
 */
export function parseCanonicalV4(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return undefined; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + part;
}

function writeAddress16(out: Uint8Array, offset: number, text: string): void {
  const v4 = parseCanonicalV4(text);
  if (v4 !== undefined) {
    out[offset + 10] = 0xff;
    out[offset + 11] = 0xff;
    new DataView(out.buffer, out.byteOffset).setUint32(offset + 12, v4, false);
  } else {
    out.set(address16(mustParseIP(text)), offset);
  }
}

/** The 16-byte form of an address (IPv4 as ::ffff:a.b.c.d). */
export function address16(ip: IPAddress): Uint8Array {
  if (ip.family === 6) return ipToBytes(ip);
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(ipToBytes(ip), 12);
  return out;
}

/** The address back from its 16-byte form; IPv4-mapped addresses come back as IPv4. */
export function fromAddress16(bytes: Uint8Array): IPAddress {
  const ip = ipFromBytes(bytes.subarray(0, 16));
  if (ip.value >> 32n === 0xffffn) return { family: 4, value: ip.value & 0xffffffffn };
  return ip;
}

/** The text of a 16-byte address (IPv4-mapped addresses as dotted quads). */
function readAddress16(b: Uint8Array): string {
  let mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = b[i] === 0;
  return mapped ? `${b[12]}.${b[13]}.${b[14]}.${b[15]}` : formatIP(fromAddress16(b));
}

/** A string naming a frontend, unique per (address, port, protocol). */
export function frontendId(f: Frontend): string {
  return `${f.address}|${f.port}|${f.protocol}`;
}

export function encodeFrontendKey(f: Frontend): Uint8Array {
  const out = new Uint8Array(FRONTEND_KEY_SIZE);
  writeAddress16(out, 0, f.address);
  new DataView(out.buffer).setUint16(16, f.port, false);
  out[18] = PROTOCOL_NUMBER[f.protocol];
  return out;
}

export function decodeFrontendKey(b: Uint8Array): Frontend {
  const protocol = PROTOCOL_NAME[b[18]];
  if (!protocol) throw new RangeError(`Cannot read frontend key: protocol ${b[18]} is neither TCP (6) nor UDP (17)`);
  return { address: readAddress16(b), port: new DataView(b.buffer, b.byteOffset).getUint16(16, false), protocol };
}

/** A frontend's range of backend slots: [first, first + count). */
export interface SlotRange {
  readonly first: number;
  readonly count: number;
}

export function encodeFrontendValue(r: SlotRange): Uint8Array {
  const out = new Uint8Array(FRONTEND_VALUE_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, r.first, true);
  v.setUint32(4, r.count, true);
  return out;
}

export function decodeFrontendValue(b: Uint8Array): SlotRange {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { first: v.getUint32(0, true), count: v.getUint32(4, true) };
}

export function encodeSlot(slot: number): Uint8Array {
  const out = new Uint8Array(SLOT_KEY_SIZE);
  new DataView(out.buffer).setUint32(0, slot, true);
  return out;
}

export function decodeSlot(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
}

export function encodeBackend(be: Backend): Uint8Array {
  const out = new Uint8Array(BACKEND_VALUE_SIZE);
  writeAddress16(out, 0, be.address);
  new DataView(out.buffer).setUint16(16, be.port, false);
  return out;
}

export function decodeBackend(b: Uint8Array): Backend {
  return { address: readAddress16(b), port: new DataView(b.buffer, b.byteOffset).getUint16(16, false) };
}

/**
 * Backend order inside a range, the one the BPF program's binary search
 * assumes: the 16-byte address as a big-endian number, then the port. The
 * key is fixed-width hex, so comparing keys as strings compares backends.
 */
export function backendSortKey(be: Backend): string {
  const v4 = parseCanonicalV4(be.address);
  if (v4 !== undefined) return `00000000000000000000ffff${v4.toString(16).padStart(8, "0")}${be.port.toString(16).padStart(4, "0")}`;
  const ip = mustParseIP(be.address);
  const value = ip.family === 6 ? ip.value : 0xffff00000000n | ip.value;
  return value.toString(16).padStart(32, "0") + be.port.toString(16).padStart(4, "0");
}
