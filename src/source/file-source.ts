/**
 * The embedded default source: a directory of YAML manifests.
 *
 * Every .yaml/.yml file under the directory (recursively, hidden entries
 * skipped) may hold several documents. The directory is watched; changes are
 * coalesced and turned into the difference against what is in force. A
 * document that fails validation is reported and ignored, and the last good
 * version of the same resource stays in force, so that a typo never tears
 * down a working session.
 *
 * Watching: one non-recursive watcher per directory (kept in step with the
 * directories each scan finds), not `fs.watch(dir, { recursive: true })`:
 * Node 20 emulates recursion on Linux with per-file watchers, which go
 * silent once a file is replaced by a rename — how editors and tools write
 * atomically — so the second save of a file went unseen (found by the
 * ResourceSource conformance suite, test/source/conformance.test.ts).
 *
 * Memory: a file is remembered by a digest of its text, not the text, and
 * its documents are validated one at a time as the YAML parser hands them
 * out (manifest.ts), so only the typed resources outlive a scan. A scan
 * reads only files whose inode, size or times changed since they were read
 * (`stat` first), so one edited file among ten thousand Services costs that
 * file, not the whole directory.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { join, relative } from "node:path";
import { manifestItems } from "./manifest.ts";
import type { ManifestDocument } from "./manifest.ts";
import type { Origin, ParsedDocument, Resource, ResourceSource, SourceEvent } from "./types.ts";

export interface FileSourceOptions {
  /** Validates one document (the schema registry). */
  parse: (doc: ManifestDocument) => ParsedDocument;
  /** Quiet period before a burst of file events is applied. */
  debounceMs?: number;
  /** Emit a `file` event for every file read again or removed (to retire its old problems). */
  reportFiles?: boolean;
}

interface FileState {
  /** Relative to the directory; files take precedence in this order (a duplicate in a later file is ignored). */
  name: string;
  /** SHA-256 of the text last read: an unchanged file is not parsed again. */
  digest: string;
  /** inode, size, mtime, ctime when it was read; null when that cannot prove the file unchanged (see RACY_MS). */
  signature: string | null;
  resources: Resource[];
  /** `idOf` of each resource, made once. */
  ids: string[];
  /** Invalid documents whose kind and key were readable: keep the old version. */
  heldKeys: Set<string>;
}

const isManifest = (name: string) => /\.ya?ml$/i.test(name);
const idOf = (kind: string, key: string) => `${kind}\u0000${key}`;
const digestOf = (text: string) => createHash("sha256").update(text).digest("base64");

/**
 * A file changed less than this before it was read may change again with
 * the same times (timestamps are coarse: Deno reports ctime in seconds), so
 * its signature is not trusted and the next scan reads it again (git's
 * "racily clean" rule).
 */
const RACY_MS = 2000;

