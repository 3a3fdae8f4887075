/**
 * The mh-z19b simulator: a Winsen MH-Z19B on its UART. It answers each 9-byte request with a valid
 * checksum as the user manual v1.0 says (0x86 read: `FF 86 HH LL …`; 0x87 zero point and 0x79
 * automatic baseline correction: no reply), and ignores the rest, as the sensor does. The checksum is
 * the manual's formula, written out here rather than taken from hearth, so the tests check one against the other.
 */
import { keepRecord, type Simulator, type SimulatorPort } from "../../src/engine/simulator.ts";

export interface MhZ19bOptions {
  /** The concentration it reads, ppm. */
  co2?: number;
  /** The temperature it puts in byte 4 (as °C + 40, which the manual does not document). */
  temperature?: number;
}

/** The manual's check value: 0xFF − (bytes 1 … 7) + 1, in 8 bits. */
export function mhz19Checksum(frame: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 1; i < 8; i++) sum += frame[i]!;
  return (0xff - (sum & 0xff) + 1) & 0xff;
}

/** A simulated MH-Z19B. */
export class MhZ19bSimulator implements Simulator {
  co2: number;
  temperature: number;
  /** While true, requests get no answer (a sensor warming up, a broken wire). */
  silent = false;
  /** While true, answers carry a wrong checksum (a noisy line). */
  corrupt = false;
  /** The last requests received (SIMULATOR_RECORD_MAX), as hex (`FF 01 86 00 00 00 00 00 79`). */
  readonly requests: string[] = [];
  /** Zero-point calibrations asked for (0x87). */
  calibrations = 0;
  /** Whether automatic baseline correction is on (0x79; on at the factory). */
  abc = true;

  private readonly port: SimulatorPort;
  private pending: number[] = [];

  constructor(port: SimulatorPort, options: MhZ19bOptions = {}) {
    this.port = port;
    this.co2 = Number(options.co2 ?? 612);
    this.temperature = Number(options.temperature ?? 24);
  }

  start(): void {}

  stop(): void {
    this.pending = [];
  }

  receive(bytes: Uint8Array): void {
    this.pending.push(...bytes);
    for (;;) {
      const start = this.pending.indexOf(0xff);
      if (start < 0) return void (this.pending = []);
      if (this.pending.length - start < 9) return void (this.pending = this.pending.slice(start));
      const frame = this.pending.slice(start, start + 9);
      if (mhz19Checksum(frame) !== frame[8]) {
        this.pending = this.pending.slice(start + 1); // the sensor ignores a request with a bad check value
        continue;
      }
      this.pending = this.pending.slice(start + 9);
      keepRecord(this.requests, frame.map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" "));
      this.answer(frame);
    }
  }

  /** The reply to "read CO2" as the sensor would send it now. */
  reading(): Uint8Array {
    const co2 = Math.max(0, Math.min(0xffff, Math.round(this.co2)));
    const frame = [0xff, 0x86, co2 >> 8, co2 & 0xff, (this.temperature + 40) & 0xff, 0x00, 0x00, 0x00, 0];
    frame[8] = mhz19Checksum(frame);
    if (this.corrupt) frame[8] = (frame[8]! + 1) & 0xff;
    return Uint8Array.from(frame);
  }

  private answer(frame: number[]): void {
    if (this.silent) return;
    switch (frame[2]) {
      case 0x86:
        void this.port.write(this.reading());
        return;
      case 0x87:
        this.calibrations++;
        return;
      case 0x79:
        this.abc = frame[3] === 0xa0;
        return;
    }
  }
}
