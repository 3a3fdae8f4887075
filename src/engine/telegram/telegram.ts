import { crc16Arc, crcHex } from "./crc.ts";

const decoder = new TextDecoder("latin1");
const BANG = 0x21;
const SLASH = 0x2f;

/**
 * A checked telegram, read in place: each line's value groups are offsets into the frame's bytes, so that
 * only the lines a model reads are ever turned into numbers or strings (a meter sends one telegram a
 * second for years, and this is most of what hearth does with it).
 */
export class Telegram {
  constructor(
    /** The identification line without its `/` (`KFM5KAIFA-METER`). */
    readonly identification: string,
    private readonly bytes: Uint8Array,
    /** Per slot, 5 numbers: after its first `(`, at that group's `)`, after its last `(`, at the last `)`, how many groups (0: no such line). */
    private readonly records: Int32Array,
  ) {}

  /** Whether the telegram has the line of this slot (of the `wanted` keys it was read for). */
  has(slot: number): boolean {
    return this.records[slot * 5 + 4] !== 0;
  }

  /** Where the slot's record starts, if the telegram has its line. */
  private at(slot: number): number | undefined {
    return this.records[slot * 5 + 4] === 0 ? undefined : slot * 5;
  }

  /** How many value groups the slot's line has (0 when there is no such line). */
  groupCount(slot: number): number {
    const r = this.at(slot);
    return r === undefined ? 0 : this.records[r + 4]!;
  }

  /** The text of the line's last value group (`001581.123*kWh`), or undefined. */
  lastText(slot: number): string | undefined {
    const r = this.at(slot);
    return r === undefined ? undefined : decoder.decode(this.bytes.subarray(this.records[r + 2]!, this.records[r + 3]!));
  }

  /** The text of the line's first value group (an M-Bus reading's timestamp), or undefined. */
  firstText(slot: number): string | undefined {
    const r = this.at(slot);
    return r === undefined ? undefined : decoder.decode(this.bytes.subarray(this.records[r]!, this.records[r + 1]!));
  }

  /** Whether one of the line's groups is exactly `(text)` (DSMR 3 writes the gas unit as a group of its own). */
  hasGroup(slot: number, text: string): boolean {
    const r = this.at(slot);
    return r !== undefined && decoder.decode(this.bytes.subarray(this.records[r]! - 1, this.records[r + 3]! + 1)).includes(`(${text})`);
  }

  /**
   * The number of the last value group and whether its unit (after `*`) is `unit` (undefined: any or none):
   * NaN when it is not a number, -Infinity when the unit differs. Read from the bytes, no string made.
   */
  lastNumber(slot: number, unit: Uint8Array | undefined, unitElsewhere: string | undefined): number {
    const r = this.at(slot);
    if (r === undefined) return Number.NaN;
    const b = this.bytes;
    const from = this.records[r + 2]!;
    const to = this.records[r + 3]!;
    let i = from;
    const negative = b[i] === 0x2d;
    if (negative) i++;
    let digits = 0;
    let mantissa = 0;
    let fraction = 0;
    let point = false;
    for (; i < to; i++) {
      const c = b[i]!;
      if (c >= 0x30 && c <= 0x39) {
        mantissa = mantissa * 10 + (c - 0x30);
        digits++;
        if (point) fraction++;
      } else if (c === 0x2e && !point && digits > 0) point = true;
      else break;
    }
    if (digits === 0 || digits > 15 || (point && fraction === 0)) return Number.NaN;
    if (i < to) {
      if (b[i] !== 0x2a) return Number.NaN;
      if (unit !== undefined && !sameBytes(b, i + 1, to, unit)) return Number.NEGATIVE_INFINITY;
    } else if (unit !== undefined && (unitElsewhere === undefined || !this.hasGroup(slot, unitElsewhere))) return Number.NEGATIVE_INFINITY;
    // Both are exact integers, and one division rounds once: the same double as Number("001581.123").
    const value = fraction === 0 ? mantissa : mantissa / POWERS[fraction]!;
    return negative ? -value : value;
  }
}

const POWERS = Array.from({ length: 16 }, (_, i) => 10 ** i);

