/** Requests and replies of the Modbus functions hearth speaks, as PDUs (function code and data, no address or CRC). */

/** A request PDU and how to read its reply. */
export interface Request<T> {
  functionCode: number;
  /** What errors call the function, when the standard names do not know it (a model's own function). */
  name?: string;
  pdu: Uint8Array;
  /** Whether retrying is safe (reads only: a repeated write could act twice). */
  idempotent: boolean;
  /** Decodes a normal reply's PDU; throws on a reply that does not fit the request. */
  decode(reply: Uint8Array): T;
}

/** Thrown by a decoder for a reply of the wrong shape. */
export class ReplyShapeError extends Error {
  override readonly name = "ReplyShapeError";
}

function header(fc: number, a: number, b: number, extra = 0): Uint8Array {
  const pdu = new Uint8Array(5 + extra);
  pdu[0] = fc;
  pdu[1] = a >>> 8;
  pdu[2] = a & 0xff;
  pdu[3] = b >>> 8;
  pdu[4] = b & 0xff;
  return pdu;
}

function checkRange(address: number, count: number, max: number): void {
  if (!Number.isInteger(address) || address < 0 || address > 0xffff) throw new RangeError(`register address ${address} is not 0–65535`);
  if (!Number.isInteger(count) || count < 1 || count > max || address + count > 0x10000) throw new RangeError(`count ${count} is not 1–${max}`);
}

function expectLength(reply: Uint8Array, n: number): void {
  if (reply.length !== n) throw new ReplyShapeError(`reply of ${reply.length} bytes, ${n} expected`);
}

/** Function 1 or 2: `count` bits from `address`. */
export function readBits(fc: 1 | 2, address: number, count: number): Request<boolean[]> {
  checkRange(address, count, 2000);
  return {
    functionCode: fc,
    pdu: header(fc, address, count),
    idempotent: true,
    decode(reply) {
      const bytes = Math.ceil(count / 8);
      expectLength(reply, 2 + bytes);
      if (reply[1] !== bytes) throw new ReplyShapeError(`byte count ${reply[1]}, ${bytes} expected`);
      return Array.from({ length: count }, (_, i) => ((reply[2 + (i >> 3)]! >> (i & 7)) & 1) === 1);
    },
  };
}

/** Function 3 or 4: `count` 16-bit registers from `address`. */
export function readRegisters(fc: 3 | 4, address: number, count: number): Request<Uint16Array> {
  checkRange(address, count, 125);
  return {
    functionCode: fc,
    pdu: header(fc, address, count),
    idempotent: true,
    decode(reply) {
      expectLength(reply, 2 + count * 2);
      if (reply[1] !== count * 2) throw new ReplyShapeError(`byte count ${reply[1]}, ${count * 2} expected`);
      const out = new Uint16Array(count);
      for (let i = 0; i < count; i++) out[i] = (reply[2 + i * 2]! << 8) | reply[3 + i * 2]!;
      return out;
    },
  };
}

function echo(pdu: Uint8Array): (reply: Uint8Array) => void {
  return (reply) => {
    expectLength(reply, 5);
    for (let i = 0; i < 5; i++) if (reply[i] !== pdu[i]) throw new ReplyShapeError("the reply does not echo the request");
  };
}

/** Function 5: one coil on or off. */
export function writeCoil(address: number, on: boolean): Request<void> {
  checkRange(address, 1, 1);
  const pdu = header(5, address, on ? 0xff00 : 0x0000);
  return { functionCode: 5, pdu, idempotent: false, decode: echo(pdu) };
}

/** Function 6: one holding register. */
export function writeRegister(address: number, value: number): Request<void> {
  checkRange(address, 1, 1);
  const pdu = header(6, address, value & 0xffff);
  return { functionCode: 6, pdu, idempotent: false, decode: echo(pdu) };
}

/** Function 15: several coils from `address`. */
export function writeCoils(address: number, values: readonly boolean[]): Request<void> {
  checkRange(address, values.length, 1968);
  const bytes = Math.ceil(values.length / 8);
  const pdu = header(15, address, values.length, 1 + bytes);
  pdu[5] = bytes;
  values.forEach((on, i) => {
    if (on) pdu[6 + (i >> 3)]! |= 1 << (i & 7);
  });
  return { functionCode: 15, pdu, idempotent: false, decode: echo(pdu) };
}

/** Function 16: several holding registers from `address`. */
export function writeRegisters(address: number, values: ArrayLike<number>): Request<void> {
  checkRange(address, values.length, 123);
  const pdu = header(16, address, values.length, 1 + values.length * 2);
  pdu[5] = values.length * 2;
  for (let i = 0; i < values.length; i++) {
    pdu[6 + i * 2] = (values[i]! >>> 8) & 0xff;
    pdu[7 + i * 2] = values[i]! & 0xff;
  }
  return { functionCode: 16, pdu, idempotent: false, decode: echo(pdu) };
}

/**
 * A function outside the standard ones, sent as given (a meter's own "reset energy"): the reply must
 * echo the request byte for byte. Never retried, since it acts.
 */
export function rawFunction(code: number, data: readonly number[], name: string): Request<void> {
  if (!Number.isInteger(code) || code < 1 || code > 127) throw new RangeError(`function code ${code} is not 1–127`);
  if (data.length > 252 || data.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) throw new RangeError("function data must be at most 252 bytes of 0–255");
  const pdu = Uint8Array.of(code, ...data);
  return {
    functionCode: code,
    name,
    pdu,
    idempotent: false,
    decode(reply) {
      if (reply.length !== pdu.length || reply.some((b, i) => b !== pdu[i])) {
        throw new ReplyShapeError(`the reply does not echo the request (${reply.length} bytes after the address, ${pdu.length} expected)`);
      }
    },
  };
}
