/**
 * `herald collect --listen HOST:PORT --asn N [-o table|json|summary]
 * [--router-id A.B.C.D]`: a passive BGP speaker that accepts a session from
 * any address and AS and prints what it receives, as it arrives — the
 * embedded peer for demos, first tries and tests.
 *
 * - `table` (default): one line per prefix announced or withdrawn, with the
 *   attributes in GoBGP's rendering, and `#` lines for sessions and End-of-RIB.
 * - `json`: one JSON object per line (`state`, `announce`, `withdraw`, `end-of-rib`).
 * - `summary`: only sessions and End-of-RIB with counts and the time since
 *   the session came up (for benchmarks with a million prefixes).
 *
 * Nothing received is installed anywhere. Logs go to stderr.
 */
import process from "node:process";
import type { SpeakerEvent } from "../bgp/events.ts";
import { Afi, type FamilyCode, familyAfi, formatFamily } from "../bgp/families.ts";
import type { ReceivedPath } from "../bgp/rib-in.ts";
import { renderAttributes } from "../bgp/render.ts";
import { Speaker } from "../bgp/speaker.ts";
import { formatCommunity, formatLargeCommunity, keyToText, type PathAttrs, type PrefixKey } from "../bgp/wire/mod.ts";
import { createLogger, type LogLevel } from "../log.ts";
import { hostPortFlag, intFlag, parseFlags, UsageError } from "./args.ts";

export type CollectFormat = "table" | "json" | "summary";

export interface CollectOptions {
  listen: { host: string; port: number };
  asn: number;
  routerId: string;
  format: CollectFormat;
  families: string[];
  logLevel: LogLevel;
}

const ORIGINS = ["igp", "egp", "incomplete"];

/** JSON-friendly attributes of a received path. */
export function pathJson(a: PathAttrs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (a.origin !== undefined) out.origin = ORIGINS[a.origin];
  if (a.asPath) out.asPath = a.asPath.flatMap((s) => s.asns);
  const nh = a.nextHop ?? a.mpReach?.nextHop;
  if (nh) out.nextHop = nh;
  if (a.mpReach?.linkLocal) out.linkLocalNextHop = a.mpReach.linkLocal;
  if (a.med !== undefined) out.med = a.med;
  if (a.localPref !== undefined) out.localPref = a.localPref;
  if (a.communities) out.communities = a.communities.map(formatCommunity);
  if (a.largeCommunities) out.largeCommunities = a.largeCommunities.map(formatLargeCommunity);
  if (a.atomicAggregate) out.atomicAggregate = true;
  if (a.aggregator) out.aggregator = a.aggregator;
  if (a.as4Path) out.as4Path = a.as4Path.flatMap((s) => s.asns);
  if (a.unknown) out.unknown = a.unknown.map((u) => ({ code: u.code, flags: u.flags, value: [...u.value].map((b) => b.toString(16).padStart(2, "0")).join("") }));
  return out;
}

const pad = (s: string, n: number) => (s.length >= n ? s + " " : s.padEnd(n));
const clock = () => new Date().toISOString().slice(11, 19);

