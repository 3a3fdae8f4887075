import { ConfigError, readCheckedConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { Output } from "./output.ts";

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

/** `hearth check-config [file]`: 0 and a summary when valid, 2 and every problem when not; `models`: the models hearth runs. */
export async function checkConfigCommand(file: string | undefined, models: readonly string[], output: Output): Promise<number> {
  try {
    const { config, given } = await readCheckedConfig(file, models);
    output.out(summarize(config, file, given));
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    output.err(`${err.file ?? "configuration"}: invalid\n${err.problems.map((p) => `  ${p}\n`).join("")}`);
    return 2;
  }
}
