import { ConfigError, type LoadedConfig } from "../config/load.ts";
import { modelFoldersOf } from "../config/model-files.ts";
import { brokerUrlsOf, type Config } from "../config/schema.ts";
import type { ModelCatalogue } from "../engine/catalogue.ts";
import { redactUrl } from "../mqtt/client.ts";
import { originOf } from "./devices.ts";
import type { Output } from "./output.ts";

/** Loads a configuration with its model files (the composition root's loadSetup, src/catalogue.ts); ConfigError lists every problem. */
export type SetupLoader = (file: string | undefined) => Promise<LoadedConfig & { catalogue: ModelCatalogue }>;

/**
 * A summary of a valid configuration, secrets left out; `given` says which top-level keys the file had,
 * `catalogue` the models it was checked against (the user's models are listed with their files).
 */
export function summarize(config: Config, file: string | undefined, given?: ReadonlySet<string>, catalogue?: ModelCatalogue): string {
  const lines = [`${file ?? "embedded defaults"}: valid`, `  node: ${config.node_id}`, `  log level: ${config.log_level}`];
  const urls = brokerUrlsOf(config.mqtt).map(redactUrl);
  const broker = urls.length === 0 ? "embedded broker on 127.0.0.1" : urls.length === 1 ? urls[0] : `${urls.join(", ")} (${urls.length} nodes of one cluster, tried in turn)`;
  lines.push(`  mqtt: ${broker}${config.mqtt.username ? ` as ${config.mqtt.username}` : ""}`);
  const http = config.http;
  lines.push(`  http: ${http === undefined ? "off (no http: section)" : `${http.listen}${http.auth === undefined ? "" : ` with sign-in as ${http.auth.username}`}`}`);
  if (catalogue !== undefined && file !== undefined) lines.push(...modelLines(config, file, catalogue));
  // Valid, but what an emptied file or one cut short looks like (a reload of it is refused).
  const none = given !== undefined && !given.has("devices") ? " (the file has no devices key: is it empty or cut short? write devices: [] to mean none)" : "";
  lines.push(`  devices: ${config.devices.length}${none}`);
  for (const d of config.devices) lines.push(`    ${d.id}: ${d.model} on ${d.port}`);
  return `${lines.join("\n")}\n`;
}

/** The user's models, each with its file, and the folders they were looked for in (so a model not found can be placed). */
function modelLines(config: Config, file: string, catalogue: ModelCatalogue): string[] {
  const folders = modelFoldersOf(config.models, file).map((f) => f.path);
  const where = folders.length === 0 ? "no model folders" : folders.join(", ");
  const users = catalogue.entries().filter((m) => !m.builtIn);
  if (users.length === 0) return [`  user models: none (model files are read from ${where})`];
  return [`  user models: ${users.length} (from ${where})`, ...users.map((m) => `    ${m.definition.model}: ${originOf(m)}`)];
}

/** `hearth check-config [file]`: 0 and a summary when valid, 2 and every problem (of the file and its model files) when not. */
export async function checkConfigCommand(file: string | undefined, load: SetupLoader, output: Output): Promise<number> {
  try {
    const { config, given, catalogue } = await load(file);
    output.out(summarize(config, file, given, catalogue));
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    output.err(`${err.file ?? "configuration"}: invalid\n${err.problems.map((p) => `  ${p}\n`).join("")}`);
    return 2;
  }
}
