/**
 * Line checksums: the hex a firmware puts after a separator at the end of each line. NMEA's XOR covers
 * the characters between an optional leading `$` or `!` and the separator; every CRC covers every
 * character before the separator, from the first. The hex is case-insensitive on receipt, sent in upper
 * case, two digits for 8 bits and four for 16 (most significant first).
 */
import type { ChecksumAlgorithm, LineChecksumSettings } from "../../config/line-definition.ts";

/** A line's checksum, for lines received and commands sent. */
export interface LineChecksum {
  /** The line without its checksum, or why it is garbage (no checksum, or `mismatch`: one that does not match the line). */
  verify(line: string): { ok: true; text: string } | { ok: false; why: string; mismatch?: true };
  /** A command line with its checksum appended. */
  append(line: string): string;
}

interface Algorithm {
  digits: number;
  /** The checksum of the characters of `text` from `start` to `end` (latin1 codes: one byte each). */
  compute(text: string, start: number, end: number): number;
  /** Characters before the covered part (NMEA's `$`/`!`). */
  skip(text: string): number;
}

/** A CRC as the catalogue of parametrised CRCs defines it (width, poly, init, reflected in and out, final XOR). */
function crc(width: 8 | 16, poly: number, init: number, reflected: boolean): Algorithm {
  const top = 1 << (width - 1);
  const mask = (1 << width) - 1;
  const reflectedPoly = reflect(poly, width);
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c: number;
    if (reflected) {
      c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ reflectedPoly : c >>> 1;
    } else {
      c = n << (width - 8);
      for (let k = 0; k < 8; k++) c = c & top ? ((c << 1) ^ poly) & mask : (c << 1) & mask;
    }
    table[n] = c;
  }
  return {
    digits: width / 4,
    skip: () => 0,
    compute(text, start, end) {
      let c = init;
      for (let i = start; i < end; i++) {
        const byte = text.charCodeAt(i) & 0xff;
        c = reflected ? (c >>> 8) ^ table[(c ^ byte) & 0xff]! : ((c << 8) & mask) ^ table[((c >>> (width - 8)) ^ byte) & 0xff]!;
      }
      return c & mask;
    },
  };
}

function reflect(value: number, width: number): number {
  let out = 0;
  for (let i = 0; i < width; i++) if (value & (1 << i)) out |= 1 << (width - 1 - i);
  return out;
}

const nmea: Algorithm = {
  digits: 2,
  skip: (text) => (text.startsWith("$") || text.startsWith("!") ? 1 : 0),
  compute(text, start, end) {
    let sum = 0;
    for (let i = start; i < end; i++) sum ^= text.charCodeAt(i) & 0xff;
    return sum;
  },
};

const ALGORITHMS: Record<ChecksumAlgorithm, () => Algorithm> = {
  nmea: () => nmea,
  "crc8-smbus": () => crc(8, 0x07, 0x00, false),
  "crc8-maxim": () => crc(8, 0x31, 0x00, true),
  "crc16-modbus": () => crc(16, 0x8005, 0xffff, true),
  "crc16-ccitt-false": () => crc(16, 0x1021, 0xffff, false),
  "crc16-xmodem": () => crc(16, 0x1021, 0x0000, false),
};

/** The checksum of the characters of `text` by `algorithm`, as a number (for tests and simulators). */
export function checksumOf(algorithm: ChecksumAlgorithm, text: string): number {
  const a = ALGORITHMS[algorithm]();
  return a.compute(text, a.skip(text), text.length);
}

/** A model's line checksum. */
export function lineChecksum(settings: LineChecksumSettings): LineChecksum {
  const algorithm = ALGORITHMS[settings.algorithm]();
  const { separator } = settings;
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(algorithm.digits, "0");
  const shape = `${separator}${"h".repeat(algorithm.digits)}`;
  return {
    verify(line) {
      const at = line.lastIndexOf(separator);
      if (at < 0) return { ok: false, why: `no checksum (the line should end in ${shape})` };
      const given = line.slice(at + separator.length);
      if (given.length !== algorithm.digits || !/^[0-9A-Fa-f]+$/.test(given)) {
        return { ok: false, why: `no checksum: expected ${algorithm.digits} hex digits after "${separator}", got ${JSON.stringify(given.slice(0, 16))}` };
      }
      const expected = algorithm.compute(line, algorithm.skip(line), at);
      if (Number.parseInt(given, 16) !== expected) return { ok: false, why: `bad checksum: expected ${hex(expected)}, got ${given.toUpperCase()}`, mismatch: true };
      return { ok: true, text: line.slice(0, at) };
    },
    append(line) {
      return `${line}${separator}${hex(algorithm.compute(line, algorithm.skip(line), line.length))}`;
    },
  };
}
