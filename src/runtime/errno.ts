/**
 * errno values as errors: `Cannot <action>: <NAME> (<hint>)`, with the
 * number kept in `errno` and the name in `code` so callers can branch on it
 * (e.g. EEXIST when a map is already pinned).
 */
import { constants } from "node:os";

const NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!NAMES.has(value)) NAMES.set(value, name);
}
// Linux has a few numbers node:os does not list.
NAMES.set(524, "ENOTSUPP");

/** What the common ones mean for herald's calls. */
const HINTS: Record<string, string> = {
  EPERM: "operation not permitted",
  EACCES: "permission denied",
  ENOENT: "no such file or directory",
  EEXIST: "already exists",
  EINVAL: "invalid argument",
  E2BIG: "map is full",
  ENOMEM: "out of memory",
  ENOSPC: "no space left",
  ENOPROTOOPT: "option not supported by this kernel",
  EOPNOTSUPP: "not supported",
  ENOTSUP: "not supported",
  ENOTSUPP: "not supported",
  ENODEV: "no such device",
  ECONNREFUSED: "connection refused",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available",
  ENOSYS: "function not implemented",
};

/** `EPERM` for 1; `errno 999` for numbers with no name. */
export function errnoName(errno: number): string {
  return NAMES.get(Math.abs(errno)) ?? `errno ${Math.abs(errno)}`;
}

/** An Error with `errno` and `code`, worded `Cannot <action>: <NAME> (<hint>)`. */
export class ErrnoError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(action: string, errno: number) {
    const code = errnoName(errno);
    const hint = HINTS[code];
    super(`Cannot ${action}: ${code}${hint ? ` (${hint})` : ""}`);
    this.name = "ErrnoError";
    this.errno = Math.abs(errno);
    this.code = code;
  }
}

/** Throws an ErrnoError when a libbpf-style result (`-errno`) is negative; returns it otherwise. */
export function check(action: string, result: number): number {
  if (result < 0) throw new ErrnoError(action, -result);
  return result;
}
