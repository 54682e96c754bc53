/** `herald migrate metallb|bgp-v2`: files and directories in, YAML out (stdout or -o DIR), findings on stderr, exit codes. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.ts";
import "../../src/cli/commands.ts";
import { loadManifests } from "../../src/control/load.ts";

const FIX = fileURLToPath(new URL("./fixtures/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "herald-migrate-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  const err: string[] = [];
  const write = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void (out += `${a.join(" ")}\n`));
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  try {
    return { code: await main(argv), out, err: err.join("\n") };
  } finally {
    write.mockRestore();
    log.mockRestore();
    error.mockRestore();
  }
}

describe("herald migrate metallb", () => {
  it("prints the converted YAML on stdout and every finding on stderr and atop the YAML", async () => {
    const r = await run(["migrate", "metallb", `${FIX}metallb/crds.yaml`, `${FIX}metallb/cluster.yaml`]);
    expect(r.code).toBe(0);
    expect(r.out.startsWith("# herald migrate metallb:")).toBe(true);
    const back = loadManifests([{ file: "stdout.yaml", text: r.out }]);
    expect(back.issues.filter((i) => i.level === "error")).toEqual([]);
    expect(back.resources.lbIPPools).toHaveLength(4);
    expect(r.err).toContain("herald migrate: gap: BGPAdvertisement metallb-system/prod-aggregate: aggregation:");
    expect(r.out).toContain("# gap: BGPAdvertisement metallb-system/prod-aggregate: aggregation:");
  });

  it("writes cilium.yaml, metallb-split.yaml and services.sh with -o DIR --split --kubectl", async () => {
    const dir = join(tmp, "metallb");
    const r = await run(["migrate", "metallb", "--split", "--kubectl", "-o", dir, `${FIX}metallb/crds.yaml`, `${FIX}metallb/cluster.yaml`]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["cilium.yaml", "metallb-split.yaml", "services.sh"]);
    expect(r.out).toContain(`wrote ${join(dir, "cilium.yaml")} (`);
    expect(readFileSync(join(dir, "metallb-split.yaml"), "utf8")).toContain("- 10.100.0.0/25");
    expect(readFileSync(join(dir, "services.sh"), "utf8")).toContain("kubectl annotate --overwrite -n ops service legacy-app metallb.io/loadBalancerIPs- lbipam.cilium.io/ips=10.102.0.5");
    const cilium = loadManifests([{ file: "cilium.yaml", text: readFileSync(join(dir, "cilium.yaml"), "utf8") }]);
    expect(cilium.resources.lbIPPools.find((p) => p.metadata.name === "production")!.spec.blocks).toEqual([{ cidr: "10.100.0.128/25" }, { cidr: "10.100.1.128/25" }]);
  });

  it("exits 1 when a document could not be read, and still converts the others", async () => {
    const file = join(tmp, "bad.yaml");
    writeFileSync(file, `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: good, namespace: metallb-system}
spec: {addresses: [10.1.0.0/24]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bad, namespace: metallb-system}
spec: {addresses: 10.2.0.0/24}
`);
    const r = await run(["migrate", "metallb", file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`herald migrate: error: Cannot read IPAddressPool metallb-system/bad (${file}:9): spec.addresses must be a list of CIDRs or ranges: current value is "10.2.0.0/24"; skipped, the other documents are converted`);
    expect(loadManifests([{ file: "o.yaml", text: r.out }]).resources.lbIPPools.map((p) => p.metadata.name)).toEqual(["good"]);
  });

  it("refuses bad flags with exit 2", async () => {
    expect((await run(["migrate", "metallb", "--mode", "gobgp", `${FIX}metallb/crds.yaml`])).code).toBe(2);
    expect((await run(["migrate", "metallb"])).code).toBe(2);
    expect((await run(["migrate", "frobnicate"])).code).toBe(2);
    expect((await run(["migrate", "bgp-v2", "--cilium-api", "v3", `${FIX}v1/policies.yaml`])).err).toContain(`--cilium-api must be "v2" or "v2alpha1": current value is "v3"`);
  });
});

describe("herald migrate bgp-v2", () => {
  it("reads a directory and prints v2 resources (v2alpha1 on request), staged behind a label", async () => {
    const r = await run(["migrate", "bgp-v2", "--staging", "--staging-label", "example.com/bgp", "--cilium-api", "v2alpha1", `${FIX}v1`]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("apiVersion: cilium.io/v2alpha1\nkind: CiliumBGPClusterConfig");
    const back = loadManifests([{ file: "o.yaml", text: r.out }]);
    expect(back.issues.filter((i) => i.level === "error")).toEqual([]);
    expect(back.resources.clusterConfigs.every((c) => c.spec.nodeSelector?.matchLabels?.["example.com/bgp"])).toBe(true);
    expect(r.err).toContain("herald migrate: note: checked on 4 nodes (node-a, node-b, node-c, node-e)");
  });
});
