/**
 * The dsmr-p1 simulator: a three-phase meter with a gas meter on M-Bus channel 1 that sends one telegram
 * every interval (DSMR 5.0's one a second), its counters rising with the power drawn, each telegram
 * with a valid CRC; or, with `legacy`, a DSMR 3 meter's telegram without one (9600 7E1 meters). It can
 * instead play a capture of a real meter (`capture`: a file of whole telegrams), cut where `cuts` says.
 */
import { readFileSync } from "node:fs";
import type { SimulatorPort } from "../../src/engine/simulator.ts";
import { telegramBytes } from "../../src/engine/telegram/crc.ts";

export interface DsmrP1Options {
  /** Milliseconds between telegrams (DSMR 5.0: 1000; 4.x: 10000). */
  interval?: number;
  /** A DSMR 3 telegram without a CRC instead of a DSMR 5.0 one. */
  legacy?: boolean;
  /** A capture file to play once at start instead of the simulated telegrams. */
  capture?: string;
  /** Byte offsets at which the capture is cut into separate writes (each waits until the host read the one before). */
  cuts?: number[];
}

const encoder = new TextEncoder();
/** How often a player checks that the host has read what it wrote, ms. */
const READ_CHECK_MS = 2;

/** A simulated smart meter on a P1 port. It takes no commands (P1 is send-only; the request line only enables it). */
export class DsmrP1Simulator {
  /** kWh delivered at tariff 1 and 2, returned at tariff 1 and 2; m³ of gas. */
  delivered = [1581.123, 1435.706];
  returned = [0, 0];
  gas = 981.443;
  /** Watts drawn now, per phase. */
  phasePower = [170, 1247, 610];
  /** 1 low (night), 2 normal. */
  tariff = 2;
  /** Telegrams sent, for tests that wait for one. */
  sent = 0;
  /** Every telegram sent has one digit changed after its CRC was made (a noisy line). */
  corrupt = false;

  private readonly port: SimulatorPort;
  private readonly options: DsmrP1Options;
  private timer: ReturnType<typeof setInterval> | undefined;
  private playing: Promise<void> | undefined;

  constructor(port: SimulatorPort, options: DsmrP1Options = {}) {
    this.port = port;
    this.options = options;
  }

