/** One run of `hearth try` (src/commands/try.ts): the hub, the transport, the device on it, and what it shows. */
import { createInterface } from "node:readline";
import type { DeviceDefinition } from "../config/device-definition.ts";
import { serialSettingsOf } from "../config/device-definition.ts";
import type { DeviceConfig } from "../config/schema.ts";
import { clipJson } from "../core/clip.ts";
import { isHearthError, isTimeoutError } from "../core/errors.ts";
import { Hub } from "../core/hub.ts";
import { callback } from "../core/job.ts";
import { silentLogger } from "../core/logger.ts";
import { type SimulatedPort, serialTransports, startSimulator } from "../engine/configured-ports.ts";
import { Device } from "../engine/device.ts";
import type { Driver, DriverContext } from "../engine/driver.ts";
import { DRIVERS, framingOf, ownTransportOf } from "../engine/protocols.ts";
import type { SimulatorFactory } from "../engine/simulator.ts";
import type { Transport } from "../engine/transport.ts";
import { isRejected } from "../entities/entity.ts";
import type { TryDeps } from "./try.ts";
import { hexOf, shownText, type TryEvent } from "./try-events.ts";
import { helpEvent, parseTyped } from "./try-input.ts";

/** What a session runs: the CLI's deps, the checked model and the device config made for it. */
export interface TrySessionDeps extends Omit<TryDeps, "catalogue"> {
  definition: DeviceDefinition;
  config: DeviceConfig;
  /** For `--port sim`: the simulator played on a pty of its own. */
  simulator: SimulatorFactory | undefined;
  noPoll: boolean;
  emit: (e: TryEvent) => void;
}

/** Why something failed, for a person: a timeout says how long it waited. */
function reasonOf(err: unknown, timeout: number): string {
  if (isTimeoutError(err)) return `no reply within ${timeout} s`;
  return err instanceof Error ? err.message : String(err);
}

/** One run of `try`: a hub, a transport, a device on it, and what it shows. */
export class TrySession {
  private readonly deps: TrySessionDeps;
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

  constructor(deps: TrySessionDeps) {
    this.deps = deps;
    this.hub = new Hub({ log: silentLogger(), executorScript: deps.executorScript });
  }

  /** Runs until `stopped`: 0, or 1 when the port cannot be opened, 2 when the model cannot run (a driver's set-up refused it). */
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
    // In reverse, each step on its own: one that fails leaves the others to do.
    for (const [what, step] of [
      ["the device", () => device.stop()],
      [path, () => transport.close()],
      ["the simulator", async () => sim?.stop()],
      ["the hub", () => this.hub.stop()],
    ] as const) {
      try {
        await step();
      } catch (err) {
        output.err(`hearth try: stopping ${what} failed: ${(err as Error).message}\n`);
      }
    }
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
          if (isRejected(state)) {
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
        // A hello makes the device available: said after the hello, as after a report.
        const after: TryEvent[] = [];
        this.afterReport = after;
        try {
          ctx.rebooted(info);
        } finally {
          this.afterReport = undefined;
        }
        emit({ event: "hello", ...(info.model === undefined ? {} : { model: shownText(info.model) }), ...(info.swVersion === undefined ? {} : { version: shownText(info.swVersion) }) });
        for (const e of after) emit(e);
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
    const kind = framingOf(this.deps.definition).kind;
    // Text protocols are shown as text: a line, or a frame of several lines (a DSMR telegram, a VE.Direct
    // block) line by line; binary ones (Modbus, sensor frames) in hex.
    const text = kind === "delimiter" || kind === "bracketed" || kind === "marker";
    const lines = kind === "delimiter" ? (t: string) => [t.replace(/\r$/, "")] : (t: string) => t.split(/\r?\n/);
    const decoder = new TextDecoder("latin1");
    const utf8 = new TextDecoder("utf-8", { fatal: true });
    // What a person reads: UTF-8 when the bytes are (a firmware printing "°C"), else a byte a character.
    const decode = (bytes: Uint8Array) => {
      try {
        return utf8.decode(bytes);
      } catch {
        return decoder.decode(bytes);
      }
    };
    transport.onFrame((frame) => {
      if (!text) return emit({ event: "frame", hex: hexOf(frame) });
      for (const line of lines(decode(frame))) if (line !== "") emit({ event: "line", text: shownText(line) });
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
        emit(text ? { event: "sent", text: shownText(decode(bytes).replace(/\r?\n$/, "")) } : { event: "sent", hex: hexOf(bytes) });
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
