/**
 * The devices suite's VE.Direct rows (`npm run bench -- devices`): a SmartSolar charger streaming one
 * text block a second (19 fields, its checksum, a HEX message after every third block), as the
 * victron-mppt model reads it. hearth's CPU per block against the block's checksum computed alone over
 * the same bytes (the limit), as the JSON-lines rows do (json-lines.ts):
 * 1. the whole process while the charger (another process, on a pty) streams: the serial path, the
 *    marker framer, the driver and its state writes, and whatever else the loop does in that second;
 *    also against a bare reader of the same stream in the same run (Bun's own reader, the blocks cut at
 *    their marker and summed), since at one block a second nearly all the cost is being woken;
 * 2. the driver alone: a framed block to readings (HEX messages out, the sum, the fields, the mapping).
 */
import { closeSync, constants, openSync } from "node:fs";
import { builtInModels } from "../../src/catalogue.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { Hub } from "../../src/core/hub.ts";
import { callback } from "../../src/core/job.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { catalogueOf } from "../../src/engine/catalogue.ts";
import { ConfiguredPorts, serialTransports } from "../../src/engine/configured-ports.ts";
import type { DriverContext } from "../../src/engine/driver.ts";
import { DeviceManager } from "../../src/engine/manager.ts";
import { DRIVERS } from "../../src/engine/protocols.ts";
import type { Transport } from "../../src/engine/transport.ts";
import { byteSum, CHECKSUM_MARKER, encodeBlock } from "../../src/engine/vedirect/block.ts";
import { Entity } from "../../src/entities/entity.ts";
import { createFramer } from "../../src/serial/framing/framer.ts";
import { openPty } from "../../src/serial/pty.ts";
import { type BenchResult, compared } from "./result.ts";

const MEASURE_SECONDS = Number(process.env.HEARTH_BENCH_SECONDS ?? 10);
const WARM_UP_SECONDS = 2;
const BLOCKS = 64;
const PASSES = 10;
const IN_LOOP_REPEATS = 50;
const HEX = ":A4F10000200000000B2\n";

/** The i-th block of the charger, as a SmartSolar sends it: the panel power is i, so every block changes a state. */
function block(i: number): Uint8Array {
  return encodeBlock([
    ["PID", "0xA053"],
    ["FW", "161"],
    ["SER#", "HQ2132ABCDE"],
    ["V", String(13420 + (i % 100) * 10)],
    ["I", String(2800 + (i % 7))],
    ["VPV", String(36850 + (i % 13))],
    ["PPV", String(i)],
    ["CS", "3"],
    ["MPPT", "2"],
    ["OR", "0x00000000"],
    ["ERR", "0"],
    ["LOAD", "ON"],
    ["IL", "300"],
    ["H19", "10452"],
    ["H20", String(37 + i)],
    ["H21", "148"],
    ["H22", "52"],
    ["H23", "201"],
    ["HSDS", "215"],
  ]);
}

/** The stream: each block, a HEX message after every third. */
function stream(): Uint8Array[] {
  return Array.from({ length: BLOCKS }, (_, i) => {
    const b = block(i);
    return i % 3 === 2 ? Buffer.concat([b, Buffer.from(HEX, "latin1")]) : b;
  });
}

/** A child process writing the base64 blocks of argv to fd 3, one a second; "go" on stdout once the warm-up is over. */
const CHARGER = `
const fs = require("node:fs");
const [seconds, warmUp, blocks] = process.argv.slice(-3);
const data = blocks.split(",").map((b) => Buffer.from(b, "base64"));
const started = Date.now();
let sent = 0;
let measuring = false;
const send = () => {
  fs.writeSync(3, data[sent % data.length]);
  sent++;
  const elapsed = (Date.now() - started) / 1000;
  if (!measuring && elapsed >= Number(warmUp) - 0.5) { measuring = true; process.stdout.write("go\\n"); }
  if (elapsed >= Number(warmUp) + Number(seconds) - 0.5) clearInterval(timer);
};
const timer = setInterval(send, 1000);
`;

function spawnCharger(fd: number) {
  const blocks = stream()
    .map((b) => Buffer.from(b).toString("base64"))
    .join(",");
  return Bun.spawn([process.execPath, "-e", CHARGER, String(MEASURE_SECONDS), String(WARM_UP_SECONDS), blocks], { stdio: ["ignore", "pipe", "inherit", fd] });
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return u.user + u.system;
}

/** Row 1: this process's CPU per block while the charger streams into a victron-mppt device run as the service runs it. */
async function streamed(): Promise<{ perBlock: number; blocks: number }> {
  const pty = openPty();
  const log = silentLogger();
  const hub = new Hub({ log });
  const manager = new DeviceManager({ hub, log, nodeId: "bench", catalogue: catalogueOf(builtInModels(), []), transports: serialTransports({ hub, log }), ports: new ConfiguredPorts() });
  try {
    await manager.setup([{ id: "charger", model: "victron-mppt", port: pty.path, options: {} } as DeviceConfig]);
    await hub.start();
    let blocks = 0;
    const off = hub.bus.listen(
      "state_changed",
      callback((e) => {
        if (e.data.entityId === "sensor.charger_panel_power") blocks++;
      }),
    );
    const charger = spawnCharger(pty.masterFd);
    if ((await charger.stdout.getReader().read()).done) throw new Error(`the charger ended early (exit ${await charger.exited})`);
    Bun.gc(true);
    const before = blocks;
    const cpu = process.cpuUsage();
    await charger.exited;
    await Bun.sleep(100); // the last block read
    const micros = cpuMicros(cpu);
    const measured = blocks - before;
    off();
    const { garbage } = manager.device("charger")!.stats;
    if (measured < MEASURE_SECONDS - 1) throw new Error(`the device read ${measured} blocks, expected about ${MEASURE_SECONDS}`);
    if (garbage > 0) throw new Error(`${garbage} blocks were garbage`);
    return { perBlock: micros / measured, blocks: measured };
  } finally {
    await manager.stop();
    await hub.stop();
    await pty.close();
  }
}

