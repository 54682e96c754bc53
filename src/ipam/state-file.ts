/**
 * File-mode LB-IPAM state: `<state-dir>/lbipam.json`.
 *
 * Without Kubernetes there is no Service status subresource to keep
 * allocations in, so this file plays its part: the status LB-IPAM wrote for
 * each Service and pool, plus the time each pool was first seen (manifests
 * carry no creationTimestamp, yet pool age decides conflicts and allocation
 * order, I5/I7). At start the statuses go back onto the objects and the
 * engine adopts the addresses exactly as it does from a cluster (I12), so a
 * restart never moves an address.
 *
 * Changes since it was written are appended to `lbipam.journal`
 * (state-journal.ts); state-store.ts reads the two together and decides
 * when to write a new snapshot.
 *
 * Writes are atomic: a temporary file in the same directory is written and
 * fsynced, renamed over the old one, then the directory is fsynced. The file
 * carries a format version and a SHA-256 of its content, so that a torn or
 * corrupt file is detected and reported (`StateFileError`, naming the file
 * and the problem) instead of being silently reset, which would hand every
 * Service a new address.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { LoadBalancerIngress } from "../control/schemas/service.ts";

export const STATE_FILE = "lbipam.json";
export const STATE_KIND = "HeraldLbIpamState";
export const STATE_VERSION = 1;

const StoredCondition = z.object({
  type: z.string().min(1),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string(),
  reason: z.string(),
  message: z.string(),
});

export const StoredServiceStatus = z.object({
  loadBalancer: z.object({ ingress: z.array(LoadBalancerIngress).optional() }),
  conditions: z.array(StoredCondition).optional(),
});

export const StoredPool = z.object({
  /** RFC 3339; stands in for creationTimestamp when the manifest has none. */
  firstSeen: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "firstSeen must be an RFC 3339 time"),
  status: z.object({ conditions: z.array(StoredCondition).optional() }),
});

export const LbIpamState = z.object({
  /** `namespace/name` → status. */
  services: z.record(z.string(), StoredServiceStatus),
  pools: z.record(z.string(), StoredPool),
});
export type LbIpamState = z.infer<typeof LbIpamState>;

export const emptyState = (): LbIpamState => ({ services: {}, pools: {} });

/** A state file that cannot be trusted. Callers stop rather than start afresh. */
export class StateFileError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`Cannot load LB-IPAM state "${file}": ${reason}`);
    this.name = "StateFileError";
    this.file = file;
  }
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The file content for `state`: an envelope with kind, version and checksum. */
export function encodeState(state: LbIpamState): string {
  return encodeSnapshot(state).text;
}

function encodeSnapshot(state: LbIpamState): { text: string; sha256: string } {
  const body = JSON.stringify(state);
  const hash = sha256(body);
  const envelope = { kind: STATE_KIND, version: STATE_VERSION, sha256: hash, state: JSON.parse(body) };
  return { text: JSON.stringify(envelope, null, 2) + "\n", sha256: hash };
}

const ADVICE = "herald will not start from a state it cannot trust; restore the file or move it away " +
  "(then every Service is allocated afresh and addresses may change)";

/** Checks and decodes a state file's text; throws StateFileError saying what is wrong. */
export function decodeState(text: string, file: string): LbIpamState {
  return decodeSnapshot(text, file).state;
}

/** decodeState, with the checksum that journal lines name as their base. */
export function decodeSnapshot(text: string, file: string): { state: LbIpamState; sha256: string } {
  const fail = (reason: string): never => {
    throw new StateFileError(file, `${reason}; ${ADVICE}`);
  };
  if (text.trim() === "") fail("the file is empty (a write cut short?)");
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (e) {
    fail(`the file is not complete JSON, it looks torn or damaged: ${(e as Error).message}`);
  }
  const env = envelope as { kind?: unknown; version?: unknown; sha256?: unknown; state?: unknown };
  if (env === null || typeof env !== "object" || env.kind !== STATE_KIND) {
    fail(`kind must be "${STATE_KIND}": this is not an LB-IPAM state file`);
  }
  if (env.version !== STATE_VERSION) {
    fail(`version must be ${STATE_VERSION}: current value is ${JSON.stringify(env.version)} (written by another herald version?)`);
  }
  if (typeof env.sha256 !== "string") fail("sha256 is missing");
  const body = JSON.stringify(env.state ?? null);
  const actual = sha256(body);
  if (actual !== env.sha256) {
    fail(`checksum mismatch: the file says sha256 ${env.sha256}, its content hashes to ${actual} (corrupted, or edited by hand)`);
  }
  const parsed = LbIpamState.safeParse(env.state);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `state.${i.path.join(".")}: ${i.message}`).join("; ");
    fail(`unexpected content: ${why}`);
  }
  return { state: parsed.data!, sha256: env.sha256 as string };
}

/**
 * Reads `<dir>/lbipam.json` alone (state-store.ts adds the journal).
 * Returns null when there is none (first start); throws StateFileError when
 * it exists but cannot be trusted. Temporary files left by an interrupted
 * save are removed (the old file is intact).
 */
export async function readSnapshot(dir: string): Promise<{ state: LbIpamState; sha256: string; bytes: number } | null> {
  const file = join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StateFileError(file, `cannot read it: ${(e as Error).message}`);
  }
  await removeTemporaries(dir);
  return { ...decodeSnapshot(text, file), bytes: Buffer.byteLength(text) };
}

async function removeTemporaries(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith(`.${STATE_FILE}.tmp-`)) await unlink(join(dir, name)).catch(() => {});
  }
}

/**
 * Writes `<dir>/lbipam.json` atomically and durably (temp file, fsync,
 * rename, directory fsync). Returns its checksum and size.
 */
export async function writeSnapshot(dir: string, state: LbIpamState): Promise<{ sha256: string; bytes: number }> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, STATE_FILE);
  const tmp = join(dir, `.${STATE_FILE}.tmp-${randomUUID()}`);
  const { text: data, sha256: sha } = encodeSnapshot(state);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(data, "utf8");
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw new Error(`Cannot save LB-IPAM state "${file}": ${(e as Error).message}`);
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw new Error(`Cannot save LB-IPAM state "${file}": ${(e as Error).message}`);
  }
  // The rename is durable only once the directory entry is on disk.
  await fsyncPath(dir);
  return { sha256: sha, bytes: Buffer.byteLength(data) };
}

/** fsync of a file or directory by path (a directory: its entries, after a rename or unlink). */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
