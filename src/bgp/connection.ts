/**
 * One TCP connection of a session: frames incoming bytes into messages,
 * writes with backpressure, closes once (idempotent).
 *
 * The session may hold two at a time (connection collision, RFC 4271 §6.8),
 * so each carries its direction and the OPEN received on it.
 */
import type { OpenMessage } from "./wire/open.ts";
import { Framer, type MessageHandler } from "./wire/framer.ts";

/** The part of node:net's Socket a session uses (a fake in tests is enough). */
export interface BgpSocket {
  write(data: Uint8Array): boolean;
  end(): unknown;
  destroy(error?: Error): unknown;
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  on(event: "drain" | "end", listener: () => void): unknown;
  on(event: "close", listener: (hadError: boolean) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  setNoDelay?(noDelay?: boolean): unknown;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

export type Direction = "outgoing" | "incoming";

/** "::ffff:10.0.0.1" → "10.0.0.1" (dual-stack sockets report IPv4 peers that way). */
export function plainAddress(a: string | undefined): string {
  if (!a) return "";
  return a.toLowerCase().startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

export interface ConnectionHandlers {
  message(conn: Connection, ...args: Parameters<MessageHandler>): void;
  /** The framer found a bad header (a NotificationError) or the socket failed. */
  error(conn: Connection, error: Error): void;
  /** The socket closed; not called after close() was called by us. */
  closed(conn: Connection): void;
  drain(conn: Connection): void;
}

let nextId = 1;

export class Connection {
  readonly id = nextId++;
  readonly direction: Direction;
  readonly socket: BgpSocket;
  readonly framer = new Framer();
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** The OPEN received on this connection, once it arrived. */
  open: OpenMessage | null = null;
  #closed = false;

  constructor(socket: BgpSocket, direction: Direction, h: ConnectionHandlers) {
    this.socket = socket;
    this.direction = direction;
    this.remoteAddress = plainAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = plainAddress(socket.localAddress);
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay?.(true);
    const onMessage: MessageHandler = (type, buf, off, len) => h.message(this, type, buf, off, len);
    const stopped = () => this.#closed;
    socket.on("data", (chunk) => {
      if (this.#closed) return;
      try {
        // A plain Uint8Array view: Buffer#slice would not copy, and decoders copy
        // what they keep with slice() so that no chunk stays alive for a few bytes.
        const bytes = chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        this.framer.push(bytes, onMessage, stopped);
      } catch (e) {
        if (!this.#closed) h.error(this, e as Error);
      }
    });
    socket.on("drain", () => {
      if (!this.#closed) h.drain(this);
    });
    socket.on("error", (e) => {
      if (!this.#closed) h.error(this, e);
    });
    socket.on("close", () => {
      if (!this.#closed) {
        this.#closed = true;
        h.closed(this);
      }
    });
    socket.on("end", () => {
      // The peer half-closed; BGP has no use for a half-open connection.
      if (!this.#closed) socket.end();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues bytes; false means "wait for drain" (or closed). */
  write(bytes: Uint8Array): boolean {
    if (this.#closed) return false;
    return this.socket.write(bytes);
  }

  /**
   * Closes once: sends `last` (a NOTIFICATION) if given, ends the socket,
   * and destroys it if the peer does not finish closing within a second.
   * Without `last` and with `abort`, the socket is destroyed at once.
   */
  close(last?: Uint8Array, abort = false): void {
    if (this.#closed) return;
    this.#closed = true;
    if (abort && !last) {
      this.socket.destroy();
      return;
    }
    if (last) this.socket.write(last);
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    (t as { unref?: () => void }).unref?.();
  }
}
