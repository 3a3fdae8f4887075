import { readFile } from "node:fs/promises";
import { ConfigError } from "./load.ts";
import type { MqttConfig } from "./schema.ts";

/** The environment variable that carries the MQTT password (it wins over the file and the YAML). */
export const MQTT_PASSWORD_ENV = "HEARTH_MQTT_PASSWORD";

/**
 * The MQTT password, from the environment, then `mqtt.password_file` (its first line), then
 * `mqtt.password`. Secrets are read here and passed on, never logged; a file that cannot be read is
 * a configuration error naming `mqtt.password_file`.
 */
export async function mqttPassword(mqtt: MqttConfig, env: Record<string, string | undefined> = process.env): Promise<string | undefined> {
  const fromEnv = env[MQTT_PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (mqtt.password_file !== undefined) {
    try {
      return (await readFile(mqtt.password_file, "utf8")).split(/\r?\n/)[0];
    } catch (err) {
      throw new ConfigError(undefined, [`mqtt.password_file: cannot read ${mqtt.password_file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
  }
  return mqtt.password;
}
