/**
 * Child process of scripts/bench-bgp: herald's BGP speaker alone (src/bgp),
 * so that the peak RSS the parent reads from /proc/PID/status is the
 * speaker's own. It loads N IPv4 /32s for one passive eBGP peer before the
 * session exists, then reports on stdout, one JSON object per line:
 *
 *   {"event":"loaded","ms":…,"rss":…}      routes in the Adj-RIB-Out
 *   {"event":"state","state":"established"}  session up
 *   {"event":"eor-sent"}                     all routes and End-of-RIB written
 *   {"event":"withdrawn","ms":…}             after SIGUSR1: every route withdrawn
 *
 * Argument: one JSON object {asn, routerId, listen, peer, peerAsn, routes}.
 */
import process from "node:process";
import { keyFromText, type PrefixKey, Speaker } from "../src/bgp/mod.ts";

interface Args {
  asn: number;
  routerId: string;
  listen: string;
  peer: string;
  peerAsn: number;
  routes: number;
  /** First address of the /32s, e.g. "100.64.0.0". */
  base: string;
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + "\n");

/** N consecutive /32 keys from `base` (packed keys, as keyFromText makes them). */
function keys(n: number, base: string): PrefixKey[] {
  const first = keyFromText(`${base}/32`);
  if (first === null) throw new Error(`Cannot use base address "${base}"`);
  let v = (first.charCodeAt(1) << 24 >>> 0) + (first.charCodeAt(2) << 16) + (first.charCodeAt(3) << 8) + first.charCodeAt(4);
  const out = new Array<PrefixKey>(n);
  for (let i = 0; i < n; i++, v++) {
    out[i] = String.fromCharCode(32, (v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  }
  return out;
}

function rssBytes(): number {
  return process.memoryUsage().rss;
}

const speaker = new Speaker({ idleHoldSeconds: 1 });
const INSTANCE = "bench";
const PEER = "collector";
const FAMILY = "ipv4/unicast";

speaker.subscribe((e) => {
  if (e.type === "state") emit({ event: "state", state: e.state, previous: e.previous, reason: e.reason, message: e.message });
  else if (e.type === "end-of-rib" && e.direction === "sent") emit({ event: "eor-sent" });
});

await speaker.setInstance({ name: INSTANCE, asn: args.asn, routerId: args.routerId, listen: { address: args.listen, port: 179 } });
speaker.setPeer(INSTANCE, {
  name: PEER,
  address: args.peer,
  asn: args.peerAsn,
  families: [FAMILY],
  passive: true,
  timers: { holdTimeSeconds: 90, keepaliveSeconds: 30 },
});

const started = performance.now();
const attrs = speaker.attributes({});
speaker.announceKeys(INSTANCE, PEER, FAMILY, keys(args.routes, args.base), attrs);
emit({ event: "loaded", ms: performance.now() - started, rss: rssBytes() });

process.on("SIGUSR1", () => {
  const t = performance.now();
  speaker.withdrawKeys(INSTANCE, PEER, FAMILY, keys(args.routes, args.base));
  emit({ event: "withdrawn", ms: performance.now() - t });
});
process.on("SIGTERM", () => {
  void speaker.close({ notify: true }).finally(() => process.exit(0));
});
