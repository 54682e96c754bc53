/**
 * NOTIFICATION codes and subcodes, their names, and the two ways a bad
 * message ends: `NotificationError` (the session must reset, RFC 4271 §6)
 * and the RFC 7606 outcomes (attribute discard, treat-as-withdraw) that keep
 * the session up.
 *
 * One name table serves logs, the API and the CLI, so an operator sees the
 * same words everywhere ("OPEN Message Error / Bad Peer AS").
 */

/** RFC 4271 §4.5, RFC 6608 (FSM subcodes), RFC 7313 (ROUTE-REFRESH). */
export const ErrorCode = {
  MessageHeader: 1,
  Open: 2,
  Update: 3,
  HoldTimerExpired: 4,
  Fsm: 5,
  Cease: 6,
  RouteRefresh: 7,
} as const;

/** RFC 4271 §6.1. */
export const HeaderSubcode = {
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;

/** RFC 4271 §6.2, RFC 5492 (Unsupported Capability), RFC 9234 (Role Mismatch). */
export const OpenSubcode = {
  UnsupportedVersion: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;

/** RFC 4271 §6.3. */
export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOrigin: 6,
  InvalidNextHop: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/** RFC 6608. */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedInOpenSent: 1,
  UnexpectedInOpenConfirm: 2,
  UnexpectedInEstablished: 3,
} as const;

/** RFC 4486, RFC 8538 (Hard Reset). */
export const CeaseSubcode = {
  MaxPrefixes: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
  BfdDown: 10,
} as const;

const NAMES: Record<number, [string, Record<number, string>]> = {
  1: ["Message Header Error", {
    1: "Connection Not Synchronized",
    2: "Bad Message Length",
    3: "Bad Message Type",
  }],
  2: ["OPEN Message Error", {
    1: "Unsupported Version Number",
    2: "Bad Peer AS",
    3: "Bad BGP Identifier",
    4: "Unsupported Optional Parameter",
    5: "Authentication Failure (deprecated)",
    6: "Unacceptable Hold Time",
    7: "Unsupported Capability",
    11: "Role Mismatch",
  }],
  3: ["UPDATE Message Error", {
    1: "Malformed Attribute List",
    2: "Unrecognized Well-known Attribute",
    3: "Missing Well-known Attribute",
    4: "Attribute Flags Error",
    5: "Attribute Length Error",
    6: "Invalid ORIGIN Attribute",
    7: "AS Routing Loop (deprecated)",
    8: "Invalid NEXT_HOP Attribute",
    9: "Optional Attribute Error",
    10: "Invalid Network Field",
    11: "Malformed AS_PATH",
  }],
  4: ["Hold Timer Expired", {}],
  5: ["Finite State Machine Error", {
    0: "Unspecified Error",
    1: "Receive Unexpected Message in OpenSent State",
    2: "Receive Unexpected Message in OpenConfirm State",
    3: "Receive Unexpected Message in Established State",
  }],
  6: ["Cease", {
    1: "Maximum Number of Prefixes Reached",
    2: "Administrative Shutdown",
    3: "Peer De-configured",
    4: "Administrative Reset",
    5: "Connection Rejected",
    6: "Other Configuration Change",
    7: "Connection Collision Resolution",
    8: "Out of Resources",
    9: "Hard Reset",
    10: "BFD Down",
  }],
  7: ["ROUTE-REFRESH Message Error", { 1: "Invalid Message Length" }],
};

export function errorCodeName(code: number): string {
  return NAMES[code]?.[0] ?? `Unknown Error Code ${code}`;
}

/**
 * The subcode's name; "" for codes that have none (Hold Timer Expired).
 * Subcode 0 is "Unspecific" (RFC 4271 §4.5) unless the code names it.
 */
export function errorSubcodeName(code: number, subcode: number): string {
  const entry = NAMES[code];
  const named = entry?.[1][subcode];
  if (named) return named;
  if (subcode === 0) return code === ErrorCode.HoldTimerExpired ? "" : "Unspecific";
  return `Unknown Subcode ${subcode}`;
}

/** "OPEN Message Error / Bad Peer AS", or just the code name when there is no subcode. */
export function describeNotification(code: number, subcode: number): string {
  const sub = errorSubcodeName(code, subcode);
  return sub ? `${errorCodeName(code)} / ${sub}` : errorCodeName(code);
}

/**
 * The session must reset: send a NOTIFICATION with this code, subcode and
 * data, then close. Thrown by decoders only for errors that RFC 7606 leaves
 * at "session reset"; everything milder is recorded in the parse context.
 */
export class NotificationError extends Error {
  override name = "NotificationError";
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;

  constructor(code: number, subcode: number, data: Uint8Array = new Uint8Array(0), detail?: string) {
    const what = describeNotification(code, subcode);
    super(detail ? `${what}: ${detail}` : what);
    this.code = code;
    this.subcode = subcode;
    this.data = data;
  }
}

/**
 * RFC 7606 §2 outcomes, weakest first. "session-reset" is not recorded: it
 * is thrown as a NotificationError. AFI/SAFI disable is not implemented
 * (RFC 7606 allows session reset in its place).
 */
export type ErrorAction = "none" | "attribute-discard" | "treat-as-withdraw";

const RANK: Record<ErrorAction, number> = { "none": 0, "attribute-discard": 1, "treat-as-withdraw": 2 };

/** The stronger of two outcomes (RFC 7606 §3: the most severe one wins). */
export function strongest(a: ErrorAction, b: ErrorAction): ErrorAction {
  return RANK[a] >= RANK[b] ? a : b;
}

/** One recorded problem inside an UPDATE that did not reset the session. */
export interface UpdateIssue {
  action: Exclude<ErrorAction, "none">;
  /** The UPDATE error subcode that RFC 4271 would have sent (for logs). */
  subcode: number;
  /** Attribute type code, when the problem is in one attribute. */
  attribute?: number;
  reason: string;
}
