import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { lineModel, writeModel } from "../helpers/model-files.ts";
import { tempDir } from "../helpers/temp.ts";
import { freePort } from "../mqtt/broker.ts";

// Model files as a user meets them: `hearth check-config`, `devices` and `schema --model`, each a process of its own.
const root = join(import.meta.dir, "..", "..");

async function hearth(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const child = Bun.spawn([process.execPath, join(root, "src/cli.ts"), ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, out, err };
}

/** A folder with a hearth.yaml of `devices` (and `extra` before them). */
function configDir(devices: string[], extra = ""): { dir: string; file: string } {
  const dir = tempDir("hearth-model-files-");
  const file = join(dir, "hearth.yaml");
  writeFileSync(file, `${extra}devices:\n${devices.map((d) => `  - ${d}\n`).join("")}`);
  return { dir, file };
}

test("check-config names every mistake of every model file by its file and path, and exits 2", async () => {
  const { dir, file } = configDir(["{ id: a, model: meter-a, port: /dev/ttyUSB0 }", "{ id: b, model: meter-b, port: /dev/ttyUSB1 }", "{ id: c, model: meterr-a, port: /dev/ttyUSB2 }"]);
  const yaml = writeModel(dir, "yaml.yaml", "model: meter-y\nname: [Y\n");
  const field = writeModel(dir, "field.yaml", lineModel("meter-a", { entities: ["- { key: power, kind: sensor, read: p, colour: red }"] }));
  const type = writeModel(dir, "type.yaml", `${lineModel("meter-b")}timeout: soon\n`);
  const entities = writeModel(dir, "entities.yaml", lineModel("meter-c").replace(/entities:\n.*\n/, "entities: []\n"));
  const twice = writeModel(dir, "twice.yaml", lineModel("meter-a"));
  const protocol = writeModel(dir, "protocol.yaml", lineModel("meter-p").replace("protocol: line", "protocol: modbuss"));
  const { code, out, err } = await hearth("check-config", file);
  expect(code).toBe(2);
  expect(out).toBe("");
  const lines = err.trimEnd().split("\n");
  expect(lines[0]).toBe(`${file}: invalid`);
  expect(lines.slice(1).map((l) => l.trim())).toEqual([
    `devices[2].model: unknown model "meterr-a" (did you mean "meter-a"?); known models: ${builtInCatalogue().names().join(", ")}, meter-c, meter-a, meter-p, meter-b`,
    `${entities}: entities: expected array to have >=1 items, got []`,
    `${field}: entities[0].colour: unknown key (known: key, name, icon, entity_category, throttle, main, unit, device_class, state_class, precision, deadband, kind, numeric, min, max, read, write, scale, offset, map, no_value)`,
    `${protocol}: protocol: expected one of line, nmea, modbus, onewire, vedirect, binary, telegram (did you mean "modbus"?), got "modbuss"`,
    `${twice}: model: "meter-a" is already defined by ${field} (one file per model)`,
    `${type}: timeout: expected number, received string, got "soon"`,
    `${yaml}: not valid YAML (near line 2): Unexpected token`,
  ]);
});

test("check-config refuses a models: folder that is not there, at its path in the file", async () => {
  const { dir, file } = configDir(["{ id: a, model: hearth-io, port: sim }"], "models: [mine, ./missing]\n");
  writeModel(dir, "meter.yaml", lineModel("my-meter"), "mine");
  const { code, err } = await hearth("check-config", file);
  expect(code).toBe(2);
  expect(err).toBe(`${file}: invalid\n  models[1]: no folder ${join(dir, "missing")}\n`);
});

test("check-config's summary names the user models it found, each with its file", async () => {
  const { dir, file } = configDir(["{ id: a, model: my-meter, port: /dev/ttyUSB0 }"]);
  const mine = writeModel(dir, "meter.yaml", lineModel("my-meter"));
  const io = writeModel(dir, "io.yaml", lineModel("hearth-io", { name: "My own board" }));
  const { code, out, err } = await hearth("check-config", file);
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toContain(`  user models: 2 (from ${join(dir, "models")})\n    hearth-io: ${io} (replaces the built-in)\n    my-meter: ${mine}\n`);
  expect(out).toContain("    a: my-meter on /dev/ttyUSB0\n");
  const plain = configDir(["{ id: a, model: hearth-io, port: sim }"]);
  expect((await hearth("check-config", plain.file)).out).toContain(`  user models: none (model files are read from ${join(plain.dir, "models")})\n`);
});

test("devices lists the built-in and the user models, each with where it came from", async () => {
  const { dir, file } = configDir(["{ id: a, model: not-there-yet, port: /dev/ttyUSB0 }"]);
  const mine = writeModel(dir, "meter.yaml", lineModel("my-meter"));
  const io = writeModel(dir, "io.yaml", lineModel("hearth-io", { name: "My own board" }));
  // The list helps fix the configuration: a device naming an unknown model does not stop it.
  const { code, out, err } = await hearth("devices", "--config", file);
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toContain(`hearth-io — My own board (hearth tests), protocol line, 115200 baud\n  from: ${io} (replaces the built-in)\n`);
  expect(out).toContain(`my-meter — Test meter (hearth tests), protocol line, 115200 baud\n  from: ${mine}\n`);
  expect(out).toContain("nmea-gps — NMEA 0183 GPS receiver (generic), protocol nmea, 9600 baud\n  from: built-in\n");
  const json = await hearth("devices", "--config", file, "--json");
  const listed = JSON.parse(json.out) as Array<{ model: string; from: string; replaces?: string }>;
  expect(listed.map((m) => [m.model, m.from, m.replaces])).toEqual([
    ["hearth-io", io, "built-in"],
    ...builtInCatalogue()
      .names()
      .filter((n) => n !== "hearth-io")
      .map((n) => [n, "built-in", undefined]),
    ["my-meter", mine, undefined],
  ]);
  // A broken model file is what it cannot list past.
  writeFileSync(mine, "model: [\n");
  const broken = await hearth("devices", "--config", file);
  expect(broken.code).toBe(2);
  expect(broken.err).toContain(`${mine}: not valid YAML`);
});

test("schema --model prints a JSON Schema that takes every built-in device.yaml and refuses a wrong one", async () => {
  const { code, out } = await hearth("schema", "--model");
  expect(code).toBe(0);
  const schema = JSON.parse(out) as Record<string, unknown>;
  expect(schema.$schema).toContain("json-schema.org");
  expect(schema.title).toBe("hearth model file");
  // zod's reader of JSON Schema stands in for the editor's: it checks a document as the schema says, not as hearth does.
  const checker = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  for (const model of builtInCatalogue().names()) {
    const document = Bun.YAML.parse(readFileSync(join(root, "devices", model, "device.yaml"), "utf8"));
    expect({ model, ...checker.safeParse(document) }).toMatchObject({ model, success: true });
  }
  const wrong = Bun.YAML.parse(lineModel("my-meter", { entities: ["- { key: power, kind: sensor, read: p, colour: red }"] }));
  expect(checker.safeParse(wrong).success).toBe(false);
  expect(checker.safeParse({ ...(Bun.YAML.parse(lineModel("my-meter")) as object), protocol: "lin" }).success).toBe(false);
  expect(checker.safeParse(Bun.YAML.parse(lineModel("my-meter"))).success).toBe(true);
});

test("health reads only the broker and topics of the configuration: a broken model file does not make it call the configuration invalid", async () => {
  const port = await freePort(); // nothing listens there: no hearth is running
  const { dir, file } = configDir(["{ id: a, model: my-meter, port: /dev/ttyUSB0 }"], `mqtt: { url: "mqtt://127.0.0.1:${port}" }\n`);
  writeModel(dir, "meter.yaml", "model: my-meter\nname: [\n");
  expect((await hearth("check-config", file)).code).toBe(2);
  const { code, err } = await hearth("health", "--config", file);
  expect(err).not.toContain("invalid");
  expect(code).toBe(3);
});
