/**
 * The binary protocol's part of a model definition: how frames are found (a header, a fixed length or a
 * length field, a tail byte), the checksum that guards them, which frames carry readings, the request
 * frames a polled sensor is sent, and per entity where its value sits in a frame. The checks that need
 * the whole model (a field beyond the frame, a button with nothing to send) are `checkBinaryDefinition`.
 */
import { z } from "zod";
import { entitySchemaWith } from "./entity-description.ts";

/**
 * Checksums of binary frames: `sum8` (the low byte of the bytes' sum), `sum8-twos-complement` (0x100 minus
 * that sum, MH-Z19B's `0xFF - sum + 1`), `sum16` (the low 16 bits of the sum, PMS5003's), `xor8`, and
 * CRC-16/MODBUS (poly 0x8005 reflected, init 0xFFFF).
 */
export const BINARY_CHECKSUMS = ["sum8", "sum8-twos-complement", "sum16", "xor8", "crc16-modbus"] as const;
export type BinaryChecksumAlgorithm = (typeof BINARY_CHECKSUMS)[number];

/** Bytes a checksum of each algorithm takes in a frame. */
export const CHECKSUM_SIZE: Record<BinaryChecksumAlgorithm, 1 | 2> = { sum8: 1, "sum8-twos-complement": 1, sum16: 2, xor8: 1, "crc16-modbus": 2 };

/** The integer types a field may have, with their sizes in bytes. */
export const FIELD_TYPES = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4 } as const;
export type FieldType = keyof typeof FIELD_TYPES;

const byte = z.int().min(0).max(255);
const ORDER = z.enum(["big", "little"]);

/** Bytes as a list of numbers (`[0x42, 0x4D]`) or as hex (`"42 4D"`, `"424D"`). */
export const BytesSchema = z.union([z.array(byte).min(1), z.string()]).transform((v, ctx): number[] => {
  if (typeof v !== "string") return v;
  if (!/^\s*(?:[0-9a-fA-F]{2}\s*)+$/.test(v)) {
    ctx.addIssue({ code: "custom", message: 'expected hex bytes such as "FF 01 86"' });
    return z.NEVER;
  }
  return (v.replace(/\s+/g, "").match(/../g) ?? []).map((h) => Number.parseInt(h, 16));
});

/** Where a frame's length is written: `size` bytes at `offset`, counting the whole `frame`, the `rest` after the field, or the `payload` between the field and the checksum. */
const LengthFieldSchema = z.strictObject({
  offset: z.int().min(0),
  size: z.union([z.literal(1), z.literal(2)]).default(1),
  order: ORDER.default("big"),
  counts: z.enum(["frame", "rest", "payload"]),
});
export type LengthFieldSpec = z.output<typeof LengthFieldSchema>;

/** A frame's checksum: the algorithm and the first byte it covers; it covers every byte up to itself, and sits last in the frame (before the tail, if any). */
const BinaryChecksumSchema = z.strictObject({
  algorithm: z.enum(BINARY_CHECKSUMS),
  /** The first byte covered (0: the header's first). */
  from: z.int().min(0).default(0),
  /** How a 16-bit checksum is written (default: big-endian, but low byte first for crc16-modbus, as Modbus does). */
  order: ORDER.optional(),
});
export type BinaryChecksumSpec = z.output<typeof BinaryChecksumSchema>;

/** Frames whose bytes at `at` are `bytes` (a command byte, a length). */
const MatchSchema = z.strictObject({ at: z.int().min(0), bytes: BytesSchema });
export type FrameMatch = z.output<typeof MatchSchema>;

/** The binary protocol: fixed frames, each found by its header, checked by its checksum, read by fields. */
export const BinaryProtocolSchema = z.strictObject({
  /** The bytes every frame starts with; the stream is scanned for them. */
  header: BytesSchema,
  /** Every frame's length in bytes, or where a length field says it. */
  length: z.union([z.int().min(1).max(4096), LengthFieldSchema]),
  /** The longest frame a length field may announce; a longer one is corrupt (default 256). */
  max_length: z.int().min(1).max(4096).default(256),
  /** The byte every frame ends with (`0xAB` or `"AB"`). */
  tail: z
    .union([
      byte,
      z
        .string()
        .regex(/^[0-9a-fA-F]{2}$/, { error: 'expected one byte, such as "AB"' })
        .transform((h) => Number.parseInt(h, 16)),
    ])
    .optional(),
  checksum: BinaryChecksumSchema.optional(),
  /** Which frames carry the readings (default: every frame); other sound frames are replies, which show the device is alive. */
  report: MatchSchema.optional(),
  /** A request frame (or several, sent in order) written at every poll, without its checksum and tail, which are added; the poll's answer is the next report. Without it the device streams, and a poll asks nothing. */
  poll: z.union([BytesSchema, z.array(BytesSchema).min(1)]).optional(),
});
export type BinaryProtocol = z.output<typeof BinaryProtocolSchema>;

