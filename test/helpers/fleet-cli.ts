/**
 * `hearth fleet` as a user runs it (`bun src/cli.ts fleet`), from a desk whose own configuration names no
 * broker of the fleet (the brokers come as --broker), for the tests that read what it prints and its exit code.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

export interface FleetRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `hearth fleet --config CONFIG args` and collects what it printed and its exit code. */
export async function runFleetWith(config: string, args: readonly string[]): Promise<FleetRun> {
  const child = Bun.spawn([process.execPath, join(ROOT, "src/cli.ts"), "fleet", "--config", config, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** Runs `hearth fleet --broker URL… args` with a desk config written in `dir`. */
export function runFleet(dir: string, brokers: readonly string[], ...args: string[]): Promise<FleetRun> {
  const config = join(dir, "desk.yaml");
  writeFileSync(config, "node_id: desk\n");
  return runFleetWith(config, [...brokers.flatMap((b) => ["--broker", b]), ...args]);
}

/** `check` run again until it holds (each run of hearth fleet takes its own time), or an error after `ms`. */
export async function eventually(check: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await Bun.sleep(100);
  }
}

/** A hearth.yaml for board `node` on the brokers `url` (one, or a YAML list), with one simulated hearth-io board. */
export function boardConfig(node: string, url: string, devices = "  - { id: relays, model: hearth-io, port: sim }\n"): string {
  return `node_id: ${node}\nmqtt:\n  url: ${url}\n  discovery: { enabled: false }\ndevices:\n${devices}`;
}
