/**
 * `npm run bench -- devices-bus`: 16 SDM120 simulators on one Modbus RTU bus, polled as fast as the
 * bus allows at 9600 and 38400 baud, against the physical limit of the line. The simulators pace
 * their replies at the baud rate (a pty moves bytes at once); they run in this process. And the
 * loop's lag while 4 DS18B20 reads (each blocking 750 ms, as a conversion does) are in flight on
 * the executor, against the idle loop's lag over the same time.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Sdm120Simulator } from "../../devices/eastron-sdm120/simulator.ts";
import { Hub } from "../../src/core/hub.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { serialTransports } from "../../src/engine/configured-ports.ts";
import { ModbusBus } from "../../src/engine/modbus/bus.ts";
import { readRegisters } from "../../src/engine/modbus/pdu.ts";
import { interFrameSilenceMs } from "../../src/engine/modbus/timing.ts";
import { readW1Slave } from "../../src/engine/onewire/read-task.ts";
import { framingOf } from "../../src/engine/protocols.ts";
import { openPty } from "../../src/serial/pty.ts";
import { type BenchResult, costRatio, roundRatio } from "./result.ts";

const METERS = 16;
/** A read of one float32 (2 registers): an 8-byte request and a 9-byte reply. */
const REQUEST_BYTES = 8;
const REPLY_BYTES = 9;
const BITS_PER_CHAR = 10; // 8N1

/** Requests a second the line itself allows: both frames' characters and a 3.5-character gap after each. */
export function physicalLimit(baud: number): number {
  return baud / ((REQUEST_BYTES + REPLY_BYTES + 7) * BITS_PER_CHAR);
}

async function busRate(baud: number, seconds: number): Promise<number> {
  const log = createLogger({ level: "error", destination: new MemoryLogDestination() });
  const hub = new Hub({ log });
  await hub.start();
  const pty = openPty();
  const sim = new Sdm120Simulator({ write: (b) => void pty.write(b).catch(() => {}) }, { slaves: Array.from({ length: METERS }, (_, i) => i + 1), baud });
  const off = pty.listen({ data: (c) => sim.receive(c), error: () => {} });
  const link = serialTransports({ hub, log })({
    path: pty.path,
    serial: { baud, data_bits: 8, parity: "none", stop_bits: 1, rts_cts: false },
    framing: framingOf({ protocol: "modbus" } as Parameters<typeof framingOf>[0]),
  });
  await link.open();
  // As the modbus driver sets its bus up (src/engine/modbus/driver.ts).
  const bus = ModbusBus.of(link, interFrameSilenceMs({ baud, data_bits: 8, parity: "none", stop_bits: 1 }));
  const signal = AbortSignal.timeout(seconds * 1000 + 5000);
  let done = 0;
  let stop = false;
  // One poller per meter, all contending for the bus lock, as 16 devices on one port do.
  const poll = async (slave: number) => {
    while (!stop) {
      await bus.request(slave, readRegisters(4, 0, 2), { signal, timeoutMs: 500, retries: 0 });
      done++;
    }
  };
  const warm = Promise.all(Array.from({ length: METERS }, (_, i) => poll(i + 1)));
  await Bun.sleep(300); // warm-up: JIT and the first round
  const from = done;
  const t0 = performance.now();
  await Bun.sleep(seconds * 1000);
  const rate = ((done - from) * 1000) / (performance.now() - t0);
  stop = true;
  await warm;
  off();
  await link.close();
  await pty.close();
  await hub.stop();
  return rate;
}

/** The p99 lateness (ms) of a 2 ms timer while `during` runs. */
async function loopLag(during: () => Promise<unknown>): Promise<number> {
  const late: number[] = [];
  let stop = false;
  const sample = (async () => {
    while (!stop) {
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 2));
      late.push(performance.now() - t - 2);
    }
  })();
  await during();
  stop = true;
  await sample;
  late.sort((a, b) => a - b);
  return late[Math.floor(late.length * 0.99)] ?? 0;
}

/** Loop lag with 4 probe reads in flight, and idle; the reads block on FIFOs that child processes fill after 750 ms. */
async function probeLag(): Promise<{ busy: number; idle: number; seconds: number }> {
  const hub = new Hub({ log: createLogger({ level: "error", destination: new MemoryLogDestination() }), executorWorkers: 4 });
  await hub.start();
  const root = mkdtempSync(join(tmpdir(), "hearth-w1-bench-"));
  try {
    const fifos = [1, 2, 3, 4].map((i) => {
      mkdirSync(join(root, `28-00000000000${i}`));
      const fifo = join(root, `28-00000000000${i}`, "w1_slave");
      Bun.spawnSync(["mkfifo", fifo]);
      return fifo;
    });
    await hub.addExecutorJob(readW1Slave, "/proc/self/stat"); // start the pool's Workers first
    const t0 = performance.now();
    const busy = await loopLag(() =>
      Promise.all(
        fifos.map((fifo) => {
          Bun.spawn(["sh", "-c", `sleep 0.75; printf '%s' "$0" > "$1"`, "00 : crc=00 YES\n00 t=21000\n", fifo]);
          return hub.addExecutorJob(readW1Slave, fifo);
        }),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    const idle = await loopLag(() => Bun.sleep(seconds * 1000));
    return { busy, idle, seconds };
  } finally {
    rmSync(root, { recursive: true, force: true });
    await hub.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const lag = await probeLag();
  results.push({
    name: "loop_lag_p99_4_ds18b20_reads",
    value: Math.round(lag.busy * 100) / 100,
    unit: "ms",
    limit: { name: "idle loop, same time", value: Math.round(lag.idle * 100) / 100 },
    ratio: roundRatio(costRatio(Math.max(lag.busy, 0.01), Math.max(lag.idle, 0.01), "cost")),
  });
  results.push({ name: "4_ds18b20_reads_wall_time", value: Math.round(lag.seconds * 1000), unit: "ms" });
  for (const baud of [9600, 38400]) {
    const value = await busRate(baud, 5);
    const limit = physicalLimit(baud);
    results.push({
      name: `sdm120_x${METERS}_bus_${baud}`,
      value: Math.round(value * 10) / 10,
      unit: "requests/s",
      limit: { name: `line limit at ${baud} 8N1 (17 bytes + 2×3.5 chars)`, value: Math.round(limit * 10) / 10 },
      ratio: roundRatio(costRatio(value, limit, "rate")),
      goal: 1.25, // at least 0.8× the physical limit
    });
  }
  return results;
}
