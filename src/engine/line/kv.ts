import type { FieldSink, LineFormat, Parsed } from "./format.ts";

/**
 * `key=value` pairs: separated by spaces (or the model's separator), a key from its value by `=` (or the
 * model's `assign`), each trimmed. A pair without the assign is skipped. A line with no pair at all is
 * garbage when every line is a report (a model without report patterns); one that matched a report
 * pattern just sets nothing.
 */
export class KvFormat implements LineFormat {
  private readonly separator: string | undefined;
  private readonly assign: string;
  private readonly everyLine: boolean;

  constructor(options: { separator?: string | undefined; assign: string } | undefined, everyLine: boolean) {
    this.separator = options?.separator;
    this.assign = options?.assign ?? "=";
    this.everyLine = everyLine;
  }

  parse(text: string, _match: RegExpExecArray, sink: FieldSink): Parsed {
    const pairs = parsePairs(text, this.separator, this.assign);
    if (pairs.length === 0 && this.everyLine) return { ok: false, why: `no ${this.assign === "=" ? "key=value" : `key${this.assign}value`} fields` };
    for (const [key, value] of pairs) sink(key, value);
    return { ok: true };
  }
}

/** The pairs of `text`, in order: `separator` between them (default: any run of spaces), `assign` in each. */
function parsePairs(text: string, separator: string | undefined = undefined, assign = "="): Array<[string, string]> {
  const values: Array<[string, string]> = [];
  const trimmed = text.trim();
  if (trimmed === "") return values;
  for (const pair of separator === undefined ? trimmed.split(/\s+/) : trimmed.split(separator)) {
    const at = pair.indexOf(assign);
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    if (key !== "") values.push([key, pair.slice(at + assign.length).trim()]);
  }
  return values;
}
