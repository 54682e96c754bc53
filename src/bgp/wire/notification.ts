/**
 * NOTIFICATION (RFC 4271 §4.5) and ROUTE-REFRESH (RFC 2918 §3, RFC 7313 §3).
 *
 * A NOTIFICATION for Cease / Administrative Shutdown or Reset may carry a
 * shutdown communication (RFC 9003: a length byte and UTF-8 text); it is
 * decoded for logs when present and well formed.
 */
import { type FamilyCode, familyAfi, familyCode, familySafi } from "../families.ts";
import { CeaseSubcode, describeNotification, ErrorCode, NotificationError } from "./errors.ts";
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType, writeHeader } from "./header.ts";

export interface NotificationMessage {
  code: number;
  subcode: number;
  data: Uint8Array;
  /** RFC 9003 shutdown communication, when the data holds one. */
  communication?: string;
}

/**
 * A whole NOTIFICATION. Data that would not fit 4096 bytes is cut: the
 * length field cannot hold more than 65535 (data echoing a whole extended
 * message would), and 4096 is what any peer accepts (RFC 4271 §4.1, RFC 8654 §3).
 */
export function encodeNotification(code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (data.length > MAX_MESSAGE_LENGTH - HEADER_LENGTH - 2) data = data.subarray(0, MAX_MESSAGE_LENGTH - HEADER_LENGTH - 2);
  const len = HEADER_LENGTH + 2 + data.length;
  const out = new Uint8Array(len);
  writeHeader(out, 0, len, MessageType.Notification);
  out[HEADER_LENGTH] = code;
  out[HEADER_LENGTH + 1] = subcode;
  out.set(data, HEADER_LENGTH + 2);
  return out;
}

/** The data field of a Cease with a shutdown communication (RFC 9003 §2, at most 255 bytes). */
export function shutdownCommunication(text: string): Uint8Array {
  let bytes = new TextEncoder().encode(text);
  if (bytes.length > 255) bytes = bytes.subarray(0, 255);
  const out = new Uint8Array(1 + bytes.length);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

export function decodeNotification(buf: Uint8Array, off: number, end: number): NotificationMessage {
  const code = buf[off];
  const subcode = buf[off + 1];
  const data = buf.slice(off + 2, end);
  const msg: NotificationMessage = { code, subcode, data };
  if (code === ErrorCode.Cease && (subcode === CeaseSubcode.AdministrativeShutdown || subcode === CeaseSubcode.AdministrativeReset)) {
    if (data.length >= 1 && data[0] === data.length - 1 && data[0] > 0) {
      try {
        msg.communication = new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(1));
      } catch {
        // not UTF-8: RFC 9003 §4 says log it as a malformed communication; we just omit it
      }
    }
  }
  return msg;
}

/** "Cease / Peer De-configured" plus the shutdown communication if any. */
export function notificationText(n: { code: number; subcode: number; communication?: string }): string {
  const base = describeNotification(n.code, n.subcode);
  return n.communication ? `${base} (${JSON.stringify(n.communication)})` : base;
}

/** RFC 7313 message subtypes. */
export const RefreshSubtype = { Normal: 0, BeginningOfRefresh: 1, EndOfRefresh: 2 } as const;

export interface RouteRefreshMessage {
  family: FamilyCode;
  subtype: number;
}

export function encodeRouteRefresh(family: FamilyCode, subtype = 0): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + 4);
  writeHeader(out, 0, out.length, MessageType.RouteRefresh);
  const afi = familyAfi(family);
  out.set([afi >>> 8, afi & 0xff, subtype, familySafi(family)], HEADER_LENGTH);
  return out;
}

/**
 * Decodes a ROUTE-REFRESH body. RFC 7313 §5: any length other than 23 is
 * ROUTE-REFRESH Message Error / Invalid Message Length, with the message as data.
 */
export function decodeRouteRefresh(buf: Uint8Array, off: number, end: number): RouteRefreshMessage {
  if (end - off !== 4) {
    throw new NotificationError(ErrorCode.RouteRefresh, 1, buf.slice(off - HEADER_LENGTH, end), `length ${end - off + HEADER_LENGTH}, expected 23`);
  }
  return { family: familyCode((buf[off] << 8) | buf[off + 1], buf[off + 3]), subtype: buf[off + 2] };
}
