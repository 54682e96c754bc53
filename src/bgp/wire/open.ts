/**
 * OPEN (RFC 4271 §4.2), with RFC 9072 extended optional parameters.
 *
 * Decoding checks what the message alone can tell: version, hold time,
 * BGP identifier, parameter framing, known parameter types, capability
 * syntax. What needs configuration (the peer's AS, identifier collisions)
 * is the session's job.
 */
import { type Capabilities, decodeCapabilities, emptyCapabilities } from "./capabilities.ts";
import { ErrorCode, HeaderSubcode, NotificationError, OpenSubcode } from "./errors.ts";
import { HEADER_LENGTH, MessageType, writeHeader } from "./header.ts";

export const BGP_VERSION = 4;
/** RFC 6793 §9: the 2-octet placeholder for a 4-octet AS. */
export const AS_TRANS = 23456;
const PARAM_CAPABILITIES = 2;
/** RFC 9072 §2: Non-Ext OP Type value that marks the extended encoding. */
const EXTENDED_PARAMS = 255;

export interface OpenMessage {
  version: number;
  /** The 2-octet "My Autonomous System" field (AS_TRANS for large ASNs). */
  asn: number;
  holdTime: number;
  /** BGP identifier as an unsigned 32-bit number. */
  routerId: number;
  capabilities: Capabilities;
}

export interface OpenOptions {
  /** The real local AS; the 2-octet field gets AS_TRANS when it does not fit. */
  asn: number;
  holdTime: number;
  routerId: number;
  /** Capability TLVs (code, length, value), each sent in its own optional parameter. */
  capabilities: Uint8Array[];
}

export function encodeOpen(o: OpenOptions): Uint8Array {
  const paramsLen = o.capabilities.reduce((n, c) => n + 2 + c.length, 0);
  // RFC 9072: fall back to the extended form only when the 1-byte length cannot hold the parameters.
  const extended = paramsLen > 255;
  const total = HEADER_LENGTH + 10 + (extended ? 3 + paramsLen + o.capabilities.length : paramsLen);
  const out = new Uint8Array(total);
  writeHeader(out, 0, total, MessageType.Open);
  let p = HEADER_LENGTH;
  out[p++] = BGP_VERSION;
  const my = o.asn > 0xffff ? AS_TRANS : o.asn;
  out[p++] = my >>> 8;
  out[p++] = my & 0xff;
  out[p++] = o.holdTime >>> 8;
  out[p++] = o.holdTime & 0xff;
  new DataView(out.buffer).setUint32(p, o.routerId >>> 0);
  p += 4;
  if (extended) {
    const extLen = paramsLen + o.capabilities.length; // each parameter header grows by one byte
    out[p++] = 255;
    out[p++] = EXTENDED_PARAMS;
    out[p++] = extLen >>> 8;
    out[p++] = extLen & 0xff;
    for (const c of o.capabilities) {
      out[p++] = PARAM_CAPABILITIES;
      out[p++] = c.length >>> 8;
      out[p++] = c.length & 0xff;
      out.set(c, p);
      p += c.length;
    }
  } else {
    out[p++] = paramsLen;
    for (const c of o.capabilities) {
      out[p++] = PARAM_CAPABILITIES;
      out[p++] = c.length;
      out.set(c, p);
      p += c.length;
    }
  }
  return out;
}

/** Decodes the OPEN body in [off, end) (after the header). */
export function decodeOpen(buf: Uint8Array, off: number, end: number): OpenMessage {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const badLength = (why: string) => {
    const len = end - off + HEADER_LENGTH;
    return new NotificationError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, Uint8Array.of(len >>> 8, len & 0xff), why);
  };
  if (end - off < 10) throw badLength("OPEN shorter than 29 bytes");
  const version = buf[off];
  if (version !== BGP_VERSION) {
    // RFC 4271 §6.2: the data is the largest version we support.
    throw new NotificationError(ErrorCode.Open, OpenSubcode.UnsupportedVersion, Uint8Array.of(0, BGP_VERSION), `version ${version}`);
  }
  const asn = view.getUint16(off + 1);
  const holdTime = view.getUint16(off + 3);
  const routerId = view.getUint32(off + 5);
  let p = off + 10;
  let paramsEnd = p + buf[off + 9];
  let extended = false;
  if (buf[off + 9] === 255 && p < end && buf[p] === EXTENDED_PARAMS) {
    if (p + 3 > end) throw badLength("extended optional parameters length truncated");
    extended = true;
    paramsEnd = p + 3 + view.getUint16(p + 1);
    p += 3;
  }
  if (paramsEnd !== end) throw badLength(`optional parameters length disagrees with the message length`);
  if (holdTime === 1 || holdTime === 2) {
    throw new NotificationError(ErrorCode.Open, OpenSubcode.UnacceptableHoldTime, new Uint8Array(0), `hold time ${holdTime}s (must be 0 or at least 3)`);
  }
  if (routerId === 0) {
    throw new NotificationError(ErrorCode.Open, OpenSubcode.BadBgpIdentifier, Uint8Array.of(0, 0, 0, 0), "BGP identifier 0.0.0.0");
  }
  const capabilities = emptyCapabilities();
  const headerLen = extended ? 3 : 2;
  while (p < paramsEnd) {
    if (p + headerLen > paramsEnd) throw new NotificationError(ErrorCode.Open, 0, new Uint8Array(0), "optional parameter header truncated");
    const type = buf[p];
    const len = extended ? view.getUint16(p + 1) : buf[p + 1];
    const v = p + headerLen;
    if (v + len > paramsEnd) throw new NotificationError(ErrorCode.Open, 0, new Uint8Array(0), "optional parameter runs past the parameters");
    if (type !== PARAM_CAPABILITIES) {
      throw new NotificationError(ErrorCode.Open, OpenSubcode.UnsupportedOptionalParameter, new Uint8Array(0), `optional parameter type ${type}`);
    }
    decodeCapabilities(buf, v, v + len, capabilities);
    p = v + len;
  }
  return { version, asn, holdTime, routerId, capabilities };
}

/** The peer's real AS: the 4-octet capability when present (RFC 6793 §4.1), else the 2-octet field. */
export function openAsn(open: OpenMessage): number {
  return open.capabilities.as4 ?? open.asn;
}

export function formatRouterId(id: number): string {
  return `${id >>> 24}.${(id >>> 16) & 255}.${(id >>> 8) & 255}.${id & 255}`;
}

/** Parses a dotted-quad router ID; null if malformed or 0.0.0.0. */
export function parseRouterId(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((n) => n > 255)) return null;
  const id = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
  return id === 0 ? null : id;
}
