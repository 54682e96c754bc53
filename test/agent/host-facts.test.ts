import { describe, expect, it } from "vitest";
import { gatherHostFacts, parseIpAddr, parseIpRoutes } from "../../src/agent/host-facts.ts";

describe("parseIpAddr()", () => {
  it("reads names, states, MACs of Ethernet links and addresses with their lengths", () => {
    const json = JSON.stringify([
      {
        ifname: "lo",
        flags: ["LOOPBACK", "UP", "LOWER_UP"],
        operstate: "UNKNOWN",
        link_type: "loopback",
        address: "00:00:00:00:00:00",
        addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }, { family: "inet6", local: "::1", prefixlen: 128 }],
      },
      { ifname: "eth0", flags: ["BROADCAST", "UP"], operstate: "DOWN", link_type: "ether", address: "52:54:00:12:34:56", addr_info: [] },
    ]);
    expect(parseIpAddr(json)).toEqual([
      { name: "lo", adminUp: true, operState: "unknown", mac: undefined, addresses: ["127.0.0.1/8", "::1/128"] },
      { name: "eth0", adminUp: true, operState: "down", mac: "52:54:00:12:34:56", addresses: [] },
    ]);
  });
});

describe("parseIpRoutes()", () => {
  it("turns default routes into 0.0.0.0/0 and ::/0 with their gateway, device and metric", () => {
    expect(parseIpRoutes('[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","flags":[]}]', 4)).toEqual([
      { destination: "0.0.0.0/0", gateway: "192.0.2.1", interface: "eth0", metric: 0 },
    ]);
    expect(parseIpRoutes('[{"dst":"default","gateway":"fd00::1","dev":"eth0","metric":1024}]', 6)).toEqual([
      { destination: "::/0", gateway: "fd00::1", interface: "eth0", metric: 1024 },
    ]);
  });
});

describe("gatherHostFacts()", () => {
  it("reads this host: the loopback interface is always there", async () => {
    const facts = await gatherHostFacts();
    const lo = facts.interfaces.find((i) => i.name === "lo");
    expect(lo?.addresses).toContain("127.0.0.1/8");
  });
});
