import type { TelegramDeviceDefinition } from "../../config/device-definition.ts";
import type { TelegramEntity } from "../../config/telegram-definition.ts";
import { boundedWait } from "../../core/wait.ts";
import type { RawValue } from "../../entities/entity.ts";
import { DeviceError } from "../device-error.ts";
import type { Driver, DriverContext } from "../driver.ts";
import { dsmrTimestamp, numberWithUnit, parseTelegram, type Telegram } from "./telegram.ts";

/** The M-Bus device type line of channel n is `0-n:24.1.0`. */
const mbusTypeLine = (channel: number) => `0-${channel}:24.1.0`;

/**
 * The driver of telegram meters (DSMR P1). A meter streams a telegram every 1–10 s unasked, so a poll
 * asks nothing: it succeeds when a valid telegram came within the poll interval (or comes before the
 * timeout). A telegram that fails its CRC or its shape is garbage, dropped whole: none of its values is
 * used, so a counter never moves on a corrupt telegram. Each entity reads its OBIS code's last value
 * group, its unit checked against the model's (a value in another unit is a bad value, never rescaled),
 * times its scale; an earlier timestamp group (an M-Bus reading's time) becomes the `timestamp` attribute.
 */
export class TelegramDriver implements Driver {
  private readonly ctx: DriverContext;
  private readonly definition: TelegramDeviceDefinition;
  private readonly crc: boolean;
  private readonly waiting = new Set<() => void>();
  /** The last reading of each total_increasing entity, to tell a meter whose counter went back. */
  private readonly totals = new Map<string, number>();
  private identification: string | undefined;
  private lastValidAt = Number.NEGATIVE_INFINITY;
  private unlisten: (() => void) | undefined;

  constructor(ctx: DriverContext) {
    this.ctx = ctx;
    this.definition = ctx.definition as TelegramDeviceDefinition;
    this.crc = this.definition.telegram.crc !== "none";
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
    if (performance.now() - this.lastValidAt <= interval) return;
    await boundedWait<void>(
      (resolve) => {
        const done = () => resolve();
        this.waiting.add(done);
        return () => this.waiting.delete(done);
      },
      { signal },
    );
  }

  async execute(): Promise<void> {
    throw new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, "a meter's P1 port takes no commands");
  }

  private onFrame(frame: Uint8Array): void {
    const parsed = parseTelegram(frame, this.crc);
    if (!parsed.ok) return this.ctx.garbage(frame, parsed.why);
    const { telegram } = parsed;
    this.lastValidAt = performance.now();
    for (const wake of this.waiting) wake();
    this.waiting.clear();
    if (telegram.identification !== this.identification) {
      this.identification = telegram.identification;
      const version = telegram.lines.get("1-3:0.2.8")?.[0];
      this.ctx.rebooted({ model: telegram.identification, swVersion: version === undefined ? undefined : `DSMR ${version.split("").join(".")}` });
    }
    const readings = new Map<string, RawValue>();
    const attributes = new Map<string, Record<string, unknown>>();
    for (const spec of this.definition.entities) {
      const groups = telegram.lines.get(this.codeOf(spec, telegram));
      if (groups === undefined || groups.length === 0) continue;
      const value = this.valueOf(spec, groups);
      if (value === undefined) continue;
      readings.set(spec.key, value);
      const stamp = groups.length > 1 ? dsmrTimestamp(groups[0]!) : undefined;
      if (stamp !== undefined) attributes.set(spec.key, { timestamp: stamp });
    }
    if (readings.size > 0) this.ctx.report(readings, attributes);
  }

  /** The entity's OBIS code in this telegram: `0-*:…` is the channel whose M-Bus device type is the entity's. */
  private codeOf(spec: TelegramEntity, telegram: Telegram): string {
    if (spec.device_type === undefined) return spec.obis;
    for (let channel = 1; channel <= 4; channel++) {
      const type = telegram.lines.get(mbusTypeLine(channel))?.[0];
      if (type !== undefined && Number(type) === spec.device_type) return spec.obis.replace("-*:", `-${channel}:`);
    }
    return spec.obis;
  }

  /** The reading of one entity from its line's value groups; a value it cannot take is handed on as sent, for the device to count as bad. */
  private valueOf(spec: TelegramEntity, groups: readonly string[]): RawValue | undefined {
    const sent = groups[groups.length - 1]!;
    if (spec.kind === "sensor" && !spec.numeric) return spec.device_class === "timestamp" ? (dsmrTimestamp(sent) ?? sent) : sent;
    const parsed = numberWithUnit(sent);
    if (parsed === undefined) return sent;
    const expected = spec.obis_unit;
    // DSMR 3 writes the gas unit in a group of its own: (m3)(00123.456).
    const unit = parsed.unit ?? (expected !== undefined && groups.includes(expected) ? expected : undefined);
    if (expected !== undefined && unit !== expected) {
      this.ctx.logLimited("warn", `unit ${spec.key}`, { entity: spec.key, sent, expected }, `${spec.key} came in ${unit ?? "no unit"}, the model expects ${expected}`);
      return `${sent} (expected ${expected})`;
    }
    const value = spec.scale === 1 ? parsed.value : Number.parseFloat((parsed.value * spec.scale).toPrecision(15));
    if ("state_class" in spec && spec.state_class === "total_increasing") {
      const last = this.totals.get(spec.key);
      if (last !== undefined && value < last) {
        // A meter replaced or reset: Home Assistant takes a total_increasing that falls as a new cycle.
        this.ctx.logLimited("warn", `total fell ${spec.key}`, { entity: spec.key, last, value }, `${spec.key} fell from ${last} to ${value}: meter replaced or reset?`);
      }
      this.totals.set(spec.key, value);
    }
    return value;
  }
}
