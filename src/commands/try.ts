/**
 * `hearth try MODELFILE --port PORT`: runs one model file on one port exactly as hearth would (the same
 * link, driver, Device and entity checks) and shows, frame by frame, what each frame became; commands
 * typed on standard input go through the device's own command path. How a user writes a model: edit
 * the file, run `try`, see the result.
 */
import { createInterface } from "node:readline";
import { BaudSchema, type DeviceDefinition, DeviceDefinitionSchema, serialSettingsOf } from "../config/device-definition.ts";
import { formatIssues } from "../config/issues.ts";
import type { DeviceConfig } from "../config/schema.ts";
import { clipJson } from "../core/clip.ts";
import { isHearthError, isTimeoutError } from "../core/errors.ts";
import type { WorkerScript } from "../core/executor/spawn.ts";
import { Hub } from "../core/hub.ts";
import { callback } from "../core/job.ts";
import { silentLogger } from "../core/logger.ts";
import type { ModelCatalogue } from "../engine/catalogue.ts";
import { type SimulatedPort, serialTransports, startSimulator } from "../engine/configured-ports.ts";
import { Device } from "../engine/device.ts";
import type { Driver, DriverContext } from "../engine/driver.ts";
import { DRIVERS, effectiveDefinition, framingOf, ownTransportOf } from "../engine/protocols.ts";
import { replaySimulatorOf } from "../engine/replay.ts";
import type { SimulatorFactory } from "../engine/simulator.ts";
import type { Transport } from "../engine/transport.ts";
import type { Output } from "./output.ts";
import { eventPrinter, hexOf, shownText, type TryEvent } from "./try-events.ts";
import { helpEvent, parseTyped } from "./try-input.ts";

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

/**
 * The model a file holds, checked as hearth checks model files, or its problems (each naming the file and
 * the path in it). The one place `try` reads a model file, so the loader of model folders can take over.
 */
