/**
 * The file descriptor behind a node:net socket, to set options on accepted
 * connections. Node keeps it on the handle (`_handle.fd`); Deno does not
 * expose it, so the connection is found by its addresses in /proc/net/tcp{,6}
 * and its inode among /proc/self/fd (both work the same under both runtimes).
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { Socket } from "node:net";
import { parseIP } from "../net/ip.ts";
import type { IPAddress } from "../net/ip.ts";

/** Address as /proc/net/tcp prints it: 32-bit words in host (little-endian) order, in hex. */
function parseProcAddress(hex: string): IPAddress {
  let value = 0n;
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) value = (value << 8n) | BigInt(parseInt(word.slice(b, b + 2), 16));
  }
  return { family: hex.length === 8 ? 4 : 6, value };
}

function sameIP(a: IPAddress, b: IPAddress): boolean {
  const v6 = (ip: IPAddress) => (ip.family === 6 ? ip.value : 0xffff00000000n | ip.value);
  return v6(a) === v6(b);
}

/** Socket inode of the TCP connection local→remote, or undefined. */
export function findTcpInode(local: IPAddress, localPort: number, remote: IPAddress, remotePort: number): string | undefined {
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [la, lp] = f[1].split(":");
      const [ra, rp] = f[2].split(":");
      if (parseInt(lp, 16) !== localPort || parseInt(rp, 16) !== remotePort) continue;
      if (sameIP(parseProcAddress(la), local) && sameIP(parseProcAddress(ra), remote)) return f[9];
    }
  }
  return undefined;
}

/** The fd in this process whose link is `socket:[inode]`. */
export function findFdByInode(inode: string): number | undefined {
  const target = `socket:[${inode}]`;
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === target) return Number(name);
    } catch {
      // The fd closed while we looked (readdir's own fd, for one).
    }
  }
  return undefined;
}

/** The fd of a connected node:net socket; throws when it cannot be found. */
export function socketFd(socket: Socket): number {
  const handleFd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof handleFd === "number" && handleFd >= 0) return handleFd;
  const local = parseIP(socket.localAddress ?? "");
  const remote = parseIP(socket.remoteAddress ?? "");
  const { localPort, remotePort } = socket;
  if (!local || !remote || localPort === undefined || remotePort === undefined) {
    throw new Error("Cannot find the socket's file descriptor: it is not connected");
  }
  const inode = findTcpInode(local, localPort, remote, remotePort);
  const fd = inode === undefined ? undefined : findFdByInode(inode);
  if (fd === undefined) {
    throw new Error(
      `Cannot find the file descriptor of connection ${socket.localAddress}:${localPort} -> ${socket.remoteAddress}:${remotePort}`,
    );
  }
  return fd;
}
