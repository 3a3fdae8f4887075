import { clip } from "../core/clip.ts";
import type { ConfigEntry, ConfigEntryState } from "../engine/config-entry.ts";
import type { Device } from "../engine/device.ts";

/**
 * Seconds a device may take to be loaded and available, counted from hearth's start or from when the
 * device was set up anew (a reload or a restart), before health calls it unhealthy rather than starting.
 */
export const DEFAULT_HEALTH_GRACE = 30;

/** healthy: everything up; starting: something is not up yet, within its grace; unhealthy: past it. */
export type HealthStatus = "healthy" | "starting" | "unhealthy";

/** One configured device as health reports it. */
export interface DeviceHealth {
  state: ConfigEntryState;
  available: boolean;
  healthy: boolean;
  /** Why it is not healthy. */
  problem?: string;
}

/** What health is judged from. */
export interface HealthSources {
  entries: Iterable<ConfigEntry>;
  connected: boolean;
  /** When hearth started, ms since the epoch. */
  startedAt: number;
  now: number;
  graceS: number;
  /** Why a device became unavailable, as it said when it did. */
  unavailableBecause: (device: Device) => string | undefined;
}

/** The health request's verdict: the status, one line per problem, and each device. */
export function judgeHealth(s: HealthSources): { status: HealthStatus; problems: string[]; devices: Record<string, DeviceHealth> } {
  const problems: string[] = [];
  const devices: Record<string, DeviceHealth> = {};
  let status: HealthStatus = "healthy";
  if (!s.connected) {
    status = "unhealthy";
    problems.push("mqtt: not connected to the broker");
  }
  for (const entry of s.entries) {
    const device = entry.runtime?.device;
    const problem = problemOf(entry, s.unavailableBecause);
    if (problem === undefined) {
      devices[entry.id] = { state: entry.state, available: true, healthy: true };
      continue;
    }
    const left = Math.ceil(s.graceS - (s.now - Math.max(s.startedAt, entry.createdAt)) / 1000);
    const told = left > 0 ? `${problem}; ${left} s of its start-up grace left` : problem;
    if (left > 0 && status === "healthy") status = "starting";
    if (left <= 0) status = "unhealthy";
    problems.push(`${entry.id}: ${told}`);
    devices[entry.id] = { state: entry.state, available: device?.available ?? false, healthy: false, problem: told };
  }
  return { status, problems, devices };
}

/** Why a configured device is not up, or undefined when it is loaded and available. */
function problemOf(entry: ConfigEntry, unavailableBecause: HealthSources["unavailableBecause"]): string | undefined {
  const device = entry.runtime?.device;
  if (entry.state !== "loaded" || device === undefined) return `not loaded (${entry.state})${entry.reason === undefined ? "" : `: ${clip(entry.reason)}`}`;
  if (device.available) return undefined;
  const reason = unavailableBecause(device);
  return `not available: ${reason === undefined ? "it has not answered since it was set up" : clip(reason)}`;
}
