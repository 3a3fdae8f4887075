/**
 * `hearth try MODELFILE --port PORT`: runs one model file on one port exactly as hearth would (the same
 * link, driver, Device and entity checks) and shows, frame by frame, what each frame became; commands
 * typed on standard input go through the device's own command path. How a user writes a model: edit
 * the file, run `try`, see the result.
 */
import { BaudSchema, type DeviceDefinition } from "../config/device-definition.ts";
import { ConfigError } from "../config/load.ts";
import { readModelFile } from "../config/model-files.ts";
import type { DeviceConfig } from "../config/schema.ts";
import { clipJson } from "../core/clip.ts";
import type { WorkerScript } from "../core/executor/spawn.ts";
import type { ModelCatalogue } from "../engine/catalogue.ts";
import { effectiveDefinition } from "../engine/protocols.ts";
import { replaySimulatorOf } from "../engine/replay.ts";
import type { SimulatorFactory } from "../engine/simulator.ts";
import type { Output } from "./output.ts";
import { eventPrinter } from "./try-events.ts";
import { TrySession } from "./try-session.ts";

/** What `hearth try` is given on its command line. */
export interface TryOptions {
  port?: string;
  baud?: string;
  /** Send no polls of its own (a `get` still polls). */
  noPoll?: boolean;
  json?: boolean;
  /** `KEY=VALUE` device options (a Modbus slave address …); a value that is JSON is taken as JSON. */
  option?: string[];
}

/** Where `try` reads, writes and finds what it needs; injected by the CLI. */
export interface TryDeps {
  output: Output;
  /** Typed commands, one a line; its end stops nothing. */
  input: NodeJS.ReadableStream;
  /** The built-in models: `--port sim` runs the simulator of the model of that name when the file names no capture. */
  catalogue: ModelCatalogue;
  /** Resolves when `try` should stop (SIGINT, SIGTERM). */
  stopped: Promise<void>;
  /** What the executor's Workers start on (a 1-Wire model's reads), inside a binary too. */
  executorScript?: WorkerScript;
}

/** The model a file holds, checked as hearth checks model files, or its problems (each naming the file and the path in it). */
async function readModel(file: string): Promise<DeviceDefinition | string[]> {
  try {
    return (await readModelFile(file)).definition;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${err.file ?? file}: ${p}`);
  }
}

/** `KEY=VALUE` options as a device's `options:`, or a message saying which one is not. */
function deviceOptions(pairs: readonly string[]): Record<string, unknown> | string {
  const options: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq < 1) return `--option expects KEY=VALUE, got ${clipJson(pair)}`;
    const text = pair.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // not JSON: the text as it is
    }
    options[pair.slice(0, eq)] = value;
  }
  return options;
}

/** `hearth try MODELFILE --port PORT [--baud N] [--no-poll] [--json] [--option KEY=VALUE]`: 0 after Ctrl-C, 1 when the port cannot be opened, 2 for a bad model or usage. */
export async function tryCommand(file: string | undefined, options: TryOptions, deps: TryDeps): Promise<number> {
  const { output } = deps;
  if (file === undefined || options.port === undefined) {
    output.err("hearth try: usage: hearth try MODELFILE --port PORT [--baud N] [--no-poll] [--json] [--option KEY=VALUE]\n");
    return 2;
  }
  let baud: number | undefined;
  if (options.baud !== undefined) {
    const parsed = BaudSchema.safeParse(options.baud);
    if (!parsed.success) {
      output.err(`hearth try: --baud: expected one of 1200…921600, got ${clipJson(options.baud)}\n`);
      return 2;
    }
    baud = parsed.data;
  }
  const deviceOpts = deviceOptions(options.option ?? []);
  if (typeof deviceOpts === "string") {
    output.err(`hearth try: ${deviceOpts}\n`);
    return 2;
  }
  const model = await readModel(file);
  if (Array.isArray(model)) {
    output.err(`hearth try: invalid model file\n${model.map((p) => `  ${p}\n`).join("")}`);
    return 2;
  }
  let definition = model;
  let simulator: SimulatorFactory | undefined;
  if (options.port === "sim") {
    simulator = replaySimulatorOf(definition, file) ?? deps.catalogue.get(definition.model)?.simulator;
    if (simulator === undefined) {
      output.err(`hearth try: --port sim: ${file} names no capture to play (simulator: { replay: FILE }) and ${definition.model} is no built-in model with a simulator\n`);
      return 2;
    }
  }
  const config: DeviceConfig = { id: definition.model, model: definition.model, port: options.port, options: deviceOpts, ...(baud === undefined ? {} : { baud }) };
  try {
    definition = effectiveDefinition(definition, config);
  } catch (err) {
    output.err(`hearth try: ${(err as Error).message}\n`);
    return 2;
  }
  return new TrySession({ ...deps, definition, config, simulator, noPoll: options.noPoll === true, emit: eventPrinter(output, options.json === true) }).run();
}
