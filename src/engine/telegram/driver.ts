import type { TelegramDeviceDefinition } from "../../config/device-definition.ts";
import type { TelegramEntity } from "../../config/telegram-definition.ts";
import type { RawValue } from "../../entities/entity.ts";
import { DeviceError } from "../device-error.ts";
import type { Driver, DriverContext } from "../driver.ts";
import { Hearing } from "../hearing.ts";
import { dsmrTimestamp, obisKey, parseTelegram, type Telegram } from "./telegram.ts";

/** The M-Bus channels a meter has (DSMR: 1 to 4), and the line that gives each one's device type (`0-n:24.1.0`). */
const CHANNELS = [1, 2, 3, 4];
const MBUS_TYPE_KEYS = CHANNELS.map((n) => obisKey(`0-${n}:24.1.0`));
const VERSION_KEY = obisKey("1-3:0.2.8");
const encoder = new TextEncoder();

/** How one entity is read, worked out once from the model (its own flat object: the schema's are slow to read per telegram). */
interface Plan {
  key: string;
  deviceType: number | undefined;
  unitText: string | undefined;
  scale: number;
  /** The slot of its OBIS code in a telegram, or one per channel for `0-*:…`. */
  slots: number[];
  /** Its last reading, for a total_increasing entity. */
  last: number | undefined;
  numeric: boolean;
  /** A text sensor of device class timestamp: a DSMR timestamp becomes ISO 8601. */
  timestamp: boolean;
  unit: Uint8Array | undefined;
  total: boolean;
}

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
  private readonly plans: Plan[];
  /** The OBIS keys the model reads (and the M-Bus device types and the version) → their slots in a telegram. */
  private readonly wanted = new Map<number, number>();
  private readonly versionSlot: number;
  private readonly mbusTypeSlots: number[];
  private readonly hearing = new Hearing();
  private identification: string | undefined;
  private unlisten: (() => void) | undefined;

  constructor(ctx: DriverContext) {
    this.ctx = ctx;
    this.definition = ctx.definition as TelegramDeviceDefinition;
    this.crc = this.definition.telegram.crc !== "none";
    this.plans = this.definition.entities.map((spec: TelegramEntity) => ({
      key: spec.key,
      deviceType: spec.device_type,
      unitText: spec.obis_unit,
      scale: spec.scale,
      slots: (spec.device_type === undefined ? [spec.obis] : CHANNELS.map((n) => spec.obis.replace("-*:", `-${n}:`))).map((code) => this.slotOf(obisKey(code))),
      last: undefined,
      numeric: !(spec.kind === "sensor" && !spec.numeric),
      timestamp: spec.kind === "sensor" && spec.device_class === "timestamp",
      unit: spec.obis_unit === undefined ? undefined : encoder.encode(spec.obis_unit),
      total: "state_class" in spec && spec.state_class === "total_increasing",
    }));
    this.versionSlot = this.slotOf(VERSION_KEY);
    this.mbusTypeSlots = MBUS_TYPE_KEYS.map((key) => this.slotOf(key));
  }

  /** The slot of an OBIS key in the telegrams this driver reads, given the first time it is asked for. */
  private slotOf(key: number): number {
    let slot = this.wanted.get(key);
    if (slot === undefined) this.wanted.set(key, (slot = this.wanted.size));
    return slot;
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
    throw new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, "a meter's P1 port takes no commands");
  }

  private onFrame(frame: Uint8Array): void {
    const parsed = parseTelegram(frame, this.crc, this.wanted);
    if (!parsed.ok) return this.ctx.garbage(frame, parsed.why);
    const { telegram } = parsed;
    this.hearing.heard();
    if (telegram.identification !== this.identification) {
      this.identification = telegram.identification;
      const version = telegram.lastText(this.versionSlot);
      this.ctx.rebooted({ model: telegram.identification, swVersion: version === undefined ? undefined : `DSMR ${version.split("").join(".")}` });
    }
    const readings = new Map<string, RawValue>();
    let attributes: Map<string, Record<string, unknown>> | undefined;
    for (const plan of this.plans) {
      const slot = this.slotIn(plan, telegram);
      if (slot === undefined) continue;
      readings.set(plan.key, this.valueOf(plan, telegram, slot));
      const stamp = telegram.groupCount(slot) > 1 ? dsmrTimestamp(telegram.firstText(slot)!) : undefined;
      if (stamp !== undefined) (attributes ??= new Map()).set(plan.key, { timestamp: stamp });
    }
    if (readings.size > 0) this.ctx.report(readings, attributes);
  }

  /** The entity's line in this telegram, if it has one: for `0-*:…`, the channel whose M-Bus device type is the entity's. */
  private slotIn(plan: Plan, telegram: Telegram): number | undefined {
    const type = plan.deviceType;
    if (type === undefined) return telegram.has(plan.slots[0]!) ? plan.slots[0] : undefined;
    for (let i = 0; i < CHANNELS.length; i++) {
      if (telegram.lastNumber(this.mbusTypeSlots[i]!, undefined, undefined) === type) return telegram.has(plan.slots[i]!) ? plan.slots[i] : undefined;
    }
    return undefined;
  }

  /** The reading of one entity; a value it cannot take is handed on as sent, for the device to count as bad. */
  private valueOf(plan: Plan, telegram: Telegram, slot: number): RawValue {
    const { key: entity, unitText, scale } = plan;
    if (!plan.numeric) {
      const sent = telegram.lastText(slot)!;
      return plan.timestamp ? (dsmrTimestamp(sent) ?? sent) : sent;
    }
    const number = telegram.lastNumber(slot, plan.unit, unitText);
    if (Number.isNaN(number)) return telegram.lastText(slot)!;
    if (number === Number.NEGATIVE_INFINITY) {
      const sent = telegram.lastText(slot)!;
      this.ctx.logLimited("warn", `unit ${entity}`, { entity, sent, expected: unitText }, `${entity} came as ${sent}, the model expects ${unitText}`);
      return `${sent} (expected ${unitText})`;
    }
    const value = scale === 1 ? number : scaled(number, scale);
    if (plan.total) {
      const last = plan.last;
      if (last !== undefined && value < last) {
        // A meter replaced or reset: Home Assistant takes a total_increasing that falls as a new cycle.
        this.ctx.logLimited("warn", `total fell ${entity}`, { entity, last, value }, `${entity} fell from ${last} to ${value}: meter replaced or reset?`);
      }
      plan.last = value;
    }
    return value;
  }
}

/** `value × scale` without the binary fraction's noise (2.027 × 1000 is 2027, not 2026.9999999999998). */
function scaled(value: number, scale: number): number {
  const product = value * scale;
  return Math.abs(product) < 1e6 ? Math.round(product * 1e9) / 1e9 : Number.parseFloat(product.toPrecision(15));
}
