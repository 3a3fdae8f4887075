/**
 * Intel HEX, the format avrdude and the Arduino tools write flash images in: records of `:LLAAAATT…CC`,
 * each with its own checksum. hearth reads an image whole and checks every record before anything is
 * touched, and writes the images it keeps (the one read back from a device) in the same form.
 */

/** A firmware image as flash sees it: bytes from address 0 (unwritten gaps 0xFF), and how many records it had. */
export interface FirmwareImage {
  readonly bytes: Uint8Array;
  /** The highest address written, plus one. */
  readonly size: number;
  readonly records: number;
}

/** Why an image was refused: which line, and what is wrong with it. */
export class IntelHexError extends Error {
  override readonly name = "IntelHexError";
}

const DATA = 0x00;
const END_OF_FILE = 0x01;
const EXTENDED_SEGMENT = 0x02;
const START_SEGMENT = 0x03;
const EXTENDED_LINEAR = 0x04;
const START_LINEAR = 0x05;
const ERASED = 0xff;

/**
 * Reads an Intel HEX image for a flash of `maxSize` bytes: every record's form and checksum verified, an
 * end-of-file record required, no data at or beyond `maxSize`, and at least one byte of data.
 */
export function parseIntelHex(text: string, maxSize: number): FirmwareImage {
  const image = new Uint8Array(maxSize).fill(ERASED);
  let base = 0;
  let size = 0;
  let records = 0;
  let ended = false;
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    const at = `line ${index + 1}`;
    if (line === "") continue;
    if (ended) throw new IntelHexError(`${at}: a record after the end-of-file record`);
    if (!/^:(?:[0-9A-Fa-f]{2}){5,}$/.test(line)) throw new IntelHexError(`${at}: not an Intel HEX record (":" and pairs of hex digits)`);
    const bytes = Buffer.from(line.slice(1), "hex");
    const [length, high, low, type] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
    if (bytes.length !== length + 5) throw new IntelHexError(`${at}: the record says ${length} data bytes but has ${bytes.length - 5}`);
    if (bytes.reduce((sum, b) => (sum + b) & 0xff, 0) !== 0) throw new IntelHexError(`${at}: the record fails its checksum (the file is damaged)`);
    records++;
    const data = bytes.subarray(4, 4 + length);
    switch (type) {
      case DATA: {
        const address = base + ((high << 8) | low);
        if (address + length > maxSize) {
          throw new IntelHexError(`${at}: data at 0x${address.toString(16)}–0x${(address + length - 1).toString(16)} is beyond the ${maxSize} bytes the application may fill`);
        }
        image.set(data, address);
        if (length > 0) size = Math.max(size, address + length);
        break;
      }
      case END_OF_FILE:
        ended = true;
        break;
      case EXTENDED_SEGMENT:
      case EXTENDED_LINEAR:
        if (length !== 2) throw new IntelHexError(`${at}: an address record has ${length} bytes, not 2`);
        base = ((data[0]! << 8) | data[1]!) * (type === EXTENDED_SEGMENT ? 16 : 65536);
        break;
      case START_SEGMENT:
      case START_LINEAR:
        break; // where a CPU would start: flash has no use for it
      default:
        throw new IntelHexError(`${at}: unknown record type 0x${type.toString(16).padStart(2, "0")}`);
    }
  }
  if (!ended) throw new IntelHexError(`no end-of-file record: the file is cut short (${lines.length} lines read)`);
  if (size === 0) throw new IntelHexError("the image holds no data");
  return { bytes: image.subarray(0, size), size, records };
}

/**
 * The part of an image read back from a device (which covers all of flash, the bootloader too) that is the
 * application's: the first `maxSize` bytes, without the erased bytes at their end.
 */
export function applicationPart(bytes: Uint8Array, maxSize: number): Uint8Array {
  let end = Math.min(bytes.length, maxSize);
  while (end > 0 && bytes[end - 1] === ERASED) end--;
  return bytes.subarray(0, end);
}

/** Writes `bytes` (from address 0) as Intel HEX: 16 bytes a record, rows that are all erased left out. */
export function toIntelHex(bytes: Uint8Array): string {
  const records: string[] = [];
  let segment = 0; // addresses below 64 KiB need no address record
  for (let address = 0; address < bytes.length; address += 16) {
    const row = bytes.subarray(address, Math.min(address + 16, bytes.length));
    if (row.every((b) => b === ERASED)) continue;
    if (address >> 16 !== segment) {
      segment = address >> 16;
      records.push(record(EXTENDED_LINEAR, 0, Uint8Array.of(segment >> 8, segment & 0xff)));
    }
    records.push(record(DATA, address & 0xffff, row));
  }
  records.push(record(END_OF_FILE, 0, new Uint8Array(0)));
  return `${records.join("\n")}\n`;
}

function record(type: number, address: number, data: Uint8Array): string {
  const bytes = Uint8Array.of(data.length, address >> 8, address & 0xff, type, ...data, 0);
  bytes[bytes.length - 1] = (0x100 - (bytes.reduce((sum, b) => (sum + b) & 0xff, 0) & 0xff)) & 0xff;
  return `:${Buffer.from(bytes).toString("hex").toUpperCase()}`;
}