  start(): void {
    if (this.options.capture !== undefined) {
      this.playing ??= this.play(readFileSync(this.options.capture), this.options.cuts ?? []);
      return;
    }
    if (this.timer !== undefined) return;
    this.send();
    this.timer = setInterval(() => this.send(), this.options.interval ?? 1000);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  receive(_bytes: Uint8Array): void {}

  /** Writes bytes in pieces cut at `cuts`, each once the host has read the one before, so its reads end there. */
  async play(bytes: Uint8Array, cuts: readonly number[]): Promise<void> {
    let from = 0;
    for (const cut of [...cuts, bytes.length]) {
      if (cut <= from) continue;
      await this.port.write(bytes.slice(from, cut));
      from = cut;
      while ((this.port.unread?.() ?? 0) > 0) await new Promise((r) => setTimeout(r, READ_CHECK_MS));
    }
  }

  /** Sends bytes as they are (a corrupted telegram, line noise). */
  sendRaw(bytes: Uint8Array | string): void {
    this.port.write(typeof bytes === "string" ? encoder.encode(bytes) : bytes);
  }

  /** The next telegram, the counters advanced by one interval of the power drawn. */
  next(): Uint8Array {
    const hours = (this.options.interval ?? 1000) / 3_600_000;
    const kw = this.phasePower.reduce((a, b) => a + b, 0) / 1000;
    this.delivered[this.tariff - 1]! += kw * hours;
    this.gas += 0.0001;
    return this.options.legacy === true ? this.legacyTelegram() : this.telegram();
  }

  /** Sends one telegram now. */
  send(): void {
    const bytes = this.next();
    this.port.write(this.corrupt ? corrupted(bytes) : bytes);
    this.sent++;
  }

  private telegram(): Uint8Array {
    const now = new Date();
    const stamp = dsmrStamp(now);
    const kw = (w: number) => `${(w / 1000).toFixed(3).padStart(6, "0")}*kW`;
    const kwh = (v: number) => `${v.toFixed(3).padStart(10, "0")}*kWh`;
    const total = this.phasePower.reduce((a, b) => a + b, 0);
    const phases = ["21", "41", "61"];
    const lines = [
      "/ISk5\\2MT382-1000",
      "",
      "1-3:0.2.8(50)",
      `0-0:1.0.0(${stamp})`,
      "0-0:96.1.1(4B384547303034303436333935353037)",
      `1-0:1.8.1(${kwh(this.delivered[0]!)})`,
      `1-0:1.8.2(${kwh(this.delivered[1]!)})`,
      `1-0:2.8.1(${kwh(this.returned[0]!)})`,
      `1-0:2.8.2(${kwh(this.returned[1]!)})`,
      `0-0:96.14.0(${String(this.tariff).padStart(4, "0")})`,
      `1-0:1.7.0(${kw(total)})`,
      `1-0:2.7.0(${kw(0)})`,
      "0-0:96.7.21(00013)",
      "0-0:96.7.9(00000)",
      "1-0:99.97.0(0)(0-0:96.7.19)",
      "1-0:32.32.0(00000)",
      "1-0:52.32.0(00000)",
      "1-0:72.32.0(00000)",
      "0-0:96.13.0()",
      "1-0:32.7.0(0230.1*V)",
      "1-0:52.7.0(0229.8*V)",
      "1-0:72.7.0(0231.0*V)",
      ...this.phasePower.map((w, i) => `1-0:${31 + 20 * i}.7.0(${String(Math.round(w / 230)).padStart(3, "0")}*A)`),
      ...this.phasePower.map((w, i) => `1-0:${phases[i]}.7.0(${kw(w)})`),
      ...phases.map((p) => `1-0:${Number(p) + 1}.7.0(${kw(0)})`),
      "0-1:24.1.0(003)",
      "0-1:96.1.0(3232323241424344313233343536373839)",
      `0-1:24.2.1(${dsmrStamp(new Date(Math.floor(now.getTime() / 300_000) * 300_000))})(${this.gas.toFixed(3).padStart(9, "0")}*m3)`,
    ];
    return telegramBytes(`${lines.join("\r\n")}\r\n`);
  }

  /** DSMR 3: no CRC, no per-phase values, the gas reading on a line of its own after its header. */
  private legacyTelegram(): Uint8Array {
    const kwh = (v: number) => `${v.toFixed(3).padStart(9, "0")}*kWh`;
    const total = this.phasePower.reduce((a, b) => a + b, 0);
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const lines = [
      "/ISk5\\2ME382-1003",
      "",
      "0-0:96.1.1(4B414C37303035313335353131343132)",
      `1-0:1.8.1(${kwh(this.delivered[0]!)})`,
      `1-0:1.8.2(${kwh(this.delivered[1]!)})`,
      `1-0:2.8.1(${kwh(this.returned[0]!)})`,
      `1-0:2.8.2(${kwh(this.returned[1]!)})`,
      `0-0:96.14.0(${String(this.tariff).padStart(4, "0")})`,
      `1-0:1.7.0(${(total / 1000).toFixed(2).padStart(7, "0")}*kW)`,
      "1-0:2.7.0(0000.00*kW)",
      "0-0:17.0.0(0999.00*kW)",
      "0-0:96.3.10(1)",
      "0-0:96.13.1()",
      "0-0:96.13.0()",
      "0-1:24.1.0(3)",
      "0-1:96.1.0(3238313031353431303031333733353131)",
      `0-1:24.3.0(${dsmrStamp(hour).slice(0, 12)})(00)(60)(1)(0-1:24.2.1)(m3)`,
      `(${this.gas.toFixed(3).padStart(9, "0")})`,
      "0-1:24.4.0(1)",
    ];
    return telegramBytes(`${lines.join("\r\n")}\r\n`, false);
  }
}

/** `YYMMDDhhmmssX` in Dutch time (X: W winter, S summer; summer from the last Sunday of March to the last of October). */
function dsmrStamp(at: Date): string {
  const y = at.getUTCFullYear();
  const lastSunday = (month: number) => {
    const d = new Date(Date.UTC(y, month + 1, 0, 1));
    d.setUTCDate(d.getUTCDate() - d.getUTCDay());
    return d.getTime();
  };
  const summer = at.getTime() >= lastSunday(2) && at.getTime() < lastSunday(9);
  const local = new Date(at.getTime() + (summer ? 2 : 1) * 3_600_000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(local.getUTCFullYear() % 100)}${p(local.getUTCMonth() + 1)}${p(local.getUTCDate())}${p(local.getUTCHours())}${p(local.getUTCMinutes())}${p(local.getUTCSeconds())}${summer ? "S" : "W"}`;
}

/** The telegram with the first digit of its tariff-1 reading changed, its CRC left as it was. */
export function corrupted(telegram: Uint8Array): Uint8Array {
  const out = telegram.slice();
  const at = Buffer.from(out).indexOf("1-0:1.8.1(") + "1-0:1.8.1(".length + 3;
  out[at] = 0x30 + ((out[at]! - 0x30 + 1) % 10);
  return out;
}
