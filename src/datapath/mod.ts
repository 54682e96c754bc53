/**
 * The eBPF service datapath: pinned BPF maps that map each frontend
 * (LoadBalancer IP, external IP or cluster IP, port, protocol) to a range of
 * backend slots, kept in step with Services and EndpointSlices, and a tc
 * program (bpf/herald_lb.c) that DNATs to a backend and reverse-NATs the
 * reply. Map layouts: `layout.ts` and the README ("Map layout").
 *
 * @example
 * ```ts
 * const r = openDatapath({ pinDir: "/sys/fs/bpf/herald", devices: ["eth0"] });
 * if (r.ok) r.datapath.sync(services, slices);
 * else log.warn("Running BGP without the datapath", { reason: r.reason });
 * ```
 */
export { Datapath, DEFAULT_PIN_DIR, TC_FILTER } from "./datapath.ts";
export type { ApplyResult, AttachOptions, DatapathEntry, DatapathOptions } from "./datapath.ts";
export { openDatapath } from "./open.ts";
export type { OpenDatapathOptions, OpenDatapathResult } from "./open.ts";
export { desiredFrontends, serviceFrontends } from "./desired.ts";
export type { DesiredFrontend, DesiredOptions } from "./desired.ts";
export type { Backend, Frontend, Protocol } from "./layout.ts";
export { DEFAULT_MAP_SIZES } from "./maps.ts";
export type { MapSizes } from "./maps.ts";
export { buildProgramObject, defaultObjectPath } from "./program.ts";
export { defaultRouteDevices } from "./devices.ts";
