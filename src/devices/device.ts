import type { DeviceDefinition } from "../config/device-definition.ts";
import { clip } from "../core/clip.ts";
import type { DeviceConfig } from "../config/schema.ts";
import type { Context } from "../core/context.ts";
import { isTimeoutError } from "../core/errors.ts";
import type { Hub } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import { Semaphore } from "../core/semaphore.ts";
import { sleep, type Task } from "../core/task.ts";
import { parseCommand } from "../entities/commands.ts";
import { Entity, type RawValue, STATE_UNAVAILABLE } from "../entities/entity.ts";
import { DeviceError } from "./device-error.ts";
import type { Driver, DriverContext, DriverFactory } from "./driver.ts";
import type { FrameLink, LinkState } from "./link.ts";
import { StateWriter } from "./state-writer.ts";
import "./events.ts";

/** Polls missed in a row before a device counts as unavailable. */
export const MISSED_POLLS_UNAVAILABLE = 3;
/** The longest a backed-off poll interval grows, seconds. */
export const MAX_POLL_BACKOFF = 300;

/** Counters of one device, for bridge/info and the tests. */
export interface DeviceStats {
  polls: number;
  pollFailures: number;
  commands: number;
  commandFailures: number;
  timeouts: number;
  garbage: number;
  reboots: number;
}

export interface DeviceDeps {
  hub: Hub;
  log: Logger;
  nodeId: string;
  config: DeviceConfig;
  definition: DeviceDefinition;
  link: FrameLink;
  driverFactory: DriverFactory;
}

