/**
 * The hearth-io simulator: behaves as firmware/hearth_io/hearth_io.ino does — boot line, telemetry
 * every interval and after each change, command replies and error replies — over any byte pipe
 * (a pseudo-terminal's master side, in practice).
 */

import { keepRecord } from "../../src/engine/simulator.ts";
import { seededRandom } from "../seeded-random.ts";

export interface SimulatorPort {
  /** Sends bytes to the host. */
  write(bytes: Uint8Array): void;
}

export interface HearthIoOptions {
  /** Telemetry period, ms (the firmware's default is 5000). */
  interval?: number;
  /** Starting readings; NaN is no reading (a board with no DHT22 answering), sent as `nan` as the firmware does. */
  temperature?: number;
  humidity?: number;
  /** Seed of the readings' random walk, for repeatable runs. */
  seed?: number;
  firmware?: string;
}

const MAX_LINE = 64;
const encoder = new TextEncoder();

/** A simulated hearth-io board. Feed it the host's bytes with `receive`; it answers through its port. */
export class HearthIoSimulator {
  readonly firmware: string;
  temperature: number;
  humidity: number;
  button = false;
  relay1 = false;
  relay2 = false;
  led = 0;
  interval: number;
  /** The interval the board boots with (a reset forgets an INTERVAL command, as the firmware does). */
  private readonly bootInterval: number;
  /** While true, commands are swallowed without a reply (a hung board), for timeout tests. */
  mute = false;
  /** The last command lines received (SIMULATOR_RECORD_MAX), in order. */
  readonly received: string[] = [];

  private readonly port: SimulatorPort;
  private buffer = "";
  private tooLong = false;
  private bootedAt = Date.now();
  private timer: ReturnType<typeof setInterval> | undefined;
  private random: () => number;

  constructor(port: SimulatorPort, options: HearthIoOptions = {}) {
    this.port = port;
    this.firmware = options.firmware ?? "1.0.0";
    this.temperature = options.temperature ?? 21.5;
    this.humidity = options.humidity ?? 45;
    this.bootInterval = options.interval ?? 5000;
    this.interval = this.bootInterval;
    this.random = seededRandom(options.seed ?? 1);
  }

  /** Powers the board on: the boot line, then telemetry every interval. */
  start(): void {
    this.bootedAt = Date.now();
    this.send(`HELLO hearth-io fw=${this.firmware} proto=1`);
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A reset (watchdog, power blip): outputs off, the boot interval, boot line again. */
  reboot(): void {
    this.stop();
    this.relay1 = false;
    this.relay2 = false;
    this.led = 0;
    this.interval = this.bootInterval;
    this.buffer = "";
    this.tooLong = false;
    this.start();
  }

  /** Presses or releases the button, as a person would. */
  setButton(pressed: boolean): void {
    if (pressed === this.button) return;
    this.button = pressed;
    this.send(`E btn=${pressed ? 1 : 0}`);
  }

  /** Sends raw bytes as if the line were noisy. */
  sendGarbage(bytes: Uint8Array | string): void {
    this.port.write(typeof bytes === "string" ? encoder.encode(bytes) : bytes);
  }

  /** Bytes from the host. */
  receive(bytes: Uint8Array): void {
    for (const byte of bytes) {
      if (byte === 0x0d) continue; // \r
      if (byte === 0x0a) {
        const line = this.buffer;
        const tooLong = this.tooLong;
        this.buffer = "";
        this.tooLong = false;
        if (tooLong) this.send("ERR - too_long line over 64 bytes");
        else if (line.length > 0) this.handle(line);
        continue;
      }
      if (this.buffer.length < MAX_LINE) this.buffer += String.fromCharCode(byte);
      else this.tooLong = true;
    }
  }

  /** The telemetry line now. */
  telemetry(): string {
    return `T ${this.fields()}`;
  }

  private schedule(): void {
    this.stop();
    this.timer = setInterval(() => {
      this.drift();
      this.send(this.telemetry());
    }, this.interval);
    this.timer.unref?.();
  }

  private drift(): void {
    this.temperature = round1(this.temperature + (this.random() - 0.5) * 0.2);
    this.humidity = round1(Math.min(100, Math.max(0, this.humidity + (this.random() - 0.5) * 0.4)));
  }

  private fields(): string {
    const up = Math.floor((Date.now() - this.bootedAt) / 1000);
    return `temp=${fmt(this.temperature)} hum=${fmt(this.humidity)} btn=${this.button ? 1 : 0} r1=${this.relay1 ? 1 : 0} r2=${this.relay2 ? 1 : 0} led=${this.led} up=${up}`;
  }

  private send(line: string): void {
    this.port.write(encoder.encode(`${line}\r\n`));
  }

  private handle(line: string): void {
    keepRecord(this.received, line);
    if (this.mute) return;
    // Words are split at runs of spaces, as the firmware's strtok does ("1  PING" is a PING).
    const [id, command, ...args] = line.split(" ").filter((word) => word !== "");
    if (id === undefined || !/^\d+$/.test(id) || Number(id) < 1 || Number(id) > 65535) {
      this.send("ERR - no_id a command starts with an id 1-65535");
      return;
    }
    switch (command) {
      case undefined:
        return this.send(`ERR ${id} bad_command missing command`);
      case "PING":
        return this.send(`OK ${id} pong`);
      case "GET":
        return this.send(`OK ${id} ${this.fields()}`);
      case "SET":
        return this.set(id, args);
      case "INTERVAL": {
        const ms = Number(args[0]);
        if (args[0] === undefined || !/^\d+$/.test(args[0]) || ms < 500 || ms > 3_600_000) {
          return this.send(`ERR ${id} bad_value interval must be 500-3600000 ms`);
        }
        this.interval = ms;
        this.schedule();
        return this.send(`OK ${id} interval=${ms}`);
      }
      case "RESET":
        this.send(`OK ${id}`);
        return this.reboot();
      default:
        return this.send(`ERR ${id} bad_command ${command}`);
    }
  }

  private set(id: string, pairs: string[]): void {
    if (pairs.length === 0) return this.send(`ERR ${id} bad_field nothing to set`);
    if (pairs.length > 4) return this.send(`ERR ${id} bad_field too many fields`);
    const values: Array<[string, number]> = [];
    for (const pair of pairs) {
      const eq = pair.indexOf("=");
      if (eq < 0) return this.send(`ERR ${id} bad_field ${pair}`);
      const key = pair.slice(0, eq);
      const text = pair.slice(eq + 1);
      const max = key === "r1" || key === "r2" ? 1 : key === "led" ? 255 : undefined;
      if (max === undefined) return this.send(`ERR ${id} bad_field ${key}`);
      const value = Number(text);
      if (!/^\d+$/.test(text) || value > max) return this.send(`ERR ${id} bad_value ${key}`);
      values.push([key, value]);
    }
    for (const [key, value] of values) {
      if (key === "r1") this.relay1 = value === 1;
      else if (key === "r2") this.relay2 = value === 1;
      else this.led = value;
    }
    this.send(`OK ${id} ${values.map(([k, v]) => `${k}=${v}`).join(" ")}`);
    this.send(this.telemetry());
  }
}

function fmt(n: number): string {
  return Number.isFinite(n) ? n.toFixed(1) : "nan";
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
