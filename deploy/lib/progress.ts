/** How one host's deploy ended. */
export type Outcome = "deployed" | "unchanged" | "planned" | "rolled back" | "failed" | "not started";

/** One row of the summary. */
export interface HostResult {
  readonly host: string;
  /** What ran before: a version, "none", or undefined when the board could not be read. */
  readonly oldVersion?: string;
  readonly newVersion?: string;
  readonly outcome: Outcome;
  /** Why it failed, what it rolled back to, or what a dry run would do. */
  readonly detail: string;
  readonly seconds: number;
  /** A dry run's plan, one step a line. */
  readonly plan?: readonly string[];
}

/** Whether an outcome counts as success for the exit code. */
export function succeeded(outcome: Outcome): boolean {
  return outcome === "deployed" || outcome === "unchanged" || outcome === "planned";
}

const REDRAW_INTERVAL_MS = 200;

/**
 * One line per host. On a terminal the lines are redrawn in place as hosts move on; elsewhere each
 * step is printed as a plain `host: step` line and transient updates (upload percentages) are dropped.
 */
export class Progress {
  private readonly write: (text: string) => void;
  private readonly tty: boolean;
  private readonly hosts: readonly string[];
  private readonly lines: string[];
  private readonly width: number;
  private drawn = false;
  private lastDraw = 0;

  constructor(deps: { write: (text: string) => void; tty: boolean; hosts: readonly string[] }) {
    this.write = deps.write;
    this.tty = deps.tty;
    this.hosts = deps.hosts;
    this.lines = deps.hosts.map(() => "waiting");
    this.width = Math.max(...deps.hosts.map((h) => h.length), 4);
  }

  /** Sets host `index`'s line; `transient` updates are shown on a terminal only. */
  update(index: number, text: string, transient = false): void {
    if (this.lines[index] === text) return;
    this.lines[index] = text;
    if (!this.tty) {
      if (!transient) this.write(`${this.hosts[index]}: ${text}\n`);
      return;
    }
    // Upload percentages come many times a second: a few redraws a second are enough.
    const now = performance.now();
    if (transient && now - this.lastDraw < REDRAW_INTERVAL_MS) return;
    this.lastDraw = now;
    this.redraw();
  }

  private redraw(): void {
    const up = this.drawn ? `\x1b[${this.lines.length}A` : "";
    this.drawn = true;
    const cols = process.stdout.columns || 120;
    const body = this.lines.map((line, i) => `\x1b[2K${`${(this.hosts[i] ?? "").padEnd(this.width)}  ${line}`.slice(0, cols - 1)}\n`).join("");
    this.write(`${up}${body}`);
  }
}

/** The summary table: host, old → new version, time, result (last, as it can be long). */
export function summaryTable(results: readonly HostResult[]): string {
  const header = ["host", "version", "time", "result"];
  const rows = results.map((r) => [r.host, `${r.oldVersion ?? "?"} → ${r.newVersion ?? "?"}`, `${r.seconds.toFixed(1)} s`, r.detail === "" ? r.outcome : `${r.outcome}: ${r.detail}`]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? "").length)));
  const format = (row: string[]) => row.map((cell, c) => (c < row.length - 1 ? cell.padEnd(widths[c] ?? 0) : cell)).join("  ");
  const ok = results.filter((r) => succeeded(r.outcome)).length;
  return `${[header, ...rows].map(format).join("\n")}\n${ok} of ${results.length} host(s) succeeded\n`;
}
