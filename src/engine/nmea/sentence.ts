/** One NMEA 0183 sentence, checksum verified: `$GPGGA,...*hh` → talker "GP", type "GGA", fields after the type. */
export interface Sentence {
  talker: string;
  type: string;
  fields: string[];
}

/** Why a line is not a sentence hearth can use. */
export type SentenceResult = { ok: true; sentence: Sentence } | { ok: false; why: string };

const SHAPE = /^[$!](?<address>[A-Z0-9]{2,6}),?(?<body>[^*]*)\*(?<sum>[0-9A-Fa-f]{2})$/;

/** The XOR of the characters between `$` and `*`, as NMEA 0183 defines the checksum. */
export function nmeaChecksum(payload: string): number {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) sum ^= payload.charCodeAt(i);
  return sum;
}

/** Appends `*hh` and the line ending to a payload (what a receiver sends). */
export function nmeaLine(payload: string): string {
  return `$${payload}*${nmeaChecksum(payload).toString(16).toUpperCase().padStart(2, "0")}\r\n`;
}

/** Parses one line; a missing or wrong checksum is an error, never a guess. */
export function parseSentence(line: string): SentenceResult {
  const text = line.replace(/\r$/, "");
  const m = SHAPE.exec(text);
  if (m === null) return { ok: false, why: "not an NMEA sentence with a checksum" };
  const payload = text.slice(1, text.lastIndexOf("*"));
  const expected = Number.parseInt(m.groups!.sum!, 16);
  const actual = nmeaChecksum(payload);
  if (expected !== actual) return { ok: false, why: `bad checksum: ${m.groups!.sum} given, ${actual.toString(16).toUpperCase().padStart(2, "0")} computed` };
  const address = m.groups!.address!;
  const fields = payload.split(",").slice(1);
  return { ok: true, sentence: { talker: address.slice(0, 2), type: address.slice(2), fields } };
}
