import type { FieldSink, LineFormat, Parsed } from "./format.ts";

/** The report pattern's named groups are the fields; a group that took no part in the match sets nothing. */
export class RegexFormat implements LineFormat {
  parse(_text: string, match: RegExpExecArray, sink: FieldSink): Parsed {
    for (const [name, value] of Object.entries(match.groups ?? {})) if (value !== undefined && name !== "id") sink(name, value);
    return { ok: true };
  }
}
