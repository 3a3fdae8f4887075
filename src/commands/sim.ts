import type { ModelCatalogue } from "../engine/catalogue.ts";
import { type SimulatedPort, startSimulator } from "../engine/configured-ports.ts";
import { DEFAULT_REPLAY_RATE, type ReplayRate, ReplaySimulator, readCapture } from "../engine/replay.ts";
import type { ProbeSimulator } from "../engine/simulator.ts";
import type { Output } from "./output.ts";

/** What `hearth sim` is given on its command line. */
export interface SimOptions {
  count?: string;
  interval?: string;
  /** A capture to play instead of a model's simulator. */
  replay?: string;
  /** Lines a second, for a replay. */
  rate?: string;
  /** The baud rate a replay is paced at. */
  baud?: string;
  loop?: boolean;
}

/**
 * `hearth sim <model> [--count N] [--interval MS]`: runs a model's simulator and prints one port per
 * line (configure it as a device's port): a new pseudo-terminal for a serial model, a probe folder in
 * a temporary sysfs-like root for a 1-Wire one. `hearth sim --replay CAPTURE` plays a capture instead
 * (replayCommand). Runs until SIGINT or SIGTERM, then removes what it made.
 */
export async function simCommand(catalogue: ModelCatalogue, model: string | undefined, options: SimOptions, output: Output): Promise<number> {
  if (options.replay !== undefined) {
    if (model !== undefined) {
      output.err(`hearth sim: name a model or --replay a capture, not both (got ${model} and --replay ${options.replay})\n`);
      return 2;
    }
    return replayCommand(options.replay, options, output);
  }
  const replayOnly = [options.rate === undefined ? [] : ["--rate"], options.baud === undefined ? [] : ["--baud"], options.loop ? ["--loop"] : []].flat();
  if (replayOnly.length > 0) {
    output.err(`hearth sim: ${replayOnly.join(", ")} go with --replay CAPTURE\n`);
    return 2;
  }
  const simulated = catalogue.simulated();
  if (model === undefined || !simulated.includes(model)) {
    output.err(`hearth sim: name a model with a simulator: ${simulated.join(", ")}, or --replay a capture\n`);
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
  const stopped = stopSignal();
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
  await stayUntil(stopped);
  for (const sim of probes) sim.stop();
  await Promise.all(running.map((s) => s.stop()));
  return 0;
}

/**
 * `hearth sim --replay CAPTURE [--baud N | --rate LINES] [--loop]`: plays a capture file onto a new
 * pseudo-terminal and prints its path. Playing starts once someone reads the port and pauses while no one
 * does; at the end (without --loop) it says so on stderr and keeps the port open until SIGINT or SIGTERM.
 */
async function replayCommand(file: string, options: SimOptions, output: Output): Promise<number> {
  if (options.count !== undefined || options.interval !== undefined) {
    output.err("hearth sim: --count and --interval are for a model's simulator, not --replay\n");
    return 2;
  }
  const rate = replayRate(options, output);
  if (rate === undefined) return 2;
  let size: number;
  try {
    size = (await readCapture(file)).length; // up front: a missing file is a usage error, before any pty
  } catch (err) {
    output.err(`hearth sim: ${(err as Error).message}\n`);
    return 2;
  }
  const stopped = stopSignal();
  let player: ReplaySimulator | undefined;
  const sim = startSimulator((port) => {
    player = new ReplaySimulator(port, { file, rate, loop: options.loop === true });
    return player;
  });
  output.out(`${sim.pty.path}\n`);
  void player?.finished.then(
    () => output.err(`hearth sim: played all of ${file} (${size} bytes); the port stays open until Ctrl-C\n`),
    (err) => output.err(`hearth sim: ${(err as Error).message}\n`),
  );
  await stayUntil(stopped);
  await sim.stop();
  return 0;
}

/** The pace of a replay from --rate (lines a second) or --baud, or undefined after saying what is wrong. */
function replayRate(options: SimOptions, output: Output): ReplayRate | undefined {
  if (options.rate !== undefined && options.baud !== undefined) {
    output.err("hearth sim: --rate (lines a second) or --baud (bytes at that line speed), not both\n");
    return undefined;
  }
  if (options.rate !== undefined) {
    const lines = Number(options.rate);
    if (!Number.isFinite(lines) || lines <= 0 || lines > 1_000_000) {
      output.err(`hearth sim: --rate expects lines a second, a number above 0, got ${JSON.stringify(options.rate)}\n`);
      return undefined;
    }
    return { linesPerSecond: lines };
  }
  if (options.baud !== undefined) {
    const baud = Number(options.baud);
    if (!Number.isFinite(baud) || baud < 50 || baud > 4_000_000) {
      output.err(`hearth sim: --baud expects a baud rate from 50 to 4000000, got ${JSON.stringify(options.baud)}\n`);
      return undefined;
    }
    return { baud, bitsPerByte: 10 };
  }
  return DEFAULT_REPLAY_RATE;
}

/** Resolves at SIGINT or SIGTERM; installed first, since whoever reads the printed path may signal at once. */
function stopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
}

/** Keeps the process alive until `stopped`. */
async function stayUntil(stopped: Promise<void>): Promise<void> {
  const keepAlive = setInterval(() => {}, 1 << 30);
  await stopped;
  clearInterval(keepAlive);
}
