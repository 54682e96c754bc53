/**
 * The BGP finite state machine of RFC 4271 §8 as a pure function:
 * `transition(state, event)` returns the next state and the actions the
 * session must perform (send, connect, close, start/stop timers). No
 * sockets, no clocks: the Session runs the actions.
 *
 * Simplifications, all allowed by §8: no DelayOpen, no damping of peer
 * oscillations, no automatic stop; collision detection (§6.8) is done by the
 * session, which owns both connections, and feeds the loser a
 * "collision-dump" event. After an error the session waits the idle hold
 * time (5 s, spec D7) before the automatic restart ("idle-hold-expired").
 *
 * Every way of leaving a session has a named reason, so "why did the peer
 * drop" always has an answer.
 */
import { CeaseSubcode, ErrorCode, FsmSubcode } from "./wire/errors.ts";

export type State = "idle" | "connect" | "active" | "opensent" | "openconfirm" | "established";

export const STATES: readonly State[] = ["idle", "connect", "active", "opensent", "openconfirm", "established"];

/** Why a session went (back) to Idle. */
export type Reason =
  | "admin-stop"
  | "hold-timer-expired"
  | "notification-received"
  | "header-error"
  | "open-error"
  | "update-error"
  | "route-refresh-error"
  | "fsm-error"
  | "connection-closed"
  | "connection-failed"
  | "collision"
  | "peer-restarted";

/** The words operators grep for (GoBGP, BIRD and FRR use the same phrases). */
export const REASON_TEXT: Readonly<Record<Reason, string>> = {
  "admin-stop": "administratively stopped",
  "hold-timer-expired": "hold timer expired",
  "notification-received": "notification received",
  "header-error": "message header error",
  "open-error": "open message error",
  "update-error": "update message error",
  "route-refresh-error": "route-refresh message error",
  "fsm-error": "finite state machine error",
  "connection-closed": "connection closed by peer",
  "connection-failed": "connection failed",
  "collision": "connection collision resolution",
  "peer-restarted": "peer restarted (new connection while established)",
};

export type Timer = "connect-retry" | "hold" | "keepalive" | "idle-hold";

export interface NotificationSpec {
  code: number;
  subcode: number;
  data?: Uint8Array;
}

export type Event =
  /** ManualStart (passive or not, from the state's `passive`). */
  | { type: "start" }
  /** ManualStop: Cease with `subcode` (default Administrative Shutdown), or no NOTIFICATION when `silent`. */
  | { type: "stop"; subcode?: number; data?: Uint8Array; silent?: boolean }
  | { type: "connect-retry-expired" }
  | { type: "idle-hold-expired" }
  | { type: "hold-expired" }
  | { type: "keepalive-expired" }
  /** A TCP connection is up (outgoing connected or incoming accepted). */
  | { type: "tcp-connected" }
  /** The outgoing connect failed or the connection closed. */
  | { type: "tcp-failed"; closed: boolean }
  /** A valid OPEN (the session already checked AS, identifier, collisions). */
  | { type: "open-received" }
  | { type: "keepalive-received" }
  | { type: "update-received" }
  | { type: "route-refresh-received" }
  | { type: "update-sent" }
  | { type: "notification-received"; code: number; subcode: number }
  /** A malformed message: send this NOTIFICATION and go Idle. */
  | { type: "message-error"; notification: NotificationSpec; reason: Reason }
  | { type: "collision-dump" };

export type Action =
  | { type: "connect" }
  | { type: "send-open" }
  | { type: "send-keepalive" }
  | { type: "send-notification"; notification: NotificationSpec }
  /** Close the TCP connection (after anything queued, e.g. a NOTIFICATION). */
  | { type: "drop-connection" }
  /** `hold` starts at 240 s in OpenSent (RFC 4271 §8.2.2 "large value"), the negotiated time afterwards. */
  | { type: "start-timer"; timer: Timer; value?: "open" }
  | { type: "stop-timer"; timer: Timer }
  /** Session is up: activate the Adj-RIB-Out. */
  | { type: "established" }
  /** Leaving Established. */
  | { type: "session-down"; reason: Reason };

