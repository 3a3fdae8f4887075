import type { DeviceDefinition } from "../config/device-definition.ts";
import type { DeviceConfig } from "../config/schema.ts";
import { clip, clipJson } from "../core/clip.ts";
import type { Context } from "../core/context.ts";
import { isHearthError, isTimeoutError } from "../core/errors.ts";
import { Histogram, type HistogramSnapshot, LATENCY_BUCKETS_S } from "../core/histogram.ts";
import type { Hub } from "../core/hub.ts";
import { LogLimiter } from "../core/log-limiter.ts";
import type { Logger } from "../core/logger.ts";
import { Semaphore } from "../core/semaphore.ts";
import type { Task } from "../core/task.ts";
import { boundedWait } from "../core/wait.ts";
import { parseCommand } from "../entities/commands.ts";
import { Entity, type EntityValue, type RawValue, STATE_UNAVAILABLE } from "../entities/entity.ts";
import { DeviceError } from "./device-error.ts";
import type { Driver, DriverContext, DriverFactory } from "./driver.ts";
import { FIRMWARE_ENTITY_KEY } from "./firmware/entity.ts";
import { StateWriter } from "./state-writer.ts";
import type { LinkState, Transport } from "./transport.ts";
import "./events.ts";

/** Exchanges in a row without an answer (polls that failed, commands that timed out) before a device counts as unavailable. */
export const MISSED_EXCHANGES_UNAVAILABLE = 3;
/** Commands (and `get`s) one device holds at most, waiting or on the wire; one more is refused with DEVICE_BUSY. */
export const COMMAND_QUEUE_LIMIT = 16;
/** The longest a backed-off poll interval grows, seconds. */
export const MAX_POLL_BACKOFF = 300;

/** Counters of one device, for bridge/info and the tests. */
export interface DeviceStats {
  /** Frames its transport handed it, and their bytes (on a shared bus, the bus's frames: each device there hears them all). */
  frames: number;
  bytes: number;
  polls: number;
  pollFailures: number;
  commands: number;
  commandFailures: number;
  /** Commands and `get`s refused because the device's queue was full. */
  refused: number;
  timeouts: number;
  /** Frames that made no sense to the driver. */
  garbage: number;
  /** Of those, the frames whose checksum was wrong (where the driver tells them apart: line protocols). */
  checksumFailures: number;
  /** Readings that were not a number, out of the model's range, or otherwise unfit for their entity: skipped. */
  badValues: number;
  /** Frames its transport skipped for being too long (on a shared bus, the bus's count). */
  tooLong: number;
  reboots: number;
  /** Times its link opened again after having been open (a replug, a lost port found again). */
  reconnects: number;
  /** How long each command took, accepted to done (answered, failed or timed out), in seconds. */
  commandSeconds: HistogramSnapshot;
}

export interface DeviceDeps {
  hub: Hub;
  log: Logger;
  nodeId: string;
  config: DeviceConfig;
  definition: DeviceDefinition;
  transport: Transport;
  driverFactory: DriverFactory;
  /** Commands the device holds at most (default COMMAND_QUEUE_LIMIT). */
  queueLimit?: number;
}

/**
 * One configured device at run time: its entities, its driver on its transport, a semaphore so one
 * command or poll is on the wire at a time, a timeout on each, polling with jitter and back-off,
 * and its availability.
 */
export class Device {
  readonly id: string;
  readonly name: string;
  readonly config: DeviceConfig;
  readonly definition: DeviceDefinition;
  readonly entities = new Map<string, Entity>();
  readonly semaphore = new Semaphore(1);
  /** Commands and `get`s it holds at most, waiting or on the wire. */
  readonly queueLimit: number;
  available = false;
  /** Why it last became unavailable (undefined while available, and before it first was). */
  unavailableReason: string | undefined;
  swVersion: string | undefined;
  /** Exchanges in a row that got no answer. */
  unanswered = 0;

  private readonly deps: DeviceDeps;
  private readonly log: Logger;
  private readonly writer: StateWriter;
  private readonly counters: Omit<DeviceStats, "tooLong" | "commandSeconds"> = {
    frames: 0,
    bytes: 0,
    polls: 0,
    pollFailures: 0,
    commands: 0,
    commandFailures: 0,
    refused: 0,
    timeouts: 0,
    garbage: 0,
    checksumFailures: 0,
    badValues: 0,
    reboots: 0,
    reconnects: 0,
  };
  /** Whether its link has been open since the device started (a later open is a reconnect). */
  private wasOpen = false;
  private readonly commandSeconds = new Histogram(LATENCY_BUCKETS_S);
  /** Keeps a device that repeats itself (a flood of errors, of reboots) from flooding the log. */
  private readonly limiter: LogLimiter;
  /** The same for its events on the bus (and so on MQTT): one per interval, with a count. */
  private readonly eventLimiter: LogLimiter;
  /** Commands and `get`s accepted and not yet answered. */
  private queued = 0;
  /** Fires when the device becomes unavailable: the commands waiting for the line fail at once. */
  private drain = new AbortController();
  private driver: Driver | undefined;
  private starting: Promise<void> | undefined;
  private pollTask: Task<void> | undefined;
  private unlisten: Array<() => void> = [];
  private wakePoll: (() => void) | undefined;
  private activeContext: Context | undefined;
  /** Set when the device becomes available, until entities without a reading are made `unknown`. */
  private unsettled = false;

