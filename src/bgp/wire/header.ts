/**
 * The 19-byte message header (RFC 4271 §4.1) and KEEPALIVE (§4.4), which is
 * a header and nothing else.
 *
 * The header is checked once, here: marker all ones, length within
 * [minimum for the type, maximum for the session], known type. Errors are
 * Message Header Errors whose data is what RFC 4271 §6.1 asks for (the bad
 * length or the bad type).
 */
import { ErrorCode, HeaderSubcode, NotificationError } from "./errors.ts";

export const HEADER_LENGTH = 19;
/** RFC 4271 §4.1. */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654: once both sides advertised the Extended Message capability. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

export const MessageType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const TYPE_NAMES: Record<number, string> = { 1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE-REFRESH" };

export function messageTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type ${type}`;
}

/** Smallest legal length per type (RFC 4271 §4.2–4.5, RFC 2918 §3). */
const MIN_LENGTH: Record<number, number> = { 1: 29, 2: 23, 3: 21, 4: 19, 5: 23 };

/** Writes the marker, length and type at `off`; returns the header length. */
export function writeHeader(out: Uint8Array, off: number, length: number, type: number): number {
  out.fill(0xff, off, off + 16);
  out[off + 16] = length >>> 8;
  out[off + 17] = length & 0xff;
  out[off + 18] = type;
  return HEADER_LENGTH;
}

export interface Header {
  length: number;
  type: MessageType;
}

/**
 * Reads and validates the header at `off` (at least 19 bytes must be there).
 * `maxLength` is 4096 until an Extended Message capability is negotiated.
 */
export function readHeader(buf: Uint8Array, off: number, maxLength: number): Header {
  for (let i = 0; i < 16; i++) {
    if (buf[off + i] !== 0xff) {
      throw new NotificationError(ErrorCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized, new Uint8Array(0), "marker is not all ones");
    }
  }
  const length = (buf[off + 16] << 8) | buf[off + 17];
  const type = buf[off + 18];
  const badLength = (min: number, max: number) =>
    new NotificationError(
      ErrorCode.MessageHeader,
      HeaderSubcode.BadMessageLength,
      Uint8Array.of(length >>> 8, length & 0xff),
      `${messageTypeName(type)} length ${length} outside [${min}, ${max}]`,
    );
  // RFC 4271 §6.1: the length is checked before the type.
  if (length < HEADER_LENGTH || length > maxLength) throw badLength(HEADER_LENGTH, maxLength);
  const min = MIN_LENGTH[type];
  if (min === undefined) {
    throw new NotificationError(ErrorCode.MessageHeader, HeaderSubcode.BadMessageType, Uint8Array.of(type), `unknown message type ${type}`);
  }
  // KEEPALIVE is exactly 19 bytes; OPEN is never extended (RFC 8654 §3).
  const max = type === MessageType.Keepalive ? HEADER_LENGTH : type === MessageType.Open ? MAX_MESSAGE_LENGTH : maxLength;
  if (length < min || length > max) throw badLength(min, max);
  return { length, type: type as MessageType };
}

/** A whole KEEPALIVE message. */
export function encodeKeepalive(): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(out, 0, HEADER_LENGTH, MessageType.Keepalive);
  return out;
}
