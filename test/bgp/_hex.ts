/**
 * Test fixtures as commented hex: `hex\`ff ff # marker\``. Everything after
 * `#` on a line is a comment; whitespace is ignored.
 */
export function hex(strings: TemplateStringsArray | string, ...values: unknown[]): Uint8Array {
  const text = typeof strings === "string" ? strings : String.raw({ raw: strings }, ...values);
  const digits = text.split("\n").map((l) => l.replace(/#.*$/, "")).join("").replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new TypeError(`Cannot parse hex fixture: "${digits}"`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export const toHex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** The 16-byte marker, for readable fixtures. */
export const MARKER = "ffffffffffffffffffffffffffffffff";
