/**
 * The line protocol's part of a model definition: how text lines are cut into fields (kv, json, csv,
 * regex), which lines are reports, replies and boots, the checksum a firmware adds, and per entity
 * where its reading is and how its values map. The checks that need the whole model (a read naming a
 * field the model does not have, a write on a model that sends nothing) are `checkLineDefinition`.
 */
import { z } from "zod";
import { entitySchemaWith } from "./entity-description.ts";
import { closest } from "./issues.ts";

/** How a line's fields are written: `key=value` pairs, one JSON object, separated values, or a pattern's named groups. */
export const LINE_FORMATS = ["kv", "json", "csv", "regex"] as const;
export type LineFormatName = (typeof LINE_FORMATS)[number];

/**
 * Checksums a line may end in, as hex after a separator: NMEA 0183's XOR, CRC-8/SMBUS (poly 0x07),
 * CRC-8/MAXIM-DOW (1-Wire, poly 0x31 reflected), CRC-16/MODBUS (poly 0x8005 reflected, init 0xFFFF),
 * CRC-16/CCITT-FALSE (also IBM-3740: poly 0x1021, init 0xFFFF), CRC-16/XMODEM (poly 0x1021, init 0).
 */
export const CHECKSUM_ALGORITHMS = ["nmea", "crc8-smbus", "crc8-maxim", "crc16-modbus", "crc16-ccitt-false", "crc16-xmodem"] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

const regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { error: "expected a valid regular expression" },
);

/** A command template: `{id}`, `{body}`, `{value}`, `{brightness}` are filled in, as each template allows. */
const template = z.string().min(1);

const ChecksumObject = z.strictObject({
  algorithm: z.enum(CHECKSUM_ALGORITHMS),
  /** Between the line and its checksum. */
  separator: z.string().min(1).default("*"),
  /** Commands sent get one too. */
  commands: z.boolean().default(false),
});

/** A line's checksum: an algorithm's name, or the algorithm with its separator and whether commands carry one. */
const ChecksumSchema = z
  .union([z.enum(CHECKSUM_ALGORITHMS), ChecksumObject])
  .transform((c): z.output<typeof ChecksumObject> => (typeof c === "string" ? { algorithm: c, separator: "*", commands: false } : c));
export type LineChecksumSettings = z.output<typeof ChecksumSchema>;

/**
 * The line protocol: text lines, each a report, a reply, a boot line, or garbage. Everything about a
 * particular firmware — how its fields are written, which lines are which, how a command is written,
 * whether it answers at all — is data here, so a device of this family needs no code.
 */
export const LineProtocolSchema = z.strictObject({
  delimiter: z.string().min(1).default("\n"),
  /** How the fields of a report (or of a reply's `fields` group) are written. */
  format: z.enum(LINE_FORMATS).default("kv"),
  /** kv: what separates the pairs (default: spaces) and a key from its value (default `=`). */
  kv: z.strictObject({ separator: z.string().min(1).optional(), assign: z.string().min(1).default("=") }).optional(),
  /** csv: the separator; a pattern the header line matches (its fields name the columns); the columns' names, if the model knows them. */
  csv: z
    .strictObject({
      separator: z.string().min(1).default(","),
      header: regex.optional(),
      columns: z.array(z.string().min(1)).min(1).optional(),
    })
    .optional(),
  /** kv and json: the fields the firmware sends (json: paths), so that a read naming another is refused. */
  fields: z.array(z.string().min(1)).min(1).optional(),
  /** The checksum every line ends in. */
  checksum: ChecksumSchema.optional(),
  /** A line matching this means the device (re)booted; named groups `model` and `sw_version` are kept. */
  hello: regex.optional(),
  /** Unsolicited reports: one pattern or several (default: every line). A `fields` group, if any, is the part read; regex: the named groups are the fields. */
  report: z.union([regex, z.array(regex).min(1)]).optional(),
  /** A successful reply: named groups `id` (when commands carry one) and `fields`. Without it, commands get no reply. */
  ok: regex.optional(),
  /** A failed reply: named groups `id`, `code` and `message`. */
  error: regex.optional(),
  /** How a command line is made from its body (and `{id}`, when replies are matched by one). Without it, the model sends nothing. */
  command: template.optional(),
  /** Command ids cycle through this range (default 1–65535). */
  id_range: z.tuple([z.int().min(0), z.int().min(1)]).optional(),
  /** Sent on every poll; the reply's fields (or, without `ok`, the next report) update the states. */
  poll: template.optional(),
  /** Field values that mean "no reading". */
  no_value: z.array(z.string()).default(["nan", "-"]),
});
export type LineProtocol = z.output<typeof LineProtocolSchema>;

