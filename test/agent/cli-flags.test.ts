/** `herald agent` flags: defaults (loopback API) and errors that name the flag and the expected form. */
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { agentOptions } from "../../src/cli/agent.ts";
import { UsageError } from "../../src/cli/args.ts";

describe("agentOptions()", () => {
  it("defaults: hostname, API on 127.0.0.1:9234, /var/lib/herald, datapath on, logfmt", () => {
    const o = agentOptions(["--config-dir", "conf"], {});
    expect(o).toMatchObject({
      configDir: "conf",
      nodeName: hostname().toLowerCase(),
      api: { host: "127.0.0.1", port: 9234 },
      stateDir: "/var/lib/herald",
      datapath: { enabled: true },
      logFormat: "logfmt",
      logLevel: "info",
      control: { ipFamilies: null, v2Only: false },
    });
  });

  it("takes the control options as flags", () => {
    const o = agentOptions([
      "--config-dir", "c", "--node-name", "worker-1", "--api", "[::1]:9000", "--no-datapath", "--state-dir", "/tmp/s",
      "--ip-families", "dual", "--v2-only", "--log-format", "json", "--no-service-endpoints-routable", "false",
      "--router-id-allocation-mode", "ip-pool", "--router-id-allocation-ip-pool", "10.255.0.0/24", "--node-labels", "rack=r1,zone=a",
    ], {});
    expect(o).toMatchObject({
      nodeName: "worker-1",
      api: { host: "::1", port: 9000 },
      datapath: { enabled: false },
      stateDir: "/tmp/s",
      logFormat: "json",
      nodeLabels: { rack: "r1", zone: "a" },
      control: { ipFamilies: "dual", v2Only: true, noServiceEndpointsRoutable: false, routerIDAllocationMode: "ip-pool", routerIDAllocationIPPool: "10.255.0.0/24" },
    });
  });

  it.each([
    [[], "--config-dir DIR is required"],
    [["--config-dir", "c", "--api", "localhost"], '--api must be HOST:PORT (IPv6 as [addr]:port): current value is "localhost"'],
    [["--config-dir", "c", "--api", "my.host:9234"], "--api must be HOST:PORT with an IP address as HOST"],
    [["--config-dir", "c", "--no-datapath", "--bpf-pin-dir", "/sys/fs/bpf/h"], "--no-datapath and --bpf-pin-dir exclude each other"],
    [["--config-dir", "c", "--bpf-pin-dir", "/sys/fs/bpf/h.1"], "--bpf-pin-dir must not contain a dot"],
    [["--config-dir", "c", "--log-format", "text"], '--log-format must be one of "logfmt", "json": current value is "text"'],
    [["--config-dir", "c", "--ip-families", "v4"], '--ip-families must be one of "ipv4", "ipv6", "dual": current value is "v4"'],
    [["--config-dir", "c", "--node-name", "Worker_1"], "--node-name must be a DNS subdomain name"],
    [["--config-dir", "c", "--bgp-listen-address", "any"], '--bgp-listen-address must be an IP address: current value is "any"'],
    [["--config-dir", "c", "--node-labels", "rack"], "--node-labels must be key=value[,key=value]"],
    [["--config-dir", "c", "--frobnicate"], "unknown flag '--frobnicate'"],
  ])("agentOptions(%j) fails naming the flag", (argv, message) => {
    // An explicit, empty environment: in a pod KUBERNETES_SERVICE_HOST would select Kubernetes mode.
    expect(() => agentOptions(argv as string[], {})).toThrow(UsageError);
    expect(() => agentOptions(argv as string[], {})).toThrow(message);
  });
});
