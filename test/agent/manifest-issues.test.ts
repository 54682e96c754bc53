import { describe, expect, it } from "vitest";
import { ManifestIssues } from "../../src/agent/manifest-issues.ts";
import { createLogger } from "../../src/log.ts";

describe("ManifestIssues", () => {
  const lines: string[] = [];
  const issues = new ManifestIssues(createLogger({ write: (l) => lines.push(l), now: () => new Date(0) }));
  const invalid = {
    type: "invalid" as const,
    kind: "CiliumBGPPeerConfig",
    key: "rack1",
    origin: { file: "peers.yaml", line: 3 },
    errors: ['Cannot load CiliumBGPPeerConfig "rack1" (peers.yaml:12): spec.families[0].afi must be one of "ipv4", "ipv6": current value is "ip4"'],
  };

  it("logs an invalid document once with file, line and the located message, and lists it", () => {
    issues.apply([{ type: "file", file: "peers.yaml", removed: false }, invalid]);
    issues.apply([invalid]); // the same problem again (another file changed): not logged twice
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('msg="Ignoring invalid manifest document"');
    expect(lines[0]).toContain("file=peers.yaml line=3 kind=CiliumBGPPeerConfig name=rack1");
    expect(lines[0]).toContain("(peers.yaml:12): spec.families[0].afi");
    expect(issues.list()).toEqual([{ level: "error", file: "peers.yaml", line: 3, kind: "CiliumBGPPeerConfig", key: "rack1", message: invalid.errors[0] }]);
    expect(issues.errorCount).toBe(1);
  });

  it("drops a file's problems when the file is read again without them, or removed", () => {
    issues.apply([{ type: "warning", origin: { file: "b.yaml", line: 1 }, message: "w" }]);
    issues.apply([{ type: "file", file: "peers.yaml", removed: false }]);
    expect(issues.list().map((i) => i.file)).toEqual(["b.yaml"]);
    issues.apply([{ type: "file", file: "b.yaml", removed: true }]);
    expect(issues.list()).toEqual([]);
  });

  it("does not list kinds herald ignores (MetalLB…) as problems", () => {
    issues.apply([{ type: "ignored", origin: { file: "metallb.yaml", line: 1 }, message: "metallb.io/v1beta1 IPAddressPool is not a kind herald reads: ignored" }]);
    expect(issues.list()).toEqual([]);
  });
});
