import { SIMULATORS } from "../../devices/index.ts";
import { type SimulatedPort, startSimulator } from "../devices/ports.ts";
import type { Output } from "./output.ts";

/**
 * `hearth sim <model> [--count N] [--interval MS]`: runs a model's simulator on new pseudo-terminals and
 * prints one path per line (configure it as a device's port); runs until SIGINT or SIGTERM.
 */
export async function simCommand(model: string | undefined, options: { count?: string; interval?: string }, output: Output): Promise<number> {
  if (model === undefined || SIMULATORS[model] === undefined) {
    output.err(`hearth sim: name a model with a simulator: ${Object.keys(SIMULATORS).join(", ")}\n`);
    return 2;
  }
  const count = options.count === undefined ? 1 : Number(options.count);
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    output.err("hearth sim: --count expects a whole number from 1 to 1000\n");
    return 2;
  }
  const simOptions: Record<string, unknown> = {};
  if (options.interval !== undefined) {
    const interval = Number(options.interval);
    if (!Number.isFinite(interval) || interval < 10) {
      output.err("hearth sim: --interval expects milliseconds, at least 10\n");
      return 2;
    }
    simOptions.interval = interval;
  }
  // Handlers first: whoever reads the printed path may signal at once.
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  const running: SimulatedPort[] = [];
  for (let i = 0; i < count; i++) {
    const sim = startSimulator(model, { ...simOptions, seed: i + 1 });
    running.push(sim);
    output.out(`${sim.pty.path}\n`);
  }
  const keepAlive = setInterval(() => {}, 1 << 30);
  await stopped;
  clearInterval(keepAlive);
  await Promise.all(running.map((s) => s.stop()));
  return 0;
}
