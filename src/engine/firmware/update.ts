/**
 * Updating one device's firmware (`hearth firmware`, the `device/firmware` request): the device's link is
 * closed, the image written by avrdude on its port, the link opened again, and the device given its
 * model's `hello_timeout` to say hello. A device that does not (or says another version than the one
 * asked for) gets the image it had before written back: the last image hearth wrote to it, kept in its
 * data folder, or on a first update the application flash read back from the device before anything
 * was written. The device is set up again however the update ends, so hearth goes on with it.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FirmwareUpdateSpec } from "../../config/device-definition.ts";
import type { Logger } from "../../core/logger.ts";
import { avrdudeArgs, runAvrdude } from "./avrdude.ts";
import { applicationPart, type FirmwareImage, IntelHexError, parseIntelHex, toIntelHex } from "./intel-hex.ts";

/** One step of an update, as the reply and the log tell it. */
export interface FirmwareStep {
  step: "check" | "stop" | "backup" | "write" | "hello" | "rollback" | "rollback hello";
  ok: boolean;
  /** What it did or why it failed. */
  detail: string;
  ms: number;
}

/** How an update ended: the new firmware runs, the previous one runs again, or neither is known to run. */
export type FirmwareOutcome = "updated" | "rolled_back" | "failed";

export interface FirmwareUpdateResult {
  id: string;
  status: FirmwareOutcome;
  version_before: string | null;
  version_after: string | null;
  steps: FirmwareStep[];
  /** Why it did not end `updated`. */
  error?: string;
}

/** How a device's last firmware update ended, for bridge/devices. */
export interface FirmwareUpdateRecord {
  status: FirmwareOutcome;
  /** When it ended (ISO 8601). */
  at: string;
  version_before: string | null;
  version_after: string | null;
  error?: string;
}

/** The device an update acts on, as the manager hands it over (it holds the device's lock meanwhile). */
export interface FirmwareTarget {
  id: string;
  /** The tty avrdude writes through. */
  port: string;
  spec: FirmwareUpdateSpec;
  /** The bootloader's baud rate. */
  baud: number;
  /** The version the device said last (before the update). */
  versionBefore: string | undefined;
  /** Unloads the device: its link is closed and the port free for avrdude. */
  stop(): Promise<void>;
  /** Sets the device up again; resolves with the version its hello says within `timeoutS`, or undefined when none came. */
  start(timeoutS: number): Promise<string | undefined>;
}

export interface FirmwareUpdaterDeps {
  log: Logger;
  /** Where the image last written to each device is kept (`<id>.hex`). */
  dir: string;
  /** The avrdude to run (default: the one on the PATH). */
  avrdude?: string;
}

/** The images hearth keeps, one per device: what to write back when an update fails. */
export function keptImagePath(dir: string, id: string): string {
  return join(dir, `${id}.hex`);
}

/** Runs firmware updates; one device's at a time is the manager's business (it holds the device's lock). */
export class FirmwareUpdater {
  private readonly deps: FirmwareUpdaterDeps;

  constructor(deps: FirmwareUpdaterDeps) {
    this.deps = deps;
  }

