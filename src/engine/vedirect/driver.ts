import type { VeDirectDeviceDefinition } from "../../config/device-definition.ts";
import type { RawValue } from "../../entities/entity.ts";
import { DeviceError } from "../device-error.ts";
import type { Driver, DriverContext } from "../driver.ts";
import { Hearing } from "../hearing.ts";
import { EntityValues } from "../line/values.ts";
import { parseBlock } from "./block.ts";

/** An entity fed by a label, with its value mapping. */
interface Reader {
  key: string;
  values: EntityValues;
}

/**
 * The driver of Victron VE.Direct devices in text mode. A device streams a block about once a second
 * unasked, so a poll asks nothing: it succeeds when a valid block came within the poll interval (or
 * comes before the timeout), which is how the engine learns that a device went silent or sends only
 * corrupt blocks. A block whose checksum fails is garbage, counted, and none of it is read.
 */
export class VeDirectDriver implements Driver {
  private readonly ctx: DriverContext;
  private readonly definition: VeDirectDeviceDefinition;
  /** label → the entities it feeds */
  private readonly readers = new Map<string, Reader[]>();
  private readonly hearing = new Hearing();
  /** Whether the first frame since start is still to come: it may be the tail of a block begun before hearth listened. */
  private first = true;
  /** The product and firmware last told the device as its hello, so that a repeat of them is not a reboot. */
  private identity: { pid?: string; fw?: string } = {};
  /** HEX-protocol messages seen between or inside blocks (ignored: hearth speaks only the text protocol). */
  hexMessages = 0;
  private unlisten: (() => void) | undefined;

  constructor(ctx: DriverContext) {
    this.ctx = ctx;
    this.definition = ctx.definition as VeDirectDeviceDefinition;
    for (const e of this.definition.entities) {
      const reader = { key: e.key, values: new EntityValues(e, this.definition.vedirect.no_value) };
      this.readers.set(e.label, [...(this.readers.get(e.label) ?? []), reader]);
    }
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
    throw new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, "a VE.Direct device in text mode takes no commands");
  }

  /** Reads one framed block (the framer cut it after its checksum byte). */
  private onFrame(frame: Uint8Array): void {
    const block = parseBlock(frame);
    this.hexMessages += block.hexMessages;
    const first = this.first;
    this.first = false;
    if (!block.ok) {
      // Opening the port mid-block is no fault of the device: that tail is skipped, not counted.
      if (first && block.incomplete) return this.ctx.log.debug({ why: block.why }, "Skipped the tail of a block begun before the port was opened");
      return this.ctx.garbage(frame, block.why);
    }
    this.hearing.heard();
    const readings = new Map<string, RawValue>();
    for (const [label, value] of block.fields) {
      const readers = this.readers.get(label);
      if (readers !== undefined) for (const r of readers) readings.set(r.key, r.values.read(value));
    }
    this.hello(block.fields.get("PID"), block.fields.get("FW"));
    if (readings.size > 0) this.ctx.report(readings);
  }

  /** Tells the device's product and firmware when they are first seen or change (a replaced device, an update). */
  private hello(pid: string | undefined, fw: string | undefined): void {
    if (pid === undefined && fw === undefined) return; // a BMV's second block: history only
    if (pid === this.identity.pid && fw === this.identity.fw) return;
    this.identity = { pid: pid ?? this.identity.pid, fw: fw ?? this.identity.fw };
    const products = this.definition.vedirect.products;
    const id = this.identity.pid;
    const product = id === undefined ? undefined : (products[id] ?? Object.entries(products).find(([k]) => k.toLowerCase() === id.toLowerCase())?.[1] ?? `${this.definition.name} (PID ${id})`);
    this.ctx.rebooted({ model: product, swVersion: firmwareVersion(this.identity.fw) });
  }
}

/** VE.Direct's `FW` field as a version: `161` is 1.61, `0413` is 4.13 (the last two digits are the minor). */
export function firmwareVersion(fw: string | undefined): string | undefined {
  if (fw === undefined || !/^\d{3,4}$/.test(fw)) return fw;
  const n = fw.replace(/^0+(?=\d{3})/, "");
  return `${Number(n.slice(0, -2))}.${n.slice(-2)}`;
}
