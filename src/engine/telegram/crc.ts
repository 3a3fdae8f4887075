import { crc16A001 } from "../modbus/crc.ts";

/** CRC-16/ARC (polynomial 0xA001 reflected, initial 0) of `bytes[0..end)`: DSMR's telegram CRC. */
export function crc16Arc(bytes: Uint8Array, end = bytes.length): number {
  return crc16A001(bytes, end, 0);
}

/** A CRC as a telegram writes it: 4 upper-case hex digits. */
export function crcHex(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, "0");
}

/** A telegram as a meter sends it: `/`, the lines, `!`, the CRC of everything from `/` to `!` (unless `withCrc` is false), CR LF. */
export function telegramBytes(body: string, withCrc = true): Uint8Array {
  const head = new TextEncoder().encode(`${body}!`);
  const tail = new TextEncoder().encode(`${withCrc ? crcHex(crc16Arc(head)) : ""}\r\n`);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
