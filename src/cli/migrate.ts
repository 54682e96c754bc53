/**
 * `herald migrate`: from MetalLB or Cilium's legacy v1 API to Cilium's
 * resources, and the last check before the old speaker goes.
 *
 * ```sh
 * herald migrate metallb PATH… [--split] [--kubectl] [--mode frr|native] [-o DIR]
 * herald migrate bgp-v2 PATH… [--staging] [--staging-label KEY] [-o DIR]
 * herald migrate check [--api HOST:PORT] [--strict] [-o json] [-v]
 * ```
 *
 * The converted manifests go to stdout (or DIR); everything that could not be
 * carried over, or was carried over differently, is listed at the top of the
 * YAML as comments and on stderr. Exit 0 when every input document was read,
 * 1 when some were not (the others are still converted) or the check found
 * something missing, 2 on usage errors.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hostPortFlag, parseFlags, UsageError } from "./args.ts";
import { readManifestFiles } from "./validate.ts";
import { migrateBgpV2 } from "../migrate/bgp-v2.ts";
import { formatReport, runCheck } from "../migrate/check.ts";
import { renderYaml, type OutputDocument } from "../migrate/emit.ts";
import { migrateMetalLB } from "../migrate/metallb.ts";
import { type Finding, formatFinding, sortFindings } from "../migrate/report.ts";
import { STAGING_LABEL } from "../migrate/names.ts";

const USAGE = `Usage:
  herald migrate metallb PATH... [--split] [--kubectl] [--mode frr|native] [--cilium-api v2|v2alpha1]
                                 [--ignore-exclude-lb] [--bgp-secrets-namespace NS] [-o DIR]
  herald migrate bgp-v2 PATH...  [--staging] [--staging-label KEY] [--cilium-api v2|v2alpha1] [-o DIR]
  herald migrate check           [--api HOST:PORT] [--strict] [-o json] [-v]`;

function apiVersion(value: string | undefined): "cilium.io/v2" | "cilium.io/v2alpha1" {
  if (value === undefined || value === "v2") return "cilium.io/v2";
  if (value === "v2alpha1") return "cilium.io/v2alpha1";
  throw new UsageError(`--cilium-api must be "v2" or "v2alpha1": current value is "${value}"`);
}

function reportFindings(findings: readonly Finding[]): void {
  for (const f of sortFindings(findings)) console.error(`herald migrate: ${formatFinding(f)}`);
}

/** Writes groups of documents to DIR, one file per group. */
async function writeDir(dir: string, files: Array<{ name: string; docs: readonly OutputDocument[]; header: readonly string[]; trailer?: readonly string[]; text?: string }>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const f of files) {
    const text = f.text ?? renderYaml(f.docs, f.header, f.trailer ?? []);
    await writeFile(join(dir, f.name), text);
    console.log(`wrote ${join(dir, f.name)}${f.text === undefined ? ` (${f.docs.length} document${f.docs.length === 1 ? "" : "s"})` : ""}`);
  }
}

async function metallbCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    split: { type: "boolean" },
    kubectl: { type: "boolean" },
    mode: { type: "string" },
    "cilium-api": { type: "string" },
    "ignore-exclude-lb": { type: "boolean" },
    "bgp-secrets-namespace": { type: "string" },
    output: { type: "string", short: "o" },
  });
  if (positionals.length === 0) throw new UsageError(`expected at least one file or directory\n${USAGE}`);
  const mode = values.mode ?? "frr";
  if (mode !== "frr" && mode !== "native") throw new UsageError(`--mode must be "frr" or "native": current value is "${mode}"`);
  const r = migrateMetalLB(await readManifestFiles(positionals), {
    split: values.split ?? false,
    kubectl: values.kubectl ?? false,
    mode,
    apiVersion: apiVersion(values["cilium-api"]),
    ignoreExcludeLB: values["ignore-exclude-lb"] ?? false,
    secretsNamespace: values["bgp-secrets-namespace"] ?? "kube-system",
  });
  reportFindings(r.findings);
  const trailer = r.kubectl.length ? ["kubectl commands that rewrite the Services' annotations (run them after applying the pools):", ...r.kubectl] : [];
  if (values.output !== undefined) {
    const group = (g: OutputDocument["group"]) => r.documents.filter((d) => d.group === g);
    const files: Parameters<typeof writeDir>[1] = [{ name: "cilium.yaml", docs: group("cilium"), header: r.header }];
    if (values.split) files.push({ name: "metallb-split.yaml", docs: group("metallb"), header: ["MetalLB's side while both run: apply to MetalLB (herald migrate metallb --split)"] });
    if (values.kubectl) files.push({ name: "services.sh", docs: [], header: [], text: `#!/bin/sh\n# herald migrate metallb --kubectl: rewrite the Services' MetalLB annotations for Cilium LB-IPAM\nset -e\n${r.kubectl.join("\n")}\n` });
    else if (group("services").length) files.push({ name: "services.yaml", docs: group("services"), header: ["Services with MetalLB annotations rewritten for Cilium LB-IPAM (herald migrate metallb)"] });
    await writeDir(values.output, files);
  } else {
    process.stdout.write(renderYaml(r.documents, r.header, trailer));
  }
  return r.findings.some((f) => f.level === "error") ? 1 : 0;
}

async function bgpV2Command(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    staging: { type: "boolean" },
    "staging-label": { type: "string" },
    "cilium-api": { type: "string" },
    output: { type: "string", short: "o" },
  });
  if (positionals.length === 0) throw new UsageError(`expected at least one file or directory\n${USAGE}`);
  const label = values["staging-label"] ?? STAGING_LABEL;
  if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(label)) {
    throw new UsageError(`--staging-label must be a label key such as "${STAGING_LABEL}": current value is "${label}"`);
  }
  const r = migrateBgpV2(await readManifestFiles(positionals), {
    staging: values.staging ?? false,
    stagingLabel: label,
    apiVersion: apiVersion(values["cilium-api"]),
  });
  reportFindings(r.findings);
  if (values.output !== undefined) await writeDir(values.output, [{ name: "cilium.yaml", docs: r.documents, header: r.header }]);
  else process.stdout.write(renderYaml(r.documents, r.header));
  return r.findings.some((f) => f.level === "error") ? 1 : 0;
}

async function checkCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    api: { type: "string", default: "127.0.0.1:9234" },
    output: { type: "string", short: "o" },
    verbose: { type: "boolean", short: "v" },
    strict: { type: "boolean" },
  }, false);
  void positionals;
  if (values.output !== undefined && values.output !== "json") throw new UsageError(`-o must be "json": current value is "${values.output}"`);
  const { host, port } = hostPortFlag("api", values.api as string);
  const report = await runCheck({ baseUrl: `http://${host.includes(":") ? `[${host}]` : host}:${port}`, strict: values.strict ?? false });
  if (values.output === "json") console.log(JSON.stringify(report, null, 2));
  else for (const line of formatReport(report, values.verbose ?? false)) console.log(line);
  return report.ok ? 0 : 1;
}

export async function migrateCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "metallb":
      return await metallbCommand(rest);
    case "bgp-v2":
      return await bgpV2Command(rest);
    case "check":
      return await checkCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown subcommand "${sub}"\n${USAGE}`);
  }
}
