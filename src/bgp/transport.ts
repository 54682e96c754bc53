/**
 * How BGP sessions get their TCP connections.
 *
 * The speaker only sees this interface. The default uses node:net; the
 * runtime layer (src/runtime) provides one that creates sockets through libc
 * so that it can set IP_TTL / IPV6_UNICAST_HOPS, IP_MINTTL (GTSM) and
 * TCP_MD5SIG, which node:net cannot, and then hands them to node:net.
 */
import { connect as netConnect, createServer } from "node:net";
import type { Socket } from "node:net";

export interface ConnectOptions {
  remoteAddress: string;
  remotePort: number;
  /** Source address; the kernel chooses when absent. */
  localAddress?: string;
  /** Source port; ephemeral when absent. */
  localPort?: number;
  /** Outgoing TTL / hop limit (1 for directly connected eBGP, ebgpMultihop otherwise). */
  ttl?: number;
  /** GTSM (RFC 5082): drop segments arriving with a lower TTL. */
  minTtl?: number;
  /** TCP-MD5 signature password (RFC 2385). */
  md5Password?: string;
  signal?: AbortSignal;
}

export interface ListenOptions {
  address: string;
  port: number;
  /** Per peer address: TCP-MD5 passwords the listening socket must accept. */
  md5Passwords?: ReadonlyMap<string, string>;
}

export interface Listener {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Replace the per-peer MD5 passwords (peers added or removed). */
  setMd5Passwords?(passwords: ReadonlyMap<string, string>): void;
  close(): Promise<void>;
}

/** Per-connection options applied after accept (TTL and GTSM for passive sessions). */
export interface AcceptedSocketOptions {
  ttl?: number;
  minTtl?: number;
}

export interface BgpTransport {
  connect(options: ConnectOptions): Promise<Socket>;
  listen(options: ListenOptions, onConnection: (socket: Socket) => void): Promise<Listener>;
  /** Applies TTL/GTSM to an accepted socket; a no-op where unsupported. */
  configureAccepted?(socket: Socket, options: AcceptedSocketOptions): void;
  /** What this transport cannot do (e.g. "TCP-MD5"), for clear errors. */
  readonly unsupported: ReadonlySet<"ttl" | "minTtl" | "md5">;
}

/** node:net only: no TTL, GTSM or MD5 (refused with a clear error by the session). */
export const netTransport: BgpTransport = {
  unsupported: new Set(["ttl", "minTtl", "md5"]),
  connect(o) {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: o.remoteAddress, port: o.remotePort, localAddress: o.localAddress, localPort: o.localPort });
      const onAbort = () => socket.destroy(new Error("connect aborted"));
      o.signal?.addEventListener("abort", onAbort, { once: true });
      socket.once("connect", () => {
        o.signal?.removeEventListener("abort", onAbort);
        socket.removeListener("error", reject);
        resolve(socket);
      });
      socket.once("error", (err) => {
        o.signal?.removeEventListener("abort", onAbort);
        reject(err);
      });
    });
  },
  listen(o, onConnection) {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, onConnection);
      server.once("error", reject);
      server.listen({ host: o.address, port: o.port, exclusive: true }, () => {
        server.removeListener("error", reject);
        const addr = server.address();
        resolve({
          port: typeof addr === "object" && addr ? addr.port : o.port,
          close: () => new Promise<void>((r) => server.close(() => r())),
        });
      });
    });
  },
};
