import { describe, expect, it } from "vitest";
import { formatDuration, tabwrite } from "../../src/cli/tabwriter.ts";

describe("tabwrite()", () => {
  it("pads terminated cells to max width + 3, at least 5, and leaves the last cell unpadded", () => {
    const out = tabwrite("Node\tLocal AS\tPeer AS\nnode-a\t65001\t65000\n");
    expect(out).toBe(
      "Node     Local AS   Peer AS\n" +
        "node-a   65001      65000\n",
    );
  });

  it("pads a cell terminated by a trailing tab (trailing spaces, as the Cilium CLI prints)", () => {
    expect(tabwrite("a\tb\t\nlonger\tc\t\n")).toBe("a        b    \nlonger   c    \n");
  });

  it("uses minwidth 5 for short columns and counts empty cells as width 0", () => {
    expect(tabwrite("\t\tx\nab\t\ty\n")).toBe("          x\nab        y\n");
  });

  it("sizes each block of consecutive lines separately (Go's column blocks)", () => {
    // The middle line has no tab, so it ends the first block of column 0.
    const out = tabwrite("a\t1\nbreak\nlonger-cell\t2\n");
    expect(out).toBe("a    1\nbreak\nlonger-cell   2\n");
  });

  // The header's last cell is unterminated, so the Advertised column's block
  // is only the data rows: they pad to max(5, 1 + 3), not to the header.
  it("lays out the cilium bgp peers example with continuation rows", () => {
    const text = "Node\tLocal AS\tPeer AS\tPeer Address\tSession State\tUptime\tFamily\tReceived\tAdvertised\n" +
      "node-a\t65001\t65000\tfd00:10::1\testablished\t33m26s\tipv4/unicast\t2\t2\t\n" +
      "\t\t\t\t\t\tipv6/unicast\t2\t2\t\n";
    const lines = tabwrite(text).split("\n");
    expect(lines[0]).toBe(
      "Node     Local AS   Peer AS   Peer Address   Session State   Uptime   Family         Received   Advertised",
    );
    expect(lines[1]).toBe(
      "node-a   65001      65000     fd00:10::1     established     33m26s   ipv4/unicast   2          2    ",
    );
    expect(lines[2]).toBe(
      "                                                                      ipv6/unicast   2          2    ",
    );
  });
});

describe("formatDuration()", () => {
  it.each([
    [0, "0s"],
    [499, "0s"],
    [500, "1s"],
    [45_000, "45s"],
    [(33 * 60 + 26) * 1000, "33m26s"],
    [3_600_000, "1h0m0s"],
    [(26 * 3600 + 5) * 1000, "26h0m5s"],
  ])("%d ms ⇒ %s", (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });
});
