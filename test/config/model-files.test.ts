import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { builtInCatalogue, loadSetup } from "../../src/catalogue.ts";
import { ConfigError } from "../../src/config/load.ts";
import { modelFoldersOf, readModelFile, readModelFolders } from "../../src/config/model-files.ts";
import { lineModel, writeModel } from "../helpers/model-files.ts";
import { tempDir } from "../helpers/temp.ts";

const ROOT = join(import.meta.dir, "..", "..");

/** The ConfigError a promise rejects with. */
async function refusal(promise: Promise<unknown>): Promise<ConfigError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
  return err;
}

test("a model file is read and checked as a built-in definition is, defaults filled in", async () => {
  const dir = tempDir("hearth-models-");
  const file = writeModel(dir, "meter.yaml", lineModel("my-meter"));
  const model = await readModelFile(file);
  expect(model.source).toBe(file);
  expect(model.definition).toMatchObject({ model: "my-meter", protocol: "line", poll_interval: 30, serial: { baud: 115200, parity: "none" }, line: { delimiter: "\n" } });
  expect(model.capture).toBeUndefined();
});

test("every built-in device.yaml is a valid model file", async () => {
  for (const model of builtInCatalogue().names()) {
    const read = await readModelFile(join(ROOT, "devices", model, "device.yaml"));
    expect(read.definition).toEqual(builtInCatalogue().definition(model)!);
  }
});

test("a bad model file is refused with every problem, each at its path in the file", async () => {
  const dir = tempDir("hearth-models-");
  const entities = ["- { key: power, kind: sensor, read: p, unti: W }", "- { key: on, kind: switch, read: r, write: 5 }"];
  const text = `${lineModel("my-meter", { entities }).replace("serial: { baud: 115200 }", "serial: { baud: fast }")}poll_interval: often\n`;
  const file = writeModel(dir, "meter.yaml", text);
  const err = await refusal(readModelFile(file));
  expect(err.file).toBe(file);
  expect(err.problems).toContain('serial.baud: expected one of 1200…921600, got "fast"');
  expect(err.problems).toContain('entities[0].unti: unknown key (did you mean "unit"?)');
  expect(err.problems.find((p) => p.startsWith("entities[1].write:"))).toContain("got 5");
  expect(err.problems.find((p) => p.startsWith("poll_interval:"))).toContain('got "often"');
  expect(err.problems).toHaveLength(4);
  expect(err.message).toStartWith(`${file}: \n  `);
});

test("a model file of an unknown protocol, without entities, empty, or not YAML, says so", async () => {
  const dir = tempDir("hearth-models-");
  const cases: Array<[string, string, string]> = [
    ["protocol.yaml", lineModel("a").replace("protocol: line", "protocol: lin"), 'protocol: expected one of line, nmea, modbus, onewire, vedirect, binary, telegram (did you mean "line"?), got "lin"'],
    ["entities.yaml", lineModel("b", { entities: [] }).replace("entities:\n", "entities: []\n"), "entities: expected array to have >=1 items, got []"],
    ["empty.yaml", "# nothing yet\n", "the file is empty: expected a model definition (`hearth schema --model` prints its schema)"],
    ["yaml.yaml", "model: c\nname: C\nentities:\n  - key: a\n    kind: sensor\n   read: x\n", "not valid YAML (near line 6): Unexpected token"],
    ["tabs.yaml", "model: d\n\tname: D\n", "not valid YAML (near line 2): Tab characters cannot be used as indentation"],
  ];
  for (const [name, text, problem] of cases) {
    const err = await refusal(readModelFile(writeModel(dir, name, text)));
    expect(err.problems).toEqual([problem]);
  }
});

test("the folders' files are all read, every problem named by its file, and a model defined twice names both files", async () => {
  const dir = tempDir("hearth-models-");
  const a = writeModel(dir, "a.yaml", lineModel("meter-a"));
  const b = writeModel(dir, "b.yml", lineModel("meter-b").replace("manufacturer: hearth tests\n", ""));
  const c = writeModel(dir, "c.yaml", lineModel("meter-a", { name: "Another" }));
  writeModel(dir, ".#a.yaml", "an editor's lock: not a model"); // dot files are left out
  writeModel(dir, "notes.txt", "not a model either");
  mkdirSync(join(dir, "models", "old.yaml")); // a folder, not a file
  const found = await readModelFolders([{ path: join(dir, "models"), at: "models[0]" }]);
  expect(found.models.map((m) => [m.definition.model, m.source])).toEqual([["meter-a", a]]);
  expect(found.problems).toEqual([`${b}: manufacturer: expected string, received undefined, got nothing`, `${c}: model: "meter-a" is already defined by ${a} (one file per model)`]);
  expect(found.declared).toEqual(["meter-a", "meter-b"]);
});

