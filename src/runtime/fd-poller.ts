/**
 * Waiting for file descriptors (non-blocking connects) without tying up a
 * thread per wait: one poll(2) at a time runs on a helper thread over every
 * fd being waited for, plus an eventfd that wakes it when the set changes.
 * koffi runs async calls on as many worker threads as there are cores, so a
 * poll per connect would stall the third connect on a 2-core node while two
 * peers do not answer; Deno has more threads but the same design serves both.
 * When nothing is waited for, no poll is pending, so the process can exit.
 */
import { lastErrno, libc } from "./ffi.ts";
import { ErrnoError } from "./errno.ts";

const POLLIN = 0x1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

interface Waiter {
  events: number;
  resolve(revents: number): void;
  reject(err: Error): void;
}

class FdPoller {
  #waiting = new Map<number, Waiter>();
  #wake = -1;
  #running = false;

  /** Resolves with the fd's revents once any of `events` (or an error) is reported. */
  wait(fd: number, events: number, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.reject(new Error("Cannot connect: aborted"));
    if (this.#waiting.has(fd)) return Promise.reject(new Error(`Cannot wait for fd ${fd}: already waited for`));
    return new Promise<number>((resolve, reject) => {
      const onAbort = () => {
        if (this.#waiting.get(fd) !== waiter) return;
        this.#waiting.delete(fd);
        this.#kick();
        reject(new Error("Cannot connect: aborted"));
      };
      const waiter: Waiter = {
        events,
        resolve: (revents) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(revents);
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.set(fd, waiter);
      this.#start();
    });
  }

  #start(): void {
    if (this.#wake < 0) {
      this.#wake = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (this.#wake < 0) throw new ErrnoError("create an eventfd", lastErrno());
    }
    if (this.#running) {
      this.#kick();
      return;
    }
    this.#running = true;
    void this.#loop();
  }

  /** Wakes the pending poll so it picks up the changed set. */
  #kick(): void {
    const one = new Uint8Array(8);
    one[0] = 1;
    libc().write(this.#wake, one, 8);
  }

  async #loop(): Promise<void> {
    const c = libc();
    const drain = new Uint8Array(8);
    try {
      while (this.#waiting.size > 0) {
        // struct pollfd { int fd; short events; short revents; }: the eventfd first.
        const fds = [...this.#waiting];
        const buf = new Uint8Array(8 * (fds.length + 1));
        const view = new DataView(buf.buffer);
        view.setInt32(0, this.#wake, true);
        view.setInt16(4, POLLIN, true);
        fds.forEach(([fd, w], i) => {
          view.setInt32(8 * (i + 1), fd, true);
          view.setInt16(8 * (i + 1) + 4, w.events, true);
        });
        const n = await c.poll(buf, fds.length + 1, -1);
        if (n < 0) continue; // EINTR (errno lives on the helper thread)
        if (view.getInt16(6, true) !== 0) c.read(this.#wake, drain, 8);
        fds.forEach(([fd, w], i) => {
          const revents = view.getInt16(8 * (i + 1) + 6, true);
          if (revents !== 0 && this.#waiting.get(fd) === w) {
            this.#waiting.delete(fd);
            w.resolve(revents);
          }
        });
      }
    } catch (err) {
      // poll itself failed (e.g. koffi's async queue is full): fail every wait, keep nothing pending.
      const error = new Error(`Cannot wait for connections: ${err instanceof Error ? err.message : String(err)}`);
      for (const w of this.#waiting.values()) w.reject(error);
      this.#waiting.clear();
    } finally {
      this.#running = false;
    }
  }
}

/** The process-wide poller. */
export const fdPoller = new FdPoller();
