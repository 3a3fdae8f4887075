/**
 * The pms5003 simulator: a Plantower PMS5003 on its UART, framed as its data manual (2016) says. In
 * active mode (its default at power-on) it sends a 32-byte data frame every `interval`; a "change mode"
 * command (0xE1) makes it passive, where it sends one only when read (0xE2); 0xE4 puts it to sleep and
 * wakes it. It answers a mode or sleep command with the 8-byte frame `42 4D 00 04 <cmd> <data> <check>`,
 * as sensors do (the manual shows no answer). The check (the 16-bit sum of every byte before it) is
 * written out here rather than taken from hearth, so the tests check one against the other.
 */
import { keepRecord, type Simulator, type SimulatorPort } from "../../src/engine/simulator.ts";

export interface Pms5003Options {
  /** Milliseconds between frames in active mode (the sensor's own is 200–2300). */
  interval?: number;
  /** The atmospheric PM2.5 it reads, µg/m³; PM1.0 and PM10 and the counts follow from it. */
  pm25?: number;
}

/** The readings of one data frame, in the manual's order (data 1–13). */
export interface Pms5003Reading {
  pm1Cf1: number;
  pm25Cf1: number;
  pm10Cf1: number;
  pm1: number;
  pm25: number;
  pm10: number;
  /** Particles beyond 0.3, 0.5, 1.0, 2.5, 5.0 and 10 µm in 0.1 L of air. */
  counts: [number, number, number, number, number, number];
}

/** The manual's check code: the sum of every byte before it, header included, in 16 bits. */
export function pmsCheck(frame: ArrayLike<number>, end: number): number {
  let sum = 0;
  for (let i = 0; i < end; i++) sum += frame[i]!;
  return sum & 0xffff;
}

/** A data frame of these readings: 42 4D, the length 28, thirteen big-endian words (the last reserved), the check. */
export function pmsDataFrame(r: Pms5003Reading): Uint8Array {
  const words = [28, r.pm1Cf1, r.pm25Cf1, r.pm10Cf1, r.pm1, r.pm25, r.pm10, ...r.counts, 0];
  const frame = new Uint8Array(32);
  frame.set([0x42, 0x4d]);
  for (const [i, w] of words.entries()) frame.set([(w >> 8) & 0xff, w & 0xff], 2 + i * 2);
  const check = pmsCheck(frame, 30);
  frame.set([check >> 8, check & 0xff], 30);
  return frame;
}

/** A simulated PMS5003. */
export class Pms5003Simulator implements Simulator {
  reading: Pms5003Reading;
  /** Active (streams) or passive (answers reads). */
  mode: "active" | "passive" = "active";
  asleep = false;
  /** Frames sent, for tests that wait for some. */
  sent = 0;
  /** The last commands received (SIMULATOR_RECORD_MAX), as hex (`42 4D E2 00 00 01 71`). */
  readonly commands: string[] = [];

  private readonly port: SimulatorPort;
  private readonly options: Pms5003Options;
  private timer: ReturnType<typeof setInterval> | undefined;
  private pending: number[] = [];

  constructor(port: SimulatorPort, options: Pms5003Options = {}) {
    this.port = port;
    this.options = options;
    this.reading = readingFor(Number(options.pm25 ?? 12));
  }

  start(): void {
    this.timer ??= setInterval(
      () => {
        if (this.mode === "active" && !this.asleep) this.send(pmsDataFrame(this.reading));
      },
      Number(this.options.interval ?? 1000),
    );
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.pending = [];
  }

  /** Sets the atmospheric PM2.5; the other readings follow. */
  setPm25(pm25: number): void {
    this.reading = readingFor(pm25);
  }

  /** Sends raw bytes as they are (line noise, a corrupted frame). */
  sendRaw(bytes: Uint8Array): void {
    void this.port.write(bytes);
  }

  receive(bytes: Uint8Array): void {
    this.pending.push(...bytes);
    for (;;) {
      const start = this.pending.findIndex((b, i) => b === 0x42 && this.pending[i + 1] === 0x4d);
      if (start < 0) return void (this.pending = this.pending.slice(-1));
      if (this.pending.length - start < 7) return void (this.pending = this.pending.slice(start));
      const frame = this.pending.slice(start, start + 7);
      if (pmsCheck(frame, 5) !== ((frame[5]! << 8) | frame[6]!)) {
        this.pending = this.pending.slice(start + 1);
        continue;
      }
      this.pending = this.pending.slice(start + 7);
      keepRecord(this.commands, frame.map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" "));
      this.command(frame[2]!, frame[4]!);
    }
  }

  private command(cmd: number, data: number): void {
    switch (cmd) {
      case 0xe2: // read in passive mode
        if (this.mode === "passive" && !this.asleep) this.send(pmsDataFrame(this.reading));
        return;
      case 0xe1: // change mode: 0 passive, 1 active
        if (this.asleep) return;
        this.mode = data === 0 ? "passive" : "active";
        return this.answer(cmd, data);
      case 0xe4: // sleep (0) or wake (1)
        this.asleep = data === 0;
        if (this.asleep) this.answer(cmd, data);
        return;
    }
  }

  private answer(cmd: number, data: number): void {
    const frame = [0x42, 0x4d, 0x00, 0x04, cmd, data, 0, 0];
    const check = pmsCheck(frame, 6);
    frame[6] = check >> 8;
    frame[7] = check & 0xff;
    this.send(Uint8Array.from(frame));
  }

  private send(frame: Uint8Array): void {
    this.sent++;
    void this.port.write(frame);
  }
}

/** Readings in proportions typical of indoor air, from the PM2.5. */
function readingFor(pm25: number): Pms5003Reading {
  const pm1 = Math.round(pm25 * 0.7);
  const pm10 = Math.round(pm25 * 1.3);
  const p = Math.round(pm25);
  return {
    pm1Cf1: pm1,
    pm25Cf1: p,
    pm10Cf1: pm10,
    pm1,
    pm25: p,
    pm10,
    counts: [p * 180, p * 52, p * 9, p, Math.round(p / 3), Math.round(p / 8)],
  };
}