async function readModel(file: string): Promise<DeviceDefinition | string[]> {
  let text: string;
  try {
    text = await Bun.file(file).text();
  } catch (err) {
    return [`${file}: cannot read it: ${(err as Error).message}`];
  }
  let raw: unknown;
  try {
    raw = Bun.YAML.parse(text);
  } catch (err) {
    return [`${file}: not valid YAML: ${(err as Error).message}`];
  }
  const parsed = DeviceDefinitionSchema.safeParse(raw);
  if (!parsed.success) return formatIssues(parsed.error.issues, { schema: DeviceDefinitionSchema, input: raw }).map((p) => `${file}: ${p}`);
  return parsed.data;
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

/** Why something failed, for a person: a timeout says how long it waited. */
function reasonOf(err: unknown, timeout: number): string {
  if (isTimeoutError(err)) return `no reply within ${timeout} s`;
  return err instanceof Error ? err.message : String(err);
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

/** One run of `try`: a hub, a transport, a device on it, and what it shows. */
class TrySession {
  private readonly deps: TryDeps & { definition: DeviceDefinition; config: DeviceConfig; simulator: SimulatorFactory | undefined; noPoll: boolean; emit: (e: TryEvent) => void };
  private readonly hub: Hub;
  private device: Device | undefined;
  private stopping = false;
  /** `get`s asked for while polls are off: each lets one poll through. */
  private polls = 0;
  /** Whether the start event has been shown (the port is open). */
  private shown = false;
  /** While the driver reads a frame: what it reports then came from that frame, else from an exchange's reply. */
  private inFrame = false;
  /** Events that happen inside a report (the device becoming available), shown after what the report set. */
  private afterReport: TryEvent[] | undefined;

  constructor(deps: TrySession["deps"]) {
    this.deps = deps;
    this.hub = new Hub({ log: silentLogger(), executorScript: deps.executorScript });
  }

  async run(): Promise<number> {
    const { definition, config, emit, output } = this.deps;
    let sim: SimulatedPort | undefined;
    if (this.deps.simulator !== undefined) sim = startSimulator(this.deps.simulator, config.options);
    const path = sim?.pty.path ?? config.port;
    const serial = serialSettingsOf(definition, config);
    const transport = this.watched(ownTransportOf(definition, { ...config, port: path }) ?? serialTransports({ hub: this.hub, log: silentLogger() })({ path, serial, framing: framingOf(definition) }));
    try {
      await transport.open();
    } catch (err) {
      output.err(`hearth try: cannot open ${path}: ${(err as Error).message}\n`);
      await sim?.stop();
      await this.hub.stop();
      return 1;
    }
    const parity = serial.parity === "none" ? "N" : serial.parity[0]!.toUpperCase();
    emit({
      event: "start",
      model: definition.model,
      name: definition.name,
      protocol: definition.protocol,
      port: sim === undefined ? path : `${path} (sim)`,
      serial: `${serial.baud} baud ${serial.data_bits}${parity}${serial.stop_bits}`,
      poll: this.deps.noPoll ? "no polls (get polls once)" : `polls every ${config.poll_interval ?? definition.poll_interval} s`,
    });
    this.shown = true;
    const device = new Device({ hub: this.hub, log: silentLogger(), nodeId: "try", config, definition, transport, driverFactory: (ctx) => this.driver(ctx) });
    this.device = device;
    const unlisten = this.hub.bus.listen(
      "device_availability",
      callback((event: { data: { available: boolean; reason?: string } }) => {
        if (this.stopping) return;
        const shown: TryEvent = { event: "availability", available: event.data.available, ...(event.data.reason === undefined ? {} : { reason: event.data.reason }) };
        if (this.afterReport !== undefined) this.afterReport.push(shown);
        else emit(shown);
      }),
      { name: "try availability" },
    );
    let code = 0;
    try {
      await device.start();
      await this.hub.start();
      const lines = this.readInput();
      await this.deps.stopped;
      lines.close();
    } catch (err) {
      output.err(`hearth try: ${(err as Error).message}\n`);
      code = 2;
    }
    this.stopping = true;
    unlisten();
    await device.stop();
    await transport.close();
    await sim?.stop();
    await this.hub.stop();
    emit({ event: "stopped" });
    return code;
  }

  /** The model's driver on the device's own context, with what it reports shown as it reports it. */
  private driver(ctx: DriverContext): Driver {
    const { emit } = this.deps;
    const watchedContext: DriverContext = {
      ...ctx,
      report: (readings, attributes) => {
        const after: TryEvent[] = [];
        this.afterReport = after;
        try {
          ctx.report(readings, attributes);
        } finally {
          this.afterReport = undefined;
        }
        const shown = this.device?.values() ?? {};
        const values: Record<string, (typeof shown)[string]> = {};
        const units: Record<string, string> = {};
        const held: string[] = [];
        for (const [key, raw] of readings) {
          const entity = ctx.entities.get(key);
          if (entity === undefined) continue;
          // The same check the state writer made: a pure function of the entity and the reading.
          const state = entity.toState(raw);
          if ("rejected" in state) {
            emit({ event: "skipped", entity: key, value: clipJson(raw, 64), why: state.rejected });
            continue;
          }
          values[key] = state.value;
          const unit = entity.description.kind === "sensor" || entity.description.kind === "number" ? entity.description.unit : undefined;
          if (unit !== undefined && state.value !== null) units[key] = unit;
          if (JSON.stringify(shown[key] ?? null) !== JSON.stringify(state.value)) held.push(key);
        }
        if (Object.keys(values).length > 0) {
          const reply = this.inFrame ? {} : { reply: true as const };
          emit({ event: "set", values, ...(Object.keys(units).length > 0 ? { units } : {}), ...(held.length > 0 ? { held } : {}), ...reply });
        }
        for (const e of after) emit(e);
      },
      rebooted: (info) => {
        ctx.rebooted(info);
        emit({ event: "hello", ...(info.model === undefined ? {} : { model: shownText(info.model) }), ...(info.swVersion === undefined ? {} : { version: shownText(info.swVersion) }) });
      },
      garbage: (frame, why) => {
        ctx.garbage(frame, why);
        emit({ event: "garbage", why });
      },
      logLimited: (level, key, fields, message) => {
        ctx.logLimited(level, key, fields, message);
        emit({ event: "note", level, message });
      },
    };
    const driver = DRIVERS[ctx.definition.protocol](watchedContext);
    return {
      start: () => driver.start(),
      stop: () => driver.stop(),
      poll: async (signal) => {
        if (this.deps.noPoll) {
          if (this.polls === 0) return;
          this.polls--;
        }
        try {
          await driver.poll(signal);
        } catch (err) {
          if (!this.stopping) emit({ event: "poll_failed", why: reasonOf(err, this.device?.timeout ?? 0) });
          throw err;
        }
      },
      execute: (entity, command, signal) => driver.execute(entity, command, signal),
    };
  }

  /** The transport, with each frame shown before the driver reads it and each write as it goes out. */
  private watched(transport: Transport): Transport {
    const { emit } = this.deps;
    const text = framingOf(this.deps.definition).kind === "delimiter";
    const decoder = new TextDecoder("latin1");
    transport.onFrame((frame) => {
      if (!text) return emit({ event: "frame", hex: hexOf(frame) });
      const line = decoder.decode(frame).replace(/\r$/, "");
      if (line !== "") emit({ event: "line", text: shownText(line) });
    });
    transport.onState((state, error) => {
      // The first opening is told by the start event (or, when it fails, the command's error).
      if (this.shown && (state === "open" || state === "closed" || state === "unavailable")) emit({ event: "link", state, ...(error === undefined ? {} : { reason: error.message }) });
    });
    return {
      get path() {
        return transport.path;
      },
      get state() {
        return transport.state;
      },
      get droppedFrames() {
        return transport.droppedFrames;
      },
      open: () => transport.open(),
      close: () => transport.close(),
      write: (data) => {
        const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
        emit(text ? { event: "sent", text: shownText(decoder.decode(bytes).replace(/\r?\n$/, "")) } : { event: "sent", hex: hexOf(bytes) });
        return transport.write(data);
      },
      onFrame: (listener) =>
        transport.onFrame((frame) => {
          this.inFrame = true;
          try {
            listener(frame);
          } finally {
            this.inFrame = false;
          }
        }),
      onState: (listener) => transport.onState(listener),
    };
  }

  /** Reads typed commands until the input ends (which stops nothing: `try < /dev/null` just watches). */
  private readInput(): { close(): void } {
    const lines = createInterface({ input: this.deps.input, terminal: false });
    lines.on("line", (line) => void this.typed(line));
    lines.on("close", () => {
      if (!this.stopping) this.deps.output.err("hearth try: end of standard input: no more commands are read; Ctrl-C stops\n");
    });
    return lines;
  }

  private async typed(line: string): Promise<void> {
    const device = this.device;
    if (device === undefined || this.stopping) return;
    const { emit } = this.deps;
    const input = line.trim().replace(/\s+/g, " ");
    const typed = parseTyped(line, device.entities);
    switch (typed.kind) {
      case "nothing":
        return;
      case "help":
        return emit(helpEvent(device.entities.values()));
      case "refused":
        return emit({ event: "refused", input, why: typed.why, ...(typed.suggestion === undefined ? {} : { suggestion: typed.suggestion }) });
      case "get":
        this.polls++;
        try {
          await device.refresh();
          emit({ event: "command", entity: "get", input });
        } catch (err) {
          emit({ event: "failed", entity: "get", input, why: reasonOf(err, device.timeout) });
        }
        return;
      case "command":
        try {
          await device.command(typed.key, typed.value);
          emit({ event: "command", entity: typed.key, input });
        } catch (err) {
          // Refused: nothing was sent (the entity's checks, an unavailable or busy device). Failed: sent, no good answer.
          const notSent = isHearthError(err) && ["COMMAND_INVALID", "COMMAND_NOT_SUPPORTED", "DEVICE_UNAVAILABLE", "DEVICE_BUSY"].includes(err.code);
          const why = reasonOf(err, device.timeout);
          emit(notSent ? { event: "refused", input, why } : { event: "failed", entity: typed.key, input, why });
        }
    }
  }
}
