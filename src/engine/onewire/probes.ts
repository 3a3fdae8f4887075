import { readdir } from "node:fs/promises";
import { isAbsolute, join } from "node:path";

/** Where Linux's w1 bus master lists its slaves. */
export const DEFAULT_SYSFS_ROOT = "/sys/bus/w1/devices";

/** The DS18B20's family code: its ids start `28-`. */
export const DS18B20_FAMILY = "28";

/** The ids of the probes of a family under a sysfs root, sorted (no probes, or no w1 bus: none). */
export async function discoverProbes(root = DEFAULT_SYSFS_ROOT, family = DS18B20_FAMILY): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(`${family}-`)).sort();
}

/** The `w1_slave` path of a configured port: a probe id under `root`, or a probe folder's absolute path. */
export function w1SlavePath(port: string, root = DEFAULT_SYSFS_ROOT): string {
  return join(isAbsolute(port) ? port : join(root, port), "w1_slave");
}
