import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadCheckedConfig, loadConfig, parseConfig, readCheckedConfig, readConfig } from "../../src/config/load.ts";
import { sanitizeHostname } from "../../src/config/schema.ts";
import { isHearthError } from "../../src/core/errors.ts";

const models = ["hearth-io"];

function problemsOf(input: unknown): string[] {
  try {
    parseConfig(input, "hearth.yaml", { models });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected the configuration to be refused");
}

test("an empty configuration gets every default", () => {
  const config = parseConfig({}, undefined, { models });
  expect(config.log_level).toBe("info");
  expect(config.node_id).toMatch(/^[A-Za-z0-9_-]+$/);
  expect(config.devices).toEqual([]);
  expect(config.mqtt.url).toBeUndefined();
  expect(config.shutdown.cancel).toBe(10);
  expect(config.loop_monitor.slow_threshold_ms).toBe(100);
});

test("a bad baud rate is named by its path with what was expected", () => {
  const problems = problemsOf({
    devices: [
      { id: "a", model: "hearth-io", port: "sim" },
      { id: "b", model: "hearth-io", port: "/dev/ttyUSB0", baud: "fast" },
    ],
  });
  expect(problems).toEqual(['devices[1].baud: expected one of 1200…921600, got "fast"']);
});

test("a baud rate given as text is accepted when it is a standard rate", () => {
  const config = parseConfig({ devices: [{ id: "a", model: "hearth-io", port: "sim", baud: "9600" }] }, undefined, { models });
  expect(config.devices[0]?.baud).toBe(9600);
});

test("an unknown key is an error with a did-you-mean when one is close", () => {
  expect(problemsOf({ exector: { workers: 2 } })).toEqual(['exector: unknown key (did you mean "executor"?)']);
  expect(problemsOf({ devices: [{ id: "a", model: "hearth-io", port: "sim", pol_interval: 5 }] })).toEqual(['devices[0].pol_interval: unknown key (did you mean "poll_interval"?)']);
});

test("an unknown key far from any known one lists the known keys", () => {
  const [problem] = problemsOf({ shutdown: { zzzzzzzz: 1 } });
  expect(problem).toStartWith("shutdown.zzzzzzzz: unknown key (known: shutdown_jobs, cancel, tracked, final_write, close)");
});

test("device ids must be safe in MQTT topics", () => {
  const problems = problemsOf({
    devices: [
      { id: "kitchen/relay", model: "hearth-io", port: "sim" },
      { id: "all+", model: "hearth-io", port: "sim" },
      { id: "#", model: "hearth-io", port: "sim" },
      { id: "$SYS", model: "hearth-io", port: "sim" },
    ],
  });
  expect(problems).toHaveLength(4);
  expect(problems[0]).toStartWith("devices[0].id: must not contain +, # or /");
  expect(problems[1]).toStartWith("devices[1].id: must not contain +, # or /");
  expect(problems[2]).toStartWith("devices[2].id: must not contain +, # or /");
  expect(problems[3]).toStartWith("devices[3].id: must not start with $");
});

test("a device id or node_id with characters Home Assistant's discovery ignores (a dot, a non-ASCII letter) is refused, naming where", () => {
  const problems = problemsOf({
    node_id: "pi.local",
    devices: [
      { id: "board", model: "hearth-io", port: "sim" },
      { id: "tank_1", model: "hearth-io", port: "sim" },
      { id: "tank.1", model: "hearth-io", port: "sim" },
      { id: "küche", model: "hearth-io", port: "sim" },
    ],
  });
  expect(problems).toHaveLength(3);
  expect(problems[0]).toStartWith("node_id: expected letters, digits, - or _ only");
  expect(problems[1]).toStartWith("devices[2].id: expected letters A-Z a-z, digits, - or _ only (Home Assistant's discovery ignores a device whose id has a dot or a letter such as ä)");
  expect(problems[1]).toContain('"tank.1"');
  expect(problems[2]).toStartWith("devices[3].id: expected letters A-Z a-z, digits, - or _ only");
});

test("a hostname is made a safe node_id: pi.local becomes pi-local, a name of other letters becomes hearth", () => {
  expect(sanitizeHostname("pi.local")).toBe("pi-local");
  expect(sanitizeHostname("küche-pi")).toBe("k-che-pi");
  expect(sanitizeHostname("пи")).toBe("hearth");
});

test("a device's area is kept for Home Assistant", () => {
  const config = parseConfig({ devices: [{ id: "probe", model: "hearth-io", port: "sim", area: "Greenhouse" }] }, "hearth.yaml", { models });
  expect(config.devices[0]?.area).toBe("Greenhouse");
});

test("device ids must be unique", () => {
  const problems = problemsOf({
    devices: [
      { id: "meter", model: "hearth-io", port: "sim" },
      { id: "meter", model: "hearth-io", port: "sim" },
    ],
  });
  expect(problems).toEqual(['devices[1].id: duplicate id (devices[0] has it too), got "meter"']);
});

test("an unknown model is named with the closest known one", () => {
  expect(problemsOf({ devices: [{ id: "a", model: "hearth-i0", port: "sim" }] })).toEqual(['devices[0].model: unknown model "hearth-i0" (did you mean "hearth-io"?); known models: hearth-io']);
});

test("every problem in a file is reported at once", () => {
  const problems = problemsOf({ log_level: "loud", executor: { workers: 0 }, mqtt: { url: "http://broker" } });
  expect(problems).toHaveLength(3);
  expect(problems.some((p) => p.startsWith("log_level:") && p.includes('got "loud"'))).toBe(true);
  expect(problems.some((p) => p.startsWith("executor.workers: expected at least 1 Worker"))).toBe(true);
  expect(problems.some((p) => p.startsWith("mqtt.url: expected a broker URL"))).toBe(true);
});

test("a duplicate id and an unknown model are named beside the problems of the entries' shapes, not after them", () => {
  const problems = problemsOf({
    devices: [
      { id: "meter", model: "hearth-io", port: "/dev/ttyUSB0", baud: "fast" },
      { id: "meter", model: "hearth-io", port: "sim" },
      { id: "board", model: "hearth-i0", port: "sim" },
      { id: 7, model: 8, port: "sim" }, // not text: the schema says so, and no cross-entry check trips on it
    ],
  });
  expect(problems).toEqual([
    'devices[0].baud: expected one of 1200…921600, got "fast"',
    "devices[3].id: expected a text id, got 7",
    "devices[3].model: expected a model name (see `hearth devices`), got 8",
    'devices[1].id: duplicate id (devices[0] has it too), got "meter"',
    'devices[2].model: unknown model "hearth-i0" (did you mean "hearth-io"?); known models: hearth-io',
  ]);
});

test("a configuration error is a HearthError coded CONFIG_INVALID, with its problems and its file", () => {
  let caught: unknown;
  try {
    parseConfig({ log_level: "loud" }, "hearth.yaml", { models });
  } catch (err) {
    caught = err;
  }
  expect(isHearthError(caught, "CONFIG_INVALID")).toBe(true);
  expect(caught).toBeInstanceOf(ConfigError);
  expect((caught as ConfigError).name).toBe("ConfigError");
  expect((caught as ConfigError).file).toBe("hearth.yaml");
  expect((caught as ConfigError).problems).toHaveLength(1);
  expect((caught as ConfigError).message).toStartWith("hearth.yaml: log_level:");
});

test("a file that is not YAML is refused with the parser's reason", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-config-"));
  const file = join(dir, "hearth.yaml");
  writeFileSync(file, "devices: [\n  - id: a\n");
  const err = await loadConfig(file).catch((e: unknown) => e);
  rmSync(dir, { recursive: true, force: true });
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).problems[0]).toStartWith("not valid YAML");
});

