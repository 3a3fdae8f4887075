/**
 * The sds011 simulator: a Nova SDS011 in active reporting mode, sending a data frame
 * (`AA C0 PM25lo PM25hi PM10lo PM10hi ID1 ID2 check AB`, laser dust sensor control protocol V1.3) every
 * `interval`, and answering a query (`AA B4 04 … FF FF check AB`) with one at once. The check (the low
 * byte of the sum of the data bytes) is written out here rather than taken from hearth.
 */
import type { Simulator, SimulatorPort } from "../../src/engine/simulator.ts";

export interface Sds011Options {
  /** Milliseconds between frames (the sensor's own is 1000). */
  interval?: number;
  /** µg/m³. */
  pm25?: number;
  pm10?: number;
  /** The sensor's two-byte id (bytes 6 and 7). */
  id?: number;
}

/** The protocol's check: the low 8 bits of the sum of bytes 2 … end − 1. */
export function sdsCheck(frame: ArrayLike<number>, end: number): number {
  let sum = 0;
  for (let i = 2; i < end; i++) sum += frame[i]!;
  return sum & 0xff;
}

/** A data frame of these readings (µg/m³, sent in tenths, low byte first). */
export function sdsDataFrame(pm25: number, pm10: number, id = 0xa160): Uint8Array {
  const a = Math.round(pm25 * 10);
  const b = Math.round(pm10 * 10);
  const frame = [0xaa, 0xc0, a & 0xff, a >> 8, b & 0xff, b >> 8, id >> 8, id & 0xff, 0, 0xab];
  frame[8] = sdsCheck(frame, 8);
  return Uint8Array.from(frame);
}

/** A simulated SDS011. */
export class Sds011Simulator implements Simulator {
  pm25: number;
  pm10: number;
  readonly id: number;
  /** Queries received. */
  queries = 0;

  private readonly port: SimulatorPort;
  private readonly interval: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private pending: number[] = [];

  constructor(port: SimulatorPort, options: Sds011Options = {}) {
    this.port = port;
    this.interval = Number(options.interval ?? 1000);
    this.pm25 = Number(options.pm25 ?? 8.4);
    this.pm10 = Number(options.pm10 ?? 14.2);
    this.id = Number(options.id ?? 0xa160);
  }

  start(): void {
    this.timer ??= setInterval(() => this.send(), this.interval);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.pending = [];
  }

  receive(bytes: Uint8Array): void {
    this.pending.push(...bytes);
    for (;;) {
      const start = this.pending.indexOf(0xaa);
      if (start < 0) return void (this.pending = []);
      if (this.pending.length - start < 19) return void (this.pending = this.pending.slice(start));
      const frame = this.pending.slice(start, start + 19);
      if (frame[1] !== 0xb4 || frame[18] !== 0xab || sdsCheck(frame, 17) !== frame[17]) {
        this.pending = this.pending.slice(start + 1);
        continue;
      }
      this.pending = this.pending.slice(start + 19);
      if (frame[2] === 0x04) {
        this.queries++;
        this.send();
      }
    }
  }

  private send(): void {
    void this.port.write(sdsDataFrame(this.pm25, this.pm10, this.id));
  }
}
