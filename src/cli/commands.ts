/**
 * The command table's contents: one `registerCommand` line per subcommand,
 * so that main.ts stays independent of the commands it runs.
 */
import { registerCommand } from "./main.ts";
import { versionCommand } from "./version.ts";

registerCommand("version", "print version, commit, runtime and build date", versionCommand);
