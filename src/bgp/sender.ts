/**
 * The sending side of an Established session: per-family next hops and
 * attribute encodings (each attribute set encoded once per session), and the
 * pump that has the Adj-RIB-Out write UPDATEs into 128 KiB chunks, one chunk
 * per socket write.
 *
 * Backpressure: once a write returns false nothing more is built until the
 * socket's 'drain'. A chunk is never reused after it was handed to the
 * socket (node:net may still hold it), so each write gets a fresh one; the
 * scratch buffer for attribute encoding is reused. Work per event-loop turn
 * is bounded so that timers and reads keep running during a large burst.
 */
import { setImmediate } from "node:timers";
import type { Logger } from "../log.ts";
import { type AttrSet, encodeForSession, type SessionEncoding } from "./attr-set.ts";
import { type FamilyCode, formatFamily, IPV4_UNICAST, IPV6_UNICAST, isRouteFamily } from "./families.ts";
import type { Negotiated } from "./negotiate.ts";
import type { PeerConfig } from "./peer-config.ts";
import type { AdjRibOut, FamilyEncoder, SentInfo } from "./rib-out.ts";
import { writeAddress } from "./wire/attrs/mp.ts";

const CHUNK_BYTES = 128 * 1024;
/** Bytes built per event-loop turn. */
const TURN_BUDGET = 1024 * 1024;

/** What the sender needs from its session. */
export interface SenderHost {
  /** Writes bytes to the current connection; false means "wait for drain". Null when there is none. */
  write(bytes: Uint8Array): boolean | null;
  /** The negotiated maximum message size, or 0 when the session is not Established. */
  maxLength(): number;
  /** Called for every UPDATE written. */
  sent(info: SentInfo): void;
  /** Called after a turn that wrote UPDATEs (restarts the keepalive timer). */
  burst(): void;
}

function addressBytes(text: string): Uint8Array {
  const out = new Uint8Array(16);
  return out.slice(0, writeAddress(out, 0, text));
}

export class UpdateSender implements FamilyEncoder {
  readonly #rib: AdjRibOut;
  readonly #host: SenderHost;
  readonly #log: Logger;
  #enc: SessionEncoding | null = null;
  #attrCache = new Map<FamilyCode, WeakMap<AttrSet, Uint8Array>>();
  #mpNextHop = new Map<FamilyCode, Uint8Array | null>();
  #scratch = new Uint8Array(65536);
  #chunk: Uint8Array | null = null;
  #chunkOff = 0;
  #blocked = false;
  #scheduled = false;

  constructor(rib: AdjRibOut, host: SenderHost, log: Logger) {
    this.#rib = rib;
    this.#host = host;
    this.#log = log;
    rib.onWork = () => this.schedule();
  }

  /**
   * Chooses next hops and encodings for a new session. The session's local
   * address is the next hop of its own family; IPv6 routes on an IPv4
   * session get the IPv4-mapped address, IPv4 routes on an IPv6 session need
   * RFC 8950 or a configured IPv4 next hop. Returns the families whose
   * routes cannot be sent (they get End-of-RIB only).
   */
  prepare(neg: Negotiated, cfg: PeerConfig, localAsn: number, localAddress: string): FamilyCode[] {
    const local = localAddress || cfg.localAddress || "";
    const localV6 = local.includes(":");
    const nhV4 = cfg.nextHop.ipv4 ?? (localV6 ? undefined : local);
    const nhV6 = cfg.nextHop.ipv6 ?? (localV6 ? local : local ? `::ffff:${local}` : undefined);
    this.#enc = { ebgp: neg.ebgp, localAsn, as4: neg.as4, nextHopV4: nhV4 };
    this.#attrCache.clear();
    this.#mpNextHop.clear();
    this.#blocked = false;
    const withheld: FamilyCode[] = [];
    for (const f of neg.families) {
      if (!isRouteFamily(f)) continue;
      if (f === IPV4_UNICAST) {
        if (neg.extendedNextHop.includes(IPV4_UNICAST) && nhV6 && !cfg.nextHop.ipv4) this.#mpNextHop.set(f, addressBytes(nhV6));
        else if (nhV4) this.#mpNextHop.set(f, null);
        else withheld.push(f);
      } else if (f === IPV6_UNICAST) {
        if (nhV6) this.#mpNextHop.set(f, addressBytes(nhV6));
        else withheld.push(f);
      }
    }
    for (const f of withheld) this.#log.warn("No next hop for family: routes withheld", { family: formatFamily(f), local_address: local });
    return withheld;
  }

  /** FamilyEncoder: the attribute bytes of a set for this session (cached). */
  attributes(f: FamilyCode, attrs: AttrSet): Uint8Array {
    let cache = this.#attrCache.get(f);
    if (!cache) this.#attrCache.set(f, cache = new WeakMap());
    let bytes = cache.get(attrs);
    if (!bytes) {
      bytes = encodeForSession(attrs, this.#enc!, this.#mpNextHop.get(f) === null, this.#scratch);
      cache.set(attrs, bytes);
    }
    return bytes;
  }

  /** FamilyEncoder: the MP_REACH next hop, or null for IPv4 in the NLRI field. */
  mpNextHop(f: FamilyCode): Uint8Array | null {
    return this.#mpNextHop.get(f) ?? null;
  }

  /** The session went down: drop the unsent chunk. */
  reset(): void {
    this.#chunk = null;
    this.#chunkOff = 0;
    this.#blocked = false;
  }

  /** Another writer (a KEEPALIVE) saw the socket push back. */
  markBlocked(): void {
    this.#blocked = true;
  }

  /** The socket drained: continue. */
  drained(): void {
    this.#blocked = false;
    this.pump();
  }

  /** Runs pump() on a later turn (batches many API calls into one burst). */
  schedule(): void {
    if (this.#scheduled || this.#blocked) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.pump();
    });
  }

  /** Builds and writes UPDATEs until the queue is empty, the socket pushes back, or this turn's budget is spent. */
  pump(): void {
    const max = this.#host.maxLength();
    if (max === 0 || this.#blocked) return;
    let built = 0;
    while (true) {
      if (!this.#chunk || this.#chunkOff + max > this.#chunk.length) {
        if (!this.flush()) break;
        this.#chunk = new Uint8Array(Math.max(CHUNK_BYTES, 2 * max));
      }
      const n = this.#rib.next(this.#chunk, this.#chunkOff, max, this);
      if (n === 0) break;
      this.#chunkOff += n;
      built += n;
      this.#host.sent(this.#rib.lastSent!);
      if (built >= TURN_BUDGET) {
        if (this.flush()) this.schedule();
        break;
      }
    }
    this.flush();
    if (built > 0) this.#host.burst();
  }

  /** Writes the chunk built so far; false when the socket asked us to wait. */
  flush(): boolean {
    if (this.#chunk && this.#chunkOff > 0) {
      const ok = this.#host.write(this.#chunk.subarray(0, this.#chunkOff));
      this.#chunk = null;
      this.#chunkOff = 0;
      if (ok === false) this.#blocked = true;
    }
    return !this.#blocked;
  }
}
