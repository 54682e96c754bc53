/**
 * Run code inside another network namespace, on the calling thread only
 * (setns(2) with CLONE_NEWNET is per thread). Sockets, netlink requests and
 * interface lookups made synchronously inside `fn` belong to that namespace
 * and stay there; the mount namespace is untouched, so /sys/fs/bpf stays
 * visible (unlike `ip netns exec`, which remounts /sys).
 *
 * Used by tests that build topologies with `ip netns add`, and by anything
 * that must attach the datapath inside a namespace.
 */
import { lastErrno, libc } from "./ffi.ts";
import { ErrnoError } from "./errno.ts";
import { cString } from "./sockaddr.ts";

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;

function openNs(path: string): number {
  const fd = libc().open(cString(path), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw new ErrnoError(`open network namespace "${path}"`, lastErrno());
  return fd;
}

/**
 * Calls `fn` with the thread switched to the namespace at `nsPath` (e.g.
 * `/run/netns/NAME`) and switches back before returning. Only the
 * synchronous part of `fn` runs inside.
 */
export function withNetns<T>(nsPath: string, fn: () => T): T {
  const c = libc();
  const home = openNs("/proc/thread-self/ns/net");
  try {
    const target = openNs(nsPath);
    try {
      if (c.setns(target, CLONE_NEWNET) < 0) throw new ErrnoError(`enter network namespace "${nsPath}"`, lastErrno());
    } finally {
      c.close(target);
    }
    let outcome: { value: T } | { error: unknown };
    try {
      outcome = { value: fn() };
    } catch (error) {
      outcome = { error };
    }
    // Staying in the wrong namespace would misroute every later socket: that failure wins.
    if (c.setns(home, CLONE_NEWNET) < 0) throw new ErrnoError("return to the original network namespace", lastErrno());
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  } finally {
    c.close(home);
  }
}
