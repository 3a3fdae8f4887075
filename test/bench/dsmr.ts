/**
 * The devices suite's DSMR rows (`npm run bench -- devices`): a smart meter on its P1 port sending one
 * telegram a second (DSMR 5.0's rate, ~1 KB, 28 entities). hearth's CPU per telegram against the CRC-16
 * computed alone over the same bytes (the limit), as the JSON-lines rows do it:
 * 1. the whole process while the meter (another process, on a pty) sends: the serial path (reader Worker,
 *    ring, bracketed framing), the driver and the state writes, and whatever else the loop does; also
 *    against a bare reader of the same stream in the same run (Bun's own reader, cut at "!…\r\n", the CRC
 *    checked), since at one telegram per wake-up being woken is most of the cost;
 * 2. the driver alone: frame to readings (CRC, lines, OBIS mapping, units, scales).
 */
import { closeSync, constants, openSync } from "node:fs";
import { DsmrP1Simulator } from "../../devices/dsmr-p1/simulator.ts";
import { builtInCatalogue } from "../../src/catalogue.ts";
import type { TelegramDeviceDefinition } from "../../src/config/device-definition.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { Hub } from "../../src/core/hub.ts";
import { callback } from "../../src/core/job.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { ConfiguredPorts, serialTransports } from "../../src/engine/configured-ports.ts";
import type { DriverContext } from "../../src/engine/driver.ts";
import { DeviceManager } from "../../src/engine/manager.ts";
import { crc16Arc } from "../../src/engine/telegram/crc.ts";
import { TelegramDriver } from "../../src/engine/telegram/driver.ts";
import type { Transport } from "../../src/engine/transport.ts";
import { Entity } from "../../src/entities/entity.ts";
import { openPty } from "../../src/serial/pty.ts";
import { type BenchResult, compared } from "./result.ts";

const MEASURE_SECONDS = Number(process.env.HEARTH_BENCH_SECONDS ?? 10);
const WARM_UP_SECONDS = 2;
const TELEGRAMS_PER_SECOND = 1;
const IN_LOOP_TELEGRAMS = 2000;
const PASSES = 10;

/** `count` telegrams of a simulated meter, each with its tariff-2 total higher than the last. */
function telegrams(count: number): Uint8Array[] {
  const sim = new DsmrP1Simulator({ write: () => {} });
  sim.phasePower = [600_000, 600_000, 600_000]; // 0.5 kWh a telegram: every telegram changes the total
  return Array.from({ length: count }, () => sim.next());
}

/** A child process writing the telegrams given on stdin (JSON, latin1 strings) to fd 3, `rate` a second; "go" on stdout after the warm-up. */
const METER = `
const fs = require("node:fs");
const [rate, seconds, warmUp] = process.argv.slice(-3).map(Number);
const all = JSON.parse(fs.readFileSync(0, "utf8")).map((t) => Buffer.from(t, "latin1"));
const started = Date.now();
let sent = 0;
let measuring = false;
const timer = setInterval(() => {
  const elapsed = (Date.now() - started) / 1000;
  while (sent < elapsed * rate && sent < all.length) fs.writeSync(3, all[sent++]);
  if (!measuring && elapsed >= warmUp) { measuring = true; process.stdout.write("go\\n"); }
  if (elapsed >= warmUp + seconds) clearInterval(timer);
}, 10);
`;

function cpuMicros(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return u.user + u.system;
}

function spawnMeter(masterFd: number, sent: Uint8Array[]) {
  const meter = Bun.spawn([process.execPath, "-e", METER, String(TELEGRAMS_PER_SECOND), String(MEASURE_SECONDS), String(WARM_UP_SECONDS)], {
    stdio: [new Blob([JSON.stringify(sent.map((t) => Buffer.from(t).toString("latin1")))]), "pipe", "inherit", masterFd],
  });
  return meter;
}