/** Turns speaker events into output lines; `write` gets whole chunks of text. */
export function collectPrinter(speaker: Speaker, format: CollectFormat, write: (text: string) => void): (e: SpeakerEvent) => void {
  const upSince = new Map<string, number>();
  const counts = new Map<string, number>();
  const peerAsn = (e: { instance: string; peer: string }) => speaker.peer(e.instance, e.peer)?.peerAsn ?? 0;
  let header = false;
  const attrsText = new WeakMap<ReceivedPath, string>();
  const render = (p: ReceivedPath, key: PrefixKey, v: 4 | 6) => {
    // MP_REACH is per prefix; everything else is shared by the UPDATE, rendered once.
    let base = attrsText.get(p);
    if (base === undefined) attrsText.set(p, base = renderAttributes(p.raw).slice(1, -1));
    const mp = p.attrs.mpReach;
    const mpText = mp ? ` {MpReach(${v === 6 ? "ipv6" : "ipv4"}-unicast): {Nexthop: ${mp.nextHop}, NLRIs: [${keyToText(key, v)}]}}` : "";
    return `[${base}${mpText}]`;
  };
  return (e) => {
    const id = `${e.instance}/${e.peer}`;
    if (e.type === "state") {
      if (e.state === "established") {
        upSince.set(id, performance.now());
        counts.set(id, 0);
      }
      if (format === "json") {
        write(JSON.stringify({ time: new Date().toISOString(), type: "state", peer: e.address, peerAsn: peerAsn(e), state: e.state, previous: e.previous, reason: e.reason, message: e.message }) + "\n");
      } else if (e.state === "established" || e.previous === "established") {
        const why = e.state === "established" ? "" : ` (${e.message ?? e.reason ?? ""})`;
        write(`# ${clock()} peer ${e.address} AS ${peerAsn(e)}: ${e.state}${why}\n`);
      }
      return;
    }
    if (e.type === "end-of-rib") {
      if (e.direction !== "received") return;
      const ms = Math.round(performance.now() - (upSince.get(id) ?? performance.now()));
      const family = formatFamily(e.family);
      const total = speaker.peer(e.instance, e.peer)?.families.find((f) => f.family === family)?.received ?? 0;
      if (format === "json") write(JSON.stringify({ time: new Date().toISOString(), type: "end-of-rib", peer: e.address, family, received: total, ms }) + "\n");
      else write(`# ${clock()} peer ${e.address}: End-of-RIB ${family}, ${total} prefixes, ${ms} ms after the session came up\n`);
      return;
    }
    // received routes
    counts.set(id, (counts.get(id) ?? 0) + e.announced.length);
    if (format === "summary") return;
    const v: 4 | 6 = familyAfi(e.family as FamilyCode) === Afi.IPv6 ? 6 : 4;
    const family = formatFamily(e.family);
    const asn = peerAsn(e);
    const time = new Date().toISOString();
    const lines: string[] = [];
    if (format === "json") {
      const attrs = e.path ? pathJson(e.path.attrs) : undefined;
      for (const k of e.announced) {
        lines.push(JSON.stringify({ time, type: "announce", peer: e.address, peerAsn: asn, family, prefix: keyToText(k, v), attributes: attrs, attrs: render(e.path!, k, v) }));
      }
      for (const k of e.withdrawn) {
        lines.push(JSON.stringify({ time, type: "withdraw", peer: e.address, peerAsn: asn, family, prefix: keyToText(k, v), malformed: e.malformed }));
      }
    } else {
      if (!header) {
        header = true;
        lines.push(`${pad("TIME", 9)}${pad("PEER", 16)}${pad("PEER AS", 11)}${pad("ACTION", 10)}${pad("PREFIX", 20)}${pad("NEXT HOP", 18)}ATTRS`);
      }
      const t = clock();
      const nh = e.path?.attrs.nextHop ?? e.path?.attrs.mpReach?.nextHop ?? "";
      for (const k of e.announced) {
        lines.push(`${pad(t, 9)}${pad(e.address, 16)}${pad(String(asn), 11)}${pad("announce", 10)}${pad(keyToText(k, v), 20)}${pad(nh, 18)}${render(e.path!, k, v)}`);
      }
      const why = e.malformed ? `(${e.malformed})` : "";
      for (const k of e.withdrawn) lines.push(`${pad(t, 9)}${pad(e.address, 16)}${pad(String(asn), 11)}${pad("withdraw", 10)}${pad(keyToText(k, v), 20)}${why}`.trimEnd());
    }
    if (lines.length > 0) write(lines.join("\n") + "\n");
  };
}

/** Starts the collector; resolves once it listens. `stop()` closes it. */
export async function startCollector(o: CollectOptions, write: (text: string) => void): Promise<{ speaker: Speaker; port: number; stop: () => Promise<void> }> {
  const logger = createLogger({ level: o.logLevel });
  const speaker = new Speaker({ logger });
  speaker.subscribe(collectPrinter(speaker, o.format, write), { received: true });
  await speaker.setInstance({
    name: "collect",
    asn: o.asn,
    routerId: o.routerId,
    listen: { address: o.listen.host, port: o.listen.port },
    acceptAnyPeer: { families: o.families },
  });
  return { speaker, port: speaker.listenPort("collect")!, stop: () => speaker.close() };
}

/** The router ID when none is given: the listen address if it is a usable IPv4 address. */
export function defaultRouterId(host: string): string {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) && host !== "0.0.0.0" ? host : "192.0.2.255";
}

export async function collectCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    listen: { type: "string" },
    asn: { type: "string" },
    "router-id": { type: "string" },
    output: { type: "string", short: "o", default: "table" },
    families: { type: "string", default: "ipv4/unicast,ipv6/unicast" },
    "log-level": { type: "string", default: "warn" },
  }, false);
  if (values.listen === undefined) throw new UsageError("--listen HOST:PORT is required");
  if (values.asn === undefined) throw new UsageError("--asn N is required");
  const listen = hostPortFlag("listen", values.listen as string);
  const asn = intFlag("asn", values.asn as string, 1, 4294967295)!;
  const format = values.output as string;
  if (format !== "table" && format !== "json" && format !== "summary") {
    throw new UsageError(`-o must be "table", "json" or "summary": current value is "${format}"`);
  }
  const logLevel = values["log-level"] as string;
  if (!["debug", "info", "warn", "error"].includes(logLevel)) throw new UsageError(`--log-level must be debug, info, warn or error: current value is "${logLevel}"`);
  const o: CollectOptions = {
    listen,
    asn,
    routerId: (values["router-id"] as string | undefined) ?? defaultRouterId(listen.host),
    format,
    families: (values.families as string).split(",").map((s) => s.trim()).filter(Boolean),
    logLevel: logLevel as LogLevel,
  };
  const out = (text: string) => void process.stdout.write(text);
  let collector;
  try {
    collector = await startCollector(o, out);
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(e.message);
    console.error(`herald collect: Cannot listen on ${values.listen}: ${(e as Error).message}`);
    return 1;
  }
  if (format !== "json") out(`# herald collect: AS ${asn}, router ID ${o.routerId}, listening on ${listen.host}:${collector.port}\n`);
  else out(JSON.stringify({ time: new Date().toISOString(), type: "listening", asn, routerId: o.routerId, address: listen.host, port: collector.port }) + "\n");
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  await collector.stop();
  return 0;
}