/** Where an entity's value sits in a report: `at` (byte offset), its type and byte order; the reading is `raw × scale + offset`. */
const FieldSchema = z.strictObject({
  at: z.int().min(0),
  type: z.enum(Object.keys(FIELD_TYPES) as [FieldType, ...FieldType[]]).default("uint8"),
  order: ORDER.default("big"),
  scale: z
    .number()
    .refine((n) => n !== 0, { error: "expected a non-zero scale" })
    .default(1),
  offset: z.number().default(0),
});
export type BinaryField = z.output<typeof FieldSchema>;

/** How one entity of a binary device is read (a sensor's `field`) or what it sends (a button's `write`, a request frame without checksum and tail). */
export const BinaryEntitySchema = entitySchemaWith({ field: FieldSchema.optional(), write: BytesSchema.optional() });
export type BinaryEntity = z.infer<typeof BinaryEntitySchema>;

/** Bytes of a frame after its checksum (the tail's). */
export function trailerSize(binary: BinaryProtocol): number {
  return (binary.checksum === undefined ? 0 : CHECKSUM_SIZE[binary.checksum.algorithm]) + (binary.tail === undefined ? 0 : 1);
}

/** The polls' request frames, as a list. */
export function pollFrames(binary: Pick<BinaryProtocol, "poll">): number[][] {
  if (binary.poll === undefined) return [];
  return typeof binary.poll[0] === "number" ? [binary.poll as number[]] : (binary.poll as number[][]);
}

interface BinaryDefinitionShape {
  binary: BinaryProtocol;
  entities: BinaryEntity[];
}

const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(2, "0")}`;

/**
 * The checks of a binary model that need more than one field: a length field or a checksum beyond the
 * frame, a field beyond the report frame, a sensor without a field, a write on anything but a button.
 */
export function checkBinaryDefinition(definition: BinaryDefinitionShape, ctx: z.RefinementCtx): void {
  if (typeof definition.binary !== "object" || definition.binary === null || !Array.isArray(definition.entities)) return;
  const at = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message, params: { quotesInput: true } });
  const { binary } = definition;
  const head = binary.header.length;
  const trailer = trailerSize(binary);
  const fixed = typeof binary.length === "number" ? binary.length : undefined;
  if (fixed !== undefined && fixed < head + trailer) at(["binary", "length"], `a frame of ${fixed} bytes cannot hold its ${head}-byte header and ${trailer} bytes of checksum and tail`);
  if (typeof binary.length === "object" && binary.length.offset + binary.length.size > binary.max_length) at(["binary", "length", "offset"], `beyond max_length (${binary.max_length})`);
  if (binary.checksum !== undefined && fixed !== undefined && binary.checksum.from > fixed - trailer) at(["binary", "checksum", "from"], `beyond the checksum itself (byte ${fixed - trailer})`);
  if (binary.report !== undefined && fixed !== undefined && binary.report.at + binary.report.bytes.length > fixed) at(["binary", "report"], `beyond the ${fixed}-byte frame`);
  pollFrames(binary).forEach((frame, i) => {
    const where = typeof binary.poll?.[0] === "number" ? ["binary", "poll"] : ["binary", "poll", i];
    if (!binary.header.every((b, j) => frame[j] === b)) at(where, `a request frame starts with the header (${binary.header.map(hex).join(" ")}) like every frame`);
  });
  definition.entities.forEach((entity, i) => {
    const { field, write } = entity as { field?: BinaryField; write?: number[] };
    if (entity.kind === "switch" || entity.kind === "light" || entity.kind === "number") {
      at(["entities", i, "kind"], `a binary model has sensors, binary sensors and buttons, not a ${entity.kind}`);
      return;
    }
    if (field !== undefined) {
      if (entity.kind !== "sensor" && entity.kind !== "binary_sensor") at(["entities", i, "field"], `a ${entity.kind} reads nothing from a frame here; only sensors and binary sensors have a field`);
      const end = field.at + FIELD_TYPES[field.type];
      if (fixed !== undefined && end > fixed - trailer)
        at(["entities", i, "field", "at"], `a ${field.type} at byte ${field.at} ends at byte ${end}, beyond the frame's data (it ends at byte ${fixed - trailer})`);
      if (entity.kind === "sensor" && !entity.numeric) at(["entities", i], "a binary frame's field is a number: the sensor must be numeric");
    } else if (entity.kind === "sensor" || entity.kind === "binary_sensor") {
      at(["entities", i, "field"], `a ${entity.kind} needs a field: where its value sits in a report ({ at, type, order, scale, offset })`);
    }
    if (write !== undefined && entity.kind !== "button") at(["entities", i, "write"], `only buttons send a frame here, not a ${entity.kind}`);
    if (write === undefined && entity.kind === "button") at(["entities", i, "write"], "a button needs the request frame it sends (write: hex bytes, without checksum and tail)");
    if (write !== undefined && !binary.header.every((b, j) => write[j] === b))
      at(["entities", i, "write"], `a request frame starts with the header (${binary.header.map(hex).join(" ")}) like every frame`);
  });
}
