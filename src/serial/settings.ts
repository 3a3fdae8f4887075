// How a serial line is set up, owned here and imported by config (whose schema makes exactly this type)
// and by the engine: types and constants only, so that importing it loads no FFI and no Worker.

/** Character sizes a tty takes. */
export const DATA_BITS = [5, 6, 7, 8] as const;

/** Parities a tty takes: mark and space are termios's CMSPAR (a parity bit fixed at 1 or 0). */
export const PARITIES = ["none", "even", "odd", "mark", "space"] as const;
export type Parity = (typeof PARITIES)[number];

/** Stop bits a tty takes on Linux (there is no 1.5). */
export const STOP_BITS = [1, 2] as const;

/** How a serial line is set up, spelt as model files spell it. */
export interface SerialSettings {
  baud: number;
  data_bits: (typeof DATA_BITS)[number];
  parity: Parity;
  stop_bits: (typeof STOP_BITS)[number];
  /** Hardware flow control. */
  rts_cts: boolean;
}

/** The settings of a model that names none of them: 9600 baud, 8N1, no flow control. */
export const DEFAULT_SERIAL_SETTINGS: Readonly<SerialSettings> = Object.freeze({ baud: 9600, data_bits: 8, parity: "none", stop_bits: 1, rts_cts: false });

/** Start, data, parity and stop bits of one character on the line. */
export function bitsPerCharacter(serial: Pick<SerialSettings, "data_bits" | "parity" | "stop_bits">): number {
  return 1 + serial.data_bits + (serial.parity === "none" ? 0 : 1) + serial.stop_bits;
}