/** The floor of row 1: the same charger, pty and pacing, read by Bun's own reader, cut at the marker and summed. */
async function bareReader(): Promise<{ perBlock: number; blocks: number }> {
  const pty = openPty();
  const fd = openSync(pty.path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  let blocks = 0;
  let bad = 0;
  const marker = Buffer.from(CHECKSUM_MARKER, "latin1");
  const reading = (async () => {
    let rest = Buffer.alloc(0);
    for await (const chunk of Bun.file(fd).stream()) {
      rest = Buffer.concat([rest, chunk]);
      for (let at = rest.indexOf(marker); at >= 0 && at + marker.length < rest.length; at = rest.indexOf(marker)) {
        const end = at + marker.length + 1;
        const frame = rest.subarray(0, end);
        const first = frame.indexOf("\r\n");
        if (byteSum(frame.subarray(first)) === 0) blocks++;
        else bad++;
        rest = rest.subarray(end);
      }
    }
  })().catch(() => {}); // ends when the fd is closed
  try {
    const charger = spawnCharger(pty.masterFd);
    if ((await charger.stdout.getReader().read()).done) throw new Error(`the charger ended early (exit ${await charger.exited})`);
    Bun.gc(true);
    const before = blocks + bad;
    const cpu = process.cpuUsage();
    await charger.exited;
    await Bun.sleep(100);
    const micros = cpuMicros(cpu);
    const measured = blocks + bad - before;
    if (measured < MEASURE_SECONDS - 1) throw new Error(`the bare reader read ${measured} blocks`);
    return { perBlock: micros / measured, blocks: measured };
  } finally {
    closeSync(fd);
    await pty.close();
    await Promise.race([reading, Bun.sleep(1000)]);
  }
}

/** The framed blocks, as the link hands them to the driver (a HEX message leading the block after it). */
export function framed(): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const framer = createFramer({ kind: "marker", marker: CHECKSUM_MARKER, trailing: 1 }, (f) => frames.push(f), { clock: new ManualClock(), characterMs: 1 });
  for (const b of stream()) framer.push(b);
  return frames;
}

/** The best CPU per frame of PASSES passes of `run` over the frames, each pass IN_LOOP_REPEATS times over them. */
function bestPerFrame(frames: readonly Uint8Array[], run: (frame: Uint8Array) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < PASSES; pass++) {
    Bun.gc(true);
    const cpu = process.cpuUsage();
    for (let r = 0; r < IN_LOOP_REPEATS; r++) for (const f of frames) run(f);
    best = Math.min(best, cpuMicros(cpu) / frames.length / IN_LOOP_REPEATS);
  }
  return best;
}

/** Row 2: the driver alone, framed blocks handed to it. */
export async function driverAlone(frames: readonly Uint8Array[]): Promise<number> {
  const definition = builtInModels().find((m) => m.definition.model === "victron-mppt")!.definition;
  const config = { id: "charger", model: "victron-mppt", port: "(in the loop)", options: {} } as DeviceConfig;
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
    entities: new Map(definition.entities.map((d) => [d.key, new Entity({ description: d, nodeId: "bench", deviceId: "charger" })])),
    transport,
    log: silentLogger(),
    report: (r) => void (readings += r.size),
    rebooted: () => {},
    garbage: (_frame, why) => {
      throw new Error(`a bench block was garbage: ${why}`);
    },
    logLimited: () => {},
    runBlocking: () => Promise.reject(new Error("no executor here")),
    currentState: () => undefined,
  };
  const driver = DRIVERS.vedirect(context);
  await driver.start();
  const perBlock = bestPerFrame(frames, (f) => listener?.(f));
  await driver.stop();
  if (readings !== frames.length * PASSES * IN_LOOP_REPEATS * definition.entities.length) throw new Error(`the driver made ${readings} readings`);
  return perBlock;
}

/** The limit: the 8-bit sum of the same framed blocks alone. */
export function checksumAlone(frames: readonly Uint8Array[]): number {
  let sink = 0;
  const best = bestPerFrame(frames, (f) => {
    sink += byteSum(f);
  });
  if (sink < 0) throw new Error("unreachable");
  return best;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The VE.Direct rows of the devices suite. */
export async function veDirect(): Promise<BenchResult[]> {
  const { perBlock, blocks } = await streamed();
  const bare = await bareReader();
  const frames = framed();
  const driver = await driverAlone(frames);
  const sum = checksumAlone(frames);
  const limit = { name: "the checksum (8-bit sum) of the same blocks alone", value: round(sum, 3) };
  const label = "VE.Direct charger, 1 block/s, 19 fields";
  return [
    { name: `${label}: blocks read`, value: blocks, unit: "blocks" },
    compared({ name: `${label}: CPU per block, whole process`, value: round(perBlock), unit: "µs/block", limit, goal: 5 }),
    compared({
      name: `${label}: CPU per block, whole process, against a bare reader`,
      value: round(perBlock),
      unit: "µs/block",
      limit: { name: "Bun.file(fd).stream() + cut at the marker + sum, same pty and pacing", value: round(bare.perBlock) },
      goal: 5,
    }),
    compared({ name: `${label}: CPU per block, driver alone`, value: round(driver, 3), unit: "µs/block", limit, goal: 5 }),
  ];
}
