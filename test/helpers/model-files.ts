/**
 * Model files for tests: a small line-protocol model of `key=value` reports, as a user would write one
 * for firmware of their own, and a folder beside a hearth.yaml to put it in.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The text of a model file: reports `R key=value …`, replies `OK <id> key=value …` and `ERR <id> <code>`. */
export function lineModel(model: string, options: { name?: string; entities?: string[]; extra?: string } = {}): string {
  const entities = options.entities ?? ["- { key: power, kind: sensor, unit: W, device_class: power, state_class: measurement, read: p }"];
  return [
    `model: ${model}`,
    `name: ${options.name ?? "Test meter"}`,
    "manufacturer: hearth tests",
    "protocol: line",
    "serial: { baud: 115200 }",
    "line:",
    "  report: '^R (?<fields>.*)$'",
    '  command: "{id} {body}"',
    "  ok: '^OK (?<id>\\d+)(?: (?<fields>.*))?$'",
    "  error: '^ERR (?<id>\\d+) (?<code>\\S+)$'",
    ...(options.extra === undefined ? [] : [options.extra]),
    "entities:",
    ...entities.map((e) => `  ${e}`),
    "",
  ].join("\n");
}

/** Writes `text` as `name` in `dir`/`folder` (made if missing); returns the file's path. */
export function writeModel(dir: string, name: string, text: string, folder = "models"): string {
  mkdirSync(join(dir, folder), { recursive: true });
  const path = join(dir, folder, name);
  writeFileSync(path, text);
  return path;
}

/** A soil probe's model: `$SOIL,<moisture>*hh` sentences, checksummed as NMEA's, the moisture 0–100 %. */
export const SOIL_MODEL = `model: soil
name: Soil probe
manufacturer: tests
protocol: line
line:
  format: regex
  checksum: nmea
  report: '^\\$SOIL,(?<moisture>[\\d.]+)$'
entities:
  - { key: moisture, kind: sensor, unit: "%", min: 0, max: 100, read: moisture }
`;

/** `$<body>*hh` with its NMEA checksum (XOR of the characters between $ and *), as the soil probe sends it. */
export function soilSentence(body: string): string {
  let sum = 0;
  for (const c of body) sum ^= c.charCodeAt(0);
  return `$${body}*${sum.toString(16).toUpperCase().padStart(2, "0")}\n`;
}