/** Measures this process's CPU from the meter's "go" to its end; `count` tells how many telegrams were read. */
async function measured(meter: ReturnType<typeof spawnMeter>, count: () => number): Promise<{ micros: number; telegrams: number }> {
  if ((await meter.stdout.getReader().read()).done) throw new Error(`the meter ended early (exit ${await meter.exited})`);
  Bun.gc(true);
  const before = count();
  const cpu = process.cpuUsage();
  await meter.exited;
  await Bun.sleep(100); // the last telegram read
  return { micros: cpuMicros(cpu), telegrams: count() - before };
}

/** Row 1: the whole process while the meter sends into a dsmr-p1 device run as the service runs it. */
async function streamed(sent: Uint8Array[]): Promise<{ perTelegram: number; telegrams: number }> {
  const pty = openPty();
  const log = silentLogger();
  const hub = new Hub({ log });
  const manager = new DeviceManager({ hub, log, nodeId: "bench", catalogue: builtInCatalogue(), transports: serialTransports({ hub, log }), ports: new ConfiguredPorts() });
  try {
    await manager.setup([{ id: "meter", model: "dsmr-p1", port: pty.path, options: {} }]);
    await hub.start();
    let read = 0;
    const off = hub.bus.listen(
      "state_changed",
      callback((e) => {
        if (e.data.entityId === "sensor.meter_energy_delivered_tariff2") read++;
      }),
    );
    const { micros, telegrams } = await measured(spawnMeter(pty.masterFd, sent), () => read);
    off();
    const { garbage, badValues } = manager.device("meter")!.stats;
    if (telegrams < TELEGRAMS_PER_SECOND * MEASURE_SECONDS * 0.8) throw new Error(`the device read ${telegrams} telegrams (${garbage} garbage)`);
    if (garbage > 0 || badValues > 0) throw new Error(`${garbage} telegrams were garbage and ${badValues} values bad`);
    return { perTelegram: micros / telegrams, telegrams };
  } finally {
    await manager.stop();
    await hub.stop();
    await pty.close();
  }
}

/** The floor of row 1: the same meter, pty and pacing, read by Bun's own reader, cut at "\r\n" after "!", the CRC checked. */
async function bareReader(sent: Uint8Array[]): Promise<{ perTelegram: number }> {
  const pty = openPty();
  const fd = openSync(pty.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  let read = 0;
  const reading = (async () => {
    let rest = Buffer.alloc(0);
    for await (const chunk of Bun.file(fd).stream()) {
      rest = Buffer.concat([rest, chunk]);
      for (let bang = rest.indexOf(0x21); bang >= 0 && rest.length >= bang + 7; bang = rest.indexOf(0x21)) {
        const start = rest.indexOf(0x2f);
        if (crc16Arc(rest.subarray(start, bang + 1)) === Number.parseInt(rest.subarray(bang + 1, bang + 5).toString("latin1"), 16)) read++;
        rest = rest.subarray(bang + 7);
      }
    }
  })().catch(() => {}); // ends when the fd is closed
  try {
    const { micros, telegrams } = await measured(spawnMeter(pty.masterFd, sent), () => read);
    if (telegrams < TELEGRAMS_PER_SECOND * MEASURE_SECONDS * 0.8) throw new Error(`the bare reader read ${telegrams} telegrams`);
    return { perTelegram: micros / telegrams };
  } finally {
    closeSync(fd);
    await pty.close();
    await Promise.race([reading, Bun.sleep(1000)]);
  }
}

/** The best CPU per telegram of PASSES passes of `run` over the frames. */
function best(frames: readonly Uint8Array[], run: (frame: Uint8Array) => void): number {
  let least = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < PASSES; pass++) {
    Bun.gc(true);
    const cpu = process.cpuUsage();
    for (const f of frames) run(f);
    least = Math.min(least, cpuMicros(cpu) / frames.length);
  }
  return least;
}

