/**
 * `herald <command>`: the command table. Each command lives in its own
 * module and returns an exit code (long-running ones resolve when stopped).
 */
import { UsageError } from "./args.ts";
import { versionCommand } from "./version.ts";

export type Command = (argv: string[]) => number | Promise<number>;

interface CommandEntry {
  summary: string;
  run: Command;
}

const commands = new Map<string, CommandEntry>();

/** Called from commands.ts, once per subcommand. */
export function registerCommand(name: string, summary: string, run: Command): void {
  commands.set(name, { summary, run });
}

function usage(): string {
  const width = Math.max(...[...commands.keys()].map((k) => k.length));
  const lines = [...commands].map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: herald <command> [flags]\n\nCommands:\n${lines.join("\n")}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-v") return versionCommand();
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = commands.get(name);
  if (!entry) {
    console.error(`herald: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await entry.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`herald ${name}: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
