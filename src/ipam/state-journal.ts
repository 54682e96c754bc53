/**
 * File-mode LB-IPAM journal: `<state-dir>/lbipam.journal`, the changes made
 * since the snapshot (`lbipam.json`, state-file.ts) was written.
 *
 * Why: rewriting the whole snapshot after every change costs the size of
 * the state (4 MB for 10,000 Services) per change. A journal line costs the
 * size of the change; the snapshot is rewritten only when the journal has
 * grown as large as the snapshot, so the work per change stays O(change).
 *
 * One line per save, appended and fsynced:
 * `{"base":"<snapshot sha256>","seq":N,"sha256":"<sha256 of changes>","changes":{"services":{key: status|null},"pools":{name: entry|null}}}`
 * (null: the entry is gone). `base` ties the line to the snapshot it
 * extends: after a compaction the new snapshot is renamed into place before
 * the journal is removed, so lines left by a crash between the two name the
 * old snapshot and are ignored (replaying them would give the new snapshot
 * anyway). `seq` counts from 1, so a lost or repeated line is detected.
 *
 * A last line without its newline is a write cut short by a crash: that
 * save never completed (it is dropped, the file truncated before the next
 * append, and the caller says so). Any other damage, a complete line that
 * does not parse or check, is refused with the file and line, like a
 * damaged snapshot: herald never starts from a state it cannot trust.
 */
import { createHash } from "node:crypto";
import { open, readFile, truncate, unlink } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { fsyncPath, type LbIpamState, StateFileError, StoredPool, StoredServiceStatus } from "./state-file.ts";

export const JOURNAL_FILE = "lbipam.journal";

/** What one save changed: new entries, and null for entries that are gone. */
export const JournalChanges = z.object({
  services: z.record(z.string(), StoredServiceStatus.nullable()),
  pools: z.record(z.string(), StoredPool.nullable()),
});
export type JournalChanges = z.infer<typeof JournalChanges>;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** One journal line (with its newline) for `changes`, the `seq`-th after the snapshot `base`. */
export function encodeJournalLine(base: string, seq: number, changes: JournalChanges): string {
  const body = JSON.stringify(changes);
  return `{"base":${JSON.stringify(base)},"seq":${seq},"sha256":"${sha256(body)}","changes":${body}}\n`;
}

export interface JournalReplay {
  /** Lines applied. */
  readonly records: number;
  /** Bytes of the journal that are kept (complete lines). */
  readonly bytes: number;
  /** Bytes of a torn last line that was dropped (0 when none). */
  readonly tornBytes: number;
  /** The journal extends an older snapshot (a compaction was cut short): nothing applied. */
  readonly stale: boolean;
}

/**
 * Applies the lines of `text` (the journal of snapshot `base`) to `state`,
 * in place. Throws StateFileError naming `file` and the line when a line
 * cannot be trusted.
 */
export function replayJournal(text: string, base: string, state: LbIpamState, file: string): JournalReplay {
  const end = text.lastIndexOf("\n") + 1;
  const tornBytes = Buffer.byteLength(text.slice(end));
  const lines = text.slice(0, end).split("\n");
  lines.pop(); // after the last newline
  const fail = (line: number, reason: string): never => {
    throw new StateFileError(file, `line ${line}: ${reason}; herald will not start from a state it cannot trust; ` +
      "restore the file, or move lbipam.json and lbipam.journal away (then every Service is allocated afresh and addresses may change)");
  };
  const records: Array<{ base: string; changes: JournalChanges }> = [];
  lines.forEach((line, i) => {
    const n = i + 1;
    let rec: { base?: unknown; seq?: unknown; sha256?: unknown; changes?: unknown };
    try {
      rec = JSON.parse(line);
    } catch (e) {
      return fail(n, `not complete JSON (damaged): ${(e as Error).message}`);
    }
    if (rec === null || typeof rec !== "object" || typeof rec.base !== "string" || typeof rec.sha256 !== "string") {
      return fail(n, "expected an object with base, seq, sha256 and changes");
    }
    if (rec.seq !== n) fail(n, `seq must be ${n}: current value is ${JSON.stringify(rec.seq)} (a line lost or repeated)`);
    const actual = sha256(JSON.stringify(rec.changes ?? null));
    if (actual !== rec.sha256) fail(n, `checksum mismatch: the line says sha256 ${rec.sha256}, its changes hash to ${actual}`);
    const parsed = JournalChanges.safeParse(rec.changes);
    if (!parsed.success) {
      fail(n, `unexpected content: ${parsed.error.issues.map((x) => `changes.${x.path.join(".")}: ${x.message}`).join("; ")}`);
    }
    if (records.length > 0 && records[0].base !== rec.base) fail(n, "base differs from the lines before it");
    records.push({ base: rec.base, changes: parsed.data! });
  });
  const bytes = Buffer.byteLength(text) - tornBytes;
  if (records.length > 0 && records[0].base !== base) return { records: 0, bytes, tornBytes, stale: true };
  for (const { changes } of records) {
    for (const [key, v] of Object.entries(changes.services)) {
      if (v === null) delete state.services[key];
      else state.services[key] = v;
    }
    for (const [name, v] of Object.entries(changes.pools)) {
      if (v === null) delete state.pools[name];
      else state.pools[name] = v;
    }
  }
  return { records: records.length, bytes, tornBytes, stale: false };
}

/** The journal's text, or null when there is none. */
export async function readJournal(dir: string): Promise<string | null> {
  try {
    return await readFile(join(dir, JOURNAL_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StateFileError(join(dir, JOURNAL_FILE), `cannot read it: ${(e as Error).message}`);
  }
}

/** Cuts the journal to `bytes` (drops a torn last line) so the next append starts on a line of its own. */
export async function truncateJournal(dir: string, bytes: number): Promise<void> {
  const file = join(dir, JOURNAL_FILE);
  await truncate(file, bytes);
  await fsyncPath(file);
}

/** Appends one line durably (fsync). */
export async function appendJournal(dir: string, line: string): Promise<void> {
  const file = join(dir, JOURNAL_FILE);
  let fh;
  try {
    fh = await open(file, "a", 0o600);
    await fh.writeFile(line, "utf8");
    await fh.sync();
  } catch (e) {
    throw new Error(`Cannot save LB-IPAM state "${file}": ${(e as Error).message}`);
  } finally {
    await fh?.close().catch(() => {});
  }
}

/** Removes the journal (after a new snapshot holds everything it said); the directory is fsynced. */
export async function removeJournal(dir: string): Promise<void> {
  try {
    await unlink(join(dir, JOURNAL_FILE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new Error(`Cannot save LB-IPAM state "${join(dir, JOURNAL_FILE)}": ${(e as Error).message}`);
  }
  await fsyncPath(dir);
}
