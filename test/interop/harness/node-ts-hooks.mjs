// Node module hooks that strip TypeScript types, so that a child process can
// run herald's .ts modules under Node 20 (which cannot), the way Deno runs
// them natively. Used through runtime.ts (`scriptArgv`); vitest does its own
// transform and does not need this. The transform is rolldown's (already a
// dependency through vitest); it only strips types, it does not type-check.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { transformSync } from "rolldown/utils";

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const source = await readFile(path, "utf8");
  const result = transformSync(path, source, { lang: "ts", sourcemap: false });
  if (result.errors && result.errors.length > 0) {
    throw new SyntaxError(`Cannot load "${path}": ${result.errors.map((e) => e.message ?? String(e)).join("; ")}`);
  }
  return { format: "module", source: result.code, shortCircuit: true };
}
