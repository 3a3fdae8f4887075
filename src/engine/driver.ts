import type { DeviceDefinition } from "../config/device-definition.ts";
import type { DeviceConfig } from "../config/schema.ts";
import type { ExecutorTask } from "../core/executor/registered-task.ts";
import type { LimitedLevel } from "../core/log-limiter.ts";
import type { Logger } from "../core/logger.ts";
import type { EntityCommand } from "../entities/commands.ts";
import type { Entity, RawValue } from "../entities/entity.ts";
import type { Transport } from "./transport.ts";

/** What a driver is given: its device's settings, its transport, and where readings go. */
export interface DriverContext {
  readonly config: DeviceConfig;
  readonly definition: DeviceDefinition;
  readonly entities: ReadonlyMap<string, Entity>;
  readonly transport: Transport;
  readonly log: Logger;
  /** New readings, by entity key; `attributes` adds state attributes to some (the time a DSMR telegram stamped a reading with). */
  report(readings: ReadonlyMap<string, RawValue>, attributes?: ReadonlyMap<string, Record<string, unknown>>): void;
  /** The device said it (re)booted. */
  rebooted(info: { model?: string; swVersion?: string }): void;
  /** A frame that made no sense: counted and skipped; `checksum` when its checksum was wrong (counted apart too). */
  garbage(frame: Uint8Array, why: string, kind?: "checksum"): void;
  /** Logs a line rate-limited by `key` (a kind of line, never outside input): a device may repeat anything thousands of times. */
  logLimited(level: LimitedLevel, key: string, fields: Record<string, unknown>, message: string): void;
  /** Runs a blocking function on the executor (a sysfs read), abandoned when `signal` fires. */
  runBlocking<Args extends unknown[], Result>(task: ExecutorTask<Args, Result>, args: Args, signal: AbortSignal): Promise<Result>;
  /** The current state of an entity (for toggles). */
  currentState(key: string): string | undefined;
}

/**
 * A protocol's half of a device: turns frames into readings and commands into frames. The engine
 * calls `poll` and `execute` one at a time (the device's semaphore) with a signal that fires at the
 * command timeout; a driver rejects with that signal's reason when it fires.
 */
export interface Driver {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Reads every entity once (a poll). */
  poll(signal: AbortSignal): Promise<void>;
  /** Carries out one validated command. */
  execute(entity: Entity, command: EntityCommand, signal: AbortSignal): Promise<void>;
}

/** Makes a driver for a device of its protocol. */
export type DriverFactory = (context: DriverContext) => Driver;
