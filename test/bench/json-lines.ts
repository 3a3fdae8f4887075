/**
 * The devices suite's JSON-lines rows (`npm run bench -- devices`): a firmware hearth was not written for,
 * described by a user's model, streaming 100 JSON lines a second with 10 entities. hearth's CPU per line,
 * against parsing the same lines with JSON.parse alone in the same run (the limit), three ways:
 * 1. the whole process while the firmware (another process, on a pty) streams: the serial path (reader
 *    Worker, ring, framing), the driver and the 10 state writes, and whatever else the loop does; also
 *    against a bare reader of the same stream in the same run (Bun's own reader and JSON.parse), since at
 *    one line per wake-up most of the cost is being woken, which JSON.parse in a loop never pays;
 * 2. the engine alone: the same lines handed to the device as frames, no serial I/O (the driver and the
 *    10 state writes, state_changed events included);
 * 3. the driver alone: frame to readings (checksum, patterns, JSON, paths, value mapping).
 */
import { closeSync, constants, openSync } from "node:fs";
import { builtInModels } from "../../src/catalogue.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { Hub } from "../../src/core/hub.ts";
import { callback } from "../../src/core/job.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { catalogueOf, checkedDefinition } from "../../src/engine/catalogue.ts";
import { ConfiguredPorts, serialTransports } from "../../src/engine/configured-ports.ts";
import { Device } from "../../src/engine/device.ts";
import type { DriverContext } from "../../src/engine/driver.ts";
import { LineDriver } from "../../src/engine/line/driver.ts";
import { DeviceManager } from "../../src/engine/manager.ts";
import { DRIVERS } from "../../src/engine/protocols.ts";
import type { Transport } from "../../src/engine/transport.ts";
import { Entity } from "../../src/entities/entity.ts";
import { openPty } from "../../src/serial/pty.ts";
import { type BenchResult, compared } from "./result.ts";

const MEASURE_SECONDS = Number(process.env.HEARTH_BENCH_SECONDS ?? 10);
const LINES_PER_SECOND = 100;
const WARM_UP_SECONDS = 2;
/** Lines handed straight to the engine and the driver, per pass. */
const IN_LOOP_LINES = 5000;
const PASSES = 10;

/** The i-th line of the firmware: 10 values in nested objects, each changing from line to line as a sensor's do. */
function jsonLine(i: number): string {
  const w = (period: number, amplitude: number) => Math.sin(i / period) * amplitude;
  return JSON.stringify({
    env: { t: +(21.5 + w(50, 2)).toFixed(2), h: +(45 + w(70, 5)).toFixed(1), p: +(1013.2 + w(300, 3)).toFixed(1) },
    air: { pm1: 3 + (i % 4), pm25: 5 + (i % 7), pm10: 8 + (i % 9), co2: 600 + (i % 50) },
    power: { v: +(3.3 + w(20, 0.01)).toFixed(3), rssi: -60 - (i % 10) },
    seq: i,
  });
}

/** The model a user would write for that firmware. */
const MODEL = {
  model: "bench-json",
  name: "Bench JSON-lines station",
  manufacturer: "hearth bench",
  protocol: "line",
  serial: { baud: 115200 },
  line: { format: "json" },
  poll_interval: 5,
  entities: [
    { key: "temperature", kind: "sensor", unit: "°C", precision: 1, read: "env.t" },
    { key: "humidity", kind: "sensor", unit: "%", precision: 1, read: "env.h" },
    { key: "pressure", kind: "sensor", unit: "hPa", read: "env.p" },
    { key: "pm1", kind: "sensor", read: "air.pm1" },
    { key: "pm25", kind: "sensor", read: "air.pm25" },
    { key: "pm10", kind: "sensor", read: "air.pm10" },
    { key: "co2", kind: "sensor", unit: "ppm", read: "air.co2" },
    { key: "voltage", kind: "sensor", unit: "mV", read: "power.v", scale: 1000 },
    { key: "rssi", kind: "sensor", unit: "dBm", read: "power.rssi" },
    { key: "seq", kind: "sensor", read: "seq" },
  ],
};

