/**
 * Structured logs: one line per event, logfmt by default, JSON on request.
 *
 * Every line carries `subsys` (Cilium's agent uses `subsys=bgp-control-plane`
 * for BGP, so operators' greps keep working). Never log per prefix: callers
 * log counts.
 *
 * @example
 * ```ts
 * const log = createLogger({ format: "logfmt" }).child({ subsys: "bgp-control-plane" });
 * log.info("Adding peer", { peer: "10.0.0.1", asn: 65000 });
 * // time=… level=info msg="Adding peer" subsys=bgp-control-plane peer=10.0.0.1 asn=65000
 * ```
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "logfmt" | "json";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields`. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
  /** Clock for the `time` field (tests pin it). */
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function logfmtValue(v: unknown): string {
  const s = v instanceof Error ? v.message : typeof v === "string" ? v : JSON.stringify(v) ?? "null";
  return s === "" || /[\s"=\\]/.test(s) ? JSON.stringify(s) : s;
}

export function createLogger(options: LoggerOptions = {}, base: LogFields = {}): Logger {
  const format = options.format ?? "logfmt";
  const min = RANK[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[level] < min) return;
    const all: LogFields = { time: now().toISOString(), level, msg, ...base, ...fields };
    if (format === "json") {
      write(JSON.stringify(all, (_k, v) => (v instanceof Error ? v.message : typeof v === "bigint" ? String(v) : v)));
    } else {
      write(Object.entries(all).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${logfmtValue(v)}`).join(" "));
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

/** A logger that drops everything (library default, tests). */
export const silentLogger: Logger = createLogger({ write: () => {} });
