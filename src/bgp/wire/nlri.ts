/**
 * Prefixes as packed keys: a string whose char codes are the NLRI wire bytes
 * (RFC 4271 §4.3: one length byte in bits, then the fewest bytes holding the
 * prefix). "10.1.0.0/16" is "\x10\x0a\x01".
 *
 * Why: a key is a Map/Set key as it is (no objects per prefix, V8 keeps it as
 * a one-byte string), and packing an UPDATE is copying its char codes. Host
 * bits beyond the length are cleared when a key is made, so one prefix has
 * exactly one key.
 */
import { familyBits, formatIP, type IPFamily, type IPPrefix, parsePrefix } from "../../net/ip.ts";
import { ErrorCode, NotificationError, UpdateSubcode } from "./errors.ts";

/** A prefix in NLRI wire form, one char per byte. */
export type PrefixKey = string;

const MASK = [0xff, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe];

/** Wire size of a key in bytes (its string length). */
export const keyBytes = (key: PrefixKey): number => key.length;

/** The key of the prefix at `off` (`bits` already read); host bits cleared. */
export function keyAt(buf: Uint8Array, off: number, bits: number): PrefixKey {
  const n = (bits + 7) >> 3;
  const last = MASK[bits & 7];
  const fc = String.fromCharCode;
  switch (n) {
    case 0:
      return fc(bits);
    case 1:
      return fc(bits, buf[off] & last);
    case 2:
      return fc(bits, buf[off], buf[off + 1] & last);
    case 3:
      return fc(bits, buf[off], buf[off + 1], buf[off + 2] & last);
    case 4:
      return fc(bits, buf[off], buf[off + 1], buf[off + 2], buf[off + 3] & last);
  }
  const codes = new Array<number>(n + 1);
  codes[0] = bits;
  for (let i = 0; i < n - 1; i++) codes[i + 1] = buf[off + i];
  codes[n] = buf[off + n - 1] & last;
  return fc.apply(null, codes);
}

/**
 * Reads the prefixes in [off, end) into `out`. A length beyond `maxBits` or a
 * prefix running past `end` is a syntax error of the field, which RFC 7606
 * §5.3 leaves at session reset (Invalid Network Field).
 */
export function readPrefixes(buf: Uint8Array, off: number, end: number, maxBits: number, out: PrefixKey[]): void {
  while (off < end) {
    const bits = buf[off];
    if (bits > maxBits) {
      throw new NotificationError(ErrorCode.Update, UpdateSubcode.InvalidNetworkField, new Uint8Array(0), `prefix length ${bits} exceeds ${maxBits}`);
    }
    const n = (bits + 7) >> 3;
    if (off + 1 + n > end) {
      throw new NotificationError(ErrorCode.Update, UpdateSubcode.InvalidNetworkField, new Uint8Array(0), "prefix runs past the end of its field");
    }
    out.push(keyAt(buf, off + 1, bits));
    off += 1 + n;
  }
}

/** Copies a key's bytes to `out` at `off`; returns the bytes written. */
export function writeKey(out: Uint8Array, off: number, key: PrefixKey): number {
  const n = key.length;
  for (let i = 0; i < n; i++) out[off + i] = key.charCodeAt(i);
  return n;
}

/** The wire bytes of a key (for the API's base64 NLRI). */
export function keyToBytes(key: PrefixKey): Uint8Array {
  const out = new Uint8Array(key.length);
  writeKey(out, 0, key);
  return out;
}

/** Parses "a.b.c.d/len" without regex or allocation; null if it is not exactly that (no leading zeros). */
function v4Key(text: string): PrefixKey | null | undefined {
  const n = text.length;
  let i = 0;
  const b = [0, 0, 0, 0];
  for (let part = 0; part < 5; part++) {
    const start = i;
    let v = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || (digits > 1 && text.charCodeAt(start) === 48)) return part === 0 ? undefined : null;
    const sep = i < n ? text.charCodeAt(i) : -1;
    if (part < 3) {
      if (sep !== 46 || v > 255) return sep === 58 || (part === 0 && sep !== 46) ? undefined : null; // '.', else maybe IPv6
      b[part] = v;
    } else if (part === 3) {
      if (sep !== 47 || v > 255) return null; // '/'
      b[3] = v;
    } else {
      if (i !== n || v > 32) return null;
      const m = MASK[v & 7];
      const fc = String.fromCharCode;
      switch ((v + 7) >> 3) {
        case 0:
          return fc(v);
        case 1:
          return fc(v, b[0] & m);
        case 2:
          return fc(v, b[0], b[1] & m);
        case 3:
          return fc(v, b[0], b[1], b[2] & m);
        default:
          return fc(v, b[0], b[1], b[2], b[3] & m);
      }
    }
    i++;
  }
  return null;
}

/**
 * The key of a prefix given as text ("10.0.0.0/24", "fd00::/64"); null when
 * the text is not a prefix. Host bits may be set in the text (Go's
 * ParseCIDR rules); they are cleared. IPv4 takes a fast path without bigint.
 */
export function keyFromText(text: string): PrefixKey | null {
  const k = v4Key(text);
  if (k !== undefined) return k;
  if (!text.includes(":")) return null;
  const p = parsePrefix(text);
  return p === null ? null : keyFromPrefix(p);
}

export function keyFromPrefix(p: IPPrefix): PrefixKey {
  const n = (p.len + 7) >> 3;
  const bytes = new Uint8Array(n);
  const shift = BigInt(familyBits(p.family) - n * 8);
  let v = p.addr >> shift;
  for (let i = n - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return keyAt(bytes, 0, p.len);
}

/** Family of a key's address is not in the key; the caller says which. */
export function keyToPrefix(key: PrefixKey, family: IPFamily): IPPrefix {
  const bits = familyBits(family);
  let v = 0n;
  for (let i = 1; i < key.length; i++) v = (v << 8n) | BigInt(key.charCodeAt(i));
  v <<= BigInt(bits - (key.length - 1) * 8);
  return { family, addr: v, len: key.charCodeAt(0) };
}

/** "10.0.0.0/24" or "fd00::/64" (Go netip forms). */
export function keyToText(key: PrefixKey, family: IPFamily): string {
  if (family === 4) {
    const c = (i: number) => (i < key.length ? key.charCodeAt(i) : 0);
    return `${c(1)}.${c(2)}.${c(3)}.${c(4)}/${key.charCodeAt(0)}`;
  }
  const p = keyToPrefix(key, family);
  return `${formatIP({ family, value: p.addr })}/${p.len}`;
}

/** Whether a key is a valid prefix of the family (length and byte count agree). */
export function isValidKey(key: PrefixKey, family: IPFamily): boolean {
  if (key.length === 0) return false;
  const bits = key.charCodeAt(0);
  return bits <= familyBits(family) && key.length === 1 + ((bits + 7) >> 3);
}