export interface FsmState {
  state: State;
  /** Never initiate connections (passive peer). */
  passive: boolean;
}

export interface Transition {
  state: State;
  actions: Action[];
  /** Set when the transition ends in Idle: why. */
  reason?: Reason;
}

const STOP_ALL: Action[] = [
  { type: "stop-timer", timer: "connect-retry" },
  { type: "stop-timer", timer: "hold" },
  { type: "stop-timer", timer: "keepalive" },
];

/** Go Idle: optional NOTIFICATION, close, stop timers, and (after errors) the idle hold timer. */
function toIdle(from: State, reason: Reason, notification?: NotificationSpec): Transition {
  const actions: Action[] = [];
  if (notification) actions.push({ type: "send-notification", notification });
  actions.push({ type: "drop-connection" }, ...STOP_ALL);
  if (from === "established") actions.push({ type: "session-down", reason });
  // An administrative stop stays down; everything else restarts after the idle hold time (D7).
  if (reason !== "admin-stop") actions.push({ type: "start-timer", timer: "idle-hold" });
  return { state: "idle", actions, reason };
}

const fsmError = (s: State): NotificationSpec => ({
  code: ErrorCode.Fsm,
  subcode: s === "opensent" ? FsmSubcode.UnexpectedInOpenSent : s === "openconfirm" ? FsmSubcode.UnexpectedInOpenConfirm : s === "established" ? FsmSubcode.UnexpectedInEstablished : FsmSubcode.Unspecified,
});

function stop(s: State, e: Extract<Event, { type: "stop" }>): Transition {
  // Before OpenSent there is no BGP connection to notify (RFC 4271 §8.2.2, Connect/Active ManualStop).
  const hasOpen = s === "opensent" || s === "openconfirm" || s === "established";
  const n = hasOpen && !e.silent ? { code: ErrorCode.Cease, subcode: e.subcode ?? CeaseSubcode.AdministrativeShutdown, data: e.data } : undefined;
  return toIdle(s, "admin-stop", n);
}

function connected(): Transition {
  return {
    state: "opensent",
    actions: [{ type: "stop-timer", timer: "connect-retry" }, { type: "send-open" }, { type: "start-timer", timer: "hold", value: "open" }],
  };
}

