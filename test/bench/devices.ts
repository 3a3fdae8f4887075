/**
 * `npm run bench -- devices`: simulated hearth-io boards polled at 1 Hz, the simulators in a separate
 * process (`hearth sim`) so that the CPU and memory measured here are hearth's alone; the command
 * round trip against a bare write/read round trip on a pty in the same run; and a JSON-lines firmware
 * (a user's model) streaming 100 lines a second with 10 entities, hearth's CPU per line against
 * `JSON.parse` of the same lines.
 */
import { constants, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { builtInCatalogue } from "../../src/catalogue.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { Hub } from "../../src/core/hub.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { ConfiguredPorts, serialTransports } from "../../src/engine/configured-ports.ts";
import { DeviceManager } from "../../src/engine/manager.ts";
import { dsmr } from "./dsmr.ts";
import { jsonLines } from "./json-lines.ts";
import type { BenchResult } from "./result.ts";
import { veDirect } from "./vedirect.ts";

const root = join(import.meta.dir, "..", "..");
const MEASURE_MS = Number(process.env.HEARTH_BENCH_SECONDS ?? 10) * 1000;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Starts `hearth sim hearth-io --count n` in its own process and returns the pty paths it printed. */
async function startSimulators(count: number): Promise<{ paths: string[]; stop: () => Promise<void> }> {
  const child = Bun.spawn([process.execPath, join(root, "src/cli.ts"), "sim", "hearth-io", "--count", String(count), "--interval", "1000"], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let text = "";
  while (text.split("\n").filter(Boolean).length < count) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`hearth sim ended early:\n${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    paths: text.trim().split("\n"),
    stop: async () => {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

async function fleet(count: number): Promise<BenchResult[]> {
  const sims = await startSimulators(count);
  const log = silentLogger();
  const hub = new Hub({ log });
  const manager = new DeviceManager({
    hub,
    log,
    nodeId: "bench",
    catalogue: builtInCatalogue(),
    transports: serialTransports({ hub, log }),
    ports: new ConfiguredPorts(),
  });
  const configs: DeviceConfig[] = sims.paths.map((port, i) => ({ id: `board${i}`, model: "hearth-io", port, poll_interval: 1, options: {} }));
  await manager.setup(configs);
  await hub.start();
  await Bun.sleep(2000); // settle: every board seen, first polls done
  Bun.gc(true);

  const lags: number[] = [];
  const tickMs = 10;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - last - tickMs));
    last = now;
  }, tickMs);
  const cpuBefore = process.cpuUsage();
  const polls = manager.devices().reduce((n, d) => n + d.stats.polls, 0);
  const started = performance.now();
  await Bun.sleep(MEASURE_MS);
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  clearInterval(ticker);
  const pollsDone = manager.devices().reduce((n, d) => n + d.stats.polls, 0) - polls;
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  const cpuShare = ((cpu.user + cpu.system) / 1000 / elapsed) * 100;
  lags.sort((a, b) => a - b);
  const unavailable = manager.devices().filter((d) => !d.available).length;

  await manager.stop();
  await hub.stop();
  await sims.stop();
  if (unavailable > 0) throw new Error(`${unavailable} of ${count} boards were unavailable during the run`);
  const label = `${count} device${count === 1 ? "" : "s"} at 1 Hz`;
  return [
    { name: `${label}: polls/s`, value: round((pollsDone / elapsed) * 1000), unit: "polls/s" },
    { name: `${label}: loop lag p99`, value: round(percentile(lags, 99)), unit: "ms" },
    { name: `${label}: CPU`, value: round(cpuShare), unit: "% of a core", limit: { name: "goal: 10% of a core", value: 10 }, ratio: round(cpuShare / 10), goal: count === 50 ? 1 : undefined },
    { name: `${label}: RSS`, value: round(rssMb), unit: "MB", limit: { name: "goal: 100 MB", value: 100 }, ratio: round(rssMb / 100), goal: count === 50 ? 1 : undefined },
  ];
}

async function roundTrip(): Promise<BenchResult[]> {
  const rounds = 500;
  const sims = await startSimulators(2);
  // Limit: the same exchange by hand: write a command line to the pty, read until its reply.
  // O_NONBLOCK: Bun.file(fd).stream() then reads through Bun's own epoll rather than pread (which a tty refuses).
  const fd = openSync(sims.paths[1]!, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  const reader = Bun.file(fd).stream().getReader();
  const bare: number[] = [];
  let pending = "";
  for (let i = 1; i <= rounds + 50; i++) {
    const t0 = performance.now();
    writeSync(fd, `${i} SET r1=${i % 2}\n`);
    while (!pending.includes(`OK ${i} `)) {
      const { value } = await reader.read();
      pending += new TextDecoder().decode(value);
    }
    pending = pending.slice(pending.indexOf(`OK ${i} `) + 4);
    if (i > 50) bare.push(performance.now() - t0);
  }
  reader.releaseLock();

  const log = silentLogger();
  const hub = new Hub({ log });
  const manager = new DeviceManager({
    hub,
    log,
    nodeId: "bench",
    catalogue: builtInCatalogue(),
    transports: serialTransports({ hub, log }),
    ports: new ConfiguredPorts(),
  });
  await manager.setup([{ id: "board", model: "hearth-io", port: sims.paths[0]!, poll_interval: 3600, options: {} }]);
  await hub.start();
  const device = manager.device("board")!;
  while (!device.available) await Bun.sleep(10);
  const viaHearth: number[] = [];
  for (let i = 1; i <= rounds + 50; i++) {
    const t0 = performance.now();
    await device.command("relay1", i % 2 === 1 ? "ON" : "OFF"); // resolves once the reply's state is set
    if (i > 50) viaHearth.push(performance.now() - t0);
  }
  await manager.stop();
  await hub.stop();
  await sims.stop();
  bare.sort((a, b) => a - b);
  viaHearth.sort((a, b) => a - b);
  const p50 = percentile(viaHearth, 50);
  const bareP50 = percentile(bare, 50);
  return [
    // The goal is absolute (within 2 ms of the bare round trip); as a ratio against the bare p50 of this run:
    {
      name: "command round trip p50",
      value: round(p50, 3),
      unit: "ms",
      limit: { name: "bare pty write/read round trip p50", value: round(bareP50, 3) },
      ratio: round(p50 / bareP50),
      goal: round((bareP50 + 2) / bareP50),
    },
    {
      name: "command round trip p99",
      value: round(percentile(viaHearth, 99), 3),
      unit: "ms",
      limit: { name: "bare pty write/read round trip p99", value: round(percentile(bare, 99), 3) },
      ratio: round(percentile(viaHearth, 99) / percentile(bare, 99)),
    },
  ];
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The devices suite. */
export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const count of [1, 10, 50]) results.push(...(await fleet(count)));
  results.push(...(await roundTrip()));
  results.push(...(await jsonLines()));
  results.push(...(await veDirect()));
  results.push(...(await dsmr()));
  return results;
}
