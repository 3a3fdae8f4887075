/**
 * The victron-mppt simulator: a SmartSolar MPPT 75|15 that sends one checksummed VE.Direct text block
 * every interval, charging in bulk with the panel power rising, and a HEX-protocol message (an
 * asynchronous `:A…` register report) every few blocks, as a real charger interleaves them. It can
 * instead replay a capture (raw bytes) cut into chunks, or send only corrupt blocks.
 */
import { readFileSync } from "node:fs";
import type { SimulatorPort } from "../../src/engine/simulator.ts";
import { encodeBlock } from "../../src/engine/vedirect/block.ts";

export interface VictronMpptOptions {
  /** Milliseconds between blocks (a charger's 1000). */
  interval?: number;
  /** A HEX message after every this many blocks (0: none). */
  hexEvery?: number;
  /** A capture file to replay once at start instead of the blocks. */
  capture?: string;
  /** Bytes per write when replaying. */
  chunk?: number;
}

/** An asynchronous HEX message as an MPPT sends it between blocks (a register report; hearth ignores it). */
export const HEX_MESSAGE = ":A4F10000200000000B2\n";

/** A simulated MPPT charger: it streams, and ignores what the host sends (HEX commands included). */
export class VictronMpptSimulator {
  batteryMillivolts = 13420;
  batteryMilliamps = 2800;
  panelMillivolts = 36850;
  panelWatts = 41;
  chargerState = 3;
  error = 0;
  /** Yield today in 0.01 kWh. */
  yieldToday = 37;
  yieldTotal = 10452;
  /** Send blocks with one byte changed in transit (their checksums fail). */
  corrupt = false;
  /** Blocks sent, for tests that wait for one. */
  sent = 0;

  private readonly port: SimulatorPort;
  private readonly options: VictronMpptOptions;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(port: SimulatorPort, options: VictronMpptOptions = {}) {
    this.port = port;
    this.options = options;
  }

  start(): void {
    if (this.timer !== undefined) return;
    if (this.options.capture !== undefined) {
      this.replay(readFileSync(this.options.capture), this.options.chunk ?? 37);
      return;
    }
    this.block();
    this.timer = setInterval(() => this.block(), this.options.interval ?? 1000);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  receive(_bytes: Uint8Array): void {}

  /** Sends raw bytes as they are. */
  sendRaw(bytes: Uint8Array | string): void {
    this.port.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  /** Sends a capture in chunks of `chunk` bytes. */
  replay(capture: Uint8Array, chunk: number): void {
    for (let i = 0; i < capture.length; i += chunk) this.port.write(capture.slice(i, i + chunk));
  }

  /** The fields of the next block, as a SmartSolar sends them. */
  fields(): Array<[string, string]> {
    return [
      ["PID", "0xA053"],
      ["FW", "161"],
      ["SER#", "HQ2132ABCDE"],
      ["V", String(this.batteryMillivolts)],
      ["I", String(this.batteryMilliamps)],
      ["VPV", String(this.panelMillivolts)],
      ["PPV", String(this.panelWatts)],
      ["CS", String(this.chargerState)],
      ["MPPT", "2"],
      ["OR", "0x00000000"],
      ["ERR", String(this.error)],
      ["LOAD", "ON"],
      ["IL", "300"],
      ["H19", String(this.yieldTotal)],
      ["H20", String(this.yieldToday)],
      ["H21", "148"],
      ["H22", "52"],
      ["H23", "201"],
      ["HSDS", "215"],
    ];
  }

  /** One block, then maybe a HEX message; the panel's power creeps up as the sun does. */
  block(): void {
    const bytes = encodeBlock(this.fields());
    if (this.corrupt) bytes[8] = bytes[8]! ^ 0x01;
    this.port.write(bytes);
    this.sent++;
    const every = this.options.hexEvery ?? 3;
    if (every > 0 && this.sent % every === 0) this.port.write(Buffer.from(HEX_MESSAGE, "latin1"));
    this.panelWatts = this.panelWatts >= 200 ? 41 : this.panelWatts + 10;
    this.batteryMillivolts = this.batteryMillivolts >= 14400 ? 13420 : this.batteryMillivolts + 10;
  }
}