test("the folders are the config's models: list, relative to its file; by default models/ beside it; none without a file", () => {
  expect(modelFoldersOf(undefined, "/etc/hearth/hearth.yaml")).toEqual([{ path: "/etc/hearth/models" }]);
  expect(modelFoldersOf(["mine", "/opt/shared-models"], "/etc/hearth/hearth.yaml")).toEqual([
    { path: "/etc/hearth/mine", at: "models[0]" },
    { path: "/opt/shared-models", at: "models[1]" },
  ]);
  expect(modelFoldersOf([], "/etc/hearth/hearth.yaml")).toEqual([]);
  expect(modelFoldersOf(undefined, undefined)).toEqual([]);
});

test("a folder the config names must be there; the default folder need not", async () => {
  const dir = tempDir("hearth-models-");
  expect(await readModelFolders([{ path: join(dir, "models") }])).toEqual({ models: [], problems: [], declared: [] });
  writeFileSync(join(dir, "plain"), "");
  const found = await readModelFolders([
    { path: join(dir, "missing"), at: "models[0]" },
    { path: join(dir, "plain"), at: "models[1]" },
  ]);
  expect(found.problems).toEqual([`models[0]: no folder ${join(dir, "missing")}`, `models[1]: ${join(dir, "plain")} is not a folder`]);
});

test("a capture a model file names is found beside the file, and must be there", async () => {
  const dir = tempDir("hearth-models-");
  writeModel(dir, "boot.log", "R p=1\n", "models/captures");
  const file = writeModel(dir, "meter.yaml", lineModel("my-meter", { extra: "simulator: { replay: captures/boot.log }" }));
  expect((await readModelFile(file)).capture).toBe(join(dir, "models", "captures", "boot.log"));
  const missing = writeModel(dir, "other.yaml", lineModel("other", { extra: "simulator: { replay: captures/none.log }" }));
  expect((await refusal(readModelFile(missing))).problems).toEqual([`simulator.replay: no such file ${join(dir, "models", "captures", "none.log")}, got "captures/none.log"`]);
});

test("loading a configuration reads its model folders first, then checks its devices against them", async () => {
  const dir = tempDir("hearth-models-");
  writeModel(dir, "meter.yaml", lineModel("my-meter"));
  const file = join(dir, "hearth.yaml");
  writeFileSync(file, "devices:\n  - { id: m, model: my-meter, port: /dev/ttyUSB0 }\n");
  const setup = await loadSetup(file);
  expect(setup.config.devices[0]?.model).toBe("my-meter");
  expect(setup.catalogue.get("my-meter")?.source).toBe(join(dir, "models", "meter.yaml"));
  expect(setup.catalogue.names()).toEqual([...builtInCatalogue().names(), "my-meter"]);
  // Named folders take the place of the default one.
  writeModel(dir, "other.yaml", lineModel("other-meter"), "mine");
  writeFileSync(file, "models: [mine]\ndevices:\n  - { id: m, model: my-meter, port: /dev/ttyUSB0 }\n");
  const err = await refusal(loadSetup(file));
  expect(err.file).toBe(file);
  expect(err.problems).toHaveLength(1);
  expect(err.problems[0]).toStartWith('devices[0].model: unknown model "my-meter"');
  expect(err.problems[0]).toContain("other-meter");
});

test("a device naming a model whose file is broken gets the file's problems, not an unknown model too", async () => {
  const dir = tempDir("hearth-models-");
  const model = writeModel(dir, "meter.yaml", lineModel("my-meter").replace("protocol: line", "protocol: 7"));
  const file = join(dir, "hearth.yaml");
  writeFileSync(file, "log_level: loud\ndevices:\n  - { id: m, model: my-meter, port: sim }\n");
  const err = await refusal(loadSetup(file));
  expect(err.problems).toHaveLength(2);
  expect(err.problems[0]).toStartWith("log_level: ");
  expect(err.problems[1]).toStartWith(`${model}: protocol: expected one of line, nmea, modbus, onewire, vedirect, binary, telegram, got 7`);
});

test("port sim on a user model without a simulator is refused, naming the model", async () => {
  const dir = tempDir("hearth-models-");
  writeModel(dir, "meter.yaml", lineModel("my-meter"));
  const file = join(dir, "hearth.yaml");
  writeFileSync(file, "devices:\n  - { id: board, model: hearth-io, port: sim }\n  - { id: m, model: my-meter, port: sim }\n");
  const err = await refusal(loadSetup(file));
  expect(err.problems).toEqual([
    'devices[1].port: model "my-meter" has no simulator for port sim (a model file gets one by naming a capture to replay, simulator.replay); give the device\'s serial port',
  ]);
});

test("without a configuration file there are no model files: the built-in models only", async () => {
  const setup = await loadSetup(undefined);
  expect(setup.catalogue).toBe(builtInCatalogue());
  expect(setup.config.devices.length).toBeGreaterThan(0);
});
