import type { OneWireDeviceDefinition } from "../../config/device-definition.ts";
import { DeviceError } from "../device-error.ts";
import type { Driver, DriverContext } from "../driver.ts";
import { discoverProbes, w1SlavePath } from "./probes.ts";
import { readW1Slave } from "./read-task.ts";
import { OneWireError, parseW1Slave } from "./w1-slave.ts";

/**
 * The driver of 1-Wire temperature probes read through the kernel's w1_therm sysfs files. The read
 * blocks for a conversion (about 750 ms), so it runs as an executor job, never on the loop.
 * `port` is the probe's id (`28-…`), its folder's absolute path, `auto` for the only probe present,
 * or `sim` for a simulated probe (devices/ds18b20/simulator.ts).
 */
export class OneWireDriver implements Driver {
  private readonly ctx: DriverContext;
  private readonly definition: OneWireDeviceDefinition;
  private path: string | undefined;

  constructor(ctx: DriverContext) {
    this.ctx = ctx;
    this.definition = ctx.definition as OneWireDeviceDefinition;
  }

  /** The sysfs root: the device's `options.sysfs_root`, else the definition's. */
  get root(): string {
    return String(this.ctx.config.options.sysfs_root ?? this.definition.onewire.sysfs_root);
  }

  async start(): Promise<void> {
    // A simulated probe (`port: sim`) is read from the folder its simulator made: the transport's path.
    let port = this.ctx.config.port === "sim" ? this.ctx.transport.path : this.ctx.config.port;
    if (port === "auto") {
      const found = await discoverProbes(this.root, this.definition.onewire.family);
      if (found.length !== 1) {
        throw new DeviceError("DEVICE_SETUP_FAILED", this.ctx.config.id, `port auto needs exactly one probe under ${this.root}; found ${found.length ? found.join(", ") : "none"}`);
      }
      port = found[0]!;
    }
    this.path = w1SlavePath(port, this.root);
  }

  async stop(): Promise<void> {}

  async poll(signal: AbortSignal): Promise<void> {
    let text: string;
    try {
      text = await this.ctx.runBlocking(readW1Slave, [this.path!], signal);
    } catch (err) {
      if (signal.aborted) throw err;
      if (/ENOENT|no such file/i.test((err as Error).message)) {
        throw new OneWireError("ONEWIRE_PROBE_MISSING", `${this.ctx.config.id}: no probe at ${this.path} (unplugged, or the w1 bus lost it)`, { cause: err });
      }
      throw err;
    }
    const celsius = parseW1Slave(text);
    const readings = new Map<string, number>();
    for (const e of this.definition.entities) readings.set(e.key, celsius);
    this.ctx.report(readings);
  }

  async execute(): Promise<void> {
    throw new DeviceError("DEVICE_NOT_WRITABLE", this.ctx.config.id, "a temperature probe takes no commands");
  }
}
