import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { clipJson } from "../core/clip.ts";
import { HearthError } from "../core/errors.ts";
import { DEFAULT_CONFIG } from "./defaults.ts";
import { type Config, ConfigSchema } from "./schema.ts";

/** Codes of the configuration's errors. */
export type ConfigErrorCode = "CONFIG_INVALID";

/** A configuration that cannot be used; `problems` name each bad path (`executor.workers: expected …`). */
export class ConfigError extends HearthError<ConfigErrorCode> {
  override readonly name = "ConfigError";
  readonly problems: string[];
  /** The file it came from, when it came from one. */
  readonly file: string | undefined;

  constructor(file: string | undefined, problems: string[]) {
    super("CONFIG_INVALID", `${file ?? "configuration"}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join("\n  ")}`}`);
    this.file = file;
    this.problems = problems;
  }
}

/** Renders a path the way a user reads YAML: `devices[1].baud`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out || "(top level)";
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : clipJson(value);
}

function closest(word: string, candidates: readonly string[]): string | undefined {
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

function knownKeys(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  // Walk the schema along the path to list the keys an object there accepts, for "did you mean".
  let s: unknown = schema;
  for (const key of [...path, undefined]) {
    for (;;) {
      const def = (s as { def?: { type?: string; innerType?: unknown; shape?: Record<string, unknown>; element?: unknown } }).def;
      if (def?.type === "default" || def?.type === "optional" || def?.type === "nullable" || def?.type === "prefault") s = def.innerType;
      else break;
    }
    const def = (s as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } }).def;
    if (key === undefined) return def?.type === "object" && def.shape ? Object.keys(def.shape) : [];
    if (def?.type === "object" && def.shape && typeof key === "string") s = def.shape[key];
    else if (def?.type === "array") s = def.element;
    else return [];
  }
  return [];
}

/** Turns zod's issues into one line per problem, each starting with its path. */
export function formatIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const keys = knownKeys(schema, issue.path);
      for (const key of issue.keys) {
        const hint = closest(key, keys);
        lines.push(`${formatPath([...issue.path, key])}: unknown key${hint ? ` (did you mean "${hint}"?)` : keys.length ? ` (known: ${keys.join(", ")})` : ""}`);
      }
      continue;
    }
    const got = describe(valueAt(input, issue.path));
    const message = issue.message.replace(/^(Invalid input|Invalid option|Too small|Too big): /, "");
    lines.push(`${formatPath(issue.path)}: ${message}, got ${got}`);
  }
  return lines;
}

/** What validation needs to know beyond the schema. */
export interface ConfigContext {
  /** Device models hearth knows; a device naming another is an error. */
  models?: readonly string[];
}

/**
 * Validates already-parsed YAML; throws ConfigError naming every bad path. The checks across device
 * entries run beside the schema's, on the devices as given, so one run names every problem at once.
 */
export function parseConfig(input: unknown, file?: string, context: ConfigContext = {}): Config {
  const result = ConfigSchema.safeParse(input ?? {});
  const problems = [...(result.success ? [] : formatIssues(ConfigSchema, result.error.issues, input)), ...deviceEntryProblems(input, context)];
  if (!result.success || problems.length > 0) throw new ConfigError(file, problems);
  return result.data;
}

/**
 * What is wrong across the `devices` entries as given (the schema checks each entry alone): ids used twice,
 * and models hearth does not know. Entries whose id or model is not even text are left to the schema.
 */
function deviceEntryProblems(input: unknown, context: ConfigContext): string[] {
  const devices = input !== null && typeof input === "object" ? (input as { devices?: unknown }).devices : undefined;
  if (!Array.isArray(devices)) return [];
  const fieldOf = (entry: unknown, key: "id" | "model"): string | undefined => {
    const value = entry !== null && typeof entry === "object" ? (entry as Record<string, unknown>)[key] : undefined;
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const problems: string[] = [];
  const seen = new Map<string, number>();
  devices.forEach((entry, i) => {
    const id = fieldOf(entry, "id");
    if (id === undefined) return;
    const first = seen.get(id);
    if (first !== undefined) problems.push(`devices[${i}].id: duplicate id (devices[${first}] has it too), got ${describe(id)}`);
    else seen.set(id, i);
  });
  const models = context.models;
  if (models === undefined) return problems;
  devices.forEach((entry, i) => {
    const model = fieldOf(entry, "model");
    if (model === undefined || models.includes(model)) return;
    const hint = closest(model, models);
    problems.push(`devices[${i}].model: unknown model ${JSON.stringify(model)}${hint ? ` (did you mean "${hint}"?)` : ""}; known models: ${models.join(", ")}`);
  });
  return problems;
}

/** A configuration as read, and the top-level keys its source gave itself (defaults filled in the others). */
export interface LoadedConfig {
  config: Config;
  given: ReadonlySet<string>;
}

/** Reads and validates hearth.yaml; no file means the embedded defaults (src/config/defaults.ts). */
export async function loadConfig(file?: string, context: ConfigContext = {}): Promise<Config> {
  return (await readConfig(file, context)).config;
}

/** loadConfig, telling also which top-level keys the file gave (a reload tells `devices: []` from no devices key). */
export async function readConfig(file?: string, context: ConfigContext = {}): Promise<LoadedConfig> {
  if (file === undefined) return { config: parseConfig(structuredClone(DEFAULT_CONFIG), undefined, context), given: new Set(Object.keys(DEFAULT_CONFIG)) };
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML: ${(err as Error).message}`]);
  }
  const config = parseConfig(parsed, file, context);
  // parseConfig refused anything but an object or nothing at all (an empty file, or only comments).
  return { config, given: new Set(parsed === null || parsed === undefined ? [] : Object.keys(parsed as object)) };
}
