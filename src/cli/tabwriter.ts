/**
 * A port of the layout rules of Go's text/tabwriter, because the Cilium
 * CLIs print through it and users diff herald's tables against theirs.
 *
 * Settings are Cilium's: minwidth 5, tabwidth 0, padding 3, pad char
 * space, no flags. A cell is text terminated by a tab; the text after the
 * last tab of a line is not a cell and is printed as it is. A column's
 * width is computed over each block of consecutive lines that have a cell
 * in that column, so one table may have several blocks of different widths.
 */

export interface TabwriterOptions {
  minWidth?: number;
  padding?: number;
}

type Line = string[];

/** Width of a cell in characters (Go counts runes, not bytes). */
const cellWidth = (text: string): number => [...text].length;

export function tabwrite(text: string, options: TabwriterOptions = {}): string {
  const minWidth = options.minWidth ?? 5;
  const padding = options.padding ?? 3;
  const lines: Line[] = text.split("\n").map((l) => l.split("\t"));
  const widths: number[] = [];
  const out: string[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      let s = "";
      cells.forEach((cell, j) => {
        s += cell;
        if (j < widths.length) s += " ".repeat(Math.max(0, widths[j] - cellWidth(cell)));
      });
      out.push(s);
    }
  };

  // Go's format(): find blocks of lines with a cell in the current column,
  // size the column over the block, then recurse into the next column.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= lines[cur].length - 1) continue;
      writeLines(line0, cur);
      line0 = cur;
      let width = minWidth;
      for (; cur < line1 && column < lines[cur].length - 1; cur++) {
        width = Math.max(width, cellWidth(lines[cur][column]) + padding);
      }
      widths.push(width);
      format(line0, cur);
      widths.pop();
      line0 = cur;
      cur--; // the outer loop's increment would skip the line that ended the block
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join("\n");
}

/**
 * Go's time.Duration.String() for a duration rounded to whole seconds:
 * "0s", "45s", "33m26s", "26h0m5s" (hours never roll into days).
 */
export function formatDuration(ms: number): string {
  const total = Math.round(Math.max(0, ms) / 1000);
  if (total === 0) return "0s";
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