/** One handler per state (GoBGP's shape); each returns the next state and actions. */
const HANDLERS: Record<State, (fsm: FsmState, e: Event) => Transition> = {
  idle(fsm, e) {
    switch (e.type) {
      case "start":
      case "idle-hold-expired":
        return {
          state: fsm.passive ? "active" : "connect",
          actions: [{ type: "stop-timer", timer: "idle-hold" }, { type: "start-timer", timer: "connect-retry" }, ...(fsm.passive ? [] : [{ type: "connect" } as Action])],
        };
      case "tcp-connected":
        // RFC 4271 §8.2.2 Idle: incoming connections are refused.
        return { state: "idle", actions: [{ type: "drop-connection" }] };
      case "stop":
        return { state: "idle", actions: [{ type: "stop-timer", timer: "idle-hold" }], reason: "admin-stop" };
      default:
        return { state: "idle", actions: [] };
    }
  },

  connect: connectOrActive,
  active: connectOrActive,

  opensent(_fsm, e) {
    const s: State = "opensent";
    switch (e.type) {
      case "stop":
        return stop(s, e);
      case "hold-expired":
        return toIdle(s, "hold-timer-expired", { code: ErrorCode.HoldTimerExpired, subcode: 0 });
      case "tcp-failed":
        // RFC 4271 §8.2.2 OpenSent: close, restart ConnectRetryTimer, continue to listen.
        return { state: "active", actions: [{ type: "drop-connection" }, { type: "stop-timer", timer: "hold" }, { type: "start-timer", timer: "connect-retry" }] };
      case "open-received":
        return {
          state: "openconfirm",
          actions: [{ type: "stop-timer", timer: "connect-retry" }, { type: "send-keepalive" }, { type: "start-timer", timer: "keepalive" }, { type: "start-timer", timer: "hold" }],
        };
      case "message-error":
        return toIdle(s, e.reason, e.notification);
      case "notification-received":
        return toIdle(s, "notification-received");
      case "collision-dump":
        return toIdle(s, "collision", { code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution });
      case "keepalive-received":
      case "update-received":
      case "route-refresh-received":
        return toIdle(s, "fsm-error", fsmError(s));
      default:
        return { state: s, actions: [] };
    }
  },

  openconfirm(_fsm, e) {
    const s: State = "openconfirm";
    switch (e.type) {
      case "stop":
        return stop(s, e);
      case "hold-expired":
        return toIdle(s, "hold-timer-expired", { code: ErrorCode.HoldTimerExpired, subcode: 0 });
      case "keepalive-expired":
        return { state: s, actions: [{ type: "send-keepalive" }, { type: "start-timer", timer: "keepalive" }] };
      case "tcp-failed":
        return toIdle(s, "connection-closed");
      case "notification-received":
        return toIdle(s, "notification-received");
      case "keepalive-received":
        return { state: "established", actions: [{ type: "start-timer", timer: "hold" }, { type: "established" }] };
      case "collision-dump":
        return toIdle(s, "collision", { code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution });
      case "message-error":
        return toIdle(s, e.reason, e.notification);
      case "open-received":
      case "update-received":
      case "route-refresh-received":
        return toIdle(s, "fsm-error", fsmError(s));
      default:
        return { state: s, actions: [] };
    }
  },

  established(_fsm, e) {
    const s: State = "established";
    switch (e.type) {
      case "stop":
        return stop(s, e);
      case "hold-expired":
        return toIdle(s, "hold-timer-expired", { code: ErrorCode.HoldTimerExpired, subcode: 0 });
      case "keepalive-expired":
        return { state: s, actions: [{ type: "send-keepalive" }, { type: "start-timer", timer: "keepalive" }] };
      case "keepalive-received":
      case "update-received":
      case "route-refresh-received":
        return { state: s, actions: [{ type: "start-timer", timer: "hold" }] };
      case "update-sent":
        // RFC 4271 §8.2.2: sending an UPDATE restarts the KeepaliveTimer.
        return { state: s, actions: [{ type: "start-timer", timer: "keepalive" }] };
      case "tcp-failed":
        return toIdle(s, "connection-closed");
      case "notification-received":
        return toIdle(s, "notification-received");
      case "message-error":
        return toIdle(s, e.reason, e.notification);
      case "collision-dump":
        return toIdle(s, "collision", { code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution });
      case "open-received":
        return toIdle(s, "fsm-error", fsmError(s));
      default:
        return { state: s, actions: [] };
    }
  },
};

function connectOrActive(fsm: FsmState, e: Event): Transition {
  const s = fsm.state;
  switch (e.type) {
    case "stop":
      return stop(s, e);
    case "connect-retry-expired":
      // Connect: drop the attempt and try again. Active: try now, unless passive.
      if (fsm.passive) return { state: "active", actions: [{ type: "start-timer", timer: "connect-retry" }] };
      return { state: "connect", actions: [{ type: "drop-connection" }, { type: "start-timer", timer: "connect-retry" }, { type: "connect" }] };
    case "tcp-connected":
      return connected();
    case "tcp-failed":
      // Keep listening; the connect-retry timer brings the next attempt.
      return { state: "active", actions: [{ type: "drop-connection" }] };
    case "start":
    case "idle-hold-expired":
      return { state: s, actions: [] };
    default:
      return toIdle(s, "fsm-error");
  }
}

/** RFC 4271 §8: the next state and the actions for `e` in `fsm.state`. Pure. */
export function transition(fsm: FsmState, e: Event): Transition {
  return HANDLERS[fsm.state](fsm, e);
}
