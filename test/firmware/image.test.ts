import { beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { applicationPart, IntelHexError, parseIntelHex, toIntelHex } from "../../src/engine/firmware/intel-hex.ts";
import { buildFirmware } from "../helpers/simavr.ts";
import { tempDir } from "../helpers/temp.ts";

// The checks an image passes before hearth touches a device: the real hearth-io build (arduino-mk's
// Intel HEX) as the good image, and that image damaged the ways a download or a full disk damages one.
const APPLICATION_FLASH = 32 * 1024 - 512;
let hex = "";
let elf: Uint8Array;

beforeAll(async () => {
  const out = await buildFirmware(tempDir("hearth-image-"));
  hex = readFileSync(out.hex, "latin1");
  elf = readFileSync(out.elf);
}, 120_000);

function refusal(text: string, maxSize = APPLICATION_FLASH): string {
  try {
    parseIntelHex(text, maxSize);
  } catch (err) {
    if (err instanceof IntelHexError) return err.message;
    throw err;
  }
  throw new Error("the image was accepted");
}

test("the built firmware reads as an image of the application's size, and writing it again gives the same bytes", () => {
  const image = parseIntelHex(hex, APPLICATION_FLASH);
  expect(image.size).toBeGreaterThan(4096);
  expect(image.size).toBeLessThanOrEqual(APPLICATION_FLASH);
  expect(Buffer.from(image.bytes).toString("latin1")).toContain("HELLO hearth-io fw=");
  const again = parseIntelHex(toIntelHex(image.bytes), APPLICATION_FLASH);
  expect(Buffer.from(again.bytes).equals(Buffer.from(image.bytes))).toBe(true);
});

test("a damaged image is refused with the line that is wrong: a changed byte, a cut file, a line of junk, a program that is no image", () => {
  const lines = hex.split("\n");
  const flipped = [...lines];
  flipped[9] = flipped[9]!.replace(/^(:.{12})(.)/, (_m, head: string, c: string) => head + (c === "0" ? "1" : "0"));
  expect(refusal(flipped.join("\n"))).toBe("line 10: the record fails its checksum (the file is damaged)");
  expect(refusal(lines.slice(0, 20).join("\n"))).toMatch(/^no end-of-file record: the file is cut short/);
  const junk = [...lines];
  junk.splice(5, 0, "hello");
  expect(refusal(junk.join("\n"))).toBe('line 6: not an Intel HEX record (":" and pairs of hex digits)');
  expect(refusal(Buffer.from(elf).toString("latin1"))).toStartWith("line 1: not an Intel HEX record");
  expect(refusal(":00000001FF\n")).toBe("the image holds no data");
});

test("an image bigger than the application may fill is refused, naming where it goes beyond", () => {
  expect(refusal(hex, 4096)).toMatch(/^line \d+: data at 0x[0-9a-f]+–0x[0-9a-f]+ is beyond the 4096 bytes the application may fill$/);
  // One byte at the bootloader's first address, where an application must never write.
  const intoBootloader = `${toIntelHex(Uint8Array.of(...new Uint8Array(APPLICATION_FLASH).fill(0xff), 0x12)).trim()}`;
  expect(refusal(intoBootloader)).toContain("is beyond the 32256 bytes");
});

test("what is read back from a device (all of flash, the bootloader too) is cut to the application, without its erased tail", () => {
  const app = parseIntelHex(hex, APPLICATION_FLASH).bytes;
  const flash = new Uint8Array(32 * 1024).fill(0xff);
  flash.set(app);
  flash.set([0x11, 0x24, 0x84, 0xb7], APPLICATION_FLASH); // Optiboot's first instructions, at 0x7E00
  const part = applicationPart(flash, APPLICATION_FLASH);
  expect(part.length).toBe(app.length);
  expect(Buffer.from(part).equals(Buffer.from(app))).toBe(true);
});
