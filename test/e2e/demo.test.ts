/**
 * scripts/demo, the README's first command: collector and agent on
 * examples/demo, without root; it must reach Established and show Cilium's
 * tables, then stop everything it started.
 */
import { describe, expect, it } from "vitest";
import { freePort, run } from "../interop/harness/mod.ts";

describe("scripts/demo", () => {
  it("shows an Established session and the advertised routes as cilium's tables, then stops cleanly", async () => {
    const api = `127.0.0.1:${await freePort()}`;
    const r = await run("bash", ["scripts/demo"], { env: { HERALD_DEMO_API: api, HERALD_DEMO_EXIT_AFTER: "0" }, timeoutMs: 60_000, allowFailure: true });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^demo {3}65001 {6}65000 {5}127\.0\.0\.1 {6}established {5}\d+s +ipv4\/unicast {3}0 {10}3 {4}$/m);
    expect(r.stdout).toMatch(/^demo {3}65001 {5}127\.0\.0\.1 {3}10\.244\.0\.0\/24 +127\.0\.0\.1 +\d+s +\[\{Origin: i\} \{AsPath: 65001\} \{Nexthop: 127\.0\.0\.1\} \{Communities: 65001:100\}\] +$/m);
    expect(r.stdout).toContain("collector | ");
    expect(r.stdout).toContain("announce  198.51.100.10/32");
    // Nothing left listening: a new collector can take the port at once.
    const again = await run("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/1790`], { allowFailure: true });
    expect(again.code).not.toBe(0);
  }, 90_000);
});
