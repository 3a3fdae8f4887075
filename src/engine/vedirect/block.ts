/**
 * One VE.Direct text block, as the marker framer cuts it: fields `\r\n<label>\t<value>` closed by
 * `\r\nChecksum\t<byte>`, that byte making every byte from the first field's `\r\n` through itself sum
 * to 0 modulo 256 (Victron, "VE.Direct Protocol", text mode). HEX-protocol messages (`:` … `\n`) may
 * come between blocks or inside one; they are no part of any block and are taken out before summing.
 */

/** The marker that ends a block; its one checksum byte follows. */
export const CHECKSUM_MARKER = "\r\nChecksum\t";

const COLON = 0x3a;
const LF = 0x0a;
const CR = 0x0d;
const decoder = new TextDecoder("latin1");

/** A block read: its fields in order, and how many HEX messages were taken out of it. */
export type ParsedBlock = { ok: true; fields: Map<string, string>; hexMessages: number } | { ok: false; why: string; hexMessages: number; incomplete?: boolean };

/** The bytes of the text protocol in `frame` with its HEX messages taken out (the checksum byte, whatever it is, kept). */
export function withoutHex(frame: Uint8Array): { text: Uint8Array; hexMessages: number } {
  const body = frame.length - 1; // the checksum byte may be a `:` and starts nothing
  let hexMessages = 0;
  let i = frame.indexOf(COLON);
  if (i < 0 || i >= body) return { text: frame, hexMessages };
  const out = new Uint8Array(frame.length);
  let n = 0;
  let from = 0;
  while (i >= 0 && i < body) {
    out.set(frame.subarray(from, i), n);
    n += i - from;
    const end = frame.indexOf(LF, i);
    hexMessages++;
    // A HEX message never holds a `\n` before its end; one cut short eats into the block, whose sum then fails.
    from = end < 0 || end >= body ? body : end + 1;
    i = frame.indexOf(COLON, from);
  }
  out.set(frame.subarray(from), n);
  n += frame.length - from;
  return { text: out.subarray(0, n), hexMessages };
}

/** Checks a framed block's checksum and reads its fields; a block that fails is none of it a reading. */
export function parseBlock(frame: Uint8Array): ParsedBlock {
  const { text, hexMessages } = withoutHex(frame);
  let start = -1;
  for (let i = 0; i + 1 < text.length; i++) {
    if (text[i] === CR && text[i + 1] === LF) {
      start = i;
      break;
    }
  }
  if (start !== 0) {
    // Bytes before the first field: the tail of a block begun before the port was opened, or line noise.
    return { ok: false, why: "an incomplete block (bytes before its first field: joined mid-block, or noise)", hexMessages, incomplete: true };
  }
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum += text[i]!;
  if ((sum & 0xff) !== 0) return { ok: false, why: `checksum fails: the block sums to 0x${(sum & 0xff).toString(16).padStart(2, "0")}, not 0 (a byte changed on the line)`, hexMessages };
  // One decode of the whole block, then string cuts: far cheaper than a decode per label and value.
  const fields = new Map<string, string>();
  const body = decoder.decode(text.subarray(2, text.length - CHECKSUM_MARKER.length - 1));
  for (const field of body.split("\r\n")) {
    const tab = field.indexOf("\t");
    if (tab <= 0) return { ok: false, why: `a field without a label and a tab: ${JSON.stringify(field.slice(0, 24))}`, hexMessages };
    fields.set(field.slice(0, tab), field.slice(tab + 1));
  }
  return { ok: true, fields, hexMessages };
}

/** A block's bytes with its checksum byte appended: what a device sends for these fields. */
export function encodeBlock(fields: ReadonlyArray<readonly [string, string]>): Uint8Array {
  const text = `${fields.map(([label, value]) => `\r\n${label}\t${value}`).join("")}${CHECKSUM_MARKER}`;
  const bytes = new Uint8Array(text.length + 1);
  let sum = 0;
  for (let i = 0; i < text.length; i++) {
    bytes[i] = text.charCodeAt(i) & 0xff;
    sum += bytes[i]!;
  }
  bytes[text.length] = (256 - (sum & 0xff)) & 0xff;
  return bytes;
}

/** The 8-bit sum of `bytes` (the benchmark's limit: the checksum alone). */
export function byteSum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += bytes[i]!;
  return sum & 0xff;
}
