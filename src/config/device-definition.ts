import { z } from "zod";
import { entitySchemaWith } from "../entities/description.ts";

/** Standard baud rates a tty takes (termios B-constants on Linux). */
export const BAUD_RATES = [
  50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000,
  921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000,
] as const;

/** The rates a configuration may name: the standard ones devices use, 1200 to 921600. */
export const CONFIG_BAUD_RATES = BAUD_RATES.filter((b) => b >= 1200 && b <= 921600);

/** A baud rate, with the message users read when it is not one. */
export const BaudSchema = z
  .union([z.number(), z.string()])
  .pipe(
    z.custom<number>((v) => (CONFIG_BAUD_RATES as readonly number[]).includes(Number(v)), {
      error: "expected one of 1200…921600",
    }),
  )
  .transform((v) => Number(v));

/** How the serial line is set up. */
export const SerialSettingsSchema = z.strictObject({
  baud: BaudSchema.default(9600),
  data_bits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
  parity: z.enum(["none", "even", "odd"]).default("none"),
  stop_bits: z.union([z.literal(1), z.literal(2)]).default(1),
  rts_cts: z.boolean().default(false),
});
export type SerialSettings = z.infer<typeof SerialSettingsSchema>;

const regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { error: "expected a valid regular expression" },
);

/** A command template: `{id}`, `{value}`, `{brightness}` are filled in. */
const template = z.string().min(1);

/**
 * The line protocol: text lines of `key=value` fields. Everything about a particular device —
 * which lines are reports, how replies are recognised, which field feeds which entity, how a
 * command is written — is data here, so a new device of this family needs no code.
 */
export const LineProtocolSchema = z.strictObject({
  delimiter: z.string().min(1).default("\n"),
  /** A line matching this means the device (re)booted; named groups `model` and `sw_version` are kept. */
  hello: regex.optional(),
  /** Unsolicited reports; the named group `fields` holds the `key=value` pairs. */
  report: regex,
  /** A successful reply: named groups `id` and (optionally) `fields`. */
  ok: regex,
  /** A failed reply: named groups `id`, `code` and `message`. */
  error: regex,
  /** How a command line is made from its id and body. */
  command: template.default("{id} {body}"),
  /** Command ids cycle through this range. */
  id_range: z.tuple([z.int().min(0), z.int().min(1)]).default([1, 65535]),
  /** Sent on every poll; the reply's fields update the states. */
  poll: template.optional(),
  /** Field values that mean "no reading". */
  no_value: z.array(z.string()).default(["nan", "-"]),
});

/** How one entity is read from and written to a line-protocol device. */
const LineEntitySchema = entitySchemaWith({
  /** The field whose value is this entity's reading. */
  read: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
  /** Command bodies: one template (number, button) or per action (switch, light). */
  write: z.union([template, z.strictObject({ on: template, off: template })]).optional(),
});
export type LineEntity = z.infer<typeof LineEntitySchema>;

/** A device definition (devices/<model>/device.yaml) of the line protocol family. */
export const LineDeviceDefinitionSchema = z.strictObject({
  model: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  name: z.string().min(1),
  manufacturer: z.string().min(1),
  description: z.string().optional(),
  protocol: z.literal("line"),
  serial: SerialSettingsSchema.default({ baud: 9600, data_bits: 8, parity: "none", stop_bits: 1, rts_cts: false }),
  line: LineProtocolSchema,
  /** Seconds between polls, unless the device's config says otherwise. */
  poll_interval: z.number().positive().default(30),
  /** Seconds a command may wait for its reply. */
  timeout: z.number().positive().default(2),
  entities: z.array(LineEntitySchema).min(1),
});

/** Any device definition; further protocol families join this union. */
export const DeviceDefinitionSchema = z.discriminatedUnion("protocol", [LineDeviceDefinitionSchema]);
export type DeviceDefinition = z.infer<typeof DeviceDefinitionSchema>;
export type LineDeviceDefinition = z.infer<typeof LineDeviceDefinitionSchema>;