/** A child process writing jsonLine(0), jsonLine(1), … to fd 3 at `rate` lines/s in 10 ms bursts; "go" on stdout once the warm-up is over. */
const FIRMWARE = `
const fs = require("node:fs");
const [rate, seconds, warmUp] = process.argv.slice(-3).map(Number);
const jsonLine = ${jsonLine.toString()};
const started = Date.now();
let sent = 0;
let measuring = false;
const timer = setInterval(() => {
  const elapsed = (Date.now() - started) / 1000;
  let text = "";
  while (sent < elapsed * rate) text += jsonLine(sent++) + "\\n";
  if (text !== "") fs.writeSync(3, text);
  if (!measuring && elapsed >= warmUp) { measuring = true; process.stdout.write("go\\n"); }
  if (elapsed >= warmUp + seconds) clearInterval(timer);
}, 10);
`;

function cpuMicros(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return u.user + u.system;
}

/** Row 1: this process's CPU per line while the firmware streams into a device run as the service runs it. */
async function streamed(): Promise<{ perLine: number; lines: number }> {
  const definition = checkedDefinition(MODEL, "bench/bench-json.yaml");
  const catalogue = catalogueOf(builtInModels(), [{ definition, source: "bench/bench-json.yaml" }]);
  const pty = openPty();
  const log = silentLogger();
  const hub = new Hub({ log });
  const manager = new DeviceManager({ hub, log, nodeId: "bench", catalogue, transports: serialTransports({ hub, log }), ports: new ConfiguredPorts() });
  try {
    await manager.setup([{ id: "station", model: "bench-json", port: pty.path, options: {} }]);
    await hub.start();
    let lines = 0;
    const off = hub.bus.listen(
      "state_changed",
      callback((e) => {
        if (e.data.entityId === "sensor.station_seq") lines++;
      }),
    );
    const writer = Bun.spawn([process.execPath, "-e", FIRMWARE, String(LINES_PER_SECOND), String(MEASURE_SECONDS), String(WARM_UP_SECONDS)], {
      stdio: ["ignore", "pipe", "inherit", pty.masterFd],
    });
    if ((await writer.stdout.getReader().read()).done) throw new Error(`the JSON-lines firmware ended early (exit ${await writer.exited})`); // else "go"
    Bun.gc(true);
    const before = lines;
    const cpu = process.cpuUsage();
    await writer.exited;
    await Bun.sleep(100); // the last burst read
    const micros = cpuMicros(cpu);
    const measured = lines - before;
    off();
    const { garbage, badValues } = manager.device("station")!.stats;
    const expected = LINES_PER_SECOND * MEASURE_SECONDS;
    if (measured < expected * 0.9) throw new Error(`the device read ${measured} lines, expected about ${expected}`);
    if (garbage > 0 || badValues > 0) throw new Error(`${garbage} lines were garbage and ${badValues} values bad: the model does not fit the firmware`);
    return { perLine: micros / measured, lines: measured };
  } finally {
    await manager.stop();
    await hub.stop();
    await pty.close();
  }
}

/**
 * The floor of row 1: the same firmware, the same pty and the same pacing, read in this process by the
 * least a program can do: Bun's own reader (Bun.file(fd).stream(), epoll on the loop thread, no Worker),
 * the bytes cut into lines and each line JSON.parsed. What a wake-up per line costs whoever reads.
 */
async function bareReader(): Promise<{ perLine: number; lines: number }> {
  const pty = openPty();
  const fd = openSync(pty.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  let lines = 0;
  let sink = 0;
  const decoder = new TextDecoder();
  const reading = (async () => {
    let rest = "";
    for await (const chunk of Bun.file(fd).stream()) {
      const text = rest + decoder.decode(chunk, { stream: true });
      const cut = text.split("\n");
      rest = cut.pop()!;
      for (const line of cut) {
        sink += (JSON.parse(line) as { seq: number }).seq;
        lines++;
      }
    }
  })().catch(() => {}); // ends when the fd is closed
  try {
    const writer = Bun.spawn([process.execPath, "-e", FIRMWARE, String(LINES_PER_SECOND), String(MEASURE_SECONDS), String(WARM_UP_SECONDS)], {
      stdio: ["ignore", "pipe", "inherit", pty.masterFd],
    });
    if ((await writer.stdout.getReader().read()).done) throw new Error(`the JSON-lines firmware ended early (exit ${await writer.exited})`);
    Bun.gc(true);
    const before = lines;
    const cpu = process.cpuUsage();
    await writer.exited;
    await Bun.sleep(100);
    const micros = cpuMicros(cpu);
    const measured = lines - before;
    if (measured < LINES_PER_SECOND * MEASURE_SECONDS * 0.9 || sink === 0) throw new Error(`the bare reader read ${measured} lines`);
    return { perLine: micros / measured, lines: measured };
  } finally {
    closeSync(fd);
    await pty.close();
    await Promise.race([reading, Bun.sleep(1000)]);
  }
}

/** A transport that hands the frames it is given to its listener: the engine with no serial I/O. */
function handTransport(): { transport: Transport; push: (frame: Uint8Array) => void } {
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
  return { transport, push: (frame) => listener?.(frame) };
}

/** The best CPU per line of PASSES passes of `run` over the frames (the first passes warm the JIT up). */
function bestPerLine(frames: readonly Uint8Array[], run: (frame: Uint8Array) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < PASSES; pass++) {
    Bun.gc(true);
    const cpu = process.cpuUsage();
    for (const f of frames) run(f);
    best = Math.min(best, cpuMicros(cpu) / frames.length);
  }
  return best;
}

