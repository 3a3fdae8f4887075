import type { z } from "zod";
import { clip, clipJson } from "../core/clip.ts";

/** The longest key of a path quoted back: keys may be outside input (a payload's, a file's). */
const KEY_LENGTH = 64;

/** What a formatter knows beyond the issues. */
export interface IssueContext {
  /** The schema that was parsed: an unknown key then gets a did-you-mean, or the keys known there. */
  schema?: z.ZodType;
  /** What was parsed: each problem then says what it got there. */
  input?: unknown;
  /** Where the parsed value stands in a larger document, put before every path (`["options", "registers"]`). */
  at?: ReadonlyArray<PropertyKey>;
}

/** Renders a path the way a user reads YAML: `devices[1].baud`; the top level is `(top level)`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? clip(String(key), KEY_LENGTH) : `.${clip(String(key), KEY_LENGTH)}`;
  }
  return out || "(top level)";
}

/**
 * zod's issues as one line per problem, each starting with its path: `devices[2].baud: expected one of
 * 1200…921600, got "fast"`, `exector: unknown key (did you mean "executor"?)`.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], context: IssueContext = {}): string[] {
  const at = context.at ?? [];
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const keys = context.schema === undefined ? [] : knownKeys(context.schema, issue.path, context.input);
      for (const key of issue.keys) {
        const hint = closest(key, keys);
        lines.push(`${formatPath([...at, ...issue.path, key])}: unknown key${hint ? ` (did you mean "${hint}"?)` : keys.length ? ` (known: ${keys.join(", ")})` : ""}`);
      }
      continue;
    }
    const message = unmatchedTag(issue, valueAt(context.input, issue.path)) ?? issue.message.replace(/^(Invalid input|Invalid option|Too small|Too big): /, "");
    // A check whose message already quotes what it found (`unknown field "pm25" …`) says so with `params.quotesInput`.
    const quotes = issue.code === "custom" && (issue.params as { quotesInput?: boolean } | undefined)?.quotesInput === true;
    const got = Object.hasOwn(context, "input") && !quotes ? `, got ${describe(valueAt(context.input, issue.path))}` : "";
    lines.push(`${formatPath([...at, ...issue.path])}: ${message}${got}`);
  }
  return lines;
}

/** A zod error as one line, its problems joined by "; " (for a reply or a log line). */
export function describeIssues(error: z.ZodError, context: IssueContext = {}): string {
  return formatIssues(error.issues, context).join("; ");
}

/** The candidate closest to `word` (a misspelt key or model), if any is close enough to suggest. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** A discriminated union's tag that names no option (a model's `protocol: lin`): the options, and the closest one. */
function unmatchedTag(issue: z.core.$ZodIssue, got: unknown): string | undefined {
  const options = (issue as { options?: unknown }).options;
  if (issue.code !== "invalid_union" || !Array.isArray(options) || !options.every((o) => typeof o === "string")) return undefined;
  const hint = typeof got === "string" ? closest(got, options) : undefined;
  return `expected one of ${options.join(", ")}${hint ? ` (did you mean "${hint}"?)` : ""}`;
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : clipJson(value);
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function knownKeys(schema: z.ZodType, path: ReadonlyArray<PropertyKey>, input: unknown): string[] {
  // Walk the schema along the path to list the keys an object there accepts, for "did you mean"; through a
  // discriminated union (a model's protocol) by the option the input's discriminator names.
  let s: unknown = schema;
  let v = input;
  for (const key of [...path, undefined]) {
    for (;;) {
      const def = (s as { def?: SchemaDef }).def;
      if (def?.type === "default" || def?.type === "optional" || def?.type === "nullable" || def?.type === "prefault") s = def.innerType;
      else if (def?.type === "union" && def.discriminator !== undefined) {
        const tag = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[def.discriminator] : undefined;
        const option = def.options?.find((o) => ((o as { def?: SchemaDef }).def?.shape?.[def.discriminator!] as { def?: SchemaDef } | undefined)?.def?.values?.includes(tag));
        if (option === undefined) return [];
        s = option;
      } else break;
    }
    const def = (s as { def?: SchemaDef }).def;
    if (key === undefined) return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
    if (def?.type === "object" && def.shape && typeof key === "string") s = def.shape[key];
    else if (def?.type === "array") s = def.element;
    else return [];
    v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return [];
}

/** What knownKeys reads of a zod schema's definition. */
interface SchemaDef {
  type?: string;
  innerType?: unknown;
  shape?: Record<string, unknown>;
  element?: unknown;
  options?: unknown[];
  discriminator?: string;
  values?: unknown[];
}
