/**
 * The command table's contents: one `registerCommand` line per subcommand,
 * so that main.ts stays independent of the commands it runs.
 */
import { registerCommand } from "./main.ts";
import { versionCommand } from "./version.ts";
import { collectCommand } from "./collect.ts";
import { planCommand } from "./plan.ts";
import { validateCommand } from "./validate.ts";

registerCommand("version", "print version, commit, runtime and build date", versionCommand);
registerCommand("plan", "dry run: what a node would run and advertise, and the LB-IPAM result, from manifests", planCommand);
registerCommand("validate", "check manifests offline: errors with file:line and field, warnings for silent traps", validateCommand);
registerCommand("collect", "passive BGP route collector: accepts any peer and prints what it announces", collectCommand);
registerCommand("agent", "run the node agent: BGP sessions, LoadBalancer IPs and the status API from --config-dir", (argv) => import("./agent.ts").then((m) => m.agentCommand(argv)));
registerCommand("bgp", "the agent's BGP state as the Cilium CLI prints it: peers, routes, route-policies, explain", (argv) => import("./bgp.ts").then((m) => m.bgpCommand(argv)));
registerCommand("migrate", "convert MetalLB or CiliumBGPPeeringPolicy (v1) to Cilium resources; check a running agent before removing the old speaker", (argv) => import("./migrate.ts").then((m) => m.migrateCommand(argv)));
