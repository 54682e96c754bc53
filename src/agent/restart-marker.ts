/**
 * "Peers may be holding routes from this node": a marker file in the state
 * directory, so that the next start knows it is a restart (RFC 4724).
 *
 * The marker is written when a session first reaches Established and is
 * removed only when herald itself took every route back (no instance is
 * desired any more, so every peer got a Cease). Agent shutdown and crashes
 * leave it in place on purpose: herald never withdraws on shutdown (spec C7),
 * so graceful-restart peers keep its routes as stale, and the next start must
 * say "I restarted" (R bit) with forwarding preserved (F bits) so that they
 * keep them until its End-of-RIB.
 *
 * Why a marker rather than always setting R as some speakers do: R tells a
 * peer not to wait for our End-of-RIB and that stale routes from us may
 * exist; after a cold start (first boot, or after herald withdrew
 * everything) neither is true, and the router's log should not claim a
 * restart that never happened.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const MARKER_FILE = "bgp-sessions.json";

export interface MarkerInfo {
  node: string;
  pid: number;
  /** When the first session of that run came up (ISO time). */
  since: string;
}

/** The marker left by an earlier run, or null on a cold start. */
export async function readMarker(stateDir: string): Promise<MarkerInfo | null> {
  try {
    return JSON.parse(await readFile(join(stateDir, MARKER_FILE), "utf8")) as MarkerInfo;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    // Unreadable or damaged: assume peers may hold routes (the safe side).
    return { node: "", pid: 0, since: "" };
  }
}

export async function writeMarker(stateDir: string, info: MarkerInfo): Promise<void> {
  await writeFile(join(stateDir, MARKER_FILE), JSON.stringify(info) + "\n");
}

export async function removeMarker(stateDir: string): Promise<void> {
  await rm(join(stateDir, MARKER_FILE), { force: true });
}
