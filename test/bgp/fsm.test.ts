import { describe, expect, it } from "vitest";
import { type Action, type Event, type State, STATES, transition } from "../../src/bgp/fsm.ts";

const short = (a: Action): string => {
  switch (a.type) {
    case "start-timer":
      return `start:${a.timer}${a.value ? `(${a.value})` : ""}`;
    case "stop-timer":
      return `stop:${a.timer}`;
    case "send-notification":
      return `notify:${a.notification.code}/${a.notification.subcode}`;
    case "session-down":
      return `down:${a.reason}`;
    default:
      return a.type;
  }
};

const run = (state: State, e: Event, passive = false) => {
  const t = transition({ state, passive }, e);
  return { state: t.state, actions: t.actions.map(short), reason: t.reason };
};

describe("transition() (RFC 4271 §8.2.2)", () => {
  it.each<[State, Event, boolean, State, string[]]>([
    ["idle", { type: "start" }, false, "connect", ["stop:idle-hold", "start:connect-retry", "connect"]],
    ["idle", { type: "start" }, true, "active", ["stop:idle-hold", "start:connect-retry"]],
    ["idle", { type: "idle-hold-expired" }, false, "connect", ["stop:idle-hold", "start:connect-retry", "connect"]],
    ["idle", { type: "tcp-connected" }, false, "idle", ["drop-connection"]],
    ["idle", { type: "hold-expired" }, false, "idle", []],
    ["connect", { type: "tcp-connected" }, false, "opensent", ["stop:connect-retry", "send-open", "start:hold(open)"]],
    ["connect", { type: "connect-retry-expired" }, false, "connect", ["drop-connection", "start:connect-retry", "connect"]],
    ["connect", { type: "tcp-failed", closed: false }, false, "active", ["drop-connection"]],
    ["active", { type: "connect-retry-expired" }, false, "connect", ["drop-connection", "start:connect-retry", "connect"]],
    ["active", { type: "connect-retry-expired" }, true, "active", ["start:connect-retry"]],
    ["active", { type: "tcp-connected" }, true, "opensent", ["stop:connect-retry", "send-open", "start:hold(open)"]],
    ["opensent", { type: "open-received" }, false, "openconfirm", ["stop:connect-retry", "send-keepalive", "start:keepalive", "start:hold"]],
    ["opensent", { type: "tcp-failed", closed: true }, false, "active", ["drop-connection", "stop:hold", "start:connect-retry"]],
    ["opensent", { type: "update-received" }, false, "idle", ["notify:5/1", "drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "start:idle-hold"]],
    ["openconfirm", { type: "keepalive-received" }, false, "established", ["start:hold", "established"]],
    ["openconfirm", { type: "keepalive-expired" }, false, "openconfirm", ["send-keepalive", "start:keepalive"]],
    ["openconfirm", { type: "update-received" }, false, "idle", ["notify:5/2", "drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "start:idle-hold"]],
    ["established", { type: "keepalive-received" }, false, "established", ["start:hold"]],
    ["established", { type: "update-received" }, false, "established", ["start:hold"]],
    ["established", { type: "update-sent" }, false, "established", ["start:keepalive"]],
    ["established", { type: "keepalive-expired" }, false, "established", ["send-keepalive", "start:keepalive"]],
    ["established", { type: "open-received" }, false, "idle", ["notify:5/3", "drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "down:fsm-error", "start:idle-hold"]],
    ["established", { type: "hold-expired" }, false, "idle", ["notify:4/0", "drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "down:hold-timer-expired", "start:idle-hold"]],
    ["established", { type: "tcp-failed", closed: true }, false, "idle", ["drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "down:connection-closed", "start:idle-hold"]],
    ["established", { type: "notification-received", code: 6, subcode: 2 }, false, "idle", ["drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "down:notification-received", "start:idle-hold"]],
    ["established", { type: "stop" }, false, "idle", ["notify:6/2", "drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "down:admin-stop"]],
    ["established", { type: "stop", silent: true }, false, "idle", ["drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "down:admin-stop"]],
    ["established", { type: "stop", subcode: 9, data: Uint8Array.of(6, 3) }, false, "idle", ["notify:6/9", "drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "down:admin-stop"]],
    ["openconfirm", { type: "collision-dump" }, false, "idle", ["notify:6/7", "drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "start:idle-hold"]],
    ["opensent", { type: "message-error", notification: { code: 2, subcode: 2 }, reason: "open-error" }, false, "idle", ["notify:2/2", "drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive", "start:idle-hold"]],
    ["connect", { type: "stop" }, false, "idle", ["drop-connection", "stop:connect-retry", "stop:hold", "stop:keepalive"]],
  ])("%s + %o (passive %s) → %s", (state, e, passive, next, actions) => {
    expect(run(state, e, passive)).toMatchObject({ state: next, actions });
  });

  it("names the reason whenever it ends in Idle", () => {
    expect(run("established", { type: "hold-expired" }).reason).toBe("hold-timer-expired");
    expect(run("openconfirm", { type: "tcp-failed", closed: true }).reason).toBe("connection-closed");
    expect(run("opensent", { type: "collision-dump" }).reason).toBe("collision");
    expect(run("established", { type: "stop" }).reason).toBe("admin-stop");
  });

  it("never throws and always returns a known state, for every state and event", () => {
    const events: Event[] = [
      { type: "start" },
      { type: "stop" },
      { type: "connect-retry-expired" },
      { type: "idle-hold-expired" },
      { type: "hold-expired" },
      { type: "keepalive-expired" },
      { type: "tcp-connected" },
      { type: "tcp-failed", closed: true },
      { type: "open-received" },
      { type: "keepalive-received" },
      { type: "update-received" },
      { type: "route-refresh-received" },
      { type: "update-sent" },
      { type: "notification-received", code: 6, subcode: 2 },
      { type: "message-error", notification: { code: 3, subcode: 1 }, reason: "update-error" },
      { type: "collision-dump" },
    ];
    for (const s of STATES) {
      for (const e of events) {
        for (const passive of [false, true]) {
          const t = transition({ state: s, passive }, e);
          expect(STATES).toContain(t.state);
          // only leaving Established reports the session going down
          expect(t.actions.some((a) => a.type === "session-down")).toBe(s === "established" && t.state === "idle");
        }
      }
    }
  });
});
