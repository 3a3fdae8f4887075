/** Field parsers of NMEA 0183: each returns `null` for an empty field and throws NmeaFieldError for a malformed one. */
export class NmeaFieldError extends Error {
  override readonly name = "NmeaFieldError";
}

/** `ddmm.mmmm` (latitude) or `dddmm.mmmm` (longitude) with its hemisphere → signed decimal degrees. */
export function coordinate(value: string | undefined, hemisphere: string | undefined, axis: "lat" | "lon"): number | null {
  if (!value && !hemisphere) return null;
  const degreeDigits = axis === "lat" ? 2 : 3;
  const m = new RegExp(`^(\\d{${degreeDigits}})(\\d{2}(?:\\.\\d+)?)$`).exec(value ?? "");
  const hemispheres = axis === "lat" ? ["N", "S"] : ["E", "W"];
  if (m === null || !hemispheres.includes(hemisphere ?? "")) throw new NmeaFieldError(`malformed ${axis === "lat" ? "latitude" : "longitude"} "${value},${hemisphere}"`);
  const degrees = Number(m[1]) + Number(m[2]) / 60;
  if (Number(m[2]) >= 60 || degrees > (axis === "lat" ? 90 : 180)) throw new NmeaFieldError(`${axis === "lat" ? "latitude" : "longitude"} out of range: ${value}`);
  const signed = hemisphere === hemispheres[1] ? -degrees : degrees;
  return Number(signed.toFixed(7));
}

/** A decimal number field. */
export function decimal(value: string | undefined, what: string): number | null {
  if (value === undefined || value === "") return null;
  if (!/^-?\d+(\.\d*)?$|^-?\.\d+$/.test(value)) throw new NmeaFieldError(`malformed ${what} "${value}"`);
  return Number(value);
}

/** A non-negative integer field. */
export function integer(value: string | undefined, what: string): number | null {
  if (value === undefined || value === "") return null;
  if (!/^\d+$/.test(value)) throw new NmeaFieldError(`malformed ${what} "${value}"`);
  return Number(value);
}

/** `hhmmss.sss` → seconds since midnight as text kept for joining with a date (`hh:mm:ss.sss`). */
export function utcTime(value: string | undefined): string | null {
  if (value === undefined || value === "") return null;
  const m = /^(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$/.exec(value);
  if (m === null || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3]) >= 61) throw new NmeaFieldError(`malformed UTC time "${value}"`);
  const [whole, fraction = ""] = m[3]!.split(".");
  return `${m[1]}:${m[2]}:${whole}.${fraction.padEnd(3, "0").slice(0, 3)}`;
}

/** `ddmmyy` → `yyyy-mm-dd` (two-digit years are 2000–2099, as receivers of this century mean). */
export function utcDate(value: string | undefined): string | null {
  if (value === undefined || value === "") return null;
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (m === null || Number(m[1]) < 1 || Number(m[1]) > 31 || Number(m[2]) < 1 || Number(m[2]) > 12) throw new NmeaFieldError(`malformed date "${value}"`);
  return `20${m[3]}-${m[2]}-${m[1]}`;
}
