/** defaultRouteDevices(): where the load balancer goes when the agent is not told. */
import { describe, expect, it } from "vitest";
import { defaultDevicesV4, defaultDevicesV6 } from "../../src/datapath/devices.ts";

describe("default route devices", () => {
  it("defaultDevicesV4() finds routes with destination and mask 0 that are up", () => {
    const text = [
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
      "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
      "eth1\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
      "bond0\t00000000\t010300C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
    ].join("\n");
    expect(defaultDevicesV4(text)).toEqual(["eth0", "bond0"]);
  });

  it("defaultDevicesV6() finds ::/0 routes and skips the unreachable ones on lo", () => {
    const zero = "0".repeat(32);
    const text = [
      `${zero} 00 ${zero} 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0`,
      `fd000000000000000000000000000000 40 ${zero} 00 ${zero} 00000100 00000003 00000000 00000001 eth0`,
      `${zero} 00 ${zero} 00 ${zero} ffffffff 00000001 00000000 00200200 lo`,
    ].join("\n");
    expect(defaultDevicesV6(text)).toEqual(["eth0"]);
  });
});
