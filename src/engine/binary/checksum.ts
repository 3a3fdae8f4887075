/**
 * The checksums of binary frames, by the model's spec: which algorithm, from which byte; a checksum covers
 * every byte from there up to itself, and sits last in the frame (before the tail byte, if any).
 */
import { type BinaryChecksumSpec, CHECKSUM_SIZE } from "../../config/binary-definition.ts";
import { crc16 } from "../modbus/crc.ts";

/** A frame's checksum: where it sits, what it should be, and how to write one into a request. */
export interface FrameChecksum {
  /** Bytes it takes (1 or 2). */
  readonly size: 1 | 2;
  /** The checksum of `frame[from, end)`. */
  compute(frame: Uint8Array, end: number): number;
  /** The checksum written at `at` in `frame`. */
  read(frame: Uint8Array, at: number): number;
  /** Writes `value` at `at` in `frame`. */
  write(frame: Uint8Array, at: number, value: number): void;
}

/** The checksum a spec describes. */
export function frameChecksum(spec: BinaryChecksumSpec): FrameChecksum {
  const size = CHECKSUM_SIZE[spec.algorithm];
  const bigEndian = (spec.order ?? (spec.algorithm === "crc16-modbus" ? "little" : "big")) === "big";
  const from = spec.from;
  const compute = (frame: Uint8Array, end: number): number => {
    switch (spec.algorithm) {
      case "sum8":
        return sum(frame, from, end) & 0xff;
      case "sum8-twos-complement":
        return (0x100 - (sum(frame, from, end) & 0xff)) & 0xff;
      case "sum16":
        return sum(frame, from, end) & 0xffff;
      case "xor8": {
        let x = 0;
        for (let i = from; i < end; i++) x ^= frame[i]!;
        return x;
      }
      case "crc16-modbus":
        return crc16(frame.subarray(from, end));
    }
  };
  return {
    size,
    compute,
    read: (frame, at) => (size === 1 ? frame[at]! : bigEndian ? (frame[at]! << 8) | frame[at + 1]! : frame[at]! | (frame[at + 1]! << 8)),
    write(frame, at, value) {
      if (size === 1) frame[at] = value;
      else if (bigEndian) frame.set([value >> 8, value & 0xff], at);
      else frame.set([value & 0xff, value >> 8], at);
    },
  };
}

function sum(frame: Uint8Array, from: number, end: number): number {
  let s = 0;
  for (let i = from; i < end; i++) s += frame[i]!;
  return s;
}

/** A checksum as a user reads it: `0x1C`, `0x0171`. */
export function hexOf(value: number, size: number): string {
  return `0x${value
    .toString(16)
    .toUpperCase()
    .padStart(size * 2, "0")}`;
}
