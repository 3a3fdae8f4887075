/**
 * The nmea-gps simulator: a receiver that sends a GGA, GSA, GSV, RMC and VTG burst every interval,
 * can lose and regain its fix, and can instead replay a capture of a real receiver (lines starting
 * with `#` are the recorder's notes and are skipped), cut into chunks that split sentences as
 * a UART's reads do.
 */
import { readFileSync } from "node:fs";
import { nmeaLine } from "../../src/engine/nmea/sentence.ts";

export interface SimulatorPort {
  write(bytes: Uint8Array): void;
}

export interface NmeaGpsOptions {
  /** Milliseconds between bursts (a receiver's usual 1 Hz is 1000). */
  interval?: number;
  /** The simulated position, decimal degrees, metres. */
  latitude?: number;
  longitude?: number;
  altitude?: number;
  /** Start without a fix (a cold start). */
  noFix?: boolean;
  /** Talker id of the burst: GP (GPS only) or GN (multi-GNSS). */
  talker?: string;
  /** A capture file to replay once at start instead of the bursts. */
  capture?: string;
  /** Bytes per write when replaying. */
  chunk?: number;
}

const encoder = new TextEncoder();

/** A simulated GPS receiver. It takes no commands; bytes from the host are ignored, as by most receivers. */
export class NmeaGpsSimulator {
  latitude: number;
  longitude: number;
  altitude: number;
  hasFix: boolean;
  speedKnots = 0;
  course = 0;
  satellitesUsed = 7;
  hdop = 1.1;
  /** Total sentences sent, for tests that wait for a burst. */
  sent = 0;

  private readonly port: SimulatorPort;
  private readonly options: NmeaGpsOptions;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(port: SimulatorPort, options: NmeaGpsOptions = {}) {
    this.port = port;
    this.options = options;
    this.latitude = options.latitude ?? -37.784795;
    this.longitude = options.longitude ?? 175.314902;
    this.altitude = options.altitude ?? 60.2;
    this.hasFix = !(options.noFix ?? false);
  }

  start(): void {
    if (this.options.capture !== undefined) {
      this.replay(readFileSync(this.options.capture, "latin1"), this.options.chunk ?? 37);
      return;
    }
    this.burst();
    this.timer = setInterval(() => this.burst(), this.options.interval ?? 1000);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  receive(_bytes: Uint8Array): void {}

  /** The sky clouds over: the next bursts say "no fix". */
  loseFix(): void {
    this.hasFix = false;
  }

  regainFix(): void {
    this.hasFix = true;
  }

  /** Sends raw bytes as they are (a corrupted sentence, line noise). */
  sendRaw(text: string): void {
    this.port.write(encoder.encode(text));
  }

  /** Sends a capture's sentences in chunks of `chunk` bytes, each chunk ending mid-sentence more often than not. */
  replay(capture: string, chunk: number): void {
    const lines = capture.split(/\r?\n/).filter((l) => l !== "" && !l.startsWith("#"));
    const bytes = encoder.encode(lines.map((l) => `${l}\r\n`).join(""));
    for (let i = 0; i < bytes.length; i += chunk) this.port.write(bytes.slice(i, i + chunk));
    this.sent += lines.length;
  }

  /** One second's sentences. */
  burst(): void {
    const t = this.options.talker ?? "GP";
    const now = new Date();
    const hhmmss = `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}.${String(now.getUTCMilliseconds()).padStart(3, "0")}`;
    const ddmmyy = `${pad(now.getUTCDate())}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCFullYear() % 100)}`;
    const fix = this.hasFix;
    const lat = fix ? `${degreesMinutes(this.latitude, 2)},${this.latitude < 0 ? "S" : "N"}` : ",";
    const lon = fix ? `${degreesMinutes(this.longitude, 3)},${this.longitude < 0 ? "W" : "E"}` : ",";
    const used = fix ? this.satellitesUsed : 0;
    const sentences = [
      `${t}GGA,${hhmmss},${lat},${lon},${fix ? 1 : 0},${pad(used)},${fix ? this.hdop.toFixed(1) : ""},${fix ? this.altitude.toFixed(1) : ""},M,${fix ? "23.7" : ""},M,,0000`,
      `${t}GSA,A,${fix ? 3 : 1},${Array.from({ length: 12 }, (_, i) => (i < used ? pad(i * 3 + 1) : "")).join(",")},${fix ? `1.9,${this.hdop.toFixed(1)},1.6` : ",,"}`,
      `${t === "GN" ? "GP" : t}GSV,2,1,08,01,45,090,40,04,30,180,35,07,60,270,42,10,15,030,28`,
      `${t === "GN" ? "GP" : t}GSV,2,2,08,13,20,120,30,16,50,200,38,19,10,300,,22,05,010,`,
      `${t}RMC,${hhmmss},${fix ? "A" : "V"},${lat},${lon},${fix ? this.speedKnots.toFixed(2) : ""},${fix ? this.course.toFixed(2) : ""},${ddmmyy},,,${fix ? "A" : "N"}`,
      `${t}VTG,${fix ? this.course.toFixed(2) : ""},T,,M,${fix ? this.speedKnots.toFixed(2) : ""},N,${fix ? (this.speedKnots * 1.852).toFixed(2) : ""},K,${fix ? "A" : "N"}`,
    ];
    this.port.write(encoder.encode(sentences.map(nmeaLine).join("")));
    this.sent += sentences.length;
  }
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** Decimal degrees → NMEA's `ddmm.mmmm` (or `dddmm.mmmm`). */
function degreesMinutes(value: number, degreeDigits: number): string {
  const abs = Math.abs(value);
  let degrees = Math.floor(abs);
  let minutes = Number(((abs - degrees) * 60).toFixed(4));
  if (minutes >= 60) {
    degrees += 1;
    minutes -= 60;
  }
  return `${String(degrees).padStart(degreeDigits, "0")}${minutes.toFixed(4).padStart(7, "0")}`;
}
