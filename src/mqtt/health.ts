import { clip } from "../core/clip.ts";
import type { DeviceView } from "../engine/device-view.ts";

/**
 * Seconds a device may take to be loaded and available, counted from hearth's start or from when the
 * device was set up anew (a reload or a restart), before health calls it unhealthy rather than starting.
 */
export const DEFAULT_HEALTH_GRACE = 30;

/** healthy: everything up; starting: something is not up yet, within its grace; unhealthy: past it. */
export type HealthStatus = "healthy" | "starting" | "unhealthy";

/** One configured device as health reports it. */
export interface DeviceHealth {
  state: DeviceView["state"];
  available: boolean;
  healthy: boolean;
  /** Why it is not healthy. */
  problem?: string;
}

/** What health is judged from. */
export interface HealthSources {
  devices: Iterable<DeviceView>;
  connected: boolean;
  /** When hearth started, on the hub's clock (as `now` and each device's `createdAt`). */
  startedAt: number;
  now: number;
  graceS: number;
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
  for (const device of s.devices) {
    const problem = problemOf(device);
    if (problem === undefined) {
      devices[device.id] = { state: device.state, available: true, healthy: true };
      continue;
    }
    const left = Math.ceil(s.graceS - (s.now - Math.max(s.startedAt, device.createdAt)) / 1000);
    const told = left > 0 ? `${problem}; ${left} s of its start-up grace left` : problem;
    if (left > 0 && status === "healthy") status = "starting";
    if (left <= 0) status = "unhealthy";
    problems.push(`${device.id}: ${told}`);
    devices[device.id] = { state: device.state, available: device.available, healthy: false, problem: told };
  }
  return { status, problems, devices };
}

/** Why a configured device is not up, or undefined when it is loaded and available. */
function problemOf(device: DeviceView): string | undefined {
  if (device.state !== "loaded" || !device.running) return `not loaded (${device.state})${device.reason === undefined ? "" : `: ${clip(device.reason)}`}`;
  if (device.available) return undefined;
  const reason = device.unavailableReason;
  return `not available: ${reason === undefined ? "it has not answered since it was set up" : clip(reason)}`;
}
