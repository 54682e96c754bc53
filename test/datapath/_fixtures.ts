/**
 * Test helpers for the datapath: Services and EndpointSlices parsed through
 * the real schemas, per-test pin directories, and an independent reader of
 * the maps through bpftool (it decodes the documented layout itself, so it
 * does not trust src/datapath/layout.ts).
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { Service } from "../../src/control/schemas/service.ts";
import { EndpointSlice } from "../../src/control/schemas/endpoint-slice.ts";

export interface SvcSpec {
  name: string;
  namespace?: string;
  type?: "ClusterIP" | "LoadBalancer" | "ExternalName";
  clusterIPs?: string[];
  externalIPs?: string[];
  lbIPs?: string[];
  ports: { name?: string; port: number; protocol?: "TCP" | "UDP" | "SCTP" }[];
  externalTrafficPolicy?: "Cluster" | "Local";
  internalTrafficPolicy?: "Cluster" | "Local";
}

export function service(s: SvcSpec): Service {
  return Service.parse({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: s.name, namespace: s.namespace ?? "default" },
    spec: {
      type: s.type ?? "LoadBalancer",
      clusterIPs: s.clusterIPs,
      externalIPs: s.externalIPs,
      ports: s.ports,
      externalTrafficPolicy: s.externalTrafficPolicy,
      internalTrafficPolicy: s.internalTrafficPolicy,
    },
    status: s.lbIPs ? { loadBalancer: { ingress: s.lbIPs.map((ip) => ({ ip })) } } : undefined,
  });
}

export interface EndpointSpec {
  ip: string;
  ready?: boolean;
  terminating?: boolean;
  node?: string;
}

export function slice(
  svcName: string,
  name: string,
  endpoints: (string | EndpointSpec)[],
  ports: { name?: string; port?: number; protocol?: "TCP" | "UDP" | "SCTP" }[],
  options: { namespace?: string; addressType?: "IPv4" | "IPv6" | "FQDN" } = {},
): EndpointSlice {
  const eps = endpoints.map((e) => (typeof e === "string" ? { ip: e } : e));
  return EndpointSlice.parse({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: options.namespace ?? "default", labels: { "kubernetes.io/service-name": svcName } },
    addressType: options.addressType ?? (eps[0]?.ip.includes(":") ? "IPv6" : "IPv4"),
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      nodeName: e.node,
      conditions: { ready: e.ready ?? true, terminating: e.terminating ?? false },
    })),
    ports,
  });
}

let counter = 0;
/** A fresh pin directory under /sys/fs/bpf (no dots: bpffs refuses them). */
export function pinDirFor(prefix: string): string {
  return `/sys/fs/bpf/herald_test_${prefix}_${process.pid}_${++counter}`;
}

export function removePinDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

interface BpftoolEntry {
  key: string[];
  value: string[];
}

/** `bpftool map dump pinned PATH -j`, as byte arrays. Fails when bpftool is missing. */
export function bpftoolDump(path: string): { key: Uint8Array; value: Uint8Array }[] {
  const out = execFileSync("bpftool", ["map", "dump", "pinned", path, "-j"], { encoding: "utf8" });
  const bytes = (hex: string[]) => Uint8Array.from(hex.map((h) => parseInt(h, 16)));
  return (JSON.parse(out) as BpftoolEntry[]).map((e) => ({ key: bytes(e.key), value: bytes(e.value) }));
}

/** `bpftool map show pinned PATH -j`. */
export function bpftoolShow(path: string): { type: string; name: string; bytes_key: number; bytes_value: number; max_entries: number; flags: number } {
  return JSON.parse(execFileSync("bpftool", ["map", "show", "pinned", path, "-j"], { encoding: "utf8" }));
}

function formatAddr16(b: Uint8Array): string {
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return [...b.subarray(12, 16)].join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  // The WHATWG URL parser prints IPv6 hosts compressed as RFC 5952 does.
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}

/**
 * The services and backends maps as bpftool shows them, decoded by hand from
 * the documented layout: "addr|port|proto" → ["addr|port", …].
 */
export function bpftoolServices(pinDir: string): Map<string, string[]> {
  const slots = new Map<number, string>();
  for (const { key, value } of bpftoolDump(`${pinDir}/backends`)) {
    const slot = key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24);
    slots.set(slot, `${formatAddr16(value)}|${(value[16] << 8) | value[17]}`);
  }
  const out = new Map<string, string[]>();
  for (const { key, value } of bpftoolDump(`${pinDir}/services`)) {
    const proto = key[18] === 6 ? "TCP" : key[18] === 17 ? "UDP" : `proto${key[18]}`;
    const id = `${formatAddr16(key)}|${(key[16] << 8) | key[17]}|${proto}`;
    const v = new DataView(value.buffer);
    const first = v.getUint32(0, true);
    const count = v.getUint32(4, true);
    const backends: string[] = [];
    for (let i = 0; i < count; i++) backends.push(slots.get(first + i) ?? `MISSING slot ${first + i}`);
    out.set(id, backends);
  }
  return out;
}

/** The same shape from a Datapath's entries(). */
export function entriesAsMap(entries: { frontend: { address: string; port: number; protocol: string }; backends: { address: string; port: number }[] }[]): Map<string, string[]> {
  return new Map(
    entries.map((e) => [`${e.frontend.address}|${e.frontend.port}|${e.frontend.protocol}`, e.backends.map((b) => `${b.address}|${b.port}`)]),
  );
}
