/** The schema of an entity as a model definition states it (device.yaml's `entities:`); the entities, the engine and MQTT read it. */
import { z } from "zod";

/** The kinds of entity hearth publishes (Home Assistant's platforms of the same names). */
export const ENTITY_KINDS = ["sensor", "binary_sensor", "switch", "light", "number", "button", "device_tracker"] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/** Entity keys become parts of entity ids and MQTT topics: lower case, digits and single underscores. */
export const EntityKeySchema = z.string().regex(/^[a-z0-9]+(_[a-z0-9]+)*$/, { error: "expected lower-case letters, digits and single underscores (it is part of entity ids and topics)" });

const common = {
  key: EntityKeySchema,
  /** Shown to people; defaults to the key in words. */
  name: z.string().min(1).optional(),
  icon: z
    .string()
    .regex(/^mdi:[a-z0-9-]+$/, { error: "expected an mdi: icon name" })
    .optional(),
  /** Home Assistant's entity category: diagnostic and config entities are kept apart in its UI. */
  entity_category: z.enum(["diagnostic", "config"]).optional(),
  /** Publish at most once per this many seconds (the latest value wins). */
  throttle: z.number().positive().optional(),
  /** The device's main reading: Home Assistant names it by the device alone ("Greenhouse probe", not "… Temperature"). */
  main: z.boolean().optional(),
};

/** Home Assistant's device classes are lower-case words, some with digits (`pm25`, `pm1`, `volatile_organic_compounds_parts`). */
const DEVICE_CLASS = /^[a-z][a-z0-9_]*$/;

const numeric = {
  unit: z.string().min(1).optional(),
  device_class: z.string().regex(DEVICE_CLASS, { error: "expected a Home Assistant device class: lower-case letters, digits and _ (temperature, pm25)" }).optional(),
  state_class: z.enum(["measurement", "total", "total_increasing"]).optional(),
  /** Decimal places kept in the state. */
  precision: z.int().min(0).max(10).optional(),
  /** A change smaller than this is not a change (for noisy readings). */
  deadband: z.number().nonnegative().optional(),
};

export const SensorSchema = z.strictObject({
  ...common,
  ...numeric,
  kind: z.literal("sensor"),
  numeric: z.boolean().default(true),
  /** The range the sensor can read; a reading outside it is skipped as bad (the last good state stays). */
  min: z.number().optional(),
  max: z.number().optional(),
});
export const BinarySensorSchema = z.strictObject({
  ...common,
  kind: z.literal("binary_sensor"),
  device_class: z.string().regex(DEVICE_CLASS, { error: "expected a Home Assistant device class: lower-case letters, digits and _ (temperature, pm25)" }).optional(),
});
export const SwitchSchema = z.strictObject({ ...common, kind: z.literal("switch"), device_class: z.enum(["outlet", "switch"]).optional() });
export const LightSchema = z.strictObject({
  ...common,
  kind: z.literal("light"),
  /** The highest raw brightness the device takes and reports (Home Assistant's brightness is 0–255); a reading beyond it is skipped. */
  brightness_scale: z.int().positive().optional(),
});
export const NumberSchema = z.strictObject({
  ...common,
  ...numeric,
  kind: z.literal("number"),
  /** The range of the value, for commands and readings alike: outside it, a command is refused and a reading skipped. */
  min: z.number().default(0),
  max: z.number().default(100),
  step: z.number().positive().default(1),
  mode: z.enum(["auto", "box", "slider"]).default("auto"),
});
export const ButtonSchema = z.strictObject({ ...common, kind: z.literal("button"), device_class: z.enum(["restart", "identify", "update"]).optional() });
/**
 * A position for Home Assistant's map (its device_tracker platform, source type gps): readings are
 * `{latitude, longitude, gps_accuracy}` in degrees and metres, or null without a fix.
 */
export const DeviceTrackerSchema = z.strictObject({ ...common, kind: z.literal("device_tracker") });

/** A range whose minimum is above its maximum would refuse every value: said so, at `max`. */
function orderedRange(entity: object, ctx: z.RefinementCtx): void {
  const { min, max } = entity as { min?: unknown; max?: unknown };
  if (typeof min === "number" && typeof max === "number" && min > max) {
    ctx.addIssue({ code: "custom", path: ["max"], message: `expected at least min (${min})` });
  }
}

/** What an entity is, as a device definition states it; how it is read and written is the protocol's part. */
export const EntityDescriptionSchema = z
  .discriminatedUnion("kind", [SensorSchema, BinarySensorSchema, SwitchSchema, LightSchema, NumberSchema, ButtonSchema, DeviceTrackerSchema])
  .superRefine(orderedRange);

/**
 * The entity schema with a protocol's own keys added to every kind (how it is read and written); a
 * button, which is never read, may take keys of its own instead (what pressing it sends).
 */
export function entitySchemaWith<Shape extends z.ZodRawShape, ButtonShape extends z.ZodRawShape = Shape>(shape: Shape, buttonShape?: ButtonShape) {
  return z
    .discriminatedUnion("kind", [
      SensorSchema.extend(shape),
      BinarySensorSchema.extend(shape),
      SwitchSchema.extend(shape),
      LightSchema.extend(shape),
      NumberSchema.extend(shape),
      ButtonSchema.extend((buttonShape ?? shape) as ButtonShape),
      DeviceTrackerSchema.extend(shape),
    ])
    .superRefine(orderedRange);
}
export type EntityDescription = z.infer<typeof EntityDescriptionSchema>;
export type EntityDescriptionOf<K extends EntityKind> = Extract<EntityDescription, { kind: K }>;

/** "relay_1" → "Relay 1". */
export function keyToName(key: string): string {
  const words = key.split("_").join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
