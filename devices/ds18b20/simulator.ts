/**
 * The ds18b20 simulator: a probe in a temporary sysfs-like folder (`<root>/28-…/w1_slave`) whose
 * temperature drifts. Each update rewrites the file whole (written beside it, then renamed over it),
 * so a read never sees half a file. There is no serial line: the driver reads the file through the
 * executor, as it reads the kernel's. The updates are written asynchronously: the simulator runs on
 * hearth's loop, which must not block (making and removing its folder at start and stop is allowed).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allowBlockingCalls } from "../../src/core/blocking-calls.ts";
import { seededRandom } from "../seeded-random.ts";

export interface Ds18b20SimulatorOptions {
  /** Milliseconds between temperature updates. */
  interval?: number;
  /** The starting temperature, °C. */
  temperature?: number;
  /** The probe's id under the folder (`28-` and 12 hex digits). */
  probe?: string;
  /** Seeds the drift, so runs repeat. */
  seed?: number;
}

/** A simulated DS18B20 on a temporary w1 sysfs root. */
export class Ds18b20Simulator {
  /** The temporary sysfs root (made by start()). */
  root = "";
  readonly probe: string;
  temperature: number;
  private readonly interval: number;
  private readonly random: () => number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: Ds18b20SimulatorOptions = {}) {
    this.probe = options.probe ?? "28-00000a1b2c3d";
    this.temperature = Number(options.temperature ?? 21.5);
    this.interval = Number(options.interval ?? 2000);
    this.random = seededRandom(Number(options.seed ?? 1));
  }

  /** The probe's folder (absolute): a ds18b20 device's port. */
  get folder(): string {
    return join(this.root, this.probe);
  }

  start(): void {
    allowBlockingCalls(() => {
      this.root = mkdtempSync(join(tmpdir(), "hearth-sim-w1-"));
      mkdirSync(this.folder);
      writeFileSync(join(this.folder, "w1_slave"), this.text()); // readable from the first poll
    });
    this.timer = setInterval(() => {
      // A slow random walk, kept to a room's range; 85 °C (the power-on value) is never reached.
      this.temperature = Math.min(35, Math.max(5, this.temperature + (this.random() - 0.5) * 0.25));
      void this.write();
    }, this.interval);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    const root = this.root;
    if (root !== "") allowBlockingCalls(() => rmSync(root, { recursive: true, force: true }));
  }

  /** Rewrites w1_slave with the current temperature, atomically (written beside it, then renamed over it). */
  async write(): Promise<void> {
    const file = join(this.folder, "w1_slave");
    try {
      await writeFile(`${file}.tmp`, this.text());
      await rename(`${file}.tmp`, file);
    } catch {
      // The last reading stays (after stop() the folder is gone: nothing to update).
    }
  }

  /** w1_slave's text for the current temperature, at the DS18B20's 1/16 °C resolution. */
  private text(): string {
    const milli = Math.round(this.temperature * 16) * 62.5;
    return `72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=${Math.round(milli)}\n`;
  }
}