/**
 * One configured device at run time: its entities, its driver on its link, a semaphore so one
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
  readonly stats: DeviceStats = { polls: 0, pollFailures: 0, commands: 0, commandFailures: 0, timeouts: 0, garbage: 0, reboots: 0 };
  available = false;
  swVersion: string | undefined;
  missedPolls = 0;

  private readonly deps: DeviceDeps;
  private readonly log: Logger;
  private readonly writer: StateWriter;
  private driver: Driver | undefined;
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
    this.writer = new StateWriter({ states: deps.hub.states });
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

  /** Starts the driver and polling; the link is already opening or open. */
  async start(): Promise<void> {
    const { hub, link } = this.deps;
    for (const entity of this.entities.values()) this.writer.markUnavailable(entity);
    this.driver = this.deps.driverFactory(this.driverContext());
    this.unlisten.push(link.onState((state, error) => this.onLinkState(state, error)));
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
    this.writer.clear();
    this.setAvailable(false, "stopped");
  }

  /**
   * Sends one command to one entity: validated against its kind and range first, then written under
   * the device's semaphore, and bounded by the command timeout. Fails fast when the device is unavailable.
   */
  async command(key: string, value: unknown, options: { context?: Context } = {}): Promise<void> {
    const entity = this.entities.get(key);
    if (entity === undefined) {
      throw new DeviceError("DEVICE_UNKNOWN_ENTITY", this.id, `no entity "${clip(key, 64)}" (entities: ${[...this.entities.keys()].join(", ")})`);
    }
    const command = parseCommand(entity.description, value);
    if (!this.available || this.driver === undefined) {
      throw new DeviceError("DEVICE_UNAVAILABLE", this.id, "the device is unavailable; the command was not sent");
    }
    this.stats.commands++;
    try {
      await this.exclusive(`command ${key}`, async (signal) => {
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
      this.stats.commandFailures++;
      throw err;
    }
  }

  /** Reads every entity now (a `get`), under the semaphore. */
  async refresh(): Promise<void> {
    if (!this.available || this.driver === undefined) {
      throw new DeviceError("DEVICE_UNAVAILABLE", this.id, "the device is unavailable");
    }
    await this.exclusive("poll", (signal) => this.driver!.poll(signal));
  }

  /** Runs one exchange with the device: one at a time, within the command timeout. */
  private async exclusive(what: string, fn: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const { hub } = this.deps;
    const release = await this.semaphore.acquire();
    try {
      await hub.timeout.asyncTimeout(this.timeout, { zone: `device ${this.id}` }).run(fn);
    } catch (err) {
      if (isTimeoutError(err)) {
        this.stats.timeouts++;
        throw new DeviceError("DEVICE_COMMAND_TIMEOUT", this.id, `${what}: no reply within ${this.timeout} s`, { cause: err });
      }
      throw err;
    } finally {
      release();
    }
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    let interval = this.pollInterval;
    for (;;) {
      if (this.deps.link.state === "open" && this.driver !== undefined) {
        this.stats.polls++;
        try {
          await this.exclusive("poll", (s) => this.driver!.poll(s));
          this.missedPolls = 0;
          interval = this.pollInterval;
          this.setAvailable(true);
          this.settleUnknown();
        } catch (err) {
          if (signal.aborted) return;
          this.stats.pollFailures++;
          this.missedPolls++;
          this.log.debug({ err, missed: this.missedPolls }, "Poll failed");
          if (this.missedPolls >= MISSED_POLLS_UNAVAILABLE) {
            this.setAvailable(false, `${this.missedPolls} polls in a row failed: ${(err as Error).message}`);
            interval = Math.min(interval * 2, Math.max(MAX_POLL_BACKOFF, this.pollInterval));
          }
        }
      }
      // ±10% jitter, so that many devices on one interval do not poll together.
      const wait = interval * 1000 * (0.9 + Math.random() * 0.2);
      await new Promise<void>((resolve, reject) => {
        this.wakePoll = resolve;
        sleep(wait, signal).then(resolve, reject);
      });
      this.wakePoll = undefined;
    }
  }

  private onLinkState(state: LinkState, error?: Error): void {
    if (state === "open") {
      this.log.info("Link open");
      this.wakePoll?.(); // poll at once rather than at the next interval
    } else if (state === "unavailable") {
      this.setAvailable(false, `link unavailable${error ? `: ${error.message}` : ""}`);
    }
  }

  private setAvailable(available: boolean, reason?: string): void {
    if (available === this.available) return;
    this.available = available;
    this.unsettled = available;
    if (available) this.log.info("Available");
    else {
      const level = reason === "stopped" ? "info" : "warn"; // a requested stop is no cause for alarm
      this.log[level]({ reason }, `Unavailable${reason ? `: ${reason}` : ""}`);
      for (const entity of this.entities.values()) this.writer.markUnavailable(entity);
    }
    this.deps.hub.bus.fire("device_availability", { deviceId: this.id, available, reason });
  }

  private driverContext(): DriverContext {
    return {
      config: this.config,
      definition: this.definition,
      entities: this.entities,
      link: this.deps.link,
      log: this.log,
      report: (readings, attributes) => this.report(readings, attributes),
      rebooted: (info) => {
        this.stats.reboots++;
        this.swVersion = info.swVersion ?? this.swVersion;
        this.log.info({ swVersion: info.swVersion }, "Device (re)booted");
        this.deps.hub.bus.fire("device_rebooted", { deviceId: this.id, model: info.model, swVersion: info.swVersion });
        this.wakePoll?.(); // its outputs were reset: read them again now
      },
      garbage: (frame, why) => {
        this.stats.garbage++;
        if (this.stats.garbage <= 10 || this.stats.garbage % 1000 === 0) {
          this.log.debug({ frame: Buffer.from(frame).toString("latin1").slice(0, 80), why, count: this.stats.garbage }, "Skipped a frame");
        }
      },
      runBlocking: (task, args, signal) => this.deps.hub.addExecutorJobWith(task, args, { signal }),
      currentState: (key) => {
        const entity = this.entities.get(key);
        return entity === undefined ? undefined : this.deps.hub.states.get(entity.entityId)?.state;
      },
    };
  }

  private report(readings: ReadonlyMap<string, RawValue>, attributes?: ReadonlyMap<string, Record<string, unknown>>): void {
    // Anything the device says shows it is alive.
    this.missedPolls = 0;
    if (!this.available && this.deps.link.state === "open") this.setAvailable(true);
    for (const [key, raw] of readings) {
      const entity = this.entities.get(key);
      if (entity !== undefined) this.writer.write(entity, raw, this.activeContext, attributes?.get(key));
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
