import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import { parseIntelHex } from "../../src/engine/firmware/intel-hex.ts";
import { tempDir } from "../helpers/temp.ts";

// The hearth-io firmware as an artifact: the sketch built for the ATmega328P (Uno, Nano) with Debian's
// packaged toolchain alone (gcc-avr, avr-libc, arduino-core-avr, arduino-mk; .ci/run installs them),
// through the Makefile a user runs. Running it on an emulated MCU is not part of this test.
const SKETCH = join(import.meta.dir, "..", "..", "devices", "hearth-io", "firmware", "hearth_io");
/** An ATmega328P's 32 KiB of flash, less the 512 bytes Optiboot keeps at its top. */
const APPLICATION_FLASH = 32 * 1024 - 512;

test("the hearth-io sketch builds with Debian's packaged AVR toolchain, fits the Uno's flash beside Optiboot, and says the hello the simulator says", async () => {
  const out = tempDir("hearth-firmware-");
  const make = Bun.spawn(["make", "-s", `OBJDIR=${out}`], { cwd: SKETCH, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([make.exited, new Response(make.stdout).text(), new Response(make.stderr).text()]);
  if (code !== 0) throw new Error(`make failed (${code}):\n${stdout}\n${stderr}`);
  expect(stdout).toContain("Device: atmega328p");
  const flash = parseIntelHex(readFileSync(join(out, "hearth_io.hex"), "latin1"), APPLICATION_FLASH).bytes; // every record checked
  expect(flash.length).toBeGreaterThan(4096); // a real program, not an empty image
  expect(flash.length).toBeLessThanOrEqual(APPLICATION_FLASH);
  // The strings it prints live in flash (F()): its hello, and a version the simulator plays too.
  const text = Buffer.from(flash).toString("latin1");
  expect(text).toContain("HELLO hearth-io fw=");
  const version = /([0-9]+\.[0-9]+\.[0-9]+)\0/.exec(text)?.[1];
  expect(version).toBe(new HearthIoSimulator({ write: () => {} } as never, {}).firmware);
  expect(text).toContain("ERR - too_long line over 64 bytes");
}, 120_000);
