/**
 * The real hearth-io firmware for the tests: built by Debian's AVR toolchain (arduino-mk, through the
 * sketch's own Makefile) and run on an emulated ATmega328P by the simavr harness in
 * devices/hearth-io/firmware/simavr/, whose UART is a pseudo-terminal.
 */
import { join } from "node:path";
import type { Subprocess } from "bun";
import { OutputReader } from "./output-reader.ts";

export const FIRMWARE_DIR = join(import.meta.dir, "..", "..", "devices", "hearth-io", "firmware");

/** Runs `make -s ARGS` in `cwd`; throws with make's output when it fails. */
export async function make(cwd: string, ...args: string[]): Promise<void> {
  const p = Bun.spawn(["make", "-s", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`make ${args.join(" ")} failed (${code}):\n${out}\n${err}`);
}

/** Builds the sketch into `outDir` (hearth_io.elf, hearth_io.hex) and the harness beside it (hearth_io_sim). */
export async function buildFirmware(outDir: string, makeArgs: string[] = []): Promise<{ elf: string; hex: string; harness: string }> {
  await make(join(FIRMWARE_DIR, "hearth_io"), `OBJDIR=${outDir}`, ...makeArgs);
  await make(join(FIRMWARE_DIR, "simavr"), `OUT=${outDir}`);
  return { elf: join(outDir, "hearth_io.elf"), hex: join(outDir, "hearth_io.hex"), harness: join(outDir, "hearth_io_sim") };
}

/**
 * Builds Optiboot, the bootloader of an Uno, from the source in Debian's arduino-core-avr into `outDir`, and
 * returns its Intel HEX (for the harness's `--bootloader`). The package's own prebuilt
 * optiboot_atmega328.hex is too big for the 512-byte boot section (see the harness's Makefile).
 */
export async function buildOptiboot(outDir: string): Promise<string> {
  const hex = join(outDir, "optiboot_atmega328.hex");
  await make(join(FIRMWARE_DIR, "simavr"), `OUT=${outDir}`, hex);
  return hex;
}

export interface EmulatedBoard {
  /** The pseudo-terminal the MCU's UART is on: a port for hearth. */
  readonly pty: string;
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  /** What the harness printed. */
  readonly stdout: OutputReader;
  readonly stderr: OutputReader;
  /** Ends the emulator (SIGTERM) and waits for it. */
  stop(): Promise<void>;
}

/**
 * Starts the harness with `args` (options, then the firmware) and resolves once it says which pty it is on.
 * `["--bootloader", await buildOptiboot(dir), "--reset-on-open", elf]` is a board avrdude can update.
 */
export async function startEmulator(harness: string, args: string[]): Promise<EmulatedBoard> {
  const process = Bun.spawn([harness, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const stdout = new OutputReader(process.stdout);
  const stderr = new OutputReader(process.stderr);
  try {
    await stdout.waitFor(/^PTY \/dev\/pts\/\d+$/m);
  } catch (err) {
    process.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\nstderr:\n${stderr.text}`);
  }
  const pty = /^PTY (\S+)$/m.exec(stdout.text)![1]!;
  return {
    pty,
    process,
    stdout,
    stderr,
    stop: async () => {
      process.kill("SIGTERM");
      await process.exited;
    },
  };
}
