/**
 * deploy/herald.service: systemd accepts it (`systemd-analyze verify`, no
 * warnings) and it says what the agent needs: its own user, exactly three
 * capabilities, a read-only system, and graceful-restart-friendly stop and
 * restart settings.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseUnit, ROOT, tempDir, verifyUnit } from "./support.ts";

const cleanup: Array<() => void> = [];
afterAll(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

const UNIT = join(ROOT, "deploy/herald.service");

describe("deploy/herald.service", () => {
  const text = readFileSync(UNIT, "utf8");
  const unit = parseUnit(text);
  const one = (key: string) => {
    const v = unit.get(key);
    expect(v, key).toHaveLength(1);
    return v![0];
  };

  it("passes systemd-analyze verify without a warning", async () => {
    const bin = join(tempDir("unit-bin", cleanup), "usr/local/bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "herald"), "#!/bin/sh\n");
    chmodSync(join(bin, "herald"), 0o755);
    const r = await verifyUnit(text, join(bin, "herald"), cleanup);
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });

  it("verify rejects a broken unit (the check is real)", async () => {
    const r = await verifyUnit(text.replace("ProtectSystem=strict", "ProtectSystem=strict\nNoSuchKey=1"), "/bin/true", cleanup);
    expect(r.output).toContain("Unknown key 'NoSuchKey'");
  });

  it("runs the agent as its own user with only CAP_NET_BIND_SERVICE, CAP_NET_ADMIN and CAP_BPF", () => {
    expect(one("Service.User")).toBe("herald");
    expect(one("Service.ExecStart")).toBe("/usr/local/bin/herald agent --config-dir /etc/herald --state-dir /var/lib/herald --bpf-pin-dir /sys/fs/bpf/herald");
    const caps = ["CAP_BPF", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE"];
    expect(one("Service.AmbientCapabilities").split(/\s+/).sort()).toEqual(caps);
    expect(one("Service.CapabilityBoundingSet").split(/\s+/).sort()).toEqual(caps);
    expect(one("Service.NoNewPrivileges")).toBe("yes");
  });

  it("sees a read-only system except its state, config and BPF pin directories", () => {
    expect(one("Service.ProtectSystem")).toBe("strict");
    expect(one("Service.ProtectHome")).toBe("yes");
    expect(one("Service.PrivateTmp")).toBe("yes");
    expect(one("Service.StateDirectory")).toBe("herald");
    expect(one("Service.ConfigurationDirectory")).toBe("herald");
    expect(one("Service.ReadWritePaths")).toBe("-/sys/fs/bpf/herald");
    // The JIT needs writable code pages: MemoryDenyWriteExecute would kill the runtime.
    expect(unit.has("Service.MemoryDenyWriteExecute")).toBe(false);
  });

  it("stops with SIGTERM and comes back within the peers' graceful-restart time", () => {
    expect(one("Service.KillSignal")).toBe("SIGTERM");
    expect(one("Service.Restart")).toBe("always");
    const seconds = (v: string) => Number(/^(\d+)s?$/.exec(v)?.[1] ?? NaN);
    const restart = seconds(one("Service.RestartSec"));
    const stop = seconds(one("Service.TimeoutStopSec"));
    // Worst case away from the peers: a full stop timeout plus the restart delay, well under 120 s.
    expect(restart).toBeLessThanOrEqual(5);
    expect(stop + restart).toBeLessThanOrEqual(30);
    // Never stop retrying: without the agent the peers drop its routes when GR runs out.
    expect(one("Unit.StartLimitIntervalSec")).toBe("0");
    expect(one("Install.WantedBy")).toBe("multi-user.target");
  });
});
