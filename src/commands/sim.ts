import type { ModelCatalogue } from "../engine/catalogue.ts";
import { type SimulatedPort, startSimulator } from "../engine/configured-ports.ts";
import type { ProbeSimulator } from "../engine/simulator.ts";
import type { Output } from "./output.ts";

/**
 * `hearth sim <model> [--count N] [--interval MS]`: runs a model's simulator and prints one port per
 * line (configure it as a device's port): a new pseudo-terminal for a serial model, a probe folder in
 * a temporary sysfs-like root for a 1-Wire one. Runs until SIGINT or SIGTERM, then removes what it made.
 */
export async function simCommand(catalogue: ModelCatalogue, model: string | undefined, options: { count?: string; interval?: string }, output: Output): Promise<number> {
  const simulated = catalogue.simulated();
  if (model === undefined || !simulated.includes(model)) {
    output.err(`hearth sim: name a model with a simulator: ${simulated.join(", ")}\n`);
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
  const probes: ProbeSimulator[] = [];
  const probe = catalogue.get(model)?.probe;
  for (let i = 0; i < count; i++) {
    if (probe !== undefined) {
      // Distinct 1-Wire ids, as probes on one bus have: 28- and 12 hex digits.
      const sim = probe({ ...simOptions, seed: i + 1, probe: `28-${(0xa1b2c3d + i).toString(16).padStart(12, "0")}` });
      sim.start();
      probes.push(sim);
      output.out(`${sim.folder}\n`);
    } else {
      const sim = startSimulator(catalogue.simulator(model), { ...simOptions, seed: i + 1 });
      running.push(sim);
      output.out(`${sim.pty.path}\n`);
    }
  }
  const keepAlive = setInterval(() => {}, 1 << 30);
  await stopped;
  clearInterval(keepAlive);
  for (const sim of probes) sim.stop();
  await Promise.all(running.map((s) => s.stop()));
  return 0;
}
