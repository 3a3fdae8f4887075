import { crc16Arc, crcHex } from "./crc.ts";

const decoder = new TextDecoder("latin1");
const BANG = 0x21;
const SLASH = 0x2f;
const OBIS_LINE = /^(\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3})((?:\([^()]*\))+)$/;
const GROUP = /\(([^()]*)\)/g;

/** A telegram's lines: the identification, and each OBIS code's value groups (`(161129200000W)(00981.443*m3)` → two). */
export interface Telegram {
  /** The identification line without its `/` (`KFM5KAIFA-METER`). */
  identification: string;
  lines: ReadonlyMap<string, readonly string[]>;
}

export type TelegramParse = { ok: true; telegram: Telegram } | { ok: false; why: string };

/**
 * Checks and splits one framed telegram (`/` … `!` and what follows it, CR LF removed): it must open with
 * `/`, end in `!` and, when `crc` is required, 4 hex digits that are the CRC-16/ARC of `/` to `!`; every
 * line after the identification must be an OBIS line (a line opening with `(` continues the one before,
 * as DSMR 3's gas reading does). Anything else is the whole telegram's failure, with the reason.
 */
export function parseTelegram(frame: Uint8Array, crc: boolean): TelegramParse {
  if (frame[0] !== SLASH) return { ok: false, why: `${frame.length} bytes outside a telegram` };
  const bang = frame.lastIndexOf(BANG);
  if (bang < 0) return { ok: false, why: `a telegram cut short (${frame.length} bytes, no "!")` };
  const trailer = decoder.decode(frame.subarray(bang + 1));
  if (crc) {
    if (!/^[0-9A-Fa-f]{4}$/.test(trailer)) return { ok: false, why: `expected 4 hex digits of CRC after "!", got ${JSON.stringify(trailer)}` };
    const computed = crcHex(crc16Arc(frame, bang + 1));
    if (computed !== trailer.toUpperCase()) return { ok: false, why: `bad CRC: expected ${trailer.toUpperCase()}, computed ${computed}` };
  } else if (trailer !== "" && !/^[0-9A-Fa-f]{4}$/.test(trailer)) {
    return { ok: false, why: `unexpected ${JSON.stringify(trailer)} after "!"` };
  }
  const text = decoder.decode(frame.subarray(1, bang));
  const rows = text.split("\r\n");
  const identification = rows[0]!;
  const joined: string[] = [];
  for (let i = 1; i < rows.length; i++) {
    const row = rows[i]!;
    if (row === "") continue;
    if (row.startsWith("(") && joined.length > 0) joined[joined.length - 1] += row;
    else joined.push(row);
  }
  const lines = new Map<string, string[]>();
  for (const row of joined) {
    const m = OBIS_LINE.exec(row);
    if (m === null) return { ok: false, why: `not an OBIS line: ${JSON.stringify(row.slice(0, 60))}` };
    lines.set(
      m[1]!,
      Array.from(m[2]!.matchAll(GROUP), (g) => g[1]!),
    );
  }
  return { ok: true, telegram: { identification, lines } };
}

const TIMESTAMP = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})([SW]?)$/;

/** A DSMR timestamp `YYMMDDhhmmssX` (X: S summer time, W winter time, absent before DSMR 4) as ISO 8601, or undefined. */
export function dsmrTimestamp(text: string): string | undefined {
  const m = TIMESTAMP.exec(text);
  if (m === null) return undefined;
  const offset = m[7] === "S" ? "+02:00" : m[7] === "W" ? "+01:00" : "";
  return `20${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${offset}`;
}

/** A value group `001581.123*kWh` as its number and unit, or undefined when it is not a number. */
export function numberWithUnit(group: string): { value: number; unit: string | undefined } | undefined {
  const star = group.indexOf("*");
  const digits = star < 0 ? group : group.slice(0, star);
  if (!/^-?\d+(\.\d+)?$/.test(digits)) return undefined;
  return { value: Number(digits), unit: star < 0 ? undefined : group.slice(star + 1) };
}
