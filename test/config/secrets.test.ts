import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseConfig } from "../../src/config/load.ts";
import { mqttPassword } from "../../src/config/secrets.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { tempDir } from "../helpers/temp.ts";

const mqtt = (m: Record<string, unknown>) => parseConfig({ mqtt: m }).mqtt;

test("the MQTT password comes from the environment first, then the file, then the YAML", async () => {
  const dir = tempDir("hearth-secret-");
  const file = join(dir, "mqtt-password");
  writeFileSync(file, "from-file\n", { mode: 0o600 });
  expect(await mqttPassword(mqtt({ password: "from-yaml", password_file: file }), { HEARTH_MQTT_PASSWORD: "from-env" })).toBe("from-env");
  expect(await mqttPassword(mqtt({ password: "from-yaml", password_file: file }), {})).toBe("from-file");
  expect(await mqttPassword(mqtt({ password: "from-yaml" }), {})).toBe("from-yaml");
  expect(await mqttPassword(mqtt({}), {})).toBeUndefined();
});

test("an unreadable password file is a configuration error naming its key", async () => {
  const err = await mqttPassword(mqtt({ password_file: "/nonexistent/secret" }), {}).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).problems[0]).toBe("mqtt.password_file: cannot read /nonexistent/secret: ENOENT");
});

test("a password never appears in a log line", () => {
  const logs = new MemoryLogDestination();
  const log = createLogger({ destination: logs });
  log.info({ password: "hunter2", mqtt: { password: "s3cret", url: "mqtt://b" } }, "connecting");
  const line = JSON.stringify(logs.lines[0]);
  expect(line).not.toContain("hunter2");
  expect(line).not.toContain("s3cret");
  expect(line).toContain("mqtt://b");
});
