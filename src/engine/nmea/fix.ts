import type { NmeaReading } from "../../config/device-definition.ts";
import type { RawValue } from "../../entities/entity.ts";
import { coordinate, decimal, integer, NmeaFieldError, utcDate, utcTime } from "./fields.ts";
import type { Sentence } from "./sentence.ts";

/** GGA's quality indicator, in words. */
const FIX_QUALITY = ["no fix", "gps", "dgps", "pps", "rtk", "float rtk", "estimated", "manual", "simulation"];

/**
 * Metres of position error per unit of HDOP. HDOP is defined as the factor by which the geometry of the
 * satellites in use scales the error of one range measurement (the user-equivalent range error, UERE)
 * into horizontal position error: σ_horizontal ≈ HDOP × σ_UERE. 5 m is a round 1σ UERE of a
 * single-frequency consumer receiver as textbook GPS error budgets give it (satellite clock and orbit,
 * ionosphere, troposphere, multipath and receiver noise together: a few metres, ionosphere the largest).
 * The result is an estimate for a map's accuracy circle, not a bound: devices/nmea-gps/README.md.
 */
export const UERE_METRES = 5;

/** Readings from one sentence. */
export interface FixUpdate {
  readings: Map<NmeaReading, RawValue>;
}

/**
 * A receiver's fix as its sentences describe it. Each sentence gives the readings it carries; a
 * sentence that says there is no fix gives `null` for the position, never zeros.
 * Throws NmeaFieldError for a malformed field, so nothing of that sentence is used.
 */
export class FixTracker {
  private date: string | null = null;
  private hdop: number | null = null;
  private readonly inView = new Map<string, number>();

  /** Readings from one verified sentence, or undefined for a type hearth does not use. */
  apply(s: Sentence): FixUpdate | undefined {
    switch (s.type) {
      case "GGA":
        return this.gga(s.fields);
      case "RMC":
        return this.rmc(s.fields);
      case "GSA":
        return this.gsa(s.fields);
      case "GSV":
        return this.gsv(s.talker, s.fields);
      case "VTG":
        return this.vtg(s.fields);
      case "ZDA":
        return this.zda(s.fields);
      default:
        return undefined;
    }
  }

  private gga(f: string[]): FixUpdate {
    need(f, 14, "GGA");
    const time = utcTime(f[0]);
    const quality = integer(f[5], "fix quality");
    if (quality === null || quality >= FIX_QUALITY.length) throw new NmeaFieldError(`malformed fix quality "${f[5]}"`);
    const used = integer(f[6], "satellites used");
    const hdop = decimal(f[7], "HDOP");
    const u = update();
    u.readings.set("fix_quality", FIX_QUALITY[quality]!);
    u.readings.set("satellites_used", used ?? 0);
    if (quality === 0) {
      this.hdop = null;
      noFix(u, ["latitude", "longitude", "altitude", "hdop", "location"]);
    } else {
      const lat = coordinate(f[1], f[2], "lat");
      const lon = coordinate(f[3], f[4], "lon");
      const altitude = decimal(f[8], "altitude");
      if (lat === null || lon === null) throw new NmeaFieldError("a fix without a position");
      this.hdop = hdop;
      u.readings.set("hdop", hdop);
      u.readings.set("altitude", altitude);
      this.position(u, lat, lon);
    }
    if (time !== null && this.date !== null) u.readings.set("utc_time", `${this.date}T${time}Z`);
    return u;
  }

