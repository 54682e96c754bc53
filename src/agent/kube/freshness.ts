/**
 * The new leader's freshness barrier: before it allocates a single address
 * or writes a single NodeConfig, its informers must have seen at least what
 * a fresh, consistent LIST of the API server shows.
 *
 * Why: the previous leader's last writes (an address in a Service status)
 * reached the API server before its lease ran out, but this agent's watch
 * may have been broken at that moment (an API server restart, a network
 * blip) and not have delivered them yet. Allocating from such a cache
 * could hand out an address twice or move one (spec I12: allocation state
 * is reconstructed from Service status alone). So, per kind: LIST, then
 * wait until every listed object is in the store at that resourceVersion
 * or later, and every stored object missing from the list is newer than
 * the list. Object versions that failed validation count as seen.
 *
 * resourceVersions are compared as integers when both are (etcd revisions,
 * the double's counter); otherwise only equality counts as caught up.
 */
import { sleep } from "../../source/kube/backoff.ts";
import type { KubeClient } from "../../source/kube/client.ts";
import { objectKey, type ResourceRef, resourcePath } from "../../source/kube/resources.ts";
import type { ClusterStore } from "./store.ts";

export interface FreshnessOptions {
  client: KubeClient;
  store: ClusterStore;
  /** The kinds to check (those the source watches and the leader reads). */
  refs: readonly ResourceRef[];
  /** Namespace of the Secrets the source reads. */
  secretsNamespace: string;
  signal: AbortSignal;
  /** Pause between two checks. Default 100 ms. */
  pollMs?: number;
  pageSize?: number;
}

/** -1, 0, 1, or null when the two cannot be ordered. */
export function compareVersions(a: string, b: string): number | null {
  if (a === b) return 0;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) < BigInt(b) ? -1 : 1;
  return null;
}

interface Listed {
  resourceVersion: string;
  items: Array<{ key: string; resourceVersion: string }>;
}

async function listVersions(o: FreshnessOptions, ref: ResourceRef): Promise<Listed> {
  const path = resourcePath(ref, { namespace: ref.kind === "Secret" ? o.secretsNamespace : undefined });
  const items: Listed["items"] = [];
  let cont: string | undefined;
  let rv = "";
  do {
    const page = await o.client.request<{ metadata?: { resourceVersion?: string; continue?: string }; items?: Array<{ metadata: { name: string; namespace?: string; resourceVersion?: string } }> }>(
      "GET",
      path,
      { query: { limit: o.pageSize ?? 500, continue: cont }, signal: o.signal },
    );
    for (const it of page.items ?? []) {
      items.push({ key: objectKey(ref, it.metadata), resourceVersion: it.metadata.resourceVersion ?? "" });
    }
    // A paged list is one snapshot: the first page's resourceVersion.
    if (rv === "") rv = page.metadata?.resourceVersion ?? "";
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return { resourceVersion: rv, items };
}

/** Why the store is behind `listed`, or null when it has caught up. */
export function behind(store: ClusterStore, kind: string, listed: Listed): string | null {
  const keys = new Set<string>();
  for (const it of listed.items) {
    keys.add(it.key);
    const seen = store.seenVersion(kind, it.key);
    const c = seen === undefined ? null : compareVersions(seen, it.resourceVersion);
    if (c === null || c < 0) return `${kind} "${it.key}" at resourceVersion ${it.resourceVersion}, seen ${seen ?? "never"}`;
  }
  for (const key of store.keys(kind)) {
    if (keys.has(key)) continue;
    const c = compareVersions(store.seenVersion(kind, key)!, listed.resourceVersion);
    if (c === null || c <= 0) return `${kind} "${key}" deleted before resourceVersion ${listed.resourceVersion}`;
  }
  return null;
}

/**
 * Resolves once the store has caught up with a LIST of every kind; returns
 * how many rounds it took. Request errors are retried; resolves early (with
 * -1) when `signal` aborts.
 */
export async function waitUntilFresh(o: FreshnessOptions): Promise<{ rounds: number; lagging: string | null }> {
  let rounds = 0;
  let lagging: string | null = null;
  const pending = new Map<string, ResourceRef>(o.refs.map((r) => [r.kind, r]));
  while (pending.size > 0) {
    if (o.signal.aborted) return { rounds: -1, lagging };
    rounds++;
    for (const [kind, ref] of pending) {
      let listed: Listed;
      try {
        listed = await listVersions(o, ref);
      } catch (err) {
        if (o.signal.aborted) return { rounds: -1, lagging };
        lagging = `cannot list ${kind}: ${(err as Error).message}`;
        break;
      }
      // The LIST is a moment in the past; give the watch a moment to get there.
      let why = behind(o.store, kind, listed);
      for (let i = 0; why !== null && i < 20 && !o.signal.aborted; i++) {
        await sleep(o.pollMs ?? 100, o.signal);
        why = behind(o.store, kind, listed);
      }
      lagging = why;
      if (why === null) pending.delete(kind);
    }
    if (pending.size > 0) await sleep(o.pollMs ?? 100, o.signal);
  }
  return { rounds, lagging: null };
}
