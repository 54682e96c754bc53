/**
 * Decisions that depend on host facts: default-gateway discovery (D4), the
 * source address from `transport.sourceInterface` (D11), Interface adverts
 * (E11) and the router-ID fallbacks (C4). The facts are an input; nothing
 * here asks the kernel.
 */
import { formatIP, type IPAddress, parseIP, parsePrefix } from "../net/ip.ts";
import type { HostFacts, HostInterface } from "./types.ts";

/** Address text with or without "/len" → address. */
export function hostAddress(text: string): IPAddress | null {
  const slash = text.indexOf("/");
  if (slash < 0) return parseIP(text);
  const p = parsePrefix(text);
  return p === null ? null : parseIP(text.slice(0, slash));
}

const inRange = (v: bigint, base: bigint, bits: number, total: number) => (v >> BigInt(total - bits)) === (base >> BigInt(total - bits));

/** Go's netip IsGlobalUnicast: not unspecified, loopback, multicast, link-local or broadcast. */
export function isGlobalUnicast(ip: IPAddress): boolean {
  if (ip.family === 4) {
    const v = ip.value;
    if (v === 0n || v === 0xffffffffn) return false;
    if (inRange(v, 0x7f000000n, 8, 32)) return false; // 127/8
    if (inRange(v, 0xe0000000n, 4, 32)) return false; // 224/4
    if (inRange(v, 0xa9fe0000n, 16, 32)) return false; // 169.254/16
    return true;
  }
  const v = ip.value;
  if (v === 0n || v === 1n) return false;
  if (inRange(v, 0xffn << 120n, 8, 128)) return false; // ff00::/8
  if (inRange(v, 0xfe80n << 112n, 10, 128)) return false; // fe80::/10
  return true;
}

export function isLinkLocal(ip: IPAddress): boolean {
  return ip.family === 4 ? inRange(ip.value, 0xa9fe0000n, 16, 32) : inRange(ip.value, 0xfe80n << 112n, 10, 128);
}

const isV4Mapped = (ip: IPAddress) => ip.family === 6 && (ip.value >> 32n) === 0xffffn;

/** Cilium's usable-address filter (D11, E11): IPv4 global or link-local, IPv6 global only, never v4-mapped. */
export function isUsableAddress(ip: IPAddress): boolean {
  if (isV4Mapped(ip)) return false;
  if (ip.family === 6) return isGlobalUnicast(ip);
  return isGlobalUnicast(ip) || isLinkLocal(ip);
}

export function findInterface(host: HostFacts | undefined, name: string): HostInterface | undefined {
  return host?.interfaces.find((i) => i.name === name);
}

export type Outcome<T> = { ok: true; value: T; detail: string } | { ok: false; reason: string };

/**
 * D4: among default routes of the family that have a gateway and whose
 * output link is operationally up, the lowest metric wins. IPv6 link-local
 * gateways are refused.
 */
export function defaultGateway(host: HostFacts | undefined, family: "ipv4" | "ipv6"): Outcome<string> {
  if (!host) return { ok: false, reason: "no host facts were given, so no default route is known" };
  const dest = family === "ipv4" ? 4 : 6;
  let best: { gw: IPAddress; iface: string; metric: number } | null = null;
  const refused: string[] = [];
  for (const r of host.routes) {
    const p = parsePrefix(r.destination);
    if (p === null || p.family !== dest || p.len !== 0 || !r.gateway) continue;
    const gw = parseIP(r.gateway);
    if (gw === null || gw.family !== dest) continue;
    const link = findInterface(host, r.interface);
    if (!link || link.operState !== "up") continue;
    if (gw.family === 6 && isLinkLocal(gw)) {
      refused.push(`${r.gateway} via ${r.interface}`);
      continue;
    }
    const metric = r.metric ?? 0;
    if (best === null || metric < best.metric) best = { gw, iface: r.interface, metric };
  }
  if (best === null) {
    const why = refused.length
      ? `the only candidates have IPv6 link-local gateways, which Cilium refuses (${refused.join(", ")})`
      : `no ${family === "ipv4" ? "0.0.0.0/0" : "::/0"} route with a gateway on an operationally up link`;
    return { ok: false, reason: why };
  }
  return { ok: true, value: formatIP(best.gw), detail: `default route via ${formatIP(best.gw)} dev ${best.iface} metric ${best.metric}` };
}

