import { HearthError } from "../../core/errors.ts";

/** Codes of 1-Wire reading errors. */
export type OneWireErrorCode = "ONEWIRE_CRC" | "ONEWIRE_POWER_ON_VALUE" | "ONEWIRE_MALFORMED" | "ONEWIRE_PROBE_MISSING";

/** A probe read that gave no reading. */
export class OneWireError extends HearthError<OneWireErrorCode> {
  override readonly name = "OneWireError";
}

/** The DS18B20's power-on reset value: a conversion never ran, so it is not a temperature. */
export const POWER_ON_MILLIDEGREES = 85_000;

/**
 * Parses the w1_therm driver's `w1_slave` text:
 *   `72 01 4b 46 7f ff 0e 10 57 : crc=57 YES`
 *   `72 01 4b 46 7f ff 0e 10 57 t=23125`
 * into degrees Celsius; a CRC `NO`, a missing `t=` or 85 °C (power-on) is an error, never a reading.
 */
export function parseW1Slave(text: string): number {
  const lines = text.split("\n");
  const crc = /crc=[0-9a-f]{2} (YES|NO)\s*$/i.exec(lines[0] ?? "");
  if (crc === null) throw new OneWireError("ONEWIRE_MALFORMED", `unexpected w1_slave contents: ${JSON.stringify(text.slice(0, 80))}`);
  if (crc[1]!.toUpperCase() !== "YES") throw new OneWireError("ONEWIRE_CRC", "the probe's reply failed its CRC (crc=.. NO)");
  const t = /t=(-?\d+)\s*$/.exec(lines[1] ?? "");
  if (t === null) throw new OneWireError("ONEWIRE_MALFORMED", "no t= value after a good CRC");
  const milli = Number(t[1]);
  if (milli === POWER_ON_MILLIDEGREES) throw new OneWireError("ONEWIRE_POWER_ON_VALUE", "85 °C is the power-on value: the conversion did not run (power or wiring)");
  return milli / 1000;
}