/** Row 2: the driver alone, frames (as the framer cuts them: CR LF removed) handed to it in the loop. */
async function driverAlone(frames: readonly Uint8Array[]): Promise<number> {
  const definition = builtInCatalogue().definition("dsmr-p1") as TelegramDeviceDefinition;
  const config = { id: "meter", model: "dsmr-p1", port: "(in the loop)", options: {} } as DeviceConfig;
  let listener: ((frame: Uint8Array) => void) | undefined;
  const transport: Transport = {
    path: "(in the loop)",
    state: "open",
    open: async () => {},
    close: async () => {},
    write: async () => {},
    onFrame: (l) => {
      listener = l;
      return () => void (listener = undefined);
    },
    onState: () => () => {},
  };
  let readings = 0;
  const context: DriverContext = {
    config,
    definition,
    entities: new Map(definition.entities.map((d) => [d.key, new Entity({ description: d, nodeId: "bench", deviceId: "meter" })])),
    transport,
    log: silentLogger(),
    report: (r) => void (readings += r.size),
    rebooted: () => {},
    garbage: (_frame, why) => {
      throw new Error(`a bench telegram was garbage: ${why}`);
    },
    logLimited: () => {},
    runBlocking: () => Promise.reject(new Error("no executor here")),
    currentState: () => undefined,
  };
  const driver = new TelegramDriver(context);
  await driver.start();
  const perTelegram = best(frames, (f) => listener?.(f));
  await driver.stop();
  // Every entity but water (the simulated meter has gas only on its M-Bus).
  if (readings !== frames.length * PASSES * 27) throw new Error(`the driver made ${readings} readings`);
  return perTelegram;
}

/** The limit: CRC-16/ARC of the same telegrams alone (`/` to `!`), best CPU per telegram of PASSES passes. */
function crcAlone(frames: readonly Uint8Array[]): number {
  let sink = 0;
  const ends = frames.map((f) => f.lastIndexOf(0x21) + 1);
  let least = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < PASSES; pass++) {
    const cpu = process.cpuUsage();
    for (let r = 0; r < 5; r++) for (let i = 0; i < frames.length; i++) sink ^= crc16Arc(frames[i]!, ends[i]);
    least = Math.min(least, cpuMicros(cpu) / frames.length / 5);
  }
  if (sink === -1) throw new Error("unreachable");
  return least;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The DSMR rows of the devices suite. */
export async function dsmr(): Promise<BenchResult[]> {
  const sent = telegrams(Math.ceil((MEASURE_SECONDS + WARM_UP_SECONDS + 1) * TELEGRAMS_PER_SECOND));
  const { perTelegram, telegrams: read } = await streamed(sent);
  const bare = await bareReader(sent);
  const frames = telegrams(IN_LOOP_TELEGRAMS).map((t) => t.subarray(0, t.length - 2));
  const driver = await driverAlone(frames);
  const crc = crcAlone(frames);
  const bytes = Math.round(frames.reduce((n, f) => n + f.length, 0) / frames.length);
  const limit = { name: `CRC-16/ARC of the same telegrams alone (${bytes} bytes)`, value: round(crc, 3) };
  const label = `DSMR meter, ${TELEGRAMS_PER_SECOND} telegram/s, 28 entities`;
  return [
    { name: `${label}: telegrams read`, value: read, unit: "telegrams" },
    compared({ name: `${label}: CPU per telegram, whole process`, value: round(perTelegram), unit: "µs/telegram", limit, goal: 5 }),
    compared({
      name: `${label}: CPU per telegram, whole process, against a bare reader`,
      value: round(perTelegram),
      unit: "µs/telegram",
      limit: { name: "Bun.file(fd).stream() + CRC, same pty and pacing", value: round(bare.perTelegram) },
      goal: 5,
    }),
    compared({ name: `${label}: CPU per telegram, driver alone`, value: round(driver), unit: "µs/telegram", limit, goal: 5 }),
  ];
}
