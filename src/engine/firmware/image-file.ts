/**
 * An Intel HEX file as the tools that send one read it (`hearth firmware`, deploy's `--firmware`): a
 * regular file of a size an image can be, checked whole here, so a missing, huge or damaged file is
 * refused before hearth or a board is asked.
 */
import { readFile, stat } from "node:fs/promises";
import { HearthError } from "../../core/errors.ts";
import type { DeviceErrorCode } from "../device-error.ts";
import { type FirmwareImage, IntelHexError, parseIntelHex } from "./intel-hex.ts";

/** An image file's text, as it is sent, and the image it holds. */
export interface FirmwareFile {
  readonly hex: string;
  readonly image: FirmwareImage;
}

/**
 * Reads the Intel HEX file at `path`: a regular file of at most `limit` bytes, every record checked for a
 * flash of `limit` bytes. A refusal is a HearthError `DEVICE_FIRMWARE_FILE_REFUSED` whose message says why,
 * for the caller to put after the file's name: `cannot read it (ENOENT)`, `not a file`, `… bytes, more than
 * any image hearth takes (…)`, `not a valid Intel HEX image: line 4: …`.
 */
export async function readFirmwareFile(path: string, limit: number): Promise<FirmwareFile> {
  const refused = (why: string, cause?: unknown) => new HearthError<DeviceErrorCode>("DEVICE_FIRMWARE_FILE_REFUSED", why, { cause });
  const unreadable = (err: unknown) => refused(`cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  const info = await stat(path).catch((err: unknown) => {
    throw unreadable(err);
  });
  if (!info.isFile()) throw refused("not a file");
  if (info.size > limit) throw refused(`${info.size} bytes, more than any image hearth takes (${limit})`);
  const hex = await readFile(path, "latin1").catch((err: unknown) => {
    throw unreadable(err);
  });
  try {
    return { hex, image: parseIntelHex(hex, limit) };
  } catch (err) {
    if (!(err instanceof IntelHexError)) throw err;
    throw refused(`not a valid Intel HEX image: ${err.message}`, err);
  }
}
