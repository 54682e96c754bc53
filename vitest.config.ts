import { defineConfig } from "vitest/config";

// One configuration for both runtimes: `vitest run` (Node) and
// `deno run -A npm:vitest run` (Deno) read this same file.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    // Interop tests start real daemons in network namespaces; a stray
    // unhandled rejection there must fail the run, not vanish.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
