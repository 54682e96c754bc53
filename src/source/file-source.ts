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
 */
import { readdir, readFile } from "node:fs/promises";
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { join, relative } from "node:path";
import { parseManifests } from "./manifest.ts";
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
  text: string;
  resources: Resource[];
  /** Invalid documents whose kind and key were readable: keep the old version. */
  heldKeys: Set<string>;
}

const isManifest = (name: string) => /\.ya?ml$/i.test(name);
const idOf = (kind: string, key: string) => `${kind}\u0000${key}`;

export class FileSource implements ResourceSource {
  readonly #dir: string;
  readonly #parse: (doc: ManifestDocument) => ParsedDocument;
  readonly #debounceMs: number;
  readonly #reportFiles: boolean;
  #files = new Map<string, FileState>();
  /** What is in force, by kind+key. */
  #inForce = new Map<string, Resource>();
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
    for (const path of paths) {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch {
        continue; // vanished between readdir and read; the next event rescans
      }
      const name = relative(this.#dir, path) || path;
      const old = this.#files.get(name);
      next.set(name, old && old.text === text ? old : this.#load(name, text, old, events));
    }
    if (this.#reportFiles) for (const name of this.#files.keys()) if (!next.has(name)) events.push({ type: "file", file: name, removed: true });
    this.#files = next;
    this.#applyInForce(events);
    if (events.length > 0 || !this.#started) this.#onBatch(events);
    this.#started = true;
  }
  #started = false;

  #load(file: string, text: string, old: FileState | undefined, events: SourceEvent[]): FileState {
    const state: FileState = { text, resources: [], heldKeys: new Set() };
    if (this.#reportFiles) events.push({ type: "file", file, removed: false });
    const parsed = parseManifests(file, text);
    for (const e of parsed.errors) {
      events.push({ type: "invalid", origin: { file, line: e.location.line }, errors: [`Cannot parse YAML (${file}:${e.location.line}): ${e.message}`] });
    }
    // A syntax error hides which resources the broken part held: keep all of
    // the file's previous resources in force until it parses again.
    if (parsed.errors.length > 0) {
      for (const r of old?.resources ?? []) state.heldKeys.add(idOf(r.kind, r.key));
    }
    for (const doc of parsed.documents) {
      const origin: Origin = { file, line: doc.location.line };
      const result = this.#parse(doc);
      if (result.ok) {
        state.resources.push({ kind: result.kind, key: result.key, object: result.object, origin });
        for (const message of result.warnings) events.push({ type: "warning", origin, message });
      } else if (result.ignored) {
        for (const message of result.errors) events.push({ type: "ignored", origin, message });
      } else {
        if (result.kind !== undefined && result.key !== undefined) state.heldKeys.add(idOf(result.kind, result.key));
        events.push({ type: "invalid", kind: result.kind, key: result.key, origin, errors: result.errors });
      }
    }
    return state;
  }

  /** Recomputes what is in force from all files and emits the difference. */
  #applyInForce(events: SourceEvent[]): void {
    const wanted = new Map<string, Resource>();
    const held = new Set<string>();
    for (const state of this.#files.values()) {
      for (const id of state.heldKeys) held.add(id);
      for (const r of state.resources) {
        const id = idOf(r.kind, r.key);
        const first = wanted.get(id);
        if (first) {
          events.push({
            type: "warning",
            origin: r.origin,
            message: `Cannot load ${r.kind} "${r.key}" (${r.origin.file}:${r.origin.line}): already defined at ${first.origin.file}:${first.origin.line}; this copy is ignored`,
          });
          continue;
        }
        wanted.set(id, r);
      }
    }
    // A resource whose newest document is invalid keeps its last good version.
    for (const id of held) {
      const old = this.#inForce.get(id);
      if (old && !wanted.has(id)) wanted.set(id, old);
    }
    for (const [id, old] of this.#inForce) {
      if (!wanted.has(id)) events.push({ type: "delete", kind: old.kind, key: old.key });
    }
    for (const [id, r] of wanted) {
      const old = this.#inForce.get(id);
      if (old === r) continue;
      if (old && JSON.stringify(old.object) === JSON.stringify(r.object)) continue;
      events.push({ type: "upsert", resource: r });
    }
    this.#inForce = wanted;
  }
}