  constructor(deps: DeviceDeps) {
    this.deps = deps;
    this.id = deps.config.id;
    this.config = deps.config;
    this.definition = deps.definition;
    this.name = deps.config.name ?? deps.config.id;
    this.log = deps.log;
    this.queueLimit = deps.queueLimit ?? COMMAND_QUEUE_LIMIT;
    this.writer = new StateWriter({ states: deps.hub.states, clock: deps.hub.clock });
    this.limiter = new LogLimiter({ log: deps.log, clock: deps.hub.clock });
    this.eventLimiter = new LogLimiter({ clock: deps.hub.clock, burst: 1 });
    for (const description of deps.definition.entities) {
      this.entities.set(description.key, new Entity({ description, nodeId: deps.nodeId, deviceId: this.id, deviceName: this.name }));
    }
  }

  /** Seconds a command may take. */
  get timeout(): number {
    return this.config.timeout ?? this.definition.timeout;
  }

  /** Seconds between polls. */
  get pollInterval(): number {
    return this.config.poll_interval ?? this.definition.poll_interval;
  }

  /** Its counters now. */
  get stats(): DeviceStats {
    return { ...this.counters, tooLong: this.deps.transport.droppedFrames ?? 0, commandSeconds: this.commandSeconds.snapshot() };
  }

  /** Every entity's value as a user sees it, by key (the JSON of `<base>/<device>`). */
  values(): Record<string, EntityValue> {
    const out: Record<string, EntityValue> = {};
    for (const [key, entity] of this.entities) out[key] = this.writer.valueOf(entity);
    return out;
  }

  /** Starts the driver and polling; the transport is already opening or open. A second call gets the first one's promise. */
  start(): Promise<void> {
    this.starting ??= this.runStart();
    return this.starting;
  }

  private async runStart(): Promise<void> {
    const { hub, transport } = this.deps;
    for (const entity of this.entities.values()) this.writer.markUnavailable(entity);
    this.driver = this.deps.driverFactory(this.driverContext());
    this.wasOpen = transport.state === "open";
    this.unlisten.push(
      transport.onState((state, error) => this.onLinkState(state, error)),
      transport.onFrame((frame) => {
        this.counters.frames++;
        this.counters.bytes += frame.length;
      }),
    );
    await this.driver.start();
    this.pollTask = hub.createBackgroundTask((signal) => this.pollLoop(signal), { name: `poll ${this.id}` });
  }

  /** Stops polling and the driver; marks the entities unavailable. Safe to call twice. */
  async stop(): Promise<void> {
    for (const off of this.unlisten.splice(0)) off();
    const task = this.pollTask;
    this.pollTask = undefined;
    if (task !== undefined) {
      task.cancel("device stopping");
      await task.settled().catch(() => {});
    }
    try {
      await this.driver?.stop();
    } catch (err) {
      this.log.warn({ err }, "Driver did not stop cleanly");
    }
    this.driver = undefined;
    this.starting = undefined;
    this.writer.clear();
    this.setAvailable(false, "stopped");
    this.limiter.stop();
    this.eventLimiter.stop();
  }

  /**
   * Sends one command to one entity: validated against its kind and range first, then written under
   * the device's semaphore, and bounded by the command timeout. Fails fast when the device is unavailable
   * or becomes so while the command waits, and is refused at once when the device's queue is full.
   */
  async command(key: string, value: unknown, options: { context?: Context } = {}): Promise<void> {
    const entity = this.entities.get(key);
    if (entity === undefined) {
      throw new DeviceError("DEVICE_UNKNOWN_ENTITY", this.id, `no entity "${clip(key, 64)}" (entities: ${[...this.entities.keys()].join(", ")})`);
    }
    const command = parseCommand(entity.description, value);
    this.admit("the command was not sent");
    this.counters.commands++;
    const began = performance.now();
    try {
      await this.queue(`command ${key}`, async (signal) => {
        // States the reply sets carry the command's context (who asked), as HA's service calls do.
        this.activeContext = options.context;
        try {
          await this.driver!.execute(entity, command, signal);
          // A button has no reading: its state is when it was last pressed (as in Home Assistant).
          if (command.action === "press") this.writer.write(entity, new Date().toISOString(), options.context);
        } finally {
          this.activeContext = undefined;
        }
      });
    } catch (err) {
      this.counters.commandFailures++;
      throw err;
    } finally {
      this.commandSeconds.observe((performance.now() - began) / 1000);
    }
  }

