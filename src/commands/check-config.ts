import { ConfigError, type LoadedConfig, loadConfig, readConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { deviceDefinitions } from "../engine/registry.ts";
import type { Output } from "./output.ts";

/** Loads and validates a configuration with the models hearth knows; ConfigError names each bad path. */
export function loadCheckedConfig(file: string | undefined): Promise<Config> {
  return loadConfig(file, { models: [...deviceDefinitions().keys()] });
}

/** loadCheckedConfig, telling also which top-level keys the file gave. */
export function readCheckedConfig(file: string | undefined): Promise<LoadedConfig> {
  return readConfig(file, { models: [...deviceDefinitions().keys()] });
}

/** A summary of a valid configuration, secrets left out; `given` says which top-level keys the file had. */
export function summarize(config: Config, file: string | undefined, given?: ReadonlySet<string>): string {
  const lines = [`${file ?? "embedded defaults"}: valid`, `  node: ${config.node_id}`, `  log level: ${config.log_level}`];
  const broker = config.mqtt.url === undefined ? "embedded broker on 127.0.0.1" : redactUrl(config.mqtt.url);
  lines.push(`  mqtt: ${broker}${config.mqtt.username ? ` as ${config.mqtt.username}` : ""}`);
  // Valid, but what an emptied file or one cut short looks like (a reload of it is refused).
  const none = given !== undefined && !given.has("devices") ? " (the file has no devices key: is it empty or cut short? write devices: [] to mean none)" : "";
  lines.push(`  devices: ${config.devices.length}${none}`);
  for (const d of config.devices) lines.push(`    ${d.id}: ${d.model} on ${d.port}`);
  return `${lines.join("\n")}\n`;
}

/** A URL with any password in it hidden. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@");
}

/** `hearth check-config [file]`: 0 and a summary when valid, 2 and every problem when not. */
export async function checkConfigCommand(file: string | undefined, output: Output): Promise<number> {
  try {
    const { config, given } = await readCheckedConfig(file);
    output.out(summarize(config, file, given));
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    output.err(`${err.file ?? "configuration"}: invalid\n${err.problems.map((p) => `  ${p}\n`).join("")}`);
    return 2;
  }
}