test("a missing file is refused naming the file", async () => {
  const err = await loadConfig("/nonexistent/hearth.yaml").catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).message).toStartWith("/nonexistent/hearth.yaml: cannot read the file");
});

test("a bad value is quoted clipped in the problem, however long it is", () => {
  const [problem] = problemsOf({ log_level: "x".repeat(20_000) });
  expect(problem).toStartWith("log_level: expected one of");
  expect(problem).toContain("more characters");
  expect(problem!.length).toBeLessThan(400);
});

test("readConfig tells the keys the file gave from the defaults, and an empty file gave none", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-config-"));
  try {
    const file = join(dir, "hearth.yaml");
    writeFileSync(file, "# only a comment\n");
    expect([...(await readConfig(file)).given]).toEqual([]);
    writeFileSync(file, "node_id: a\ndevices: []\n");
    const { config, given } = await readConfig(file);
    expect([...given]).toEqual(["node_id", "devices"]);
    expect(config.mqtt.max_payload).toBe(65536); // a missing section gets its schema's own defaults
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("loadCheckedConfig and readCheckedConfig check each device's model against the names they are given", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-config-"));
  try {
    const file = join(dir, "hearth.yaml");
    writeFileSync(file, "devices:\n  - { id: board, model: hearth-io, port: sim }\n");
    expect((await loadCheckedConfig(file, ["hearth-io"])).devices[0]?.model).toBe("hearth-io");
    expect([...(await readCheckedConfig(file, ["hearth-io"])).given]).toEqual(["devices"]);
    const err = await loadCheckedConfig(file, ["nmea-gps", "ds18b20"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual(['devices[0].model: unknown model "hearth-io"; known models: nmea-gps, ds18b20']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
