import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BunBinding } from "../../src/serial/binding.ts";
import { buildFirmware, buildOptiboot, type EmulatedBoard, startEmulator } from "../helpers/simavr.ts";
import { tempDir } from "../helpers/temp.ts";

// Updating the hearth-io board's firmware as hearth will: Debian's avrdude talking to Optiboot over the
// board's serial port. The board is the emulated ATmega328P of the simavr harness, with Optiboot (built from
// Debian's arduino-core-avr source) in its boot section and the reset vector on it, as an Uno's BOOTRST fuse
// sets. Stand-in: a pty has no DTR line, so the harness's --reset-on-open resets the MCU (an external reset)
// whenever the port is opened, which is what an Uno's auto-reset capacitor on DTR does on every open, and
// what gets avrdude's `-c arduino` into Optiboot (its own DTR/RTS pulse fails on a pty, and it carries on).
// The tests run in order on one board: each starts from the flash the one before left.
const UART_LINK = "/tmp/simavr-uart0";
const BOOT_SECTION = 0x7e00; // Optiboot's 512 bytes at the top of the 32 KiB of flash

let board: EmulatedBoard | undefined;
/** Intel HEX texts: the build dir goes after the first test, so later tests write these where they need them. */
const image = { v100: "", v110: "", silent: "", optiboot: "" };

/** A program that never says hello: main() is an empty loop. */
async function buildSilent(dir: string): Promise<string> {
  writeFileSync(join(dir, "silent.c"), "int main(void) {\n  for (;;) {\n  }\n}\n");
  await run(["avr-gcc", "-mmcu=atmega328p", "-Os", "-o", "silent.elf", "silent.c"], dir);
  await run(["avr-objcopy", "-O", "ihex", "-R", ".eeprom", "silent.elf", "silent.hex"], dir);
  return join(dir, "silent.hex");
}

/** Runs a command in `cwd`; throws with its output when it fails. */
async function run(cmd: string[], cwd: string): Promise<void> {
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}):\n${out}\n${err}`);
}

/** Writes an image from `image` into a new folder, for avrdude. */
function hexFile(name: keyof typeof image): string {
  const file = join(tempDir("hearth-optiboot-"), `${name}.hex`);
  writeFileSync(file, image[name]);
  return file;
}

/** The bytes an Intel HEX file puts in flash from its lowest address, gaps erased (0xff) as in flash. */
async function flashOf(hex: string): Promise<Buffer> {
  const bin = join(tempDir("hearth-optiboot-"), "flash.bin");
  await run(["avr-objcopy", "-I", "ihex", "-O", "binary", "--gap-fill", "0xff", hex, bin], "/");
  return readFileSync(bin);
}

/** Runs Debian's avrdude on the board as hearth's updater will, with one -U operation. */
async function avrdude(operation: string): Promise<{ code: number; stderr: string }> {
  const p = Bun.spawn(["avrdude", "-c", "arduino", "-p", "atmega328p", "-P", board!.pty, "-b", "115200", "-D", "-U", operation], {
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    return { code, stderr };
  } finally {
    p.kill("SIGKILL"); // nothing when it has ended; ends it if the test timed out
  }
}

/**
 * Opens the port with hearth's own serial code and returns what the board says until `until` matches (or
 * all of it after `ms`). The open resets the board, as on an Uno.
 */
async function saysOnOpen(until: RegExp | null, ms = 20_000): Promise<string> {
  const port = await new BunBinding().open({ path: board!.pty, baudRate: 115200 });
  let text = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (until ? reject(new Error(`not ${until} in ${ms} ms, got ${JSON.stringify(text)}`)) : resolve()), ms);
      port.listen({
        data: (chunk) => {
          text += Buffer.from(chunk).toString("latin1");
          if (until?.test(text)) {
            clearTimeout(timer);
            resolve();
          }
        },
        error: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  } finally {
    await port.close();
  }
  return text;
}

beforeAll(async () => {
  const dir = tempDir("hearth-optiboot-");
  const v100 = await buildFirmware(join(dir, "v100"));
  const v110 = await buildFirmware(join(dir, "v110"), ["FIRMWARE_VERSION=1.1.0"]);
  const optiboot = await buildOptiboot(dir);
  image.v100 = readFileSync(v100.hex, "latin1");
  image.v110 = readFileSync(v110.hex, "latin1");
  image.silent = readFileSync(await buildSilent(dir), "latin1");
  image.optiboot = readFileSync(optiboot, "latin1");
  board = await startEmulator(v100.harness, ["--bootloader", optiboot, "--reset-on-open", v100.elf]);
}, 240_000);

afterAll(async () => {
  await board?.stop();
  expect(existsSync(UART_LINK)).toBe(false);
});

test("the board with Optiboot runs its application: opening the port resets it, and after the bootloader's wait it says HELLO fw=1.0.0", async () => {
  // What the board said while nobody had the port open is dropped, as by a USB serial adapter; but, as on a
  // board, an opener may first read the tail of a line it was sending at the moment of the open.
  expect(await saysOnOpen(/HELLO [^\r\n]*\r\n/)).toContain("HELLO hearth-io fw=1.0.0 ");
}, 60_000);

test("avrdude writes a 1.1.0 build through Optiboot, the board says HELLO fw=1.1.0 when the port is opened again, and avrdude reads back what it wrote", async () => {
  const v110 = hexFile("v110");
  const write = await avrdude(`flash:w:${v110}:i`);
  expect(write.stderr).toContain("bytes of flash verified");
  expect(write.code).toBe(0);
  expect(await saysOnOpen(/HELLO [^\r\n]*\r\n/)).toContain("HELLO hearth-io fw=1.1.0 ");

  const out = join(tempDir("hearth-optiboot-"), "read.hex");
  const read = await avrdude(`flash:r:${out}:i`);
  expect(read.code).toBe(0);
  const flash = await flashOf(out);
  const written = await flashOf(v110);
  expect(flash.subarray(0, written.length).equals(written)).toBe(true);
  // The read covers the whole flash: Optiboot itself is in its section, as it was loaded.
  const boot = await flashOf(hexFile("optiboot"));
  expect(flash.subarray(BOOT_SECTION, BOOT_SECTION + boot.length).equals(boot)).toBe(true);
}, 120_000);

test("an image that never says hello can be written, and 1.0.0 written back over it through the bootloader (the rollback path)", async () => {
  const silent = await avrdude(`flash:w:${hexFile("silent")}:i`);
  expect(silent.code).toBe(0);
  // Opened, it resets; the bootloader waits about 1.4 s and starts the empty loop, which says nothing.
  expect(await saysOnOpen(null, 5_000)).toBe("");

  const rollback = await avrdude(`flash:w:${hexFile("v100")}:i`);
  expect(rollback.stderr).toContain("bytes of flash verified");
  expect(rollback.code).toBe(0);
  expect(await saysOnOpen(/HELLO [^\r\n]*\r\n/)).toContain("HELLO hearth-io fw=1.0.0 ");
}, 120_000);
