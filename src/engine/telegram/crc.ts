const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-16/ARC (polynomial 0xA001 reflected, initial 0) of `bytes[0..end)`: DSMR's telegram CRC. */
export function crc16Arc(bytes: Uint8Array, end = bytes.length): number {
  let crc = 0;
  for (let i = 0; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
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
