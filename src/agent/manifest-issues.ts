/**
 * Problems with the manifests of --config-dir, as the agent reports them:
 * each one logged once when its file is read (with file:line and the field,
 * from the schema registry's message) and listed in /v1/status until the
 * file is read again without it. The documents concerned are ignored; the
 * last good version of a resource stays in force (the file source's rule).
 */
import type { ManifestIssueView } from "../api/schemas.ts";
import type { Logger } from "../log.ts";
import type { SourceEvent } from "../source/types.ts";

export class ManifestIssues {
  readonly #log: Logger;
  /** file → its issues, in the order reported. "" holds issues without a file. */
  readonly #byFile = new Map<string, ManifestIssueView[]>();

  constructor(logger: Logger) {
    this.#log = logger;
  }

  /** Takes one batch of source events; logs new problems. */
  apply(events: readonly SourceEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case "file":
          this.#byFile.delete(e.file);
          break;
        case "invalid":
          for (const message of e.errors) {
            if (this.#add({ level: "error", file: e.origin.file, line: e.origin.line, kind: e.kind, key: e.key, message })) {
              this.#log.error("Ignoring invalid manifest document", { file: e.origin.file, line: e.origin.line, kind: e.kind, name: e.key, error: message });
            }
          }
          break;
        case "warning":
          if (this.#add({ level: "warning", file: e.origin.file, line: e.origin.line, message: e.message })) {
            this.#log.warn(e.message, { file: e.origin.file, line: e.origin.line });
          }
          break;
        case "ignored":
          this.#log.info(e.message, { file: e.origin.file, line: e.origin.line });
          break;
      }
    }
  }

  /** Adds an issue unless the same one is listed already (then it was logged already). */
  #add(issue: ManifestIssueView): boolean {
    const file = issue.file ?? "";
    const list = this.#byFile.get(file) ?? [];
    if (list.some((i) => i.message === issue.message && i.line === issue.line)) return false;
    list.push(Object.fromEntries(Object.entries(issue).filter(([, v]) => v !== undefined)) as ManifestIssueView);
    this.#byFile.set(file, list);
    return true;
  }

  /** Current problems, errors first, then by file and line. */
  list(): ManifestIssueView[] {
    const all = [...this.#byFile.values()].flat();
    return all.sort((a, b) =>
      (a.level === b.level ? 0 : a.level === "error" ? -1 : 1) ||
      (a.file ?? "").localeCompare(b.file ?? "") || (a.line ?? 0) - (b.line ?? 0)
    );
  }

  get errorCount(): number {
    let n = 0;
    for (const list of this.#byFile.values()) for (const i of list) if (i.level === "error") n++;
    return n;
  }
}
