/**
 * The telegram family's part of a model definition: a meter that streams telegrams of OBIS-coded lines
 * (DSMR P1: `/` identification, `1-0:1.8.1(001581.123*kWh)` …, `!` and a CRC), and per entity the OBIS
 * code it reads, the unit the meter sends it in and the scale to the unit published.
 */
import { z } from "zod";
import { entitySchemaWith } from "./entity-description.ts";

/** How a telegram is checked: CRC-16/ARC over `/` to `!` as 4 hex digits after the `!` (DSMR 4+), or nothing (DSMR 2.2 and 3). */
export const TELEGRAM_CRCS = ["crc16-arc", "none"] as const;

/** An OBIS code `A-B:C.D.E`; `*` for B is the M-Bus channel whose device type is the entity's `device_type`. */
const ObisSchema = z.string().regex(/^\d{1,3}-(\d{1,3}|\*):\d{1,3}\.\d{1,3}\.\d{1,3}$/, { error: "expected an OBIS code such as 1-0:1.8.1 (or 0-*:24.2.1 with a device_type)" });

/** How one entity of a telegram meter is read. */
export const TelegramEntitySchema = entitySchemaWith({
  obis: ObisSchema,
  /** With `0-*:…`: the M-Bus device type (`0-n:24.1.0`) whose channel n is read: 3 gas, 7 water. */
  device_type: z.int().min(0).max(255).optional(),
  /** The unit the meter sends the value in (`kWh` of `(001581.123*kWh)`); a value in another unit is bad, never rescaled. */
  obis_unit: z.string().min(1).optional(),
  /** The reading is the sent number × scale (1000 for kW sent, W published). */
  scale: z
    .number()
    .refine((n) => n !== 0, { error: "expected a non-zero scale" })
    .default(1),
});
export type TelegramEntity = z.infer<typeof TelegramEntitySchema>;

/** The telegram protocol's settings. */
export const TelegramProtocolSchema = z
  .strictObject({
    crc: z.enum(TELEGRAM_CRCS).default("crc16-arc"),
    /** Bytes a telegram may have; a longer one is garbage (a DSMR telegram is 1–2 KB). */
    max_length: z.int().min(64).max(65536).default(8192),
  })
  .default({ crc: "crc16-arc", max_length: 8192 });
export type TelegramProtocol = z.infer<typeof TelegramProtocolSchema>;

/** `0-*:…` needs a device type to find its channel, and a device type needs `0-*:…`: said so, at the entity. */
export function checkTelegramEntities(definition: { entities: readonly TelegramEntity[] }, ctx: z.RefinementCtx): void {
  definition.entities.forEach((e, i) => {
    const wild = e.obis.includes("-*:");
    if (wild && e.device_type === undefined) ctx.addIssue({ code: "custom", path: ["entities", i, "device_type"], message: "expected a device_type for an OBIS code with channel *" });
    if (!wild && e.device_type !== undefined) ctx.addIssue({ code: "custom", path: ["entities", i, "obis"], message: "expected channel * (0-*:24.2.1) with a device_type" });
  });
}
