/**
 * scripts/bench-bgp output: a readable table, herald/gobgpd ratios, and the
 * JSON object printed as the last line.
 */

export interface Result {
  /** "herald (deno)", "herald (node)", "gobgpd", "frr". */
  speaker: string;
  routes: number;
  /** Loading the routes into the speaker, before the session. */
  loadMs: number | null;
  /** Established (BIRD's view) → BIRD holds all routes. */
  establishedToAllMs: number | null;
  /** VmHWM of the speaker process. */
  peakRssBytes: number | null;
  /** Withdraw everything → BIRD holds none. */
  withdrawToZeroMs: number | null;
  error?: string;
}

export interface Ratio {
  routes: number;
  speaker: string;
  /** herald / gobgpd; below 1 means herald is faster or smaller. */
  establishedToAll: number | null;
  peakRss: number | null;
  withdrawToZero: number | null;
}

const seconds = (ms: number | null) => (ms === null ? "—" : (ms / 1000).toFixed(ms < 10_000 ? 2 : 1));
const mib = (b: number | null) => (b === null ? "—" : (b / 2 ** 20).toFixed(0));
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100);
const x = (r: number | null) => (r === null ? "—" : `${r.toFixed(2)}×`);

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
}

export function formatReport(results: Result[], versions: Record<string, string>): { text: string; json: Record<string, unknown> } {
  const ratios: Ratio[] = [];
  for (const r of results) {
    if (!r.speaker.startsWith("herald")) continue;
    const base = results.find((b) => b.speaker === "gobgpd" && b.routes === r.routes);
    if (!base) continue;
    ratios.push({
      routes: r.routes,
      speaker: r.speaker,
      establishedToAll: ratio(r.establishedToAllMs, base.establishedToAllMs),
      peakRss: ratio(r.peakRssBytes, base.peakRssBytes),
      withdrawToZero: ratio(r.withdrawToZeroMs, base.withdrawToZeroMs),
    });
  }
  const head = ["routes", "speaker", "load s", "established→all s", "peak RSS MiB", "withdraw→0 s"];
  const rows = results.map((r) => [
    r.routes.toLocaleString("en-US"),
    r.speaker,
    seconds(r.loadMs),
    seconds(r.establishedToAllMs),
    mib(r.peakRssBytes),
    r.error ? `error: ${r.error}` : seconds(r.withdrawToZeroMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (i === 5 && row[5].startsWith("error") ? 0 : row[i].length))));
  const lines = [
    `bench-bgp: N IPv4 /32s over one eBGP session (veth, two namespaces) to a BIRD ${versions.bird ?? ""} collector`,
    `speakers: herald (src/bgp), gobgpd ${versions.gobgpd ?? ""}, FRR bgpd ${versions.frr ?? ""}; kernel ${versions.kernel ?? ""}`,
    "",
    pad(head, widths),
    ...rows.map((row) => pad(row, widths)),
  ];
  if (ratios.length > 0) {
    lines.push("", "herald / gobgpd (below 1: herald is faster or smaller)");
    const rh = ["routes", "speaker", "established→all", "peak RSS", "withdraw→0"];
    const rr = ratios.map((r) => [r.routes.toLocaleString("en-US"), r.speaker, x(r.establishedToAll), x(r.peakRss), x(r.withdrawToZero)]);
    const rw = rh.map((h, i) => Math.max(h.length, ...rr.map((row) => row[i].length)));
    lines.push(pad(rh, rw), ...rr.map((row) => pad(row, rw)));
  }
  return {
    text: lines.join("\n"),
    json: { bench: "bgp", versions, results, ratios },
  };
}
