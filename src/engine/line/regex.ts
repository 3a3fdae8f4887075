import type { FieldValue, LineFormat, Parsed, ReadKey } from "./format.ts";

/** The report pattern's named groups are the fields; a group that took no part in the match sets nothing. */
export class RegexFormat implements LineFormat {
  parse(_text: string, match: RegExpExecArray): Parsed {
    const values = new Map<ReadKey, FieldValue>();
    for (const [name, value] of Object.entries(match.groups ?? {})) if (value !== undefined && name !== "id") values.set(name, value);
    return { ok: true, values };
  }
}
