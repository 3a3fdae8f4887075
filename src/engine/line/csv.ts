import type { FieldSink, HeaderResult, LineFormat, Parsed, ReadKey } from "./format.ts";

/**
 * Separated values, one row per line, each field trimmed (no quoting). Entities read a column by number
 * (from 1) or by name: the model's `columns`, or the names of the header line the device prints (a line
 * matching `header`), which replace them. Once the columns are known, a row of another width is garbage.
 */
export class CsvFormat implements LineFormat {
  private readonly separator: string;
  private readonly headerPattern: RegExp | undefined;
  private readonly names: string[];
  private readonly positions: number[];
  private readonly highest: number;
  /** Column names, from the model or the last header line; undefined until either says. */
  private columns: string[] | undefined;
  /** Where they came from, for messages. */
  private columnsFrom = "";
  /** Where each name read is in a row (0-based), for the columns now known. */
  private index = new Map<string, number>();

  constructor(options: { separator: string; header?: string | undefined; columns?: string[] | undefined } | undefined, reads: readonly ReadKey[]) {
    this.separator = options?.separator ?? ",";
    this.headerPattern = options?.header === undefined ? undefined : new RegExp(options.header);
    this.names = reads.filter((r): r is string => typeof r === "string");
    this.positions = reads.filter((r): r is number => typeof r === "number");
    this.highest = Math.max(0, ...this.positions);
    if (options?.columns !== undefined) this.useColumns(options.columns, "the model's columns have");
  }

  header(line: string): HeaderResult {
    if (this.headerPattern === undefined || !this.headerPattern.test(line)) return { header: false };
    const names = this.split(line);
    const missing = this.names.filter((n) => !names.includes(n));
    const short = this.highest > names.length;
    if (missing.length > 0 || short) {
      const what = missing.length > 0 ? `no column ${missing.map((m) => JSON.stringify(m)).join(", ")}, which the model reads` : `${names.length} columns, and the model reads column ${this.highest}`;
      const kept = this.columns === undefined ? "no columns known yet" : `keeping the columns ${this.columns.join(", ")}`;
      return { header: true, ok: false, why: `the header has ${what}; ${kept}` };
    }
    this.useColumns(names, "header has");
    return { header: true, ok: true, columns: names };
  }

  parse(text: string, _match: RegExpExecArray, sink: FieldSink): Parsed {
    const row = this.split(text);
    const width = this.columns?.length;
    if (width !== undefined && row.length !== width) {
      return { ok: false, why: `row has ${row.length} field${row.length === 1 ? "" : "s"}, the ${this.columnsFrom} ${width}` };
    }
    if (width === undefined && this.names.length > 0) return { ok: false, why: "no header line seen yet, and the model names no columns" };
    if (row.length < this.highest) return { ok: false, why: `row has ${row.length} field${row.length === 1 ? "" : "s"}, and the model reads column ${this.highest}` };
    for (const p of this.positions) sink(p, row[p - 1]!);
    for (const [name, at] of this.index) sink(name, row[at]!);
    return { ok: true };
  }

  private useColumns(columns: string[], from: string): void {
    this.columns = columns;
    this.columnsFrom = from;
    this.index = new Map(this.names.map((n) => [n, columns.indexOf(n)]));
  }

  private split(text: string): string[] {
    return text.split(this.separator).map((f) => f.trim());
  }
}