  /** Updates `target` to `image` (checked already); never throws for a failed step: the result says what happened. */
  async update(target: FirmwareTarget, image: FirmwareImage, options: { expectVersion?: string; signal?: AbortSignal } = {}): Promise<FirmwareUpdateResult> {
    const { dir } = this.deps;
    const log = this.deps.log.child({ device: target.id });
    const steps: FirmwareStep[] = [];
    const result = (status: FirmwareOutcome, after: string | undefined, error?: string): FirmwareUpdateResult => ({
      id: target.id,
      status,
      version_before: target.versionBefore ?? null,
      version_after: after ?? null,
      steps,
      ...(error === undefined ? {} : { error }),
    });
    /** Runs one step, records and logs it; resolves with its value, or undefined when it failed. */
    const step = async <T>(name: FirmwareStep["step"], run: () => Promise<{ value: T; detail: string }>): Promise<{ ok: true; value: T } | { ok: false; why: string }> => {
      const started = performance.now();
      try {
        const { value, detail } = await run();
        steps.push({ step: name, ok: true, detail, ms: Math.round(performance.now() - started) });
        log.info({ step: name, detail }, `Firmware update of ${target.id}: ${name}: ${detail}`);
        return { ok: true, value };
      } catch (err) {
        const why = (err as Error).message;
        steps.push({ step: name, ok: false, detail: why, ms: Math.round(performance.now() - started) });
        log.warn({ step: name, why }, `Firmware update of ${target.id}: ${name} failed: ${why}`);
        return { ok: false, why };
      }
    };
    const avrdude = (operation: "w" | "r", file: string) =>
      runAvrdude(avrdudeArgs(target.spec, target.port, target.baud, operation, file), target.spec.timeout, { command: this.deps.avrdude, signal: options.signal });

    await mkdir(dir, { recursive: true });
    const kept = keptImagePath(dir, target.id);
    const incoming = join(dir, `${target.id}.new.hex`);
    const readBack = join(dir, `${target.id}.read.hex`);
    steps.push({ step: "check", ok: true, detail: `an image of ${image.size} bytes in ${image.records} records, for ${target.port}`, ms: 0 });
    log.info({ bytes: image.size, port: target.port, version: target.versionBefore }, `Firmware update of ${target.id} begins (running ${target.versionBefore ?? "an unknown version"})`);
    let started = false;
    try {
      await step("stop", async () => {
        await target.stop();
        return { value: undefined, detail: `link to ${target.port} closed; the device is unavailable meanwhile` };
      });

      // What to write back if the new image fails: the last one hearth wrote, else the device's own, read out now.
      const backup = await step("backup", async () => {
        const text = await readFile(kept, "latin1").catch(() => undefined);
        if (text !== undefined) {
          try {
            return { value: parseIntelHex(text, target.spec.max_size), detail: `the image written last is kept in ${kept}` };
          } catch (err) {
            if (!(err instanceof IntelHexError)) throw err;
            log.warn({ file: kept, why: err.message }, `The kept image ${kept} is damaged; reading the device's own instead`);
          }
        }
        const run = await avrdude("r", readBack);
        const flash = parseIntelHex(await readFile(readBack, "latin1"), 16 * 1024 * 1024);
        const application = applicationPart(flash.bytes, target.spec.max_size);
        if (application.length === 0) throw new Error("the device's application flash is empty");
        await keep(kept, toIntelHex(application));
        return {
          value: parseIntelHex(await readFile(kept, "latin1"), target.spec.max_size),
          detail: `read ${application.length} bytes of application flash back from the device in ${run.ms} ms, kept in ${kept}`,
        };
      });
      if (!backup.ok) {
        started = true;
        const version = await target.start(target.spec.hello_timeout);
        return result("failed", version, `nothing was written: without the current firmware to go back to, hearth does not write a new one (${backup.why})`);
      }

      await writeFile(incoming, toIntelHex(image.bytes));
      const write = await step("write", async () => {
        const run = await avrdude("w", incoming);
        return { value: undefined, detail: `${image.size} bytes written and verified in ${run.ms} ms` };
      });
      let why: string;
      if (write.ok) {
        started = true;
        const hello = await step("hello", async () => {
          const version = await target.start(target.spec.hello_timeout);
          if (version === undefined) throw new Error(`the device did not say hello within ${target.spec.hello_timeout} s`);
          if (options.expectVersion !== undefined && version !== options.expectVersion) throw new Error(`the device says version ${version}, not ${options.expectVersion}`);
          return { value: version, detail: `the device says hello with version ${version}` };
        });
        if (hello.ok) {
          await rename(incoming, kept);
          log.info({ before: target.versionBefore, after: hello.value }, `Firmware of ${target.id} updated: ${target.versionBefore ?? "?"} → ${hello.value}`);
          return result("updated", hello.value);
        }
        why = hello.why;
        started = false;
        await target.stop();
      } else why = `the write failed: ${write.why}`;

      // Back to the image it had; not when hearth is stopping (avrdude was stopped: the board waits for the next start).
      if (options.signal?.aborted) return result("failed", undefined, `${why}; hearth stopped before the previous firmware could be written back`);
      const rollback = await step("rollback", async () => {
        const run = await avrdude("w", kept);
        return { value: undefined, detail: `the previous image (${backup.value.size} bytes) written back and verified in ${run.ms} ms` };
      });
      started = true;
      const again = await step("rollback hello", async () => {
        const version = await target.start(target.spec.hello_timeout);
        if (version === undefined) throw new Error(`the device did not say hello within ${target.spec.hello_timeout} s`);
        return { value: version, detail: `the device says hello with version ${version}` };
      });
      if (rollback.ok && again.ok) return result("rolled_back", again.value, `${why}; the previous firmware (version ${again.value}) was written back and runs`);
      return result(
        "failed",
        again.ok ? again.value : undefined,
        `${why}; writing the previous firmware back ${rollback.ok ? "worked, but it did not say hello either" : `failed too (${rollback.why})`}: the device needs a look`,
      );
    } finally {
      if (!started) await target.start(0).catch(() => undefined);
      await rm(incoming, { force: true });
      await rm(readBack, { force: true });
    }
  }
}

/** Writes a kept image so a crash midway never leaves half a file where the whole one was. */
async function keep(path: string, text: string): Promise<void> {
  const partial = `${path}.partial`;
  await writeFile(partial, text);
  await rename(partial, path);
}
