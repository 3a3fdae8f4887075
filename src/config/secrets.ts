import { readFile } from "node:fs/promises";
import { ConfigError } from "./load.ts";
import type { HttpConfig, MqttConfig } from "./schema.ts";

/** The environment variable that carries the MQTT password (it wins over the file and the YAML). */
export const MQTT_PASSWORD_ENV = "HEARTH_MQTT_PASSWORD";

/** The environment variable that carries the web console's password (it wins over the file). */
export const HTTP_PASSWORD_ENV = "HEARTH_HTTP_PASSWORD";

/**
 * The web console's password when `http.auth` is set: the environment's, else the first line of
 * `http.auth.password_file`. Auth without either, or a file that cannot be read or is empty, is a
 * configuration error naming the path. Undefined without `http.auth` (no sign-in).
 */
export async function httpPassword(http: HttpConfig, env: Record<string, string | undefined> = process.env): Promise<string | undefined> {
  if (http.auth === undefined) return undefined;
  const fromEnv = env[HTTP_PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const file = http.auth.password_file;
  if (file === undefined) throw new ConfigError(undefined, [`http.auth.password_file: required (or the ${HTTP_PASSWORD_ENV} environment variable): auth needs a password`]);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(undefined, [`http.auth.password_file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  const password = text.split(/\r?\n/)[0] ?? "";
  if (password === "") throw new ConfigError(undefined, [`http.auth.password_file: ${file} has an empty first line: the password is that line`]);
  return password;
}

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