  /** Reads every entity now (a `get`), under the semaphore; queued like a command. */
  async refresh(): Promise<void> {
    this.admit("nothing was read");
    await this.queue("get", (signal) => this.driver!.poll(signal));
  }

  /** Refuses a command at once when the device cannot take it: unavailable, or its queue full. */
  private admit(notDone: string): void {
    if (!this.available || this.driver === undefined) {
      throw new DeviceError("DEVICE_UNAVAILABLE", this.id, `the device is unavailable; ${notDone}`);
    }
    if (this.queued >= this.queueLimit) {
      this.counters.refused++;
      const wait = Math.round(this.queueLimit * this.timeout);
      throw new DeviceError(
        "DEVICE_BUSY",
        this.id,
        `the command queue is full (${this.queueLimit} commands waiting or on the wire, up to ${wait} s of work at the ${this.timeout} s timeout); ${notDone}: try again later`,
      );
    }
  }

  /** Runs a command or `get` in its turn: counted in the queue, and failed at once if the device goes unavailable while it waits. */
  private async queue(what: string, fn: (signal: AbortSignal) => Promise<void>): Promise<void> {
    this.queued++;
    try {
      await this.exclusive(what, "command", fn, this.drain.signal);
    } finally {
      this.queued--;
    }
  }

  /**
   * Runs one exchange with the device: one at a time, within the command timeout. A command that got no
   * answer counts towards the device's unavailability as a failed poll does, so a device that stopped
   * answering is found out after a few timeouts, not after every queued command has waited for its own.
   */
  private async exclusive(what: string, kind: "poll" | "command", fn: (signal: AbortSignal) => Promise<void>, waitSignal?: AbortSignal): Promise<void> {
    const { hub } = this.deps;
    const release = await this.semaphore.acquire(waitSignal);
    try {
      if (kind === "command" && (!this.available || this.driver === undefined)) {
        throw new DeviceError("DEVICE_UNAVAILABLE", this.id, `the device became unavailable while ${what} waited; it was not sent`);
      }
      await hub.timeout.asyncTimeout(this.timeout, { zone: `device ${this.id}` }).run(fn);
      this.unanswered = 0;
    } catch (err) {
      if (isTimeoutError(err) || isHearthError(err, "DEVICE_COMMAND_TIMEOUT")) {
        this.counters.timeouts++;
        const timeout = isTimeoutError(err) ? new DeviceError("DEVICE_COMMAND_TIMEOUT", this.id, `${what}: no reply within ${this.timeout} s`, { cause: err }) : err;
        this.missed(timeout as Error); // before the line is released: the next in the queue must see the outcome
        throw timeout;
      }
      if (kind === "poll") this.missed(err as Error);
      else if (!isHearthError(err, "DEVICE_UNAVAILABLE")) this.unanswered = 0; // an error reply is an answer
      throw err;
    } finally {
      release();
    }
  }

  /** One more exchange got no answer; enough in a row make the device unavailable. */
  private missed(err: Error): void {
    this.unanswered++;
    if (this.unanswered >= MISSED_EXCHANGES_UNAVAILABLE) {
      this.setAvailable(false, `${this.unanswered} exchanges in a row got no answer: ${err.message}`);
    }
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    let interval = this.pollInterval;
    for (;;) {
      if (this.deps.transport.state === "open" && this.driver !== undefined) {
        this.counters.polls++;
        try {
          await this.exclusive("poll", "poll", (s) => this.driver!.poll(s));
          interval = this.pollInterval;
          this.setAvailable(true);
          this.settleUnknown();
        } catch (err) {
          if (signal.aborted) return;
          this.counters.pollFailures++;
          this.log.debug({ err, missed: this.unanswered }, "Poll failed");
          if (this.unanswered >= MISSED_EXCHANGES_UNAVAILABLE) interval = Math.min(interval * 2, Math.max(MAX_POLL_BACKOFF, this.pollInterval));
        }
      }
      // ±10% jitter, so that many devices on one interval do not poll together.
      const wait = interval * 1000 * (0.9 + Math.random() * 0.2);
      await boundedWait<void>(
        (resolve) => {
          this.wakePoll = () => resolve();
          return () => {
            this.wakePoll = undefined;
          };
        },
        { signal, timeoutMs: wait, clock: this.deps.hub.clock, onTimeout: () => undefined },
      );
    }
  }

