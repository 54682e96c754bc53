/**
 * `scripts/apiserver-double`: runs the API server double on its own and
 * writes a kubeconfig for it, so Kubernetes mode (kubectl apply …, herald
 * agent --kubeconfig …) can be tried without a cluster.
 */
import { readFile, writeFile } from "node:fs/promises";
import process from "node:process";
import { parseAllDocuments } from "yaml";
import { hostPortFlag, intFlag, parseFlags, UsageError } from "../../../src/cli/args.ts";
import { isApiError } from "./errors.ts";
import { ApiServerDouble } from "./server.ts";
import type { KubeObject } from "./types.ts";

const USAGE = `Usage: scripts/apiserver-double [--listen HOST:PORT] [--kubeconfig FILE] [--load FILE]...

Starts a Kubernetes API server double (plain HTTP) and writes a kubeconfig for it.

  --listen HOST:PORT         address to listen on (default 127.0.0.1:6443)
  --kubeconfig FILE          where to write the kubeconfig (default ./kubeconfig.double)
  --load FILE                create the objects of a YAML manifest at start (repeatable; CRDs first)
  --history-size N           watch events kept per resource before 410 Gone (default 1000)
  --bookmark-interval-ms N   period of watch BOOKMARK events (default 60000)
`;

/** Loads manifests: CustomResourceDefinitions first, then the rest in file order. */
async function load(api: ApiServerDouble, files: string[]): Promise<number> {
  const docs: KubeObject[] = [];
  for (const file of files) {
    const text = await readFile(file, "utf8");
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) throw new UsageError(`--load ${file}: ${doc.errors[0].message}`);
      const value = doc.toJSON();
      if (value && typeof value === "object") docs.push(value);
    }
  }
  docs.sort((a, b) => Number(b.kind === "CustomResourceDefinition") - Number(a.kind === "CustomResourceDefinition"));
  for (const d of docs) {
    try {
      api.put(d);
    } catch (err) {
      const why = isApiError(err) ? err.status.message : (err as Error).message;
      throw new UsageError(`Cannot load ${d.kind} "${d.metadata?.name}": ${why}`);
    }
  }
  return docs.length;
}

export async function main(argv: string[]): Promise<number> {
  let flags;
  try {
    flags = parseFlags(argv, {
      listen: { type: "string", default: "127.0.0.1:6443" },
      kubeconfig: { type: "string", default: "kubeconfig.double" },
      load: { type: "string", multiple: true },
      "history-size": { type: "string" },
      "bookmark-interval-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    }, false).values;
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    const { host, port } = hostPortFlag("listen", flags.listen as string);
    const api = new ApiServerDouble({
      host,
      port,
      historySize: intFlag("history-size", flags["history-size"] as string | undefined, 1, 10_000_000),
      bookmarkIntervalMs: intFlag("bookmark-interval-ms", flags["bookmark-interval-ms"] as string | undefined, 0, 86_400_000),
    });
    await api.start();
    const loaded = await load(api, (flags.load as string[] | undefined) ?? []);
    await writeFile(flags.kubeconfig as string, api.kubeconfig());
    // Handlers first: whoever reads the banner may signal right away.
    const stopped = new Promise<void>((resolve) => {
      const stop = () => void api.stop().then(resolve);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    console.log(`API server double listening on ${api.url} (${loaded} objects loaded)`);
    console.log(`kubeconfig written to ${flags.kubeconfig}: kubectl --kubeconfig ${flags.kubeconfig} get nodes`);
    await stopped;
    console.log("API server double stopped");
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`apiserver-double: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}
