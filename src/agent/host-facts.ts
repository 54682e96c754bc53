/**
 * Gathers the host facts the control plane decides on (interfaces, their
 * addresses and states, default routes): default-gateway discovery (D4),
 * sourceInterface (D11), Interface adverts (E11) and router-ID fallback (C4).
 *
 * Reads iproute2's JSON output (`ip -j`), which both runtimes can spawn; the
 * parsing is separate and pure so that it is tested on captured output.
 */
import { execFile } from "node:child_process";
import type { HostFacts, HostInterface, HostRoute } from "../control/types.ts";

interface IpAddrEntry {
  ifname: string;
  flags?: string[];
  operstate?: string;
  address?: string;
  link_type?: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

interface IpRouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
}

/** `ip -j addr show` → interfaces. */
export function parseIpAddr(json: string): HostInterface[] {
  const entries = JSON.parse(json) as IpAddrEntry[];
  return entries.map((e) => ({
    name: e.ifname,
    adminUp: e.flags?.includes("UP") ?? false,
    operState: (e.operstate ?? "unknown").toLowerCase(),
    mac: e.link_type === "ether" && e.address ? e.address : undefined,
    addresses: (e.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
  }));
}

/** `ip -j -4|-6 route show default` → default routes. */
export function parseIpRoutes(json: string, family: 4 | 6): HostRoute[] {
  const entries = JSON.parse(json) as IpRouteEntry[];
  const any = family === 4 ? "0.0.0.0/0" : "::/0";
  return entries
    .filter((r) => r.dst === "default" && r.dev !== undefined)
    .map((r) => ({ destination: any, gateway: r.gateway, interface: r.dev!, metric: r.metric ?? 0 }));
}

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("ip", args, { timeout: 5000, maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) reject(new Error(`Cannot run "ip ${args.join(" ")}": ${err.message}`));
      else resolve(stdout || "[]");
    });
  });
}

/** Reads the host's interfaces and default routes. */
export async function gatherHostFacts(): Promise<HostFacts> {
  const [addr, v4, v6] = await Promise.all([
    run(["-j", "addr", "show"]),
    run(["-j", "-4", "route", "show", "default"]),
    run(["-j", "-6", "route", "show", "default"]).catch(() => "[]"),
  ]);
  return { interfaces: parseIpAddr(addr), routes: [...parseIpRoutes(v4, 4), ...parseIpRoutes(v6, 6)] };
}
