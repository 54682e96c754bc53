/**
 * Test doubles for session tests: a fake clock, in-memory socket pairs with
 * controllable backpressure, a transport that hands out such sockets, and a
 * scripted "raw peer" that reads and writes BGP messages byte by byte.
 */
import { EventEmitter } from "node:events";
import { setImmediate } from "node:timers";
import type { Clock } from "../../src/bgp/clock.ts";
import type { BgpSocket } from "../../src/bgp/connection.ts";
import { IPV4_UNICAST, IPV6_UNICAST } from "../../src/bgp/families.ts";
import type { AcceptedSocketOptions, BgpTransport, ConnectOptions, Listener, ListenOptions } from "../../src/bgp/transport.ts";
import {
  decodeNotification,
  decodeOpen,
  encodeKeepalive,
  encodeLocalCapabilities,
  encodeOpen,
  type GracefulRestartCapability,
  HEADER_LENGTH,
  MessageType,
  type OpenMessage,
  parseRouterId,
  readHeader,
} from "../../src/bgp/wire/mod.ts";
import type { FamilyCode } from "../../src/bgp/families.ts";

export const tick = () => new Promise<void>((r) => setImmediate(r));
export async function ticks(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

export class FakeClock implements Clock {
  #now = 1_700_000_000_000;
  #timers = new Map<number, { at: number; fn: () => void; ms: number }>();
  #id = 0;

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.#id;
    this.#timers.set(id, { at: this.#now + ms, fn, ms });
    return id;
  }

  clearTimeout(h: unknown): void {
    this.#timers.delete(h as number);
  }

  /** Delays (ms, as requested) of the timers still pending. */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.ms);
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    while (true) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= target && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = target;
  }
}

/** One end of an in-memory TCP connection. */
export class MemSocket extends EventEmitter implements BgpSocket {
  peer!: MemSocket;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  destroyed = false;
  #ended = false;
  /** When false, writes pile up until flush() (backpressure tests). */
  autoFlush = true;
  /** write() returns false once this many bytes wait. */
  highWaterMark = 64 * 1024;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #wantDrain = false;
  /** Every write, in order. */
  writes: Uint8Array[] = [];

  constructor(local: [string, number], remote: [string, number]) {
    super();
    [this.localAddress, this.localPort] = local;
    [this.remoteAddress, this.remotePort] = remote;
  }

