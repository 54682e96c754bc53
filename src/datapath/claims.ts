/**
 * Which Service a frontend belongs to. Two Services may claim the same
 * (address, port, protocol) (a misconfiguration, or a moment during a
 * move); the one whose `namespace/name` sorts first wins, the others are
 * reported as conflicts, and a loser takes over when the winner lets go.
 */
import type { DesiredFrontend } from "./desired.ts";

export class FrontendClaims {
  #byService = new Map<string, Map<string, DesiredFrontend>>();
  #claimants = new Map<string, Set<string>>();

  /**
   * Replaces one Service's frontends (undefined: the Service is gone) and
   * returns the ids of frontends whose desired state may have changed.
   */
  set(service: string, frontends: readonly DesiredFrontend[] | undefined): Set<string> {
    const before = this.#byService.get(service);
    const after = new Map((frontends ?? []).map((f) => [f.id, f]));
    const touched = new Set<string>();
    for (const [id, old] of before ?? []) {
      const now = after.get(id);
      if (now === undefined) {
        touched.add(id);
        const set = this.#claimants.get(id)!;
        set.delete(service);
        if (set.size === 0) this.#claimants.delete(id);
      } else if (now.content !== old.content) touched.add(id);
    }
    for (const id of after.keys()) {
      if (before?.has(id)) continue;
      touched.add(id);
      const set = this.#claimants.get(id);
      if (set) set.add(service);
      else this.#claimants.set(id, new Set([service]));
    }
    if (after.size) this.#byService.set(service, after);
    else this.#byService.delete(service);
    return touched;
  }

  /** The winning claim on a frontend, or null when no Service wants it. */
  resolve(id: string): DesiredFrontend | null {
    const set = this.#claimants.get(id);
    if (!set) return null;
    return this.#byService.get(this.owner(id)!)!.get(id)!;
  }

  owner(id: string): string | undefined {
    const set = this.#claimants.get(id);
    if (!set) return undefined;
    let best: string | undefined;
    for (const s of set) if (best === undefined || s < best) best = s;
    return best;
  }

  /** Services known (with at least one frontend). */
  services(): IterableIterator<string> {
    return this.#byService.keys();
  }

  has(id: string): boolean {
    return this.#claimants.has(id);
  }

  /** Frontends claimed by more than one Service, with all claimants (owner first). */
  conflicts(ids: Iterable<string>): { frontend: string; services: string[] }[] {
    const out: { frontend: string; services: string[] }[] = [];
    for (const id of ids) {
      const set = this.#claimants.get(id);
      if (!set || set.size < 2) continue;
      out.push({ frontend: id, services: [...set].sort() });
    }
    return out;
  }
}
