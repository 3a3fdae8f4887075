/** A line model's mistakes, each refused with the file and the path in it, as `check-config` shows them. */
import { expect, test } from "bun:test";
import { DeviceDefinitionSchema } from "../../src/config/device-definition.ts";
import { jsonPath, namedGroups } from "../../src/config/line-definition.ts";
import { checksumOf } from "../../src/engine/line/checksum.ts";
import { modelOf } from "../engine/line-peer.ts";

/** A line model's YAML: its `line:` block and entities as given, the head filled in. */
function yaml(line: string, entities: string): string {
  return `
model: test-line
name: Test line
manufacturer: example
protocol: line
line:
${line.replace(/^/gm, "  ")}
entities:
${entities.replace(/^/gm, "  ")}
`;
}

/** The message refusing a model, or "" when it is accepted. */
function refusal(text: string): string {
  try {
    modelOf(text, "/etc/hearth/models/test.yaml");
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

test("a read naming a field the model does not have is refused with a did-you-mean, in every format that names its fields", () => {
  const sensors = (read: string) => `- { key: pm, kind: sensor, read: ${read} }\n- { key: other, kind: sensor, read: pm10 }\n- { key: third, kind: sensor, read: pm25 }`;
  expect(refusal(yaml("format: kv\nfields: [pm1_0, pm2_5, pm10]", sensors("pm1_0")))).toBe(
    '/etc/hearth/models/test.yaml: entities[2].read: unknown field "pm25" in this model\'s fields; did you mean "pm2_5"?',
  );
  expect(refusal(yaml("format: json\nfields: [pm1_0, pm2_5, pm10]", sensors("pm1_0")))).toContain('entities[2].read: unknown field "pm25" in this model\'s fields; did you mean "pm2_5"?');
  expect(refusal(yaml("format: csv\ncsv: { columns: [time, pm1_0, pm2_5, pm10] }", sensors("pm1_0")))).toContain(
    'entities[2].read: unknown field "pm25" in this model\'s fields; did you mean "pm2_5"?',
  );
  expect(refusal(yaml("format: regex\nreport: '^PM (?<pm1_0>\\d+) (?<pm2_5>\\d+) (?<pm10>\\d+)$'", sensors("pm1_0")))).toContain(
    'entities[2].read: unknown field "pm25" in this model\'s fields; did you mean "pm2_5"?',
  );
  // Nothing close: the fields are listed.
  expect(refusal(yaml("fields: [temp, hum]", "- { key: t, kind: sensor, read: pressure }"))).toBe(
    '/etc/hearth/models/test.yaml: entities[0].read: unknown field "pressure" in this model\'s fields: temp, hum',
  );
  // A model that does not list its fields (kv, json) reads any.
  expect(refusal(yaml("format: json", "- { key: t, kind: sensor, read: a.b.c }"))).toBe("");
});

test("csv columns: counted from 1, within the model's columns, by name only when the model or a header names them", () => {
  const columns = "format: csv\ncsv: { columns: [time, temp, hum] }";
  expect(refusal(yaml(columns, "- { key: t, kind: sensor, read: 4 }"))).toContain("entities[0].read: column 4 is beyond the model's 3 columns (line.csv.columns)");
  expect(refusal(yaml(columns, "- { key: t, kind: sensor, read: 0 }"))).toContain("entities[0].read: columns count from 1, got 0");
  expect(refusal(yaml(columns, "- { key: t, kind: sensor, read: 3 }"))).toBe("");
  expect(refusal(yaml("format: csv", "- { key: t, kind: sensor, read: temp }"))).toContain(
    'entities[0].read: reads the column "temp" by name, but the model names no columns: add line.csv.columns (or line.csv.header), or read by number',
  );
  expect(refusal(yaml("format: csv\ncsv: { header: '^time,' }", "- { key: t, kind: sensor, read: temp }"))).toBe("");
  expect(refusal(yaml("format: json", "- { key: t, kind: sensor, read: 2 }"))).toContain("entities[0].read: a column number reads a csv row; this model's format is json: name a field");
});

test("sending: a write, a poll or a reply pattern on a model that sends nothing is refused, and so are ids without a way to match them", () => {
  const relay = '- { key: r, kind: switch, read: r, write: { on: "R1", off: "R0" } }';
  expect(refusal(yaml("format: kv", relay))).toBe('/etc/hearth/models/test.yaml: entities[0].write: the model sends nothing (it has no line.command); add one, such as command: "{body}"');
  expect(refusal(yaml("poll: GET\nok: '^OK'", "- { key: t, kind: sensor, read: t }"))).toBe(
    '/etc/hearth/models/test.yaml: line.poll: the model sends nothing (it has no line.command); add one, such as command: "{body}"; line.ok: a reply to nothing: the model sends nothing (it has no line.command); add one, such as command: "{body}"',
  );
  expect(refusal(yaml('command: "{id} {body}"', relay))).toContain("line.command: sends {id}, but the model has no line.ok to match replies by it");
  expect(refusal(yaml("command: \"{id} {body}\"\nok: '^OK$'", relay))).toContain("line.ok: expected a named group (?<id>…): line.command sends {id}, and replies are matched by it");
  expect(refusal(yaml("command: \"{body}\"\nerror: '^ERR (?<code>.*)'", relay))).toContain("line.error: needs line.ok as well");
  expect(refusal(yaml('command: "{body}"\nid_range: [1, 99]', relay))).toContain("line.id_range: only with {id} in line.command");
  expect(refusal(yaml('command: "{body}"', relay))).toBe("");
});

test("templates may use only the placeholders their command fills, with a did-you-mean", () => {
  const line = 'command: "{body}"';
  expect(refusal(yaml(line, '- { key: n, kind: number, write: "SET {valu}" }'))).toBe(
    "/etc/hearth/models/test.yaml: entities[0].write: unknown placeholder {valu} (this template may use {value}; did you mean {value}?)",
  );
  expect(refusal(yaml(line, '- { key: l, kind: light, write: { on: "L {brightnes}", off: "L 0" } }'))).toContain("entities[0].write.on: unknown placeholder {brightnes}");
  expect(refusal(yaml(line, '- { key: b, kind: button, write: "RESET {value}" }'))).toContain("entities[0].write: unknown placeholder {value} (this template takes no placeholder)");
  expect(refusal(yaml("command: \"{id}:{bdy}\"\nok: '^OK (?<id>\\d+)'", '- { key: b, kind: button, write: "RESET" }'))).toContain(
    "line.command: unknown placeholder {bdy} (this template may use {id}, {body}; did you mean {body}?)",
  );
  expect(refusal(yaml(line, '- { key: t, kind: sensor, read: t, write: "X" }'))).toContain("entities[0].write: a sensor takes no commands");
  expect(refusal(yaml(line, '- { key: n, kind: number, write: { on: "A", off: "B" } }'))).toContain("entities[0].write: a number takes one template with {value}, not one per action");
});

test("value mapping: a scale of 0, scale on an on/off entity, a table that maps to no on/off word are refused at their path", () => {
  expect(refusal(yaml("format: kv", "- { key: t, kind: sensor, read: t, scale: 0 }"))).toBe("/etc/hearth/models/test.yaml: entities[0].scale: expected a non-zero scale, got 0");
  expect(refusal(yaml("format: kv", "- { key: d, kind: binary_sensor, read: d, scale: 2 }"))).toContain("entities[0].scale: only for numeric sensors and numbers, not a binary_sensor");
  expect(refusal(yaml("format: kv", "- { key: d, kind: binary_sensor, read: d, map: { open: ON, closed: shut } }"))).toBe(
    '/etc/hearth/models/test.yaml: entities[0].map.closed: expected ON or OFF (or true/false, 1/0), got "shut"',
  );
  expect(refusal(yaml("format: kv", "- { key: n, kind: sensor, read: n, map: { LOW: low } }"))).toContain('entities[0].map.LOW: expected a number (this sensor is numeric), got "low"');
  expect(refusal(yaml("format: kv", "- { key: n, kind: sensor, numeric: false, read: n, map: { LOW: low } }"))).toBe("");
});

test("format options belong to their format, and a regex model needs named groups", () => {
  expect(refusal(yaml("format: json\ncsv: { separator: ';' }", "- { key: t, kind: sensor, read: t }"))).toContain("line.csv: only with format: csv (this model's format is json)");
  expect(refusal(yaml("format: csv\nfields: [a]", "- { key: t, kind: sensor, read: 1 }"))).toContain("line.fields: a csv model names its columns in line.csv.columns");
  expect(refusal(yaml("format: regex", "- { key: t, kind: sensor, read: t }"))).toContain("line.report: a regex model needs a report pattern");
  expect(refusal(yaml("format: regex\nreport: ['^T (?<t>\\S+)$', '^H (\\S+)$']", "- { key: t, kind: sensor, read: t }"))).toContain('line.report[1]: no named group (?<name>…) in "^H (\\\\S+)$"');
  expect(refusal(yaml("format: json", "- { key: t, kind: sensor, read: 'a..b' }"))).toContain('entities[0].read: "a..b" is not a path such as sensors.bme280.temp or values[0]');
  expect(refusal(yaml("checksum: crc32", "- { key: t, kind: sensor, read: t }"))).toContain("line.checksum");
});

test("the schema's helpers: named groups (not lookbehinds), json paths with indexes", () => {
  expect(namedGroups("^(?<a>\\d+)(?<=x)(?<!y)(?<b_2>.)\\(?<c>")).toEqual(["a", "b_2"]);
  expect(jsonPath("sensors.bme280.temp")).toEqual(["sensors", "bme280", "temp"]);
  expect(jsonPath("values[0][2].x")).toEqual(["values", 0, 2, "x"]);
  expect(jsonPath("values.1")).toEqual(["values", 1]);
  expect(jsonPath("a..b")).toBeUndefined();
  expect(jsonPath("a[x]")).toBeUndefined();
});

test("a line model's defaults: kv, lines ending in a newline, nan and - as no value; a checksum named alone gets the * separator", () => {
  const parsed = DeviceDefinitionSchema.parse({
    model: "m",
    name: "M",
    manufacturer: "x",
    protocol: "line",
    line: { checksum: "nmea" },
    entities: [{ key: "t", kind: "sensor", read: "t" }],
  });
  expect(parsed.protocol === "line" && parsed.line).toMatchObject({ format: "kv", delimiter: "\n", no_value: ["nan", "-"], checksum: { algorithm: "nmea", separator: "*", commands: false } });
});

test("every example model in devices/README.md is accepted, and each of its line checksums is right", async () => {
  const text = await Bun.file(new URL("../../devices/README.md", import.meta.url)).text();
  const models = [...text.matchAll(/```yaml\n(model: [\s\S]*?)```/g)].map((m) => m[1]!);
  expect(models.length).toBe(5); // four line models and the binary family's sds011
  for (const model of models) expect(refusal(model)).toBe("");
  expect(text).toContain(`$SOIL,41.5,61.2,wet*${checksumOf("nmea", "SOIL,41.5,61.2,wet").toString(16).toUpperCase()}`);
  expect(text).toContain(`STATE relay:on, fan:80, door:open*${checksumOf("crc16-modbus", "STATE relay:on, fan:80, door:open").toString(16).toUpperCase()}`);
});
