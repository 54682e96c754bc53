/** `herald agent` flags for Kubernetes mode: how the mode is chosen, defaults from the pod's environment, errors naming the flag. */
import { describe, expect, it } from "vitest";
import { agentOptions } from "../../../src/cli/agent.ts";
import { UsageError } from "../../../src/cli/args.ts";

describe("agentOptions() in Kubernetes mode", () => {
  it("--kubeconfig selects Kubernetes mode with client-go's Lease timings and status reports on", () => {
    const o = agentOptions(["--kubeconfig", "kc", "--node-name", "worker-1"], {});
    expect(o.configDir).toBeUndefined();
    expect(o.kube).toEqual({
      kubeconfig: "kc",
      leaseNamespace: "herald",
      leaseName: "herald-operator",
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      statusReport: true,
    });
    expect(o.nodeName).toBe("worker-1");
  });

  it("in a pod (KUBERNETES_SERVICE_HOST, no --config-dir) uses the in-cluster configuration, $NODE_NAME and $POD_NAMESPACE", () => {
    const o = agentOptions(["--bgp-secrets-namespace", "bgp"], { KUBERNETES_SERVICE_HOST: "10.96.0.1", NODE_NAME: "worker-7", POD_NAMESPACE: "net" });
    expect(o.kube).toMatchObject({ kubeconfig: undefined, leaseNamespace: "net" });
    expect(o.nodeName).toBe("worker-7");
    expect(o.control.bgpSecretsNamespace).toBe("bgp");
  });

  it("takes the Lease, timing and status-report flags", () => {
    const o = agentOptions([
      "--kubeconfig", "kc", "--lease-namespace", "kube-system", "--lease-name", "lb", "--leader-election-lease-duration", "4s",
      "--leader-election-renew-deadline", "3s", "--leader-election-retry-period", "500ms", "--enable-bgp-control-plane-status-report", "false",
    ], {});
    expect(o.kube).toMatchObject({ leaseNamespace: "kube-system", leaseName: "lb", leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500, statusReport: false });
  });

  it("file mode ignores $NODE_NAME and keeps needing --config-dir outside a cluster", () => {
    expect(agentOptions(["--config-dir", "c"], { NODE_NAME: "x" }).nodeName).not.toBe("x");
    expect(() => agentOptions([], {})).toThrow("--config-dir DIR is required");
  });

  it.each([
    [["--config-dir", "c", "--kubeconfig", "kc"], "--config-dir and --kubeconfig exclude each other"],
    [["--config-dir", "c", "--lease-name", "x"], "--lease-name applies to Kubernetes mode only"],
    [["--kubeconfig", ""], '--kubeconfig must be a kubeconfig file: current value is ""'],
    [["--kubeconfig", "kc", "--leader-election-lease-duration", "15"], '--leader-election-lease-duration must be a positive duration such as "15s" or "500ms": current value is "15"'],
    [["--kubeconfig", "kc", "--leader-election-lease-duration", "5s", "--leader-election-renew-deadline", "5s"], "--leader-election-renew-deadline must be shorter than --leader-election-lease-duration"],
    [["--kubeconfig", "kc", "--enable-bgp-control-plane-status-report", "no"], '--enable-bgp-control-plane-status-report must be one of "true", "false": current value is "no"'],
  ])("agentOptions(%j) fails naming the flag", (argv, message) => {
    expect(() => agentOptions(argv as string[], {})).toThrow(UsageError);
    expect(() => agentOptions(argv as string[], {})).toThrow(message);
  });
});