/** Rows 2 and 3: the engine (a device with its driver and state writes) and the driver alone, the lines handed to them in the loop. */
async function inLoop(frames: readonly Uint8Array[]): Promise<{ engine: number; driver: number }> {
  const definition = checkedDefinition(MODEL, "bench/bench-json.yaml");
  const config = { id: "station", model: "bench-json", port: "(in the loop)", options: {} } as DeviceConfig;
  const log = silentLogger();
  const hub = new Hub({ log });
  const { transport, push } = handTransport();
  const device = new Device({ hub, log, nodeId: "bench", config, definition, transport, driverFactory: DRIVERS.line });
  await hub.start();
  await device.start();
  const engine = bestPerLine(frames, push);
  if (device.stats.garbage > 0 || device.values().seq !== frames.length - 1) throw new Error("the engine did not read the lines");
  await device.stop();
  await hub.stop();

  const hand = handTransport();
  let readings = 0;
  const context: DriverContext = {
    config,
    definition,
    entities: new Map(definition.entities.map((d) => [d.key, new Entity({ description: d, nodeId: "bench", deviceId: "station" })])),
    transport: hand.transport,
    log,
    report: (r) => void (readings += r.size),
    rebooted: () => {},
    garbage: (_frame, why) => {
      throw new Error(`a bench line was garbage: ${why}`);
    },
    logLimited: () => {},
    runBlocking: () => Promise.reject(new Error("no executor here")),
    currentState: () => undefined,
  };
  const driver = new LineDriver(context);
  await driver.start();
  const perLine = bestPerLine(frames, hand.push);
  await driver.stop();
  if (readings !== frames.length * PASSES * 10) throw new Error(`the driver made ${readings} readings`);
  return { engine, driver: perLine };
}

/** The limit: JSON.parse of the same lines alone, best CPU per line of PASSES passes. */
function parseAlone(lines: readonly string[]): number {
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    const cpu = process.cpuUsage();
    for (let r = 0; r < 5; r++) for (const l of lines) sink += (JSON.parse(l) as { seq: number }).seq;
    best = Math.min(best, cpuMicros(cpu) / lines.length / 5);
  }
  if (sink === 0) throw new Error("JSON.parse parsed nothing");
  return best;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The JSON-lines rows of the devices suite. */
export async function jsonLines(): Promise<BenchResult[]> {
  const { perLine, lines } = await streamed();
  const bare = await bareReader();
  const text = Array.from({ length: IN_LOOP_LINES }, (_, i) => jsonLine(i));
  const frames = text.map((l) => new TextEncoder().encode(l));
  const { engine, driver } = await inLoop(frames);
  const parse = parseAlone(text);
  const limit = { name: "JSON.parse of the same lines alone", value: round(parse, 3) };
  const label = `JSON-lines device, ${LINES_PER_SECOND} lines/s, 10 entities`;
  return [
    { name: `${label}: lines read`, value: lines, unit: "lines" },
    compared({ name: `${label}: CPU per line, whole process`, value: round(perLine), unit: "µs/line", limit, goal: 3 }),
    compared({
      name: `${label}: CPU per line, whole process, against a bare reader`,
      value: round(perLine),
      unit: "µs/line",
      limit: { name: "Bun.file(fd).stream() + JSON.parse, same pty and pacing", value: round(bare.perLine) },
      goal: 3,
    }),
    compared({ name: `${label}: CPU per line, engine alone (no serial I/O)`, value: round(engine), unit: "µs/line", limit }),
    compared({ name: `${label}: CPU per line, driver alone`, value: round(driver), unit: "µs/line", limit }),
  ];
}