  private onLinkState(state: LinkState, error?: Error): void {
    if (state === "open") {
      if (this.wasOpen) this.counters.reconnects++;
      this.wasOpen = true;
      this.log.info("Link open");
      this.wakePoll?.(); // poll at once rather than at the next interval
    } else if (state === "unavailable") {
      this.setAvailable(false, `link to the device unavailable${error ? `: ${error.message}` : ""}`);
    }
  }

  private setAvailable(available: boolean, reason?: string): void {
    if (available === this.available) return;
    this.available = available;
    this.unavailableReason = available ? undefined : reason;
    this.unsettled = available;
    if (available) this.log.info("Available");
    else {
      const level = reason === "stopped" ? "info" : "warn"; // a requested stop is no cause for alarm
      this.log[level]({ reason }, `Unavailable${reason ? `: ${reason}` : ""}`);
      for (const entity of this.entities.values()) this.writer.markUnavailable(entity);
      // Commands waiting for the line would each wait out a timeout on a device that does not answer.
      const drain = this.drain;
      this.drain = new AbortController();
      const why = reason === "stopped" ? "the device stopped" : `the device became unavailable (${reason ?? "no reason given"})`;
      drain.abort(new DeviceError("DEVICE_UNAVAILABLE", this.id, `${why}; the command was not sent`));
    }
    this.deps.hub.bus.fire("device_availability", { deviceId: this.id, available, reason });
  }

  private driverContext(): DriverContext {
    return {
      config: this.config,
      definition: this.definition,
      entities: this.entities,
      transport: this.deps.transport,
      log: this.log,
      report: (readings, attributes) => this.report(readings, attributes),
      rebooted: (info) => {
        this.counters.reboots++;
        const swVersion = info.swVersion === undefined ? undefined : clip(info.swVersion, 64);
        const model = info.model === undefined ? undefined : clip(info.model, 64);
        this.swVersion = swVersion ?? this.swVersion;
        const firmware = this.entities.get(FIRMWARE_ENTITY_KEY);
        if (firmware !== undefined && swVersion !== undefined) this.writer.write(firmware, swVersion);
        // A hello is the device speaking: it is alive, as after any report (a board just flashed or reset
        // says it before its first reading).
        this.unanswered = 0;
        if (!this.available && this.deps.transport.state === "open") this.setAvailable(true);
        this.limiter.log("info", "rebooted", { swVersion }, "Device (re)booted");
        // A device that reboots in a loop is one event per interval, with the count, not one per boot. The
        // first boot (the one opening the port often causes) is not held against it: a reset soon after is told at once.
        const fire = (count: number) => this.deps.hub.bus.fire("device_rebooted", { deviceId: this.id, model, swVersion, count });
        if (this.counters.reboots === 1 || this.eventLimiter.allow("rebooted", fire)) fire(1);
        this.wakePoll?.(); // its outputs were reset: read them again now
      },
      garbage: (frame, why, kind) => {
        this.counters.garbage++;
        if (kind === "checksum") this.counters.checksumFailures++;
        this.limiter.log("debug", "garbage", { frame: clip(Buffer.from(frame).toString("latin1"), 80), why, count: this.counters.garbage }, "Skipped a frame");
      },
      logLimited: (level, key, fields, message) => this.limiter.log(level, `driver ${key}`, fields, message),
      runBlocking: (task, args, signal) => this.deps.hub.addExecutorJobWith(task, args, { signal }),
      currentState: (key) => {
        const entity = this.entities.get(key);
        return entity === undefined ? undefined : this.deps.hub.states.get(entity.entityId)?.state;
      },
    };
  }

  private report(readings: ReadonlyMap<string, RawValue>, attributes?: ReadonlyMap<string, Record<string, unknown>>): void {
    // Anything the device says shows it is alive.
    this.unanswered = 0;
    if (!this.available && this.deps.transport.state === "open") this.setAvailable(true);
    for (const [key, raw] of readings) {
      const entity = this.entities.get(key);
      if (entity === undefined) continue;
      const rejected = this.writer.write(entity, raw, this.activeContext, attributes?.get(key));
      if (rejected === undefined) continue;
      this.counters.badValues++;
      const value = clipJson(raw);
      this.limiter.log("warn", `bad value ${key}`, { entity: key, value, why: rejected, count: this.counters.badValues }, `Skipped a bad reading of ${key}: ${value} (${rejected})`);
    }
    this.settleUnknown();
  }

  /** After the device came back, entities it has not reported (a button, say) are `unknown`, not `unavailable`. */
  private settleUnknown(): void {
    // Only once per return to availability: reports arrive many times a second on some devices.
    if (!this.available || !this.unsettled) return;
    this.unsettled = false;
    const { states } = this.deps.hub;
    for (const entity of this.entities.values()) {
      const current = states.get(entity.entityId);
      if (current === undefined || current.state === STATE_UNAVAILABLE) this.writer.write(entity, null);
    }
  }
}
