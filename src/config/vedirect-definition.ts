/**
 * The VE.Direct part of the model schema (Victron chargers, inverters and battery monitors): which text
 * protocol label each entity reads, how its value is scaled or looked up in a table, and the product
 * names of the PIDs the model covers. The text protocol only streams, so every entity is read-only.
 */
import { z } from "zod";
import { entitySchemaWith } from "./entity-description.ts";

/** The words a binary sensor's table may map to (entities/on-off.ts reads them; config may not import it). */
const ON_OFF_WORDS = ["on", "off", "true", "false", "1", "0"];

/** A value a label's word maps to: a number, a word (ON/OFF for binary sensors), or true/false. */
const MappedValue = z.union([z.string(), z.number(), z.boolean()]);

/** How one entity of a VE.Direct device is read from its text blocks. */
export const VeDirectEntitySchema = entitySchemaWith({
  /** The field's label as the device sends it (`V`, `PPV`, `H20`, `SER#`), case as sent. */
  label: z.string().regex(/^[\x21-\x7e]{1,16}$/, { error: "expected a VE.Direct label: up to 16 printable characters without spaces (V, PPV, H20, SER#)" }),
  /** The reading is `raw × scale + offset` (mV → V is 0.001). */
  scale: z
    .number()
    .refine((n) => n !== 0, { error: "expected a non-zero scale" })
    .optional(),
  offset: z.number().optional(),
  /** What the device's words mean (`"3": Bulk`, `ON: ON`); a word not in the table is read as it is. */
  map: z.record(z.string(), MappedValue).optional(),
  /** Values of this label that mean "no reading", beside the protocol's `no_value`. */
  no_value: z.array(z.string()).optional(),
});
export type VeDirectEntity = z.infer<typeof VeDirectEntitySchema>;

/** The `vedirect:` block of a model. */
export const VeDirectProtocolSchema = z
  .strictObject({
    /** Product names by the `PID` a device sends (`"0xA053": SmartSolar MPPT 75|15`), shown as its model. */
    products: z
      .record(z.string(), z.string().min(1))
      .superRefine((products, ctx) => {
        // A record's key pattern loses its message in zod; said here, at the key.
        for (const pid of Object.keys(products)) {
          if (!/^0x[0-9A-Fa-f]{4}$/.test(pid)) ctx.addIssue({ code: "custom", path: [pid], message: "this key is not a PID: expected 0x and four hex digits (0xA053)" });
        }
      })
      .default({}),
    /** Values that mean "no reading" in any field (`---` for an unknown time to go). */
    no_value: z.array(z.string()).default(["---"]),
  })
  .default({ products: {}, no_value: ["---"] });
export type VeDirectProtocol = z.output<typeof VeDirectProtocolSchema>;

/** The checks of a VE.Direct model that need more than one field: read-only kinds, tables that fit their entity. */
export function checkVeDirectDefinition(definition: { entities: VeDirectEntity[] }, ctx: z.RefinementCtx): void {
  const at = (path: PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path, message });
  for (const [i, entity] of definition.entities.entries()) {
    const path = ["entities", i];
    if (entity.kind !== "sensor" && entity.kind !== "binary_sensor") {
      at([...path, "kind"], "a VE.Direct text block is read-only: expected sensor or binary_sensor");
      continue;
    }
    const numeric = entity.kind === "sensor" && entity.numeric;
    for (const key of ["scale", "offset"] as const) {
      if (entity[key] !== undefined && !numeric) at([...path, key], `only for numeric sensors, not a ${entity.kind === "sensor" ? "text sensor" : entity.kind}`);
    }
    for (const [word, value] of Object.entries(entity.map ?? {})) {
      const where = [...path, "map", word];
      if (entity.kind === "binary_sensor") {
        if (!ON_OFF_WORDS.includes(String(value).toLowerCase())) at(where, "expected ON or OFF (or true/false, 1/0)");
      } else if (numeric && typeof value !== "number") at(where, "expected a number (this sensor is numeric; a table of words needs numeric: false)");
    }
  }
}
