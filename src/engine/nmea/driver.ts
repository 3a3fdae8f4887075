import type { NmeaDeviceDefinition } from "../../config/device-definition.ts";
import type { RawValue } from "../../entities/entity.ts";
import { DeviceError } from "../device-error.ts";
import type { Driver, DriverContext } from "../driver.ts";
import { Hearing } from "../hearing.ts";
import { NmeaFieldError } from "./fields.ts";
import { FixTracker } from "./fix.ts";
import { parseSentence } from "./sentence.ts";

const decoder = new TextDecoder("latin1");

/**
 * The driver of NMEA 0183 receivers. A receiver streams sentences unasked, so a poll asks nothing:
 * it succeeds when a valid sentence came within the poll interval (or comes before the timeout),
 * which is how the engine learns that a receiver went silent. Bad checksums and malformed fields
 * are counted as garbage and none of their sentence is used.
 */
export class NmeaDriver implements Driver {
  private readonly ctx: DriverContext;
  private readonly definition: NmeaDeviceDefinition;
  private readonly tracker = new FixTracker();
  private readonly talkers: ReadonlySet<string>;
  /** reading → entity keys fed by it */
  private readonly readers = new Map<string, string[]>();
  private readonly hearing = new Hearing();
  private unlisten: (() => void) | undefined;

  constructor(ctx: DriverContext) {
    this.ctx = ctx;
    this.definition = ctx.definition as NmeaDeviceDefinition;
    this.talkers = new Set(this.definition.nmea.talkers);
    for (const e of this.definition.entities) this.readers.set(e.read, [...(this.readers.get(e.read) ?? []), e.key]);
  }

  async start(): Promise<void> {
    this.unlisten ??= this.ctx.transport.onFrame((frame) => this.onFrame(frame)); // once, however often started
  }

  async stop(): Promise<void> {
    this.unlisten?.();
    this.unlisten = undefined;
  }

  async poll(signal: AbortSignal): Promise<void> {
    const interval = (this.ctx.config.poll_interval ?? this.definition.poll_interval) * 1000;
    await this.hearing.wait(interval, signal);
  }

  async execute(): Promise<void> {
    throw new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, "a GPS receiver takes no commands");
  }

  private onFrame(frame: Uint8Array): void {
    const text = decoder.decode(frame).replace(/\r$/, "");
    if (text.length === 0) return;
    const parsed = parseSentence(text);
    if (!parsed.ok) return this.ctx.garbage(frame, parsed.why);
    const { sentence } = parsed;
    if (!this.talkers.has(sentence.talker)) return; // proprietary ($P…) or another instrument's sentence
    let update;
    try {
      update = this.tracker.apply(sentence);
    } catch (err) {
      if (err instanceof NmeaFieldError) return this.ctx.garbage(frame, err.message);
      throw err;
    }
    this.hearing.heard();
    if (update === undefined) return;
    const readings = new Map<string, RawValue>();
    for (const [reading, raw] of update.readings) {
      for (const key of this.readers.get(reading) ?? []) readings.set(key, raw);
    }
    if (readings.size > 0) this.ctx.report(readings);
  }
}