function sameBytes(b: Uint8Array, from: number, to: number, want: Uint8Array): boolean {
  if (to - from !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (b[from + i] !== want[i]) return false;
  return true;
}

/** An OBIS code `A-B:C.D.E` as the number a telegram indexes its lines by. */
export function obisKey(code: string): number {
  const [a, b, c, d, e] = code.split(/[-:.]/).map(Number) as [number, number, number, number, number];
  return (((a * 1000 + b) * 1000 + c) * 1000 + d) * 1000 + e;
}

export type TelegramParse = { ok: true; telegram: Telegram } | { ok: false; why: string };

const CR = 0x0d;
const LF = 0x0a;
const OPEN = 0x28;
const CLOSE = 0x29;
/** The separators of an OBIS code in order after runs of 1–3 digits: - : . . and then the first (. */
const OBIS_SEPARATORS = [0x2d, 0x3a, 0x2e, 0x2e, OPEN];

/**
 * Checks and indexes one framed telegram (`/` … `!` and what follows it, CR LF removed): it must open
 * with `/`, end in `!` and, when `crc` is required, 4 hex digits that are the CRC-16/ARC of `/` to `!`;
 * every line after the identification must be an OBIS code and value groups (a line opening with `(`
 * continues the one before, as DSMR 3's gas reading does). Anything else is the whole telegram's
 * failure, with the reason. Only the lines of the `wanted` keys (OBIS key → slot, 0…n-1) are kept.
 */
export function parseTelegram(frame: Uint8Array, crc: boolean, wanted: ReadonlyMap<number, number>): TelegramParse {
  if (frame[0] !== SLASH) return { ok: false, why: `${frame.length} bytes outside a telegram` };
  const bang = frame.lastIndexOf(BANG);
  if (bang < 0) return { ok: false, why: `a telegram cut short (${frame.length} bytes, no "!")` };
  const sent = frame.length === bang + 5 ? hex4(frame, bang + 1) : -1;
  if (crc) {
    if (sent < 0) return { ok: false, why: `expected 4 hex digits of CRC after "!", got ${JSON.stringify(decoder.decode(frame.subarray(bang + 1)))}` };
    const computed = crc16Arc(frame, bang + 1);
    if (computed !== sent) return { ok: false, why: `bad CRC: expected ${crcHex(sent)}, computed ${crcHex(computed)}` };
  } else if (frame.length !== bang + 1 && sent < 0) {
    return { ok: false, why: `unexpected ${JSON.stringify(decoder.decode(frame.subarray(bang + 1)))} after "!"` };
  }
  let eol = lineEnd(frame, 1, bang);
  const identification = decoder.decode(frame.subarray(1, eol));
  const records = new Int32Array(wanted.size * 5);
  const scratch = new Int32Array(5);
  let previous: Int32Array | undefined;
  let previousAt = 0;
  for (let pos = eol + 2; pos < bang; pos = eol + 2) {
    eol = lineEnd(frame, pos, bang);
    if (eol === pos) continue;
    let at = pos;
    if (frame[pos] === OPEN && previous !== undefined) {
      // A continuation: its groups are the previous line's last ones.
      if (!groups(frame, pos, eol, previous, previousAt, true)) return notObis(frame, pos, eol);
      continue;
    }
    let key = 0;
    let digits = 0;
    let part = 0;
    let value = 0;
    for (; at < eol; at++) {
      const c = frame[at]!;
      if (c >= 0x30 && c <= 0x39) {
        if (++digits > 3) return notObis(frame, pos, eol);
        value = value * 10 + (c - 0x30);
        continue;
      }
      if (digits === 0 || c !== OBIS_SEPARATORS[part]) return notObis(frame, pos, eol);
      key = key * 1000 + value;
      value = 0;
      digits = 0;
      if (++part === OBIS_SEPARATORS.length) break;
    }
    if (part !== OBIS_SEPARATORS.length) return notObis(frame, pos, eol);
    const slot = wanted.get(key);
    previous = slot === undefined ? scratch : records;
    previousAt = slot === undefined ? 0 : slot * 5;
    if (!groups(frame, at, eol, previous, previousAt, false)) return notObis(frame, pos, eol);
  }
  return { ok: true, telegram: new Telegram(identification, frame, records) };
}

/** The 4 hex digits at `at` as a number, or -1. */
function hex4(frame: Uint8Array, at: number): number {
  let n = 0;
  for (let i = at; i < at + 4; i++) {
    const c = frame[i]!;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (digit < 0) return -1;
    n = n * 16 + digit;
  }
  return n;
}

/** Where the line from `pos` ends (its CR of CR LF), or `end`. */
function lineEnd(frame: Uint8Array, pos: number, end: number): number {
  for (let i = frame.indexOf(CR, pos); i >= 0 && i < end; i = frame.indexOf(CR, i + 1)) if (frame[i + 1] === LF) return i;
  return end;
}

/** Records the value groups `(a)(b)…` at `from`…`to` in the line's record; false when they are not well formed. */
function groups(frame: Uint8Array, from: number, to: number, records: Int32Array, r: number, continued: boolean): boolean {
  let open = -1;
  let count = continued ? records[r + 4]! : 0;
  for (let i = from; i < to; i++) {
    const c = frame[i];
    if (c === OPEN) {
      if (open >= 0) return false;
      open = i + 1;
    } else if (c === CLOSE) {
      if (open < 0) return false;
      if (count === 0) {
        records[r] = open;
        records[r + 1] = i;
      }
      records[r + 2] = open;
      records[r + 3] = i;
      count++;
      open = -1;
    } else if (open < 0) return false;
  }
  records[r + 4] = count;
  return open < 0 && count > 0;
}

function notObis(frame: Uint8Array, pos: number, eol: number): TelegramParse {
  return { ok: false, why: `not an OBIS line: ${JSON.stringify(decoder.decode(frame.subarray(pos, Math.min(eol, pos + 60))))}` };
}

/** A DSMR timestamp `YYMMDDhhmmssX` (X: S summer time, W winter time, absent before DSMR 4) as ISO 8601, or undefined. */
export function dsmrTimestamp(text: string): string | undefined {
  if (text.length !== 12 && text.length !== 13) return undefined;
  for (let i = 0; i < 12; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const zone = text.length === 13 ? text[12] : "";
  if (zone !== "" && zone !== "S" && zone !== "W") return undefined;
  const offset = zone === "S" ? "+02:00" : zone === "W" ? "+01:00" : "";
  return `20${text.slice(0, 2)}-${text.slice(2, 4)}-${text.slice(4, 6)}T${text.slice(6, 8)}:${text.slice(8, 10)}:${text.slice(10, 12)}${offset}`;
}
