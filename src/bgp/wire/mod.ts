/**
 * The BGP-4 wire codec on Uint8Array/DataView: header and KEEPALIVE,
 * OPEN with capabilities, UPDATE with one codec per path attribute and RFC
 * 7606 error handling, NOTIFICATION, ROUTE-REFRESH, stream framing and
 * prefixes as packed keys. No I/O, no clocks.
 *
 * @example
 * ```ts
 * import { decodeUpdate, encodeUpdate, keyFromText, Origin } from "./mod.ts";
 * const msg = encodeUpdate({ withdrawn: [], nlri: [keyFromText("10.0.0.0/24")!],
 *   attrs: { origin: Origin.Igp, asPath: [{ type: 2, asns: [65001] }], nextHop: "192.0.2.1" } }, { as4: true });
 * const u = decodeUpdate(msg, 19, msg.length, { as4: true, ebgp: true });
 * // u.nlri[0] === "\x18\x0a\x00\x00", u.attrs.nextHop === "192.0.2.1", u.action === "none"
 * ```
 */
export * from "./errors.ts";
export * from "./header.ts";
export * from "./nlri.ts";
export * from "./capabilities.ts";
export * from "./open.ts";
export * from "./notification.ts";
export * from "./update.ts";
export * from "./framer.ts";
export * from "./attrs/mod.ts";
