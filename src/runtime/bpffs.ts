/**
 * The BPF file system, where herald pins its maps. Like Cilium's agent,
 * herald mounts bpffs at /sys/fs/bpf when nothing is mounted there yet (a
 * fresh host where systemd did not), so that pinned maps outlive the agent.
 */
import { lastErrno, libc } from "./ffi.ts";
import { ErrnoError } from "./errno.ts";
import { cString } from "./sockaddr.ts";
import { dirname, join } from "node:path";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";

/** BPF_FS_MAGIC (linux/magic.h). */
const BPF_FS_MAGIC = 0xcafe4a11;
/** sizeof(struct statfs) on 64-bit Linux; f_type is the first field. */
const STATFS_SIZE = 120;

/** The file-system magic of the file system holding `path`. */
export function fsMagic(path: string): number {
  const buf = new Uint8Array(STATFS_SIZE);
  if (libc().statfs(cString(path), buf) < 0) throw new ErrnoError(`stat the file system of "${path}"`, lastErrno());
  return Number(new DataView(buf.buffer).getBigUint64(0, true));
}

function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p)) p = dirname(p);
  return p;
}

export function isBpffs(path: string): boolean {
  return fsMagic(nearestExisting(path)) === BPF_FS_MAGIC;
}

export interface EnsureBpffsOptions {
  /** Where bpffs is mounted when missing; only paths below it are handled. */
  mountAt?: string;
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Mounts bpffs at `mountAt` unless another process does it first: two
 * mounts would stack, and the upper one would hide the pins made on the
 * lower. A lock file (O_EXCL) lets one process mount while others wait;
 * a lock older than 10 s is left over from a crash and taken over.
 */
function mountOnce(mountAt: string): boolean {
  const lock = join(tmpdir(), `herald-bpffs-${mountAt.replace(/\W/g, "_")}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lock, "wx");
    } catch {
      for (let waited = 0; waited < 3000; waited += 50) {
        if (isBpffs(mountAt)) return false;
        sleep(50);
      }
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 10_000) rmSync(lock, { force: true });
      continue;
    }
    try {
      if (isBpffs(mountAt)) return false;
      const r = libc().mount(cString("bpf"), cString(mountAt), cString("bpf"), 0, cString("mode=0700"));
      if (r < 0) throw new ErrnoError(`mount bpffs at "${mountAt}"`, lastErrno());
      return true;
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
    }
  }
  throw new Error(`Cannot mount bpffs at "${mountAt}": another process holds "${lock}"`);
}

/**
 * Makes sure `pinDir` exists on a bpffs, mounting one at `mountAt`
 * (default /sys/fs/bpf) when `pinDir` is below it and nothing is mounted.
 * Returns true when it mounted. Throws a clear error otherwise.
 */
export function ensureBpffs(pinDir: string, options: EnsureBpffsOptions = {}): boolean {
  const mountAt = options.mountAt ?? "/sys/fs/bpf";
  if (pinDir.split("/").some((part) => part.includes("."))) {
    throw new Error(`Cannot use BPF pin directory "${pinDir}": bpffs refuses names with dots`);
  }
  let mounted = false;
  if (!isBpffs(pinDir)) {
    if (pinDir !== mountAt && !pinDir.startsWith(mountAt + "/")) {
      throw new Error(`Cannot use BPF pin directory "${pinDir}": it is not on a BPF file system (mount -t bpf bpf DIR)`);
    }
    if (!existsSync(mountAt)) {
      throw new Error(`Cannot use BPF pin directory "${pinDir}": "${mountAt}" does not exist, so bpffs cannot be mounted there`);
    }
    mounted = mountOnce(mountAt);
  }
  try {
    mkdirSync(pinDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    throw new Error(`Cannot create BPF pin directory "${pinDir}": ${code}`);
  }
  return mounted;
}
