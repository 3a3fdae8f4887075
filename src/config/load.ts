import { readFile } from "node:fs/promises";
import { clipJson } from "../core/clip.ts";
import { HearthError } from "../core/errors.ts";
import { DEFAULT_CONFIG } from "./defaults.ts";
import { closest, formatIssues } from "./issues.ts";
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

/** What validation needs to know beyond the schema. */
export interface ConfigContext {
  /** Device models hearth knows; a device naming another is an error. */
  models?: readonly string[];
  /** Of those, the models with a simulator; a device on `port: sim` naming another is an error. */
  simulated?: readonly string[];
  /** Problems found beside the file (in its model files), listed with its own. */
  problems?: readonly string[];
}

/**
 * Validates already-parsed YAML; throws ConfigError naming every bad path. The checks across device
 * entries run beside the schema's, on the devices as given, so one run names every problem at once.
 */
export function parseConfig(input: unknown, file?: string, context: ConfigContext = {}): Config {
  const result = ConfigSchema.safeParse(input ?? {});
  const problems = [...(result.success ? [] : formatIssues(result.error.issues, { schema: ConfigSchema, input })), ...deviceEntryProblems(input, context), ...(context.problems ?? [])];
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
  const fieldOf = (entry: unknown, key: "id" | "model" | "port"): string | undefined => {
    const value = entry !== null && typeof entry === "object" ? (entry as Record<string, unknown>)[key] : undefined;
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const problems: string[] = [];
  const seen = new Map<string, number>();
  devices.forEach((entry, i) => {
    const id = fieldOf(entry, "id");
    if (id === undefined) return;
    const first = seen.get(id);
    if (first !== undefined) problems.push(`devices[${i}].id: duplicate id (devices[${first}] has it too), got ${clipJson(id)}`);
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
  const simulated = context.simulated;
  if (simulated === undefined) return problems;
  devices.forEach((entry, i) => {
    const model = fieldOf(entry, "model");
    if (fieldOf(entry, "port") !== "sim" || model === undefined || !models.includes(model) || simulated.includes(model)) return;
    problems.push(
      `devices[${i}].port: model ${JSON.stringify(model)} has no simulator for port sim (a model file gets one by naming a capture to replay, simulator.replay); give the device's serial port`,
    );
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

/**
 * Reads and validates hearth.yaml against the models hearth can run (`models`: the names of the
 * composition root's catalogue, src/catalogue.ts); ConfigError names each bad path.
 */
export function loadCheckedConfig(file: string | undefined, models: readonly string[]): Promise<Config> {
  return loadConfig(file, { models });
}

/** loadCheckedConfig, telling also which top-level keys the file gave. */
export function readCheckedConfig(file: string | undefined, models: readonly string[]): Promise<LoadedConfig> {
  return readConfig(file, { models });
}

/** loadConfig, telling also which top-level keys the file gave (a reload tells `devices: []` from no devices key). */
export async function readConfig(file?: string, context: ConfigContext = {}): Promise<LoadedConfig> {
  return checkConfigInput(await readConfigInput(file), file, context);
}

/**
 * The first phase of loading: hearth.yaml read and parsed as YAML, not yet validated (the embedded
 * defaults without a file), so that what it names beside itself (its model folders) can be read before
 * its devices are checked against the models. ConfigError when the file cannot be read or is not YAML.
 */
export async function readConfigInput(file?: string): Promise<unknown> {
  if (file === undefined) return structuredClone(DEFAULT_CONFIG);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  try {
    return Bun.YAML.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid YAML: ${(err as Error).message}`]);
  }
}

/** The second phase: what readConfigInput gave, validated against `context` (ConfigError names each bad path). */
export function checkConfigInput(input: unknown, file: string | undefined, context: ConfigContext = {}): LoadedConfig {
  const config = parseConfig(input, file, context);
  // parseConfig refused anything but an object or nothing at all (an empty file, or only comments).
  return { config, given: new Set(input === null || input === undefined ? [] : Object.keys(input as object)) };
}