/** What stat() says about a file, or null when it is gone. */
async function signatureOf(path: string): Promise<{ signature: string; changedMs: number } | null> {
  try {
    const st = await stat(path, { bigint: true });
    const changedMs = Number((st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs) / 1_000_000n);
    return { signature: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`, changedMs };
  } catch {
    return null;
  }
}

export class FileSource implements ResourceSource {
  readonly #dir: string;
  readonly #parse: (doc: ManifestDocument) => ParsedDocument;
  readonly #debounceMs: number;
  readonly #reportFiles: boolean;
  #files = new Map<string, FileState>();
  /** What is in force, by kind+key. */
  #inForce = new Map<string, Resource>();
  /** kind+key → the files defining it (one, unless it is defined twice). */
  #owners = new Map<string, FileState | FileState[]>();
  /** Directory → its watcher. */
  #watchers = new Map<string, FSWatcher>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onBatch: (events: SourceEvent[]) => void = () => {};
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(dir: string, options: FileSourceOptions) {
    this.#dir = dir;
    this.#parse = options.parse;
    this.#debounceMs = options.debounceMs ?? 50;
    this.#reportFiles = options.reportFiles ?? false;
  }

  async start(onBatch: (events: SourceEvent[]) => void): Promise<void> {
    this.#onBatch = onBatch;
    // Watch before the first scan so that no change between the two is lost.
    this.#watchDirs([this.#dir]);
    await this.#rescan();
  }

  stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
    return this.#running;
  }

  /** Applies pending changes now (tests, SIGHUP). */
  refresh(): Promise<void> {
    clearTimeout(this.#timer);
    return this.#rescan();
  }

  #schedule(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#rescan(), this.#debounceMs);
  }

  /** Scans are serialised: one at a time, each sees the previous one's result. */
  #rescan(): Promise<void> {
    this.#running = this.#running.then(() => this.#scanOnce()).catch(() => {});
    return this.#running;
  }

  /** Watches exactly `dirs`; a directory watched for the first time is scanned again (files may have landed before its watcher). */
  #watchDirs(dirs: readonly string[]): void {
    if (this.#stopped) return;
    const wanted = new Set(dirs);
    for (const [dir, w] of this.#watchers) {
      if (wanted.has(dir)) continue;
      w.close();
      this.#watchers.delete(dir);
    }
    let added = false;
    for (const dir of wanted) {
      if (this.#watchers.has(dir)) continue;
      try {
        const w = watch(dir, () => this.#schedule());
        w.on("error", () => this.#schedule());
        this.#watchers.set(dir, w);
        added = true;
      } catch {
        // gone already: the next scan drops it
      }
    }
    if (added && this.#watchers.size > 1) this.#schedule();
  }

  async #listFiles(dir: string, dirs: string[] = []): Promise<string[]> {
    const out: string[] = [];
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return out;
    }
    dirs.push(dir);
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) out.push(...await this.#listFiles(path, dirs));
      else if (isManifest(e.name)) out.push(path);
    }
    return out.sort();
  }

  async #scanOnce(): Promise<void> {
    if (this.#stopped) return;
    const events: SourceEvent[] = [];
    const dirs: string[] = [];
    const paths = await this.#listFiles(this.#dir, dirs);
    this.#watchDirs(dirs.length ? dirs : [this.#dir]);
    const next = new Map<string, FileState>();
    // Files read again with other content (their old and new states), added and removed.
    const gone: FileState[] = [];
    const added: FileState[] = [];
    for (const path of paths) {
      const name = relative(this.#dir, path) || path;
      const old = this.#files.get(name);
      const sig = await signatureOf(path);
      if (sig === null) continue; // vanished between readdir and stat; the next event rescans
      if (old && old.signature === sig.signature) {
        next.set(name, old);
        continue;
      }
      const readAt = Date.now();
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch {
        continue; // vanished between readdir and read; the next event rescans
      }
      const digest = digestOf(text);
      const state = old && old.digest === digest ? old : this.#load(name, text, digest, old, events);
      if (state !== old) {
        if (old) gone.push(old);
        added.push(state);
      }
      // Taken before the read: a change during or after it gives another signature.
      state.signature = sig.changedMs < readAt - RACY_MS ? sig.signature : null;
      next.set(name, state);
    }
    for (const [name, old] of this.#files) {
      if (next.has(name)) continue;
      gone.push(old);
      if (this.#reportFiles) events.push({ type: "file", file: name, removed: true });
    }
    this.#files = next;
    if (gone.length > 0 || added.length > 0) this.#applyChanges(gone, added, events);
    if (events.length > 0 || !this.#started) this.#onBatch(events);
    this.#started = true;
  }
  #started = false;

  #load(file: string, text: string, digest: string, old: FileState | undefined, events: SourceEvent[]): FileState {
    const state: FileState = { name: file, digest, signature: null, resources: [], ids: [], heldKeys: new Set() };
    if (this.#reportFiles) events.push({ type: "file", file, removed: false });
    // Syntax errors are reported before the documents' own events.
    const syntax: SourceEvent[] = [];
    const documents: SourceEvent[] = [];
    // Each document is validated as soon as it is parsed; its YAML tree is garbage before the next.
    for (const item of manifestItems(file, text)) {
      if ("error" in item) {
        const e = item.error;
        syntax.push({ type: "invalid", origin: { file, line: e.location.line }, errors: [`Cannot parse YAML (${file}:${e.location.line}): ${e.message}`] });
        continue;
      }
      const doc = item.document;
      const origin: Origin = { file, line: doc.location.line };
      const result = this.#parse(doc);
      if (result.ok) {
        state.resources.push({ kind: result.kind, key: result.key, object: result.object, origin });
        state.ids.push(idOf(result.kind, result.key));
        for (const message of result.warnings) documents.push({ type: "warning", origin, message });
      } else if (result.ignored) {
        for (const message of result.errors) documents.push({ type: "ignored", origin, message });
      } else {
        if (result.kind !== undefined && result.key !== undefined) state.heldKeys.add(idOf(result.kind, result.key));
        documents.push({ type: "invalid", kind: result.kind, key: result.key, origin, errors: result.errors });
      }
    }
    // A syntax error hides which resources the broken part held: keep all of
    // the file's previous resources in force until it parses again.
    if (syntax.length > 0) {
      for (const r of old?.resources ?? []) state.heldKeys.add(idOf(r.kind, r.key));
    }
    for (const e of syntax) events.push(e);
    for (const e of documents) events.push(e);
    return state;
  }

  /**
   * Brings what is in force up to date with the files read again, added and
   * removed, and emits the difference: only the resources those files
   * define or held are looked at, so a change costs its files, not the
   * directory. A resource defined twice is taken from the first file (in
   * path order) and its first document there; each other copy gets a warning.
   */
  #applyChanges(gone: readonly FileState[], added: readonly FileState[], events: SourceEvent[]): void {
    const affected = new Set<string>();
    for (const state of gone) {
      for (const id of state.ids) {
        affected.add(id);
        const owners = this.#owners.get(id);
        if (owners === state) this.#owners.delete(id);
        else if (Array.isArray(owners)) {
          const rest = owners.filter((o) => o !== state);
          this.#owners.set(id, rest.length === 1 ? rest[0] : rest);
        }
      }
      for (const id of state.heldKeys) affected.add(id);
    }
    for (const state of added) {
      for (const id of state.ids) {
        affected.add(id);
        const owners = this.#owners.get(id);
        if (owners === undefined) this.#owners.set(id, state);
        else if (owners !== state && !(Array.isArray(owners) && owners.includes(state))) {
          this.#owners.set(id, Array.isArray(owners) ? [...owners, state] : [owners, state]);
        }
      }
      for (const id of state.heldKeys) affected.add(id);
    }

    // Where each id is in a file: built once per file and scan, only for files looked at.
    const positions = new Map<FileState, Map<string, number | number[]>>();
    const occurrences = (state: FileState, id: string): number | number[] | undefined => {
      let index = positions.get(state);
      if (!index) {
        positions.set(state, index = new Map());
        state.ids.forEach((x, i) => {
          const at = index!.get(x);
          index!.set(x, at === undefined ? i : Array.isArray(at) ? [...at, i] : [at, i]);
        });
      }
      return index.get(id);
    };
    const held = (id: string) => {
      for (const f of this.#files.values()) if (f.heldKeys.has(id)) return true;
      return false;
    };

    // Events in file order, as a scan of every file would emit them.
    const warnings: Array<[FileState, number, SourceEvent]> = [];
    const upserts: Array<[FileState, number, Resource]> = [];
    const deletes: SourceEvent[] = [];
    for (const id of affected) {
      const owners = this.#owners.get(id);
      const list = owners === undefined ? [] : Array.isArray(owners) ? [...owners].sort((a, b) => (a.name < b.name ? -1 : 1)) : [owners];
      const old = this.#inForce.get(id);
      if (list.length === 0) {
        // A resource whose newest document is invalid keeps its last good version.
        if (old && !held(id)) {
          this.#inForce.delete(id);
          deletes.push({ type: "delete", kind: old.kind, key: old.key });
        }
        continue;
      }
      let winner: [FileState, number] | null = null;
      for (const state of list) {
        const at = occurrences(state, id) ?? [];
        for (const i of typeof at === "number" ? [at] : at) {
          if (winner === null) {
            winner = [state, i];
            continue;
          }
          const r = state.resources[i];
          const first = winner[0].resources[winner[1]];
          warnings.push([state, i, {
            type: "warning",
            origin: r.origin,
            message: `Cannot load ${r.kind} "${r.key}" (${r.origin.file}:${r.origin.line}): already defined at ${first.origin.file}:${first.origin.line}; this copy is ignored`,
          }]);
        }
      }
      const r = winner![0].resources[winner![1]];
      if (old === r) continue;
      this.#inForce.set(id, r);
      if (old && JSON.stringify(old.object) === JSON.stringify(r.object)) continue;
      upserts.push([winner![0], winner![1], r]);
    }
    const inOrder = (a: [FileState, number, unknown], b: [FileState, number, unknown]) =>
      a[0] === b[0] ? a[1] - b[1] : a[0].name < b[0].name ? -1 : 1;
    for (const [, , e] of warnings.sort(inOrder)) events.push(e);
    for (const e of deletes) events.push(e);
    for (const [, , resource] of upserts.sort(inOrder)) events.push({ type: "upsert", resource });
  }
}