/** D11: the one usable address of the peer's family on `name`. */
export function sourceInterfaceAddress(host: HostFacts | undefined, name: string, family: 4 | 6): Outcome<string> {
  const iface = findInterface(host, name);
  if (!iface) return { ok: false, reason: `interface "${name}" does not exist on this host` };
  const usable = iface.addresses.map(hostAddress).filter((a): a is IPAddress =>
    a !== null && a.family === family && isUsableAddress(a)
  );
  if (usable.length === 0) {
    return { ok: false, reason: `interface "${name}" has no usable IPv${family} address (D11)` };
  }
  if (usable.length > 1) {
    return {
      ok: false,
      reason: `interface "${name}" has ${usable.length} usable IPv${family} addresses (${usable.map(formatIP).join(", ")}); Cilium needs exactly one (D11)`,
    };
  }
  return { ok: true, value: formatIP(usable[0]), detail: `the only usable IPv${family} address on ${name}` };
}

/** E11: the interface's usable addresses, if it is admin-up and oper up/unknown. */
export function interfaceAdvertAddresses(host: HostFacts | undefined, name: string): Outcome<IPAddress[]> {
  const iface = findInterface(host, name);
  if (!iface) return { ok: false, reason: `interface "${name}" does not exist on this host` };
  if (!iface.adminUp || !(iface.operState === "up" || iface.operState === "unknown")) {
    return { ok: false, reason: `interface "${name}" is not up (admin ${iface.adminUp ? "up" : "down"}, oper ${iface.operState})` };
  }
  const seen = new Set<string>();
  const out: IPAddress[] = [];
  for (const text of iface.addresses) {
    const a = hostAddress(text);
    if (a === null || !isUsableAddress(a)) continue;
    const key = formatIP(a);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(a);
  }
  return { ok: true, value: out, detail: `${out.length} usable address(es) on ${name}` };
}

/**
 * Router-ID fallbacks on the host (C4; herald has no CiliumNode address or
 * cilium_host): first an IPv4 of the interface holding the best IPv4 default
 * route, then the first global IPv4 of any up, non-loopback interface (by name).
 */
export function hostIPv4(host: HostFacts | undefined): Outcome<string> {
  if (!host) return { ok: false, reason: "no host facts" };
  const v4 = (i: HostInterface) =>
    i.addresses.map(hostAddress).find((a): a is IPAddress => a !== null && a.family === 4 && isGlobalUnicast(a));
  const gw = defaultGateway(host, "ipv4");
  if (gw.ok) {
    const dev = /dev (\S+)/.exec(gw.detail)?.[1];
    const iface = dev ? findInterface(host, dev) : undefined;
    const a = iface ? v4(iface) : undefined;
    if (a) return { ok: true, value: formatIP(a), detail: `IPv4 address of ${iface!.name}, the IPv4 default-route interface` };
  }
  const sorted = [...host.interfaces].filter((i) => i.adminUp && i.name !== "lo").sort((a, b) => a.name < b.name ? -1 : 1);
  for (const i of sorted) {
    const a = v4(i);
    if (a) return { ok: true, value: formatIP(a), detail: `first global IPv4 address on the host (${i.name})` };
  }
  return { ok: false, reason: "the host has no global IPv4 address" };
}

/** C4 step 3: the last four bytes of a MAC as a dotted quad. */
export function routerIDFromMAC(host: HostFacts | undefined, preferred: string | null): Outcome<string> {
  if (!host) return { ok: false, reason: "no host facts" };
  const valid = (i: HostInterface | undefined) =>
    i?.mac && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(i.mac) && !/^(00:){5}00$/.test(i.mac) ? i : undefined;
  let iface = preferred ? valid(findInterface(host, preferred)) : undefined;
  if (!iface && preferred === null) {
    for (const fam of ["ipv4", "ipv6"] as const) {
      const gw = defaultGateway(host, fam);
      const dev = gw.ok ? /dev (\S+)/.exec(gw.detail)?.[1] : undefined;
      iface = dev ? valid(findInterface(host, dev)) : undefined;
      if (iface) break;
    }
    iface ??= [...host.interfaces].sort((a, b) => a.name < b.name ? -1 : 1).find((i) => valid(i));
  }
  if (!iface) {
    return { ok: false, reason: preferred ? `interface "${preferred}" has no MAC address` : "no interface with a MAC address" };
  }
  const bytes = iface.mac!.split(":").slice(2).map((h) => parseInt(h, 16));
  return { ok: true, value: bytes.join("."), detail: `interface ${iface.name} MAC ${iface.mac}` };
}
