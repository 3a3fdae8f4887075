import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isHearthError } from "../../src/core/errors.ts";
import { readFirmwareFile } from "../../src/engine/firmware/image-file.ts";
import { toIntelHex } from "../../src/engine/firmware/intel-hex.ts";
import { tempDir } from "../helpers/temp.ts";

// The file `hearth firmware` and deploy's --firmware read before anything is asked of hearth or a board:
// real files in a temporary folder, each refusal's message as both tools print it after the file's name.
const LIMIT = 4096;

async function refusal(path: string, limit = LIMIT): Promise<string> {
  try {
    await readFirmwareFile(path, limit);
  } catch (err) {
    if (isHearthError(err, "DEVICE_FIRMWARE_FILE_REFUSED")) return err.message;
    throw err;
  }
  throw new Error("the file was accepted");
}

test("an Intel HEX file is read whole: its text as it is sent, and the image it holds", async () => {
  const dir = tempDir("hearth-image-file-");
  const hex = toIntelHex(new Uint8Array(300).fill(0x42));
  writeFileSync(join(dir, "good.hex"), hex);
  const read = await readFirmwareFile(join(dir, "good.hex"), LIMIT);
  expect(read.hex).toBe(hex);
  expect(read.image.size).toBe(300);
});

test("a file that is missing, a folder, too big or no image is refused, saying which", async () => {
  const dir = tempDir("hearth-image-file-");
  expect(await refusal(join(dir, "missing.hex"))).toBe("cannot read it (ENOENT)");
  mkdirSync(join(dir, "folder.hex"));
  expect(await refusal(join(dir, "folder.hex"))).toBe("not a file");
  writeFileSync(join(dir, "big.hex"), toIntelHex(new Uint8Array(300)));
  expect(await refusal(join(dir, "big.hex"), 64)).toMatch(/^\d+ bytes, more than any image hearth takes \(64\)$/);
  writeFileSync(join(dir, "notes.txt"), "not an image\n");
  expect(await refusal(join(dir, "notes.txt"))).toBe('not a valid Intel HEX image: line 1: not an Intel HEX record (":" and pairs of hex digits)');
});
