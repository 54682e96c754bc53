/**
 * herald: a per-node BGP and LoadBalancer-IPAM agent that reads Cilium's
 * BGP Control Plane and LB-IPAM resources. This is the CLI entry point and
 * what `deno compile` compiles.
 *
 * @example
 * ```sh
 * deno run -A mod.ts version
 * ```
 */
import "./src/cli/commands.ts";
import { main } from "./src/cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
