const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** A CRC-16 of polynomial 0xA001 reflected from `initial` over `bytes[0..end)`: Modbus's from 0xFFFF, CRC-16/ARC (DSMR's) from 0. */
export function crc16A001(bytes: Uint8Array, end: number, initial: number): number {
  let crc = initial;
  for (let i = 0; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** Modbus's CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF); sent low byte first. */
export function crc16(bytes: Uint8Array, end = bytes.length): number {
  return crc16A001(bytes, end, 0xffff);
}

/** An RTU frame: slave address, PDU, CRC. */
export function rtuFrame(slave: number, pdu: Uint8Array): Uint8Array {
  const frame = new Uint8Array(pdu.length + 3);
  frame[0] = slave;
  frame.set(pdu, 1);
  const crc = crc16(frame, pdu.length + 1);
  frame[pdu.length + 1] = crc & 0xff;
  frame[pdu.length + 2] = crc >>> 8;
  return frame;
}

/** Whether a received frame's last two bytes are the CRC of the rest. */
export function crcValid(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const crc = crc16(frame, frame.length - 2);
  return frame[frame.length - 2] === (crc & 0xff) && frame[frame.length - 1] === crc >>> 8;
}
