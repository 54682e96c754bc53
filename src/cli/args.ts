/**
 * Flag parsing shared by every subcommand: node:util parseArgs in strict
 * mode, with errors that name the flag and what was expected.
 */
import { parseArgs } from "node:util";

export type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }>;

export class UsageError extends Error {
  override name = "UsageError";
}

export function parseFlags<T extends FlagSpec>(argv: string[], spec: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options: spec, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^Unknown option/, "unknown flag"));
  }
}

/** Parses a decimal integer flag within [min, max]. */
export function intFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`--${name} must be an integer from ${min} to ${max}: current value is "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}: current value is "${value}"`);
  return n;
}

/** Parses HOST:PORT (IPv6 hosts in brackets). */
export function hostPortFlag(name: string, value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]+)$/.exec(value);
  if (!m) throw new UsageError(`--${name} must be HOST:PORT (IPv6 as [addr]:port): current value is "${value}"`);
  const port = intFlag(name, m[3], 0, 65535)!;
  return { host: m[1] ?? m[2], port };
}
