import type { FieldValue, LineFormat, Parsed, ReadKey } from "./format.ts";

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

  parse(text: string): Parsed {
    const values = parsePairs(text, this.separator, this.assign);
    if (values.size === 0 && this.everyLine) return { ok: false, why: `no ${this.assign === "=" ? "key=value" : `key${this.assign}value`} fields` };
    return { ok: true, values };
  }
}

/** The pairs of `text` by key: `separator` between them (default: any run of spaces), `assign` in each. */
export function parsePairs(text: string, separator: string | undefined = undefined, assign = "="): Map<ReadKey, FieldValue> {
  const values = new Map<ReadKey, FieldValue>();
  const trimmed = text.trim();
  if (trimmed === "") return values;
  for (const pair of separator === undefined ? trimmed.split(/\s+/) : trimmed.split(separator)) {
    const at = pair.indexOf(assign);
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    if (key !== "") values.set(key, pair.slice(at + assign.length).trim());
  }
  return values;
}
