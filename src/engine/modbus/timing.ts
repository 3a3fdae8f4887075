/**
 * Where an RTU reply ends, and how long the line must stay quiet between frames.
 *
 * A master knows how long a reply will be from its first bytes (the function code, and for reads the
 * byte count), as libmodbus and pymodbus use: a reply whose expected bytes are in and whose CRC
 * checks out is complete, so the master need not wait out the silence after it. Anything else (an
 * unknown function, garbage, a short or corrupt reply) is still ended by the silence.
 */
import { bitsPerCharacter, type SerialSettings } from "../../serial/settings.ts";
import { crcValid } from "./crc.ts";

/** The length of the reply that `frame` starts, or undefined while it cannot be told (or never can). */
export function expectedReplyLength(frame: Uint8Array): number | undefined {
  if (frame.length < 2) return undefined;
  const fc = frame[1]!;
  if (fc & 0x80) return 5; // exception: address, fc | 0x80, exception code, CRC
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
      return frame.length < 3 ? undefined : 5 + frame[2]!; // address, fc, byte count, data, CRC
    case 5:
    case 6:
    case 15:
    case 16:
      return 8; // the echo, or address and quantity: address, fc, 4 bytes, CRC
    default:
      return undefined;
  }
}

/** Whether the bytes so far are one whole reply with a good CRC. */
export function replyComplete(frame: Uint8Array): boolean {
  return frame.length === expectedReplyLength(frame) && crcValid(frame);
}

/**
 * The silence (ms) that must separate two frames: 3.5 character times, and a fixed 1.75 ms above
 * 19200 baud, as the Modbus over serial line specification (V1.02, 2.5.1.1) recommends.
 */
export function interFrameSilenceMs(serial: Pick<SerialSettings, "baud" | "data_bits" | "parity" | "stop_bits">): number {
  if (serial.baud > 19200) return 1.75;
  return (3.5 * bitsPerCharacter(serial) * 1000) / serial.baud;
}
