import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Opt-in tests against a real cluster (see README.md beside this file). The
// default run (vitest.config.ts: test/**/*.test.ts) never sees them; run them
// with KUBECONFIG set:
//   npx vitest run --config test/kube-e2e/real-cluster/vitest.config.ts
//   node_modules/.bin/deno run -A npm:vitest run --config test/kube-e2e/real-cluster/vitest.config.ts
export default defineConfig({
  root: fileURLToPath(new URL("../../..", import.meta.url)),
  test: {
    include: ["test/kube-e2e/real-cluster/**/*.cluster.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 1,
  },
});
