/**
 * vitest glue: one harness per test file, closed after the file (also when
 * a test fails), and optional per-test child harnesses.
 */
import { afterAll, onTestFinished } from "vitest";
import { Harness } from "./harness.ts";

/**
 * Call at the top level of a test file. `prefix` is unique to the file
 * (1–4 lowercase letters/digits): namespaces, interfaces and daemons are
 * named `<prefix>-<pid>-<n>`.
 *
 * @example
 * ```ts
 * const h = useHarness("hbg");
 * it("BIRD and GoBGP peer over IPv4", async () => {
 *   const { a, b, link } = await h.pair();
 *   …
 * });
 * ```
 */
export function useHarness(prefix: string): Harness {
  const h = new Harness({ prefix });
  afterAll(() => h.close());
  return h;
}

/** A child harness closed when the current test finishes (call inside a test). */
export function perTest(h: Harness): Harness {
  const child = h.child();
  onTestFinished(() => child.close());
  return child;
}
