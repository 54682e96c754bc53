/** `herald agent --metrics-label-set baseline|v1`: parsed in both modes, refused when unknown, carried to the agent's metrics. */
import { describe, expect, it } from "vitest";
import { Agent } from "../../src/agent/agent.ts";
import { AGENT_USAGE, agentOptions } from "../../src/cli/agent.ts";
import { UsageError } from "../../src/cli/args.ts";
import { createLogger } from "../../src/log.ts";

describe("herald agent --metrics-label-set", () => {
  it("defaults to the baseline label set", () => {
    expect(agentOptions(["--config-dir", "c"], {}).metricsLabelSet).toBe("baseline");
  });

  it("takes baseline or v1 in file mode and in Kubernetes mode", () => {
    expect(agentOptions(["--config-dir", "c", "--metrics-label-set", "v1"], {}).metricsLabelSet).toBe("v1");
    expect(agentOptions(["--config-dir", "c", "--metrics-label-set", "baseline"], {}).metricsLabelSet).toBe("baseline");
    const kube = agentOptions(["--kubeconfig", "/k", "--metrics-label-set", "v1"], { NODE_NAME: "worker-1" });
    expect(kube.kube).toBeDefined();
    expect(kube.metricsLabelSet).toBe("v1");
  });

  it.each(["v2", "V1", ""])("refuses %j naming the flag and the allowed values", (value) => {
    const argv = ["--config-dir", "c", "--metrics-label-set", value];
    expect(() => agentOptions(argv, {})).toThrow(UsageError);
    expect(() => agentOptions(argv, {})).toThrow(`--metrics-label-set must be one of "baseline", "v1": current value is "${value}"`);
  });

  it("is in the agent's help", () => {
    expect(AGENT_USAGE).toContain("--metrics-label-set baseline|v1");
    expect(() => agentOptions(["--help"], {})).toThrow("--metrics-label-set baseline|v1");
  });

  it("reaches the agent's metrics", () => {
    const o = agentOptions(["--config-dir", "c", "--no-datapath", "--metrics-label-set", "v1"], {});
    const agent = new Agent({ ...o, logger: createLogger({ write: () => {} }), processMetrics: false });
    expect(agent.metrics.labelSet).toBe("v1");
  });
});
