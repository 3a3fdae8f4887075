import { type BinaryField, pollFrames } from "../../config/binary-definition.ts";
import type { BinaryDeviceDefinition } from "../../config/device-definition.ts";
import { boundedWait } from "../../core/wait.ts";
import type { EntityCommand } from "../../entities/commands.ts";
import type { Entity, RawValue } from "../../entities/entity.ts";
import { DeviceError } from "../device-error.ts";
import type { Driver, DriverContext } from "../driver.ts";
import { BinaryFrames, fieldValue } from "./frames.ts";

/**
 * The driver of binary-frame sensors (MH-Z19B, PMS5003, SDS011, and any described the same way). The
 * link's framer cuts frames at their header; each is checked (length, tail, checksum) and a bad one is
 * garbage, counted with its reason and none of it read. A report's fields become readings. A polled
 * model's poll writes its request frames and waits for the next report; a streaming model's poll asks
 * nothing and has its answer when a sound frame came within the poll interval or comes before the
 * timeout, so a sensor that goes silent, or sends nothing but corrupt frames, becomes unavailable.
 * A button writes its request frame and does not wait (the sensors acknowledge little, if anything).
 */
export class BinaryDriver implements Driver {
  private readonly ctx: DriverContext;
  private readonly definition: BinaryDeviceDefinition;
  private readonly frames: BinaryFrames;
  private readonly fields: Array<{ key: string; field: BinaryField; binary: boolean }> = [];
  private readonly polls: Uint8Array[];
  /** Waiting polls: each wakes at the next report, or (streaming) at the next sound frame. */
  private readonly waiting = new Set<{ reportsOnly: boolean; wake: () => void }>();
  private lastSoundAt = Number.NEGATIVE_INFINITY;
  private unlisten: (() => void) | undefined;

  constructor(ctx: DriverContext) {
    this.ctx = ctx;
    this.definition = ctx.definition as BinaryDeviceDefinition;
    this.frames = new BinaryFrames(this.definition.binary);
    for (const e of this.definition.entities) if (e.field !== undefined) this.fields.push({ key: e.key, field: e.field, binary: e.kind === "binary_sensor" });
    this.polls = pollFrames(this.definition.binary).map((bytes) => this.frames.request(bytes));
  }

  async start(): Promise<void> {
    this.unlisten ??= this.ctx.transport.onFrame((frame) => this.onFrame(frame)); // once, however often started
  }

  async stop(): Promise<void> {
    this.unlisten?.();
    this.unlisten = undefined;
  }

  async poll(signal: AbortSignal): Promise<void> {
    if (this.polls.length === 0) {
      const interval = (this.ctx.config.poll_interval ?? this.definition.poll_interval) * 1000;
      if (performance.now() - this.lastSoundAt <= interval) return;
      return this.next(false, signal);
    }
    const report = this.next(true, signal);
    // The wait starts first: a fast sensor's answer must not arrive before anyone waits for it.
    report.catch(() => {});
    for (const frame of this.polls) await this.ctx.transport.write(frame);
    await report;
  }

  async execute(entity: Entity, command: EntityCommand, _signal: AbortSignal): Promise<void> {
    const spec = this.definition.entities.find((e) => e.key === entity.key);
    if (spec?.write === undefined || command.action !== "press") throw new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, `${entity.key} cannot be written`);
    await this.ctx.transport.write(this.frames.request(spec.write));
  }

  private next(reportsOnly: boolean, signal: AbortSignal): Promise<void> {
    return boundedWait<void>(
      (resolve) => {
        const waiter = { reportsOnly, wake: () => resolve() };
        this.waiting.add(waiter);
        return () => this.waiting.delete(waiter);
      },
      { signal },
    );
  }

  private onFrame(frame: Uint8Array): void {
    const fault = this.frames.fault(frame);
    if (fault !== undefined) return this.ctx.garbage(frame, fault);
    this.lastSoundAt = performance.now();
    const report = this.frames.isReport(frame);
    for (const waiter of this.waiting) {
      if (report || !waiter.reportsOnly) {
        waiter.wake();
        this.waiting.delete(waiter);
      }
    }
    if (!report) return; // a reply to a command: the device is alive, and there is nothing to read
    const end = this.frames.dataEnd(frame);
    const readings = new Map<string, RawValue>();
    for (const { key, field, binary } of this.fields) {
      const raw = fieldValue(frame, field.at, field.type, field.order, end);
      if (raw === undefined) continue; // a shorter frame of the same kind carries less
      const value = raw * field.scale + field.offset;
      readings.set(key, binary ? value !== 0 : value);
    }
    if (readings.size > 0) this.ctx.report(readings);
  }
}
