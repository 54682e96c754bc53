/**
 * File-mode LB-IPAM state on disk: the snapshot (`lbipam.json`,
 * state-file.ts) plus the journal of changes since (`lbipam.journal`,
 * state-journal.ts), read together at start and written so that a save
 * costs what changed.
 *
 * A save appends one journal line, unless there is no snapshot yet, the
 * journal belongs to an older snapshot, an append failed (it may have left
 * part of a line), or the journal would grow larger than the snapshot
 * (and past MIN_JOURNAL_BYTES): then the whole state is written as a new
 * snapshot and the journal removed. Each byte of state is thus rewritten a
 * bounded number of times, whatever the number of Services.
 */
import { join } from "node:path";
import { emptyState, type LbIpamState, readSnapshot, writeSnapshot } from "./state-file.ts";
import {
  appendJournal,
  encodeJournalLine,
  JOURNAL_FILE,
  type JournalChanges,
  type JournalReplay,
  readJournal,
  removeJournal,
  replayJournal,
  truncateJournal,
} from "./state-journal.ts";

/** Below this a journal is never compacted: small states need not be rewritten on every change. */
export const MIN_JOURNAL_BYTES = 64 * 1024;

/** Writes a whole state as the snapshot (and removes the journal it replaces). */
export type SnapshotWriter = (dir: string, state: LbIpamState) => Promise<{ sha256: string; bytes: number }>;

/** The whole state as a new snapshot, the journal removed: a full, durable save. */
export async function saveState(dir: string, state: LbIpamState): Promise<{ sha256: string; bytes: number }> {
  const written = await writeSnapshot(dir, state);
  await removeJournal(dir);
  return written;
}

/**
 * The state on disk (snapshot and journal), or null when there is no
 * snapshot (first start). Throws StateFileError when either cannot be
 * trusted. Reads only; StateStore.open() also repairs a torn journal tail.
 */
export async function loadState(dir: string): Promise<LbIpamState | null> {
  const snap = await readSnapshot(dir);
  if (!snap) return null;
  const text = await readJournal(dir);
  if (text !== null) replayJournal(text, snap.sha256, snap.state, join(dir, JOURNAL_FILE));
  return snap.state;
}

export interface OpenedState {
  readonly state: LbIpamState;
  /** No snapshot: a first start (a journal without its snapshot is ignored, and removed by the first save). */
  readonly fresh: boolean;
  /** What the journal held, when there is one. */
  readonly journal: JournalReplay | null;
}

export class StateStore {
  readonly #dir: string;
  readonly #writeSnapshot: SnapshotWriter;
  /** Checksum of the snapshot on disk; null before the first one. */
  #base: string | null = null;
  #snapshotBytes = 0;
  #journalBytes = 0;
  #seq = 0;
  /** The next save writes a snapshot (the journal is stale or may hold part of a line). */
  #mustCompact = true;

  constructor(dir: string, writeSnapshot: SnapshotWriter = saveState) {
    this.#dir = dir;
    this.#writeSnapshot = writeSnapshot;
  }

  /** Reads snapshot and journal; cuts a torn last journal line so appends start on a line of their own. */
  async open(): Promise<OpenedState> {
    const snap = await readSnapshot(this.#dir);
    if (!snap) return { state: emptyState(), fresh: true, journal: null };
    const text = await readJournal(this.#dir);
    const journal = text === null ? null : replayJournal(text, snap.sha256, snap.state, join(this.#dir, JOURNAL_FILE));
    if (journal && journal.tornBytes > 0 && !journal.stale) await truncateJournal(this.#dir, journal.bytes);
    this.#base = snap.sha256;
    this.#snapshotBytes = snap.bytes;
    this.#journalBytes = journal?.bytes ?? 0;
    this.#seq = journal?.records ?? 0;
    this.#mustCompact = journal?.stale ?? false;
    return { state: snap.state, fresh: false, journal };
  }

  /**
   * Saves `changes` (the entries changed since the last save, null for
   * removed ones), or `whole()` as a new snapshot when the journal should
   * not grow (see the module comment). Rejects when nothing was saved.
   */
  async save(changes: JournalChanges, whole: () => LbIpamState): Promise<"journal" | "snapshot"> {
    const line = this.#base === null || this.#mustCompact ? null : encodeJournalLine(this.#base, this.#seq + 1, changes);
    const bytes = line === null ? 0 : Buffer.byteLength(line);
    if (line === null || this.#journalBytes + bytes > Math.max(this.#snapshotBytes, MIN_JOURNAL_BYTES)) {
      this.#mustCompact = true;
      const written = await this.#writeSnapshot(this.#dir, whole());
      this.#base = written.sha256;
      this.#snapshotBytes = written.bytes;
      this.#journalBytes = 0;
      this.#seq = 0;
      this.#mustCompact = false;
      return "snapshot";
    }
    try {
      await appendJournal(this.#dir, line);
    } catch (e) {
      this.#mustCompact = true; // part of the line may be on disk
      throw e;
    }
    this.#journalBytes += bytes;
    this.#seq++;
    return "journal";
  }
}
