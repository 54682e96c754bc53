/**
 * Splits a TCP byte stream into BGP messages (BIRD's `bgp_rx`): checks the
 * header of each message as soon as 19 bytes are there, hands on whole
 * messages as views into the received chunk where possible, and keeps only
 * an incomplete tail. A bad header throws NotificationError; the framer is
 * then unusable (the session closes).
 */
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, type MessageType, readHeader } from "./header.ts";

/** Called per message with the buffer, the message start and its total length. */
export type MessageHandler = (type: MessageType, buf: Uint8Array, off: number, length: number) => void;

export class Framer {
  /** 4096 until both sides negotiated RFC 8654 extended messages. */
  maxLength = MAX_MESSAGE_LENGTH;
  #tail: Uint8Array | null = null;

  /** Bytes held back waiting for the rest of a message. */
  get pending(): number {
    return this.#tail?.length ?? 0;
  }

  /**
   * Feeds a chunk; calls `onMessage` for each whole message in order. The
   * handler must not keep `buf` beyond the call (it may be the next chunk's
   * storage). Stops early when `stopped()` turns true (session closed).
   */
  push(chunk: Uint8Array, onMessage: MessageHandler, stopped: () => boolean = () => false): void {
    let buf = chunk;
    if (this.#tail) {
      const joined = new Uint8Array(this.#tail.length + chunk.length);
      joined.set(this.#tail);
      joined.set(chunk, this.#tail.length);
      buf = joined;
      this.#tail = null;
    }
    let off = 0;
    while (buf.length - off >= HEADER_LENGTH && !stopped()) {
      const { length, type } = readHeader(buf, off, this.maxLength);
      if (buf.length - off < length) break;
      onMessage(type, buf, off, length);
      off += length;
    }
    if (off < buf.length && !stopped()) this.#tail = buf.slice(off);
  }
}