  write(data: Uint8Array): boolean {
    if (this.destroyed || this.#ended) return false;
    const copy = new Uint8Array(data);
    this.writes.push(copy);
    this.#queue.push(copy);
    this.#queued += copy.length;
    if (this.autoFlush) setImmediate(() => this.flush());
    const ok = this.#queued < this.highWaterMark;
    if (!ok) this.#wantDrain = true;
    return ok;
  }

  /** Delivers what was written to the other end, then emits 'drain' if a write had returned false. */
  flush(): void {
    const chunks = this.#queue;
    this.#queue = [];
    this.#queued = 0;
    for (const c of chunks) if (!this.peer.destroyed) this.peer.emit("data", c);
    if (this.#wantDrain && !this.destroyed) {
      this.#wantDrain = false;
      this.emit("drain");
    }
  }

  get queuedBytes(): number {
    return this.#queued;
  }

  end(): void {
    if (this.#ended || this.destroyed) return;
    this.#ended = true;
    setImmediate(() => {
      this.flush();
      this.destroy();
    });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    setImmediate(() => {
      this.emit("close", false);
      if (!this.peer.destroyed) this.peer.destroy();
    });
  }

  setNoDelay(): void {}
}

export function socketPair(a: [string, number], b: [string, number]): [MemSocket, MemSocket] {
  const x = new MemSocket(a, b);
  const y = new MemSocket(b, a);
  x.peer = y;
  y.peer = x;
  return [x, y];
}

export interface PendingConnect {
  options: ConnectOptions;
  /** Completes the connect; returns the remote end as a RawPeer. */
  accept(): RawPeer;
  refuse(code?: string): void;
}

/** A transport whose connects the test completes by hand and whose listeners the test feeds. */
export class FakeTransport implements BgpTransport {
  unsupported: Set<"ttl" | "minTtl" | "md5">;
  connects: PendingConnect[] = [];
  listeners = new Map<number, { options: ListenOptions; on: (s: BgpSocket) => void; md5?: ReadonlyMap<string, string> }>();
  accepted: AcceptedSocketOptions[] = [];
  #port = 40000;

  constructor(unsupported: Array<"ttl" | "minTtl" | "md5"> = []) {
    this.unsupported = new Set(unsupported);
  }

  connect(options: ConnectOptions): Promise<never> {
    return new Promise((resolve, reject) => {
      const local: [string, number] = [options.localAddress ?? "127.0.0.1", options.localPort ?? ++this.#port];
      this.connects.push({
        options,
        accept: () => {
          const [mine, theirs] = socketPair(local, [options.remoteAddress, options.remotePort]);
          resolve(mine as never);
          return new RawPeer(theirs);
        },
        refuse: (code = "ECONNREFUSED") => reject(Object.assign(new Error(`connect ${code} ${options.remoteAddress}:${options.remotePort}`), { code })),
      });
    });
  }

  listen(options: ListenOptions, on: (s: never) => void): Promise<Listener> {
    const port = options.port || ++this.#port;
    const entry: { options: ListenOptions; on: (s: BgpSocket) => void; md5?: ReadonlyMap<string, string> } = { options, on: on as (s: BgpSocket) => void };
    this.listeners.set(port, entry);
    return Promise.resolve({
      port,
      setMd5Passwords: (m) => void (entry.md5 = m),
      close: () => {
        this.listeners.delete(port);
        return Promise.resolve();
      },
    });
  }

  configureAccepted(_s: unknown, o: AcceptedSocketOptions): void {
    this.accepted.push(o);
  }

  /** A connection from `remote` to the listener on `port`; returns the remote end. */
  dial(port: number, remote: string, remotePort = 50000): RawPeer {
    const l = this.listeners.get(port);
    if (!l) throw new Error(`no listener on ${port}`);
    const [mine, theirs] = socketPair([l.options.address, port], [remote, remotePort]);
    l.on(mine);
    return new RawPeer(theirs);
  }

  /** Waits for the next connect attempt. */
  async nextConnect(): Promise<PendingConnect> {
    for (let i = 0; i < 200 && this.connects.length === 0; i++) await tick();
    const c = this.connects.shift();
    if (!c) throw new Error("no connect attempt");
    return c;
  }
}

export interface Msg {
  type: MessageType;
  /** The whole message. */
  bytes: Uint8Array;
  /** Body offset (19). */
  body: Uint8Array;
}

export interface RawOpen {
  asn?: number;
  holdTime?: number;
  routerId?: string;
  families?: FamilyCode[];
  as4?: boolean;
  extendedMessage?: boolean;
  gracefulRestart?: GracefulRestartCapability;
  capabilities?: Uint8Array[];
}

/** The far end of a session, scripted by the test at the byte level. */
export class RawPeer {
  readonly socket: MemSocket;
  readonly received: Msg[] = [];
  #buf = new Uint8Array(0);
  #waiters: Array<() => void> = [];
  closed = false;

  constructor(socket: MemSocket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      const joined = new Uint8Array(this.#buf.length + chunk.length);
      joined.set(this.#buf);
      joined.set(chunk, this.#buf.length);
      let off = 0;
      while (joined.length - off >= HEADER_LENGTH) {
        const { length, type } = readHeader(joined, off, 65535);
        if (joined.length - off < length) break;
        const bytes = joined.slice(off, off + length);
        this.received.push({ type, bytes, body: bytes.subarray(HEADER_LENGTH) });
        off += length;
      }
      this.#buf = joined.slice(off);
      this.#wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits (real ticks) until `pred` holds. */
  async until(pred: () => boolean, what = "condition"): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if (pred()) return;
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setImmediate(r);
      });
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  #taken = 0;

  /** Waits for the next message of `type` not yet taken; returns it. */
  async next(type?: MessageType): Promise<Msg> {
    await this.until(() => this.received.slice(this.#taken).some((m) => type === undefined || m.type === type), `message type ${type}`);
    while (true) {
      const m = this.received[this.#taken++];
      if (type === undefined || m.type === type) return m;
    }
  }

  of(type: MessageType): Msg[] {
    return this.received.filter((m) => m.type === type);
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  sendOpen(o: RawOpen = {}): void {
    const asn = o.asn ?? 65002;
    const caps = o.capabilities ?? encodeLocalCapabilities({
      asn,
      families: o.families ?? [IPV4_UNICAST, IPV6_UNICAST],
      extendedMessage: o.extendedMessage ?? false,
      extendedNextHop: [],
      gracefulRestart: o.gracefulRestart,
    }).filter((c) => o.as4 !== false || c[0] !== 65);
    this.send(encodeOpen({ asn, holdTime: o.holdTime ?? 90, routerId: parseRouterId(o.routerId ?? "10.0.0.2")!, capabilities: caps }));
  }

  sendKeepalive(): void {
    this.send(encodeKeepalive());
  }

  /** Reads our OPEN, answers with `o` and a KEEPALIVE, and waits for the session's KEEPALIVE. */
  async establish(o: RawOpen = {}): Promise<OpenMessage> {
    const m = await this.next(MessageType.Open);
    const open = decodeOpen(m.bytes, HEADER_LENGTH, m.bytes.length);
    this.sendOpen(o);
    this.sendKeepalive();
    await this.next(MessageType.Keepalive);
    return open;
  }

  /** The NOTIFICATIONs received so far, decoded. */
  notifications(): Array<{ code: number; subcode: number; data: Uint8Array }> {
    return this.of(MessageType.Notification).map((m) => decodeNotification(m.bytes, HEADER_LENGTH, m.bytes.length));
  }

  close(): void {
    this.socket.destroy();
  }
}
