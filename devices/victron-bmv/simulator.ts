/**
 * The victron-bmv simulator: a BMV-712 Smart that sends its fields as a BMV does, in two checksummed
 * VE.Direct text blocks every interval (the readings, then the history H1…H18), discharging slowly, with
 * a HEX-protocol message now and then. It can instead replay a capture (raw bytes) cut into chunks, or
 * send only corrupt blocks.
 */
import { readFileSync } from "node:fs";
import type { SimulatorPort } from "../../src/engine/simulator.ts";
import { encodeBlock } from "../../src/engine/vedirect/block.ts";

export interface VictronBmvOptions {
  /** Milliseconds between pairs of blocks (a BMV's 1000). */
  interval?: number;
  /** A HEX message after every this many pairs (0: none). */
  hexEvery?: number;
  /** A capture file to replay once at start instead of the blocks. */
  capture?: string;
  /** Bytes per write when replaying. */
  chunk?: number;
}

/** An asynchronous HEX message (a register report; hearth ignores it). */
const HEX_MESSAGE = ":A8FED00C8D4\n";

/** A simulated battery monitor: it streams, and ignores what the host sends. */
export class VictronBmvSimulator {
  millivolts = 12850;
  milliamps = -3450;
  /** State of charge, per mille. */
  soc = 876;
  /** Consumed, mAh. */
  consumed = -12500;
  timeToGo = 2260;
  alarm = false;
  /** Send blocks with one byte changed in transit (their checksums fail). */
  corrupt = false;
  /** Pairs of blocks sent. */
  sent = 0;

  private readonly port: SimulatorPort;
  private readonly options: VictronBmvOptions;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(port: SimulatorPort, options: VictronBmvOptions = {}) {
    this.port = port;
    this.options = options;
  }

  start(): void {
    if (this.timer !== undefined) return;
    if (this.options.capture !== undefined) {
      const capture = readFileSync(this.options.capture);
      const chunk = this.options.chunk ?? 37;
      for (let i = 0; i < capture.length; i += chunk) this.port.write(capture.slice(i, i + chunk));
      return;
    }
    this.blocks();
    this.timer = setInterval(() => this.blocks(), this.options.interval ?? 1000);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  receive(_bytes: Uint8Array): void {}

  /** The readings block. */
  readings(): Array<[string, string]> {
    return [
      ["PID", "0xA381"],
      ["V", String(this.millivolts)],
      ["VS", "12810"],
      ["I", String(this.milliamps)],
      ["P", String(Math.round((this.millivolts * this.milliamps) / 1e6))],
      ["CE", String(this.consumed)],
      ["SOC", String(this.soc)],
      ["TTG", String(this.timeToGo)],
      ["Alarm", this.alarm ? "ON" : "OFF"],
      ["Relay", "OFF"],
      ["AR", this.alarm ? "1" : "0"],
      ["BMV", "712 Smart"],
      ["FW", "0413"],
      ["MON", "0"],
    ];
  }

  /** The history block. */
  history(): Array<[string, string]> {
    const h: Array<[string, number]> = [
      ["H1", -102345],
      ["H2", -25034],
      ["H3", -90012],
      ["H4", 12],
      ["H5", 0],
      ["H6", -2567890],
      ["H7", 10850],
      ["H8", 14650],
      ["H9", 3600],
      ["H10", 45],
      ["H11", 0],
      ["H12", 0],
      ["H15", 0],
      ["H16", 0],
      ["H17", 1234],
      ["H18", 1456],
    ];
    return h.map(([label, value]) => [label, String(value)]);
  }

  /** One second's pair of blocks, then maybe a HEX message. */
  blocks(): void {
    for (const fields of [this.readings(), this.history()]) {
      const bytes = encodeBlock(fields);
      if (this.corrupt) bytes[6] = bytes[6]! ^ 0x01;
      this.port.write(bytes);
    }
    this.sent++;
    const every = this.options.hexEvery ?? 5;
    if (every > 0 && this.sent % every === 0) this.port.write(Buffer.from(HEX_MESSAGE, "latin1"));
    this.consumed -= 1;
  }
}
