/**
 * What a model's simulator is to the engine: the contract devices/<model>/simulator.ts meets, so that
 * `port: sim` and `hearth sim` run it on a real pseudo-terminal (or a probe folder) like a device.
 */

/** A simulator as the engine runs it: bytes from the host in, bytes to the host through `port`. */
export interface Simulator {
  start(): void;
  stop(): void;
  receive(bytes: Uint8Array): void;
}

/** The host as a simulator sees it: a pseudo-terminal's master side. */
export interface SimulatorPort {
  /** Sends bytes to the host; resolves once the kernel has taken them (a simulator that need not keep pace ignores it). */
  write(bytes: Uint8Array): void | Promise<void>;
  /** Bytes sent that no one has read from the port yet, so a player can wait while no one has it open. */
  unread?(): number;
}

/** Makes a serial model's simulator, writing to the host through `port`. */
export type SimulatorFactory = (port: SimulatorPort, options: Record<string, unknown>) => Simulator;

/** A simulated sysfs device: a probe folder in a temporary sysfs-like root, for `port: sim`. */
export interface ProbeSimulator {
  /** The probe's folder (absolute path): the device's port while it runs. */
  readonly folder: string;
  start(): void;
  stop(): void;
}

/** Makes the simulator of a model read through sysfs files rather than a serial line (no pty). */
export type ProbeSimulatorFactory = (options: Record<string, unknown>) => ProbeSimulator;

/**
 * How much of what it was sent a simulator keeps for tests to look back on (its requests, commands or
 * lines): the newest this many. A simulator may run for as long as hearth does (`port: sim`, `hearth sim`),
 * so its record must not grow with it.
 */
export const SIMULATOR_RECORD_MAX = 1000;

/** How much a simulator of hearth itself keeps (`hearth run`, `hearth sim`): enough to see the latest. */
export const SERVICE_RECORD_MAX = 16;

let recordMax = SIMULATOR_RECORD_MAX;

/**
 * How many entries every simulator of this process keeps from now on. Tests read the records and keep
 * the default; hearth's own processes, where nobody reads them, keep SERVICE_RECORD_MAX: a thousand
 * requests to each of five Modbus meters held for nothing is memory that grows for an hour before it
 * stops, which looks like a leak to anyone watching the process (the soak benchmark did).
 */
export function keepSimulatorRecords(max: number): void {
  recordMax = max;
}

/** Adds `entry` to a simulator's record of what it was sent, the oldest going past the limit in force. */
export function keepRecord<T>(record: T[], entry: T, max = recordMax): void {
  record.push(entry);
  if (record.length > max) record.splice(0, record.length - max);
}
