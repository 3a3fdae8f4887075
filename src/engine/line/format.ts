/**
 * How the fields of a line are written, one module per format (kv.ts, json.ts, csv.ts, regex.ts): each
 * turns a report's text into the values of the fields the model reads, or says why the line is garbage.
 */
import { type LineProtocol, reportPatterns } from "../../config/line-definition.ts";
import { CsvFormat } from "./csv.ts";
import { JsonFormat } from "./json.ts";
import { KvFormat } from "./kv.ts";
import { RegexFormat } from "./regex.ts";

/** Where an entity's reading is in a line: a key, a path, a column's name or number (from 1), a group's name. */
export type ReadKey = string | number;

/** A field's value as a line gives it: text (kv, csv, regex), or a JSON scalar (json); null is no reading. */
export type FieldValue = string | number | boolean | null;

/** Whether a line's fields were read, or why the line is garbage (then none was handed on). */
export type Parsed = { ok: true } | { ok: false; why: string };

/** Takes one field's value, by read key (a read the line does not carry is never called). */
export type FieldSink = (key: ReadKey, value: FieldValue) => void;

/** What a line's header check found: not a header, the header taken, or a header that cannot be used. */
export type HeaderResult = { header: false } | { header: true; ok: true; columns: string[] } | { header: true; ok: false; why: string };

/** One field format. */
export interface LineFormat {
  /**
   * Hands the values in a report's or a reply's fields to `sink` (no map in between: a chatty device's
   * every line comes through here); `text` is its `fields` group or the whole line, `match` the pattern's
   * match (regex reads its groups). A line found to be garbage hands on nothing.
   */
  parse(text: string, match: RegExpExecArray, sink: FieldSink): Parsed;
  /** Whether `line` is a header line naming the columns (csv), taken for the rows that follow. */
  header?(line: string): HeaderResult;
}

/** The format of a model's lines, reading the fields in `reads`. */
export function lineFormat(line: LineProtocol, reads: readonly ReadKey[]): LineFormat {
  switch (line.format) {
    case "kv":
      return new KvFormat(line.kv, reportPatterns(line).length === 0);
    case "json":
      return new JsonFormat(reads);
    case "csv":
      return new CsvFormat(line.csv, reads);
    case "regex":
      return new RegexFormat();
  }
}
