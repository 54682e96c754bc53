/**
 * Network namespaces for datapath tests: creation, veth links, and small
 * echo servers and clients run as child processes of the test's own runtime
 * (node -e / deno eval) under `nsenter --net=…`, so /sys/fs/bpf stays visible
 * and nothing touches the host's network. Everything is removed by `destroy`.
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export class Netns {
  readonly names: string[] = [];
  readonly children: ChildProcess[] = [];

  add(name: string): string {
    run("ip", ["netns", "add", name]);
    this.names.push(name);
    run("ip", ["-n", name, "link", "set", "lo", "up"]);
    // Links created later skip IPv6 duplicate address detection, so their
    // link-local addresses (which neighbour discovery needs) work at once.
    this.sysctl(name, "net.ipv6.conf.default.accept_dad=0");
    return name;
  }

  /** A veth pair between two namespaces, with addresses (nodad: IPv6 usable at once). */
  link(a: { ns: string; dev: string; addrs: string[] }, b: { ns: string; dev: string; addrs: string[] }): void {
    run("ip", ["link", "add", a.dev, "netns", a.ns, "type", "veth", "peer", "name", b.dev, "netns", b.ns]);
    for (const end of [a, b]) {
      for (const addr of end.addrs) {
        run("ip", ["-n", end.ns, "addr", "add", addr, "dev", end.dev, ...(addr.includes(":") ? ["nodad"] : [])]);
      }
      run("ip", ["-n", end.ns, "link", "set", end.dev, "up"]);
    }
  }

  ip(ns: string, ...args: string[]): string {
    return run("ip", ["-n", ns, ...args]);
  }

  sysctl(ns: string, setting: string): void {
    run("ip", ["netns", "exec", ns, "sysctl", "-qw", setting]);
  }

  /** Runs JavaScript in a namespace with the test's own runtime. */
  spawnJs(ns: string, code: string): ChildProcess {
    const runtimeArgs = process.versions.deno ? ["eval", code] : ["-e", code];
    const child = spawn("nsenter", [`--net=/run/netns/${ns}`, process.execPath, ...runtimeArgs], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.push(child);
    return child;
  }

  /** Starts a server and waits for its "ready" line. */
  async startServer(ns: string, code: string): Promise<ChildProcess> {
    const child = this.spawnJs(ns, code);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.on("line", (l) => l === "ready" && resolve());
      child.once("exit", (code) => reject(new Error(`server in ${ns} exited with ${code}: ${stderr}`)));
    });
    return child;
  }

  /** Runs a client to completion and parses the JSON it prints last. */
  runClient<T>(ns: string, code: string): Promise<T> {
    const child = this.spawnJs(ns, code);
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    return new Promise((resolve, reject) => {
      child.once("exit", (status) => {
        const last = out.trim().split("\n").pop() ?? "";
        try {
          resolve(JSON.parse(last) as T);
        } catch {
          reject(new Error(`client in ${ns} exited with ${status}: ${out} ${err}`));
        }
      });
    });
  }

  destroy(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.pid) {
        try {
          process.kill(c.pid);
        } catch {
          // already gone
        }
      }
    }
    for (const n of this.names.splice(0).reverse()) {
      try {
        run("ip", ["netns", "del", n]);
      } catch {
        // already gone
      }
    }
  }
}

/** An echo server: answers every TCP connection or UDP datagram with `${id}:${data}`. */
export function echoServerJs(proto: "tcp" | "udp", host: string, port: number, id: string): string {
  if (proto === "tcp") {
    return `import("node:net").then(({ default: net }) => {
      net.createServer((s) => { s.on("data", (d) => s.end(${JSON.stringify(id)} + ":" + d)); s.on("error", () => {}); })
        .listen(${port}, ${JSON.stringify(host)}, () => console.log("ready"));
    });`;
  }
  return `import("node:dgram").then(({ default: dgram }) => {
    const s = dgram.createSocket(${JSON.stringify(host.includes(":") ? "udp6" : "udp4")});
    s.on("message", (m, r) => s.send(${JSON.stringify(id)} + ":" + m, r.port, r.address));
    s.bind(${port}, ${JSON.stringify(host)}, () => console.log("ready"));
  });`;
}

/**
 * A client that makes `count` exchanges with host:port, each from a new
 * socket (UDP: bound to `sourcePort` if given, so flows repeat), and prints a JSON array of replies ("timeout" or "error:…" when
 * none came), with the address the reply came from.
 */
export function echoClientJs(
  proto: "tcp" | "udp",
  host: string,
  port: number,
  count: number,
  options: { timeoutMs?: number; sourcePort?: number } = {},
): string {
  const timeoutMs = options.timeoutMs ?? 1500;
  const one = proto === "tcp"
    ? `(i) => new Promise((resolve) => {
        const s = net.connect(${port}, ${JSON.stringify(host)});
        const t = setTimeout(() => { s.destroy(); resolve("timeout"); }, ${timeoutMs});
        s.on("connect", () => s.write("ping" + i));
        s.on("data", (d) => { clearTimeout(t); resolve(String(d) + "@" + s.remoteAddress + ":" + s.remotePort); s.destroy(); });
        s.on("error", (e) => { clearTimeout(t); resolve("error:" + e.code); });
      })`
    : `(i) => new Promise((resolve) => {
        const s = dgram.createSocket(${JSON.stringify(host.includes(":") ? "udp6" : "udp4")});
        const t = setTimeout(() => { s.close(); resolve("timeout"); }, ${timeoutMs});
        s.on("message", (m, r) => { clearTimeout(t); resolve(String(m) + "@" + r.address + ":" + r.port); s.close(); });
        s.on("error", (e) => { clearTimeout(t); resolve("error:" + e.code); });
        s.bind(${options.sourcePort ?? 0}, () => s.send("ping" + i, ${port}, ${JSON.stringify(host)}));
      })`;
  return `Promise.all([import("node:net"), import("node:dgram")]).then(async ([{ default: net }, { default: dgram }]) => {
    const one = ${one};
    const out = [];
    for (let i = 0; i < ${count}; i++) out.push(await one(i));
    console.log(JSON.stringify(out));
    process.exit(0);
  });`;
}
