/**
 * Which devices to attach the load balancer to when the agent is not told:
 * those carrying a default route (IPv4 or IPv6), where clients' traffic
 * arrives on a typical node. Read from /proc/thread-self/net, so a caller
 * inside `withNetns` sees that namespace's routes.
 */
import { readFileSync } from "node:fs";

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Interfaces of default routes in /proc/net/route text (destination and mask 0). */
export function defaultDevicesV4(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[1] === "00000000" && f[7] === "00000000" && (parseInt(f[3], 16) & 1) !== 0) out.push(f[0]);
  }
  return out;
}

/** Interfaces of ::/0 routes in /proc/net/ipv6_route text (not the unreachable ones on lo). */
export function defaultDevicesV6(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && /^0{32}$/.test(f[0]) && f[1] === "00" && f[9] !== "lo") out.push(f[9]);
  }
  return out;
}

/** Devices with a default route, each once, IPv4's first. */
export function defaultRouteDevices(procNet = "/proc/thread-self/net"): string[] {
  return [...new Set([...defaultDevicesV4(read(`${procNet}/route`)), ...defaultDevicesV6(read(`${procNet}/ipv6_route`))])];
}
