import { z } from "zod";
import { DATA_BITS, DEFAULT_SERIAL_SETTINGS, PARITIES, type SerialSettings, STOP_BITS } from "../serial/settings.ts";
import { BinaryEntitySchema, BinaryProtocolSchema, checkBinaryDefinition } from "./binary-definition.ts";
import { entitySchemaWith } from "./entity-description.ts";
import { checkLineDefinition, LineEntitySchema, LineProtocolSchema } from "./line-definition.ts";
import { checkTelegramEntities, TelegramEntitySchema, TelegramProtocolSchema } from "./telegram-definition.ts";
import { checkVeDirectDefinition, VeDirectEntitySchema, VeDirectProtocolSchema } from "./vedirect-definition.ts";

export { type LineEntity, LineEntitySchema, type LineProtocol, LineProtocolSchema } from "./line-definition.ts";

/** Standard baud rates a tty takes (termios B-constants on Linux). */
export const BAUD_RATES = [
  50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000,
  3500000, 4000000,
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

/** How the serial line is set up: serial's SerialSettings, each field defaulting as serial says. */
export const SerialSettingsSchema = z.strictObject({
  baud: BaudSchema.default(DEFAULT_SERIAL_SETTINGS.baud),
  data_bits: z.literal(DATA_BITS).default(DEFAULT_SERIAL_SETTINGS.data_bits),
  parity: z.enum(PARITIES).default(DEFAULT_SERIAL_SETTINGS.parity),
  stop_bits: z.literal(STOP_BITS).default(DEFAULT_SERIAL_SETTINGS.stop_bits),
  rts_cts: z.boolean().default(DEFAULT_SERIAL_SETTINGS.rts_cts),
});

// The schema makes exactly serial's type: a field or a value on one side only fails to compile here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMakesSerialSettings: Same<z.output<typeof SerialSettingsSchema>, SerialSettings> = true;
void schemaMakesSerialSettings;

/** A definition's serial settings: serial's defaults for what it leaves out, all of them when it names none. */
const definitionSerial = SerialSettingsSchema.default({ ...DEFAULT_SERIAL_SETTINGS });

/**
 * A capture `port: sim` plays for a model without a simulator of its own (src/engine/replay.ts): raw
 * bytes as recorded from the device, paced at the model's baud rate unless `rate` says otherwise.
 */
export const ReplaySimulatorSchema = z.strictObject({
  /** The capture file, relative to the model file. */
  replay: z.string().min(1),
  /** Lines a second instead of the pace of the model's baud rate. */
  rate: z.number().positive().optional(),
  /** Start again at the end (without it, the device goes quiet when the capture ends). */
  loop: z.boolean().default(false),
});
export type ReplaySimulatorSpec = z.infer<typeof ReplaySimulatorSchema>;

/**
 * How a model's firmware is updated (`firmware:` in a model file), for `hearth firmware` and the
 * `device/firmware` request: hearth closes the device's link, runs the tool on its port, opens the link
 * again and waits for the device to say hello with its version; an image that never does is replaced by
 * the one before it (src/engine/firmware/).
 */
export const FirmwareUpdateSchema = z.strictObject({
  /** The tool that writes the image: Debian's `avrdude`, through the board's bootloader. */
  tool: z.literal("avrdude"),
  /** avrdude's part (`-p`), e.g. `atmega328p` for an Uno or a Nano. */
  part: z.string().regex(/^[a-z0-9]+$/, "expected an avrdude part id, e.g. atmega328p"),
  /**
   * avrdude's programmer (`-c`): how the bootloader is reached. `arduino` speaks STK500 to Optiboot and
   * enters it by pulsing DTR, which resets the board through its auto-reset circuit.
   */
  programmer: z.string().regex(/^[a-z0-9_]+$/, "expected an avrdude programmer id, e.g. arduino"),
  /** The bootloader's baud rate (`-b`); default: the model's serial baud rate. */
  baud: BaudSchema.optional(),
  /** Bytes of flash the application may fill (an ATmega328P's 32 KiB less Optiboot's 512 B: 32256); a bigger image is refused. */
  max_size: z
    .int()
    .positive()
    .max(16 * 1024 * 1024),
  /** Seconds the firmware has to say hello after it was written before hearth writes the previous image back. */
  hello_timeout: z.number().positive().max(600).default(15),
  /** Seconds one run of the tool may take (a write with its verification, or a read). */
  timeout: z.number().positive().max(3600).default(180),
});
export type FirmwareUpdateSpec = z.infer<typeof FirmwareUpdateSchema>;

/** What every device definition starts with, whatever its protocol family. */
const definitionHead = {
  model: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  name: z.string().min(1),
  manufacturer: z.string().min(1),
  description: z.string().optional(),
  simulator: ReplaySimulatorSchema.optional(),
  firmware: FirmwareUpdateSchema.optional(),
};

/** A device's line settings: its model's, with the baud rate its config may set. */
export function serialSettingsOf(definition: { serial: SerialSettings }, config: { baud?: number }): SerialSettings {
  return config.baud === undefined ? definition.serial : { ...definition.serial, baud: config.baud };
}

/** A device definition (devices/<model>/device.yaml) of the line protocol family. */
export const LineDeviceDefinitionSchema = z
  .strictObject({
    ...definitionHead,
    protocol: z.literal("line"),
    serial: definitionSerial,
    line: LineProtocolSchema,
    /** Seconds between polls, unless the device's config says otherwise; without `line.poll`, a device silent this long is asked nothing but waited for. */
    poll_interval: z.number().positive().default(30),
    /** Seconds a command may wait for its reply. */
    timeout: z.number().positive().default(2),
    entities: z.array(LineEntitySchema).min(1),
  })
  .superRefine(checkLineDefinition);

/**
 * A device_tracker's readings are positions, and only a receiver's `location` is one: anywhere else the
 * entity would never have a state, so the model is refused instead.
 */
function checkDeviceTrackers(definition: { protocol: string; entities: ReadonlyArray<{ kind: string; read?: unknown }> }, ctx: z.RefinementCtx): void {
  definition.entities.forEach((entity, i) => {
    if (entity.kind !== "device_tracker" || (definition.protocol === "nmea" && entity.read === "location")) return;
    ctx.addIssue({ code: "custom", path: ["entities", i, "kind"], message: "a device_tracker takes positions, which only an nmea model's `read: location` gives", params: { quotesInput: true } });
  });
}

/** What an NMEA 0183 receiver reports; an entity of an nmea-protocol device reads one of these. */
export const NMEA_READINGS = ["latitude", "longitude", "altitude", "speed", "course", "satellites_in_view", "satellites_used", "fix_quality", "hdop", "utc_time", "location"] as const;
export type NmeaReading = (typeof NMEA_READINGS)[number];

/** The talker ids of NMEA 0183 navigation sentences: GPS, multi-GNSS, GLONASS, Galileo, BeiDou (two spellings). */
export const NMEA_TALKERS = ["GP", "GN", "GL", "GA", "BD", "GB"] as const;

/** A device definition of the NMEA 0183 family: a receiver that streams sentences without being asked. */
export const NmeaDeviceDefinitionSchema = z.strictObject({
  ...definitionHead,
  protocol: z.literal("nmea"),
  serial: definitionSerial,
  nmea: z
    .strictObject({
      /** Sentences from other talkers are ignored. */
      talkers: z
        .array(z.enum(NMEA_TALKERS))
        .min(1)
        .default([...NMEA_TALKERS]),
    })
    .default({ talkers: [...NMEA_TALKERS] }),
  /** Seconds between availability checks: the receiver is available while valid sentences keep coming. */
  poll_interval: z.number().positive().default(5),
  /** Seconds a check waits for a valid sentence. */
  timeout: z.number().positive().default(3),
  entities: z.array(entitySchemaWith({ read: z.enum(NMEA_READINGS) })).min(1),
});
export type NmeaDeviceDefinition = z.infer<typeof NmeaDeviceDefinitionSchema>;

/** Where a value lives in a Modbus slave and how its words make a number. */
export const ModbusRegisterSchema = z.strictObject({
  address: z.int().min(0).max(65535),
  /** Coils and holding registers can be written; discrete inputs and input registers only read. */
  kind: z.enum(["coil", "discrete_input", "holding", "input"]),
  type: z.enum(["int16", "uint16", "int32", "uint32", "float32"]).default("uint16"),
  /** Which 16-bit word of a 32-bit value comes first. */
  word_order: z.enum(["big", "little"]).default("big"),
  /** The reading is `raw × scale + offset`; a written value goes the other way. */
  scale: z
    .number()
    .refine((n) => n !== 0, { error: "expected a non-zero scale" })
    .default(1),
  offset: z.number().default(0),
});
export type ModbusRegister = z.infer<typeof ModbusRegisterSchema>;

/**
 * A request a button sends as it is, for a function outside the standard ones (a meter's "reset
 * energy", say): the function code and its data bytes; the slave's reply must echo the request, or be
 * its exception response.
 */
export const ModbusFunctionSchema = z.strictObject({
  /** 1–127: from 128 up, a code marks an exception response. */
  code: z.int().min(1).max(127),
  /** The bytes after the function code, each 0–255 (an RTU frame carries at most 252). */
  data: z.array(z.int().min(0).max(255)).max(252).default([]),
});
export type ModbusFunction = z.infer<typeof ModbusFunctionSchema>;

/** How one entity of a Modbus device is read and written; a button sends a function of its own. */
export const ModbusEntitySchema = entitySchemaWith({ register: ModbusRegisterSchema }, { function: ModbusFunctionSchema });
export type ModbusEntity = z.infer<typeof ModbusEntitySchema>;
/** An entity read from (or written to) a register or coil: every kind but the button. */
export type ModbusRegisterEntity = Extract<ModbusEntity, { register: unknown }>;

/** A device definition of the Modbus RTU family: a slave on an RS-485 bus that answers one request at a time. */
export const ModbusDeviceDefinitionSchema = z.strictObject({
  ...definitionHead,
  protocol: z.literal("modbus"),
  serial: definitionSerial,
  modbus: z
    .strictObject({
      /** The slave address, unless the device's `options.slave` says otherwise. */
      slave: z.int().min(1).max(247).default(1),
      /** Seconds a request waits for its reply (the device's `options.response_timeout` overrides it). */
      response_timeout: z.number().positive().default(0.5),
      /** Further attempts of a read after a timeout or a bad CRC; writes are never repeated. */
      retries: z.int().min(0).max(5).default(2),
      /** Unused registers one read may span to cover two entities (a meter that answers them). */
      max_gap: z.int().min(0).max(120).default(0),
      /** Registers one read may ask for: the protocol allows 125, some meters fewer (they answer more with an exception). */
      max_registers: z.int().min(1).max(125).default(125),
      /** The entities are the device's `options.registers` (the generic model). */
      entities_from_options: z.boolean().default(false),
    })
    .default({ slave: 1, response_timeout: 0.5, retries: 2, max_gap: 0, max_registers: 125, entities_from_options: false }),
  poll_interval: z.number().positive().default(10),
  timeout: z.number().positive().default(3),
  entities: z.array(ModbusEntitySchema).default([]),
});
export type ModbusDeviceDefinition = z.infer<typeof ModbusDeviceDefinitionSchema>;

/** A device definition of the 1-Wire family: probes the kernel's w1 driver exposes under sysfs. */
export const OneWireDeviceDefinitionSchema = z.strictObject({
  ...definitionHead,
  protocol: z.literal("onewire"),
  /** Unused (the kernel drives the bus); kept so every definition has serial settings to list. */
  serial: definitionSerial,
  onewire: z
    .strictObject({
      /** Where the w1 bus lists its slaves (the device's `options.sysfs_root` overrides it). */
      sysfs_root: z.string().min(1).default("/sys/bus/w1/devices"),
      /** The family code of the probes (`28` for the DS18B20). */
      family: z
        .string()
        .regex(/^[0-9a-f]{2}$/)
        .default("28"),
    })
    .default({ sysfs_root: "/sys/bus/w1/devices", family: "28" }),
  poll_interval: z.number().positive().default(30),
  timeout: z.number().positive().default(2),
  entities: z.array(entitySchemaWith({})).min(1),
});
export type OneWireDeviceDefinition = z.infer<typeof OneWireDeviceDefinitionSchema>;

/** A device definition of the VE.Direct family (Victron): a device that streams text blocks once a second, never asked. */
export const VeDirectDeviceDefinitionSchema = z
  .strictObject({
    ...definitionHead,
    protocol: z.literal("vedirect"),
    /** VE.Direct runs at 19200 baud, 8N1: the baud rate defaults to it, alone or with the other settings named. */
    serial: SerialSettingsSchema.extend({ baud: BaudSchema.default(19200) }).default({ ...DEFAULT_SERIAL_SETTINGS, baud: 19200 }),
    vedirect: VeDirectProtocolSchema,
    /** Seconds between availability checks: the device is available while valid blocks keep coming. */
    poll_interval: z.number().positive().default(5),
    /** Seconds a check waits for a valid block. */
    timeout: z.number().positive().default(3),
    entities: z.array(VeDirectEntitySchema).min(1),
  })
  .superRefine(checkVeDirectDefinition);
export type VeDirectDeviceDefinition = z.infer<typeof VeDirectDeviceDefinitionSchema>;

/** A device definition of the binary-frame family: sensors that stream or answer fixed binary frames (MH-Z19B, PMS5003, SDS011). */
export const BinaryDeviceDefinitionSchema = z
  .strictObject({
    ...definitionHead,
    protocol: z.literal("binary"),
    serial: definitionSerial,
    binary: BinaryProtocolSchema,
    /** Seconds between polls; a streaming device silent this long is waited for, not asked. */
    poll_interval: z.number().positive().default(10),
    /** Seconds a poll waits for its report (or a streaming device's next one). */
    timeout: z.number().positive().default(2),
    entities: z.array(BinaryEntitySchema).min(1),
  })
  .superRefine(checkBinaryDefinition);
export type BinaryDeviceDefinition = z.infer<typeof BinaryDeviceDefinitionSchema>;

/** A device definition of the telegram family: a meter streaming OBIS-coded telegrams (DSMR P1). */
export const TelegramDeviceDefinitionSchema = z
  .strictObject({
    ...definitionHead,
    protocol: z.literal("telegram"),
    serial: definitionSerial,
    telegram: TelegramProtocolSchema,
    /** Seconds between availability checks: the meter is available while valid telegrams keep coming. */
    poll_interval: z.number().positive().default(10),
    /** Seconds a check waits for a valid telegram. */
    timeout: z.number().positive().default(10),
    entities: z.array(TelegramEntitySchema).min(1),
  })
  .superRefine(checkTelegramEntities);
export type TelegramDeviceDefinition = z.infer<typeof TelegramDeviceDefinitionSchema>;

/** Any device definition; further protocol families join this union. */
export const DeviceDefinitionSchema = z
  .discriminatedUnion("protocol", [
    LineDeviceDefinitionSchema,
    NmeaDeviceDefinitionSchema,
    ModbusDeviceDefinitionSchema,
    OneWireDeviceDefinitionSchema,
    VeDirectDeviceDefinitionSchema,
    BinaryDeviceDefinitionSchema,
    TelegramDeviceDefinitionSchema,
  ])
  .superRefine(checkFirmwareUpdate)
  .superRefine(checkDeviceTrackers)
  .superRefine(checkOneMain);
export type DeviceDefinition = z.infer<typeof DeviceDefinitionSchema>;
export type LineDeviceDefinition = z.infer<typeof LineDeviceDefinitionSchema>;

/**
 * A model that declares a firmware update must say its version in a hello line: after writing an image,
 * hearth waits for that hello to know the new firmware runs (and which version it is), and writes the
 * previous image back when it never comes.
 */
function checkFirmwareUpdate(definition: { protocol: string; firmware?: unknown; line?: { hello?: string } }, ctx: z.RefinementCtx): void {
  if (definition.firmware === undefined) return;
  const hello = definition.protocol === "line" ? definition.line?.hello : undefined;
  if (hello?.includes("(?<sw_version>") === true) return;
  ctx.addIssue({
    code: "custom",
    path: ["firmware"],
    message: "a firmware update needs a hello line that says the version (line.hello with a (?<sw_version>…) group): hearth waits for it after writing an image",
  });
}

/** One entity at most is the device's main one: Home Assistant would show two entities under the device's name alone. */
function checkOneMain(definition: { entities: ReadonlyArray<{ main?: boolean }> }, ctx: z.RefinementCtx): void {
  const mains = definition.entities.flatMap((e, i) => (e.main === true ? [i] : []));
  for (const i of mains.slice(1)) ctx.addIssue({ code: "custom", path: ["entities", i, "main"], message: `only one entity may be the main one (entities[${mains[0]}] is)` });
}