  private rmc(f: string[]): FixUpdate {
    need(f, 11, "RMC");
    const time = utcTime(f[0]);
    const status = f[1];
    if (status !== "A" && status !== "V") throw new NmeaFieldError(`malformed RMC status "${status}"`);
    const date = utcDate(f[8]);
    const u = update();
    if (date !== null) this.date = date;
    if (time !== null && date !== null) u.readings.set("utc_time", `${date}T${time}Z`);
    if (status === "V") {
      noFix(u, ["latitude", "longitude", "speed", "course", "location"]);
      return u;
    }
    const lat = coordinate(f[2], f[3], "lat");
    const lon = coordinate(f[4], f[5], "lon");
    if (lat === null || lon === null) throw new NmeaFieldError("a valid RMC without a position");
    const knots = decimal(f[6], "speed");
    u.readings.set("speed", knots === null ? null : round(knots * 1.852, 3));
    u.readings.set("course", decimal(f[7], "course"));
    this.position(u, lat, lon);
    return u;
  }

  private gsa(f: string[]): FixUpdate {
    need(f, 17, "GSA");
    const mode = integer(f[1], "fix mode");
    if (mode === null || mode < 1 || mode > 3) throw new NmeaFieldError(`malformed GSA fix mode "${f[1]}"`);
    const hdop = decimal(f[15], "HDOP");
    const u = update();
    // Mode 1 is "no fix"; a multi-constellation receiver sends one GSA per system, each with the same DOPs.
    if (mode === 1) {
      this.hdop = null;
      noFix(u, ["hdop"]);
    } else {
      this.hdop = hdop;
      u.readings.set("hdop", hdop);
    }
    return u;
  }

  private gsv(talker: string, f: string[]): FixUpdate {
    need(f, 3, "GSV");
    const total = integer(f[0], "GSV message count");
    const index = integer(f[1], "GSV message number");
    const count = integer(f[2], "satellites in view");
    if (total === null || index === null || count === null || index < 1 || index > total) throw new NmeaFieldError("malformed GSV header");
    for (let i = 3; i < f.length; i++) if (f[i] !== "" && !/^\d+$/.test(f[i]!)) throw new NmeaFieldError(`malformed GSV satellite field "${f[i]}"`);
    this.inView.set(talker, count);
    const u = update();
    // Each constellation counts its own satellites; the receiver sees all of them.
    u.readings.set(
      "satellites_in_view",
      [...this.inView.values()].reduce((a, b) => a + b, 0),
    );
    return u;
  }

  private vtg(f: string[]): FixUpdate {
    need(f, 8, "VTG");
    const course = decimal(f[0], "course");
    const kmh = decimal(f[6], "speed");
    const mode = f[8];
    const u = update();
    if (mode === "N") {
      noFix(u, ["speed", "course"]);
      return u;
    }
    u.readings.set("speed", kmh);
    u.readings.set("course", course);
    return u;
  }

  private zda(f: string[]): FixUpdate {
    need(f, 4, "ZDA");
    const time = utcTime(f[0]);
    const day = integer(f[1], "day");
    const month = integer(f[2], "month");
    const year = integer(f[3], "year");
    const u = update();
    if (day === null || month === null || year === null) return u;
    if (day < 1 || day > 31 || month < 1 || month > 12 || year < 1980) throw new NmeaFieldError("malformed ZDA date");
    this.date = `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
    if (time !== null) u.readings.set("utc_time", `${this.date}T${time}Z`);
    return u;
  }

  private position(u: FixUpdate, lat: number, lon: number): void {
    u.readings.set("latitude", lat);
    u.readings.set("longitude", lon);
    // The accuracy from the HDOP of this fix (GGA's, or the GSA before an RMC); null when the receiver gave none.
    u.readings.set("location", { latitude: lat, longitude: lon, gps_accuracy: this.hdop === null ? null : round(this.hdop * UERE_METRES, 1) });
  }
}

function update(): FixUpdate {
  return { readings: new Map() };
}

function noFix(u: FixUpdate, keys: NmeaReading[]): void {
  for (const k of keys) u.readings.set(k, null);
}

function need(f: string[], n: number, type: string): void {
  if (f.length < n) throw new NmeaFieldError(`${type} with ${f.length} fields, at least ${n} expected`);
}

function round(n: number, places: number): number {
  return Number(n.toFixed(places));
}