/** A value a firmware's word maps to: a number, a word (ON/OFF for on/off entities), or true/false. */
const MappedValue = z.union([z.string(), z.number(), z.boolean()]);

/** How one entity is read from and written to a line-protocol device. */
export const LineEntitySchema = entitySchemaWith({
  /** Where the reading is: a key (kv), a path (json: `sensors.bme280.temp`), a column's name or number from 1 (csv), a named group (regex). */
  read: z.union([z.string().min(1), z.int()]).optional(),
  /** Command bodies: one template (number, button; a switch's or light's `{value}` is its on/off word) or per action (switch, light). */
  write: z.union([template, z.strictObject({ on: template, off: template })]).optional(),
  /** The reading is `raw × scale + offset`; a number written goes the other way. */
  scale: z
    .number()
    .refine((n) => n !== 0, { error: "expected a non-zero scale" })
    .optional(),
  offset: z.number().optional(),
  /** What the firmware's words mean (`"1": ON`, `open: ON`); a word not in the table is read as it is. */
  map: z.record(z.string(), MappedValue).optional(),
  /** Values of this field that mean "no reading", beside the protocol's `no_value`. */
  no_value: z.array(z.string()).optional(),
});
export type LineEntity = z.infer<typeof LineEntitySchema>;

/** The names of a pattern's named groups, in order. */
export function namedGroups(pattern: string): string[] {
  // `(?<name>` opens a named group; `(?<=` and `(?<!` (lookbehinds) cannot match the identifier.
  return [...pattern.matchAll(/(?<!\\)\(\?<([A-Za-z_$][\w$]*)>/g)].map((m) => m[1]!);
}

/** The `{name}` placeholders a template uses. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
}

/** A json read's path as keys and array indexes: `sensors.bme280.temp` → ["sensors", "bme280", "temp"], `values[0]` → ["values", 0]; undefined when it is no path. */
export function jsonPath(read: string): Array<string | number> | undefined {
  const out: Array<string | number> = [];
  for (const part of read.split(".")) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (m === null || (m[1] === "" && m[2] === "")) return undefined;
    if (m[1] !== "") out.push(/^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!);
    for (const index of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

/** The report patterns of a line model, as a list. */
export function reportPatterns(line: Pick<LineProtocol, "report">): string[] {
  return line.report === undefined ? [] : typeof line.report === "string" ? [line.report] : line.report;
}

/** What checkLineDefinition sees of a definition. */
interface LineDefinitionShape {
  line: LineProtocol;
  entities: LineEntity[];
}

type Issue = { path: PropertyKey[]; message: string };

const ON_OFF_WORDS = ["on", "off", "true", "false", "1", "0"];
const PLACEHOLDER_NAMES = ["id", "body", "value", "brightness"];

/**
 * The checks of a line model that need more than one field: reads that name a field the model does
 * not have (with a did-you-mean), columns out of range, writes on a model that sends nothing,
 * templates with placeholders their command does not fill, mappings on entities that cannot take them.
 */
export function checkLineDefinition(definition: LineDefinitionShape, ctx: z.RefinementCtx): void {
  // zod runs this only on a definition whose shape parsed (an unknown key aside); the guard is for that promise.
  if (typeof definition.line !== "object" || definition.line === null || !Array.isArray(definition.entities)) return;
  for (const { path, message } of lineProblems(definition)) {
    // The message quotes what it found, so the formatter adds no ", got …" (config/issues.ts).
    ctx.addIssue({ code: "custom", path, message, params: { quotesInput: true } });
  }
}

function lineProblems(definition: LineDefinitionShape): Issue[] {
  const { line, entities } = definition;
  const issues: Issue[] = [];
  const at = (path: PropertyKey[], message: string) => issues.push({ path, message });
  const reports = reportPatterns(line);

  if (line.kv !== undefined && line.format !== "kv") at(["line", "kv"], `only with format: kv (this model's format is ${line.format})`);
  if (line.csv !== undefined && line.format !== "csv") at(["line", "csv"], `only with format: csv (this model's format is ${line.format})`);
  if (line.fields !== undefined && line.format === "csv") at(["line", "fields"], "a csv model names its columns in line.csv.columns");
  if (line.fields !== undefined && line.format === "regex") at(["line", "fields"], "a regex model's fields are the named groups of its report and ok patterns");
  if (line.format === "regex") {
    if (reports.length === 0) at(["line", "report"], "a regex model needs a report pattern: its named groups are the fields");
    reports.forEach((pattern, i) => {
      if (namedGroups(pattern).length === 0)
        at(typeof line.report === "string" ? ["line", "report"] : ["line", "report", i], `no named group (?<name>…) in ${JSON.stringify(pattern)}: a regex model's fields are its named groups`);
    });
  }

  // Sending: a model sends only with a command template; replies are matched by id only when it sends one.
  const sends = line.command !== undefined;
  const ids = sends && placeholders(line.command!).includes("id");
  const noCommand = 'the model sends nothing (it has no line.command); add one, such as command: "{body}"';
  if (!sends) {
    if (line.poll !== undefined) at(["line", "poll"], noCommand);
    if (line.ok !== undefined) at(["line", "ok"], `a reply to nothing: ${noCommand}`);
    if (line.checksum?.commands === true) at(["line", "checksum", "commands"], noCommand);
  }
  if (line.error !== undefined && line.ok === undefined) at(["line", "error"], "needs line.ok as well: a device that replies with errors replies to the commands that succeed too");
  if (sends) checkTemplate(at, ["line", "command"], line.command!, ["id", "body"]);
  if (line.poll !== undefined) checkTemplate(at, ["line", "poll"], line.poll, []);
  if (ids && line.ok === undefined) at(["line", "command"], "sends {id}, but the model has no line.ok to match replies by it");
  if (ids && line.ok !== undefined && !namedGroups(line.ok).includes("id")) at(["line", "ok"], "expected a named group (?<id>…): line.command sends {id}, and replies are matched by it");
  if (!ids && line.id_range !== undefined) at(["line", "id_range"], "only with {id} in line.command");
  if (line.id_range !== undefined && line.id_range[0] > line.id_range[1]) at(["line", "id_range"], `the first id (${line.id_range[0]}) is above the last (${line.id_range[1]})`);

  const fields = knownFields(line, reports);
  entities.forEach((entity, i) => {
    if (entity.read !== undefined) checkRead(at, ["entities", i, "read"], entity.read, line, fields);
    if (entity.write !== undefined) checkWrite(at, ["entities", i, "write"], entity, sends);
    checkMapping(at, ["entities", i], entity);
  });
  return issues;
}

/** The fields a model declares (kv/json `fields`, csv columns, regex groups), or undefined when it does not say. */
function knownFields(line: LineProtocol, reports: string[]): string[] | undefined {
  switch (line.format) {
    case "kv":
    case "json":
      return line.fields;
    case "csv":
      return line.csv?.columns;
    case "regex": {
      // A group named `id` is a reply's id, never a field.
      const groups = [...reports, ...(line.ok === undefined ? [] : [line.ok])].flatMap(namedGroups).filter((g) => g !== "id");
      return [...new Set(groups)];
    }
  }
}

function checkRead(at: (path: PropertyKey[], message: string) => void, path: PropertyKey[], read: string | number, line: LineProtocol, fields: string[] | undefined): void {
  if (typeof read === "number") {
    if (line.format !== "csv") return at(path, `a column number reads a csv row; this model's format is ${line.format}: name a field`);
    if (read < 1) return at(path, `columns count from 1, got ${read}`);
    const columns = line.csv?.columns;
    if (columns !== undefined && read > columns.length) at(path, `column ${read} is beyond the model's ${columns.length} columns (line.csv.columns)`);
    return;
  }
  if (line.format === "kv") {
    const assign = line.kv?.assign ?? "=";
    if (/\s/.test(read) || read.includes(assign) || (line.kv?.separator !== undefined && read.includes(line.kv.separator))) {
      return at(path, `${JSON.stringify(read)} cannot be a key: it holds a space, the separator or "${assign}"`);
    }
  }
  if (line.format === "json" && jsonPath(read) === undefined) return at(path, `${JSON.stringify(read)} is not a path such as sensors.bme280.temp or values[0]`);
  if (line.format === "csv" && fields === undefined && line.csv?.header === undefined) {
    return at(path, `reads the column ${JSON.stringify(read)} by name, but the model names no columns: add line.csv.columns (or line.csv.header), or read by number`);
  }
  if (fields !== undefined && !fields.includes(read)) {
    const hint = closest(read, fields);
    at(path, `unknown field ${JSON.stringify(read)} in this model's fields${hint !== undefined ? `; did you mean ${JSON.stringify(hint)}?` : `: ${fields.join(", ")}`}`);
  }
}

function checkTemplate(at: (path: PropertyKey[], message: string) => void, path: PropertyKey[], text: string, allowed: string[]): void {
  for (const name of placeholders(text)) {
    if (allowed.includes(name)) continue;
    const hint = closest(name, allowed.length > 0 ? allowed : PLACEHOLDER_NAMES);
    const may = allowed.length === 0 ? "this template takes no placeholder" : `this template may use ${allowed.map((a) => `{${a}}`).join(", ")}`;
    at(path, `unknown placeholder {${name}} (${may}${hint !== undefined && allowed.includes(hint) ? `; did you mean {${hint}}?` : ""})`);
  }
}

function checkWrite(at: (path: PropertyKey[], message: string) => void, path: PropertyKey[], entity: LineEntity, sends: boolean): void {
  const write = entity.write!;
  if (!sends) return at(path, 'the model sends nothing (it has no line.command); add one, such as command: "{body}"');
  switch (entity.kind) {
    case "sensor":
    case "binary_sensor":
      return at(path, `a ${entity.kind} takes no commands`);
    case "number":
    case "button":
      if (typeof write !== "string") return at(path, `a ${entity.kind} takes one template${entity.kind === "number" ? " with {value}" : ""}, not one per action`);
      return checkTemplate(at, path, write, entity.kind === "number" ? ["value"] : []);
    case "switch":
      if (typeof write === "string") return checkTemplate(at, path, write, ["value"]);
      checkTemplate(at, [...path, "on"], write.on, []);
      return checkTemplate(at, [...path, "off"], write.off, []);
    case "light":
      if (typeof write === "string") return checkTemplate(at, path, write, ["value", "brightness"]);
      checkTemplate(at, [...path, "on"], write.on, ["brightness"]);
      return checkTemplate(at, [...path, "off"], write.off, []);
  }
}

function checkMapping(at: (path: PropertyKey[], message: string) => void, path: PropertyKey[], entity: LineEntity): void {
  const numeric = entity.kind === "number" || (entity.kind === "sensor" && entity.numeric);
  for (const key of ["scale", "offset"] as const) {
    if (entity[key] !== undefined && !numeric) at([...path, key], `only for numeric sensors and numbers, not a ${entity.kind === "sensor" ? "text sensor" : entity.kind}`);
  }
  if (entity.map === undefined) return;
  if (entity.kind === "button") return at([...path, "map"], "a button has no readings to map");
  for (const [word, value] of Object.entries(entity.map)) {
    const where = [...path, "map", word];
    if (entity.kind === "binary_sensor" || entity.kind === "switch") {
      if (!ON_OFF_WORDS.includes(String(value).toLowerCase())) at(where, `expected ON or OFF (or true/false, 1/0), got ${JSON.stringify(value)}`);
    } else if (numeric && typeof value !== "number") at(where, `expected a number (this ${entity.kind} is numeric), got ${JSON.stringify(value)}`);
  }
}
