/**
 * Where the kernel refuses BPF, the agent gets one clear reason and goes on
 * without the datapath: the agent's open path run without capabilities
 * (setpriv: root's capabilities dropped and not regained on exec, so the
 * checkout stays readable wherever it is), under the test's own runtime.
 */
import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { scriptArgv } from "../interop/harness/runtime.ts";
import { pinDirFor } from "./_fixtures.ts";

const fixture = fileURLToPath(new URL("./fixtures/open-datapath.ts", import.meta.url));

function runUnprivileged(pinDir: string): Promise<{ ok: boolean; reason?: string }> {
  const argv = ["--securebits=+noroot,+noroot_locked", "--bounding-set=-all", "--inh-caps=-all", "--", ...scriptArgv(fixture, [pinDir])];
  return new Promise((resolve, reject) => {
    execFile("setpriv", argv, { encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split("\n").pop()!));
    });
  });
}

describe("openDatapath() without privileges", () => {
  it("returns one reason naming the refusal and what herald needs", async () => {
    const pinDir = pinDirFor("unpriv");
    try {
      const r = await runUnprivileged(pinDir);
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/^Cannot .*: (EPERM|EACCES) \(.*\): herald needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN \(for bpffs\), to run the datapath$/);
    } finally {
      rmSync(pinDir, { recursive: true, force: true });
    }
  }, 60_000);
});
