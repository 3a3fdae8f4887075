import { readFile } from "node:fs/promises";
import { DEFAULT_CONFIG } from "./defaults.ts";
import { closest, formatIssues } from "./issues.ts";
import { type Config, ConfigSchema } from "./schema.ts";

/** A configuration that cannot be used; `problems` name each bad path (`executor.workers: expected …`). */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "CONFIG_INVALID";
  readonly problems: string[];
  readonly file: string | undefined;

  constructor(file: string | undefined, problems: string[]) {
    super(`${file ?? "configuration"}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join("\n  ")}`}`);
    this.file = file;
    this.problems = problems;
  }
}

/** What validation needs to know beyond the schema. */
export interface ConfigContext {
  /** Device models hearth knows; a device naming another is an error. */
  models?: readonly string[];
}

/** Validates already-parsed YAML; throws ConfigError naming every bad path. */
export function parseConfig(input: unknown, file?: string, context: ConfigContext = {}): Config {
  const result = ConfigSchema.safeParse(input ?? {});
  if (!result.success) throw new ConfigError(file, formatIssues(result.error.issues, { schema: ConfigSchema, input }));
  const problems: string[] = [];
  if (context.models !== undefined) {
    const models = context.models;
    result.data.devices.forEach((device, i) => {
      if (models.includes(device.model)) return;
      const hint = closest(device.model, models);
      problems.push(
        `devices[${i}].model: unknown model ${JSON.stringify(device.model)}${hint ? ` (did you mean "${hint}"?)` : ""}; known models: ${models.join(", ")}`,
      );
    });
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return result.data;
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
