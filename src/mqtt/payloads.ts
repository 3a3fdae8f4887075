import { z } from "zod";
import { EntityKeySchema } from "../config/entity-description.ts";
import { DeviceIdSchema } from "../config/schema.ts";
import { LOG_LEVELS } from "../core/logger.ts";

/** A correlation id a caller sends and gets back (Zigbee2MQTT's `transaction`). */
export const TransactionSchema = z.union([z.string().max(128), z.number()]);
export type Transaction = z.infer<typeof TransactionSchema>;

/** `<base>/<device>/set`: entity key → value, and optionally a transaction. */
export const SetObjectSchema = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const keys = Object.keys(value).filter((k) => k !== "transaction");
  if (keys.length === 0) ctx.addIssue({ code: "custom", message: 'expected at least one entity to set, e.g. {"relay1": "ON"}' });
  for (const key of keys) if (!EntityKeySchema.safeParse(key).success) ctx.addIssue({ code: "custom", path: [key], message: "not an entity key" });
  if ("transaction" in value && !TransactionSchema.safeParse(value.transaction).success) {
    ctx.addIssue({ code: "custom", path: ["transaction"], message: "expected a string or a number" });
  }
});

const withTransaction = <Shape extends z.ZodRawShape>(shape: Shape) => z.strictObject({ ...shape, transaction: TransactionSchema.optional() });

/**
 * The largest `device/firmware` request: an image sent as its Intel HEX text (about 2.8 bytes a byte of
 * flash: an ATmega328P's 32 KiB is some 90 KB of text). Larger than mqtt.max_payload's default, for this
 * request alone.
 */
export const FIRMWARE_REQUEST_LIMIT = 1 << 20;

/** `device/firmware`: the device, and its image as a file on the board or as Intel HEX text. */
const FirmwareRequestSchema = withTransaction({
  id: DeviceIdSchema,
  /** A file on the board, read by hearth. */
  path: z.string().min(1).max(4096).optional(),
  /** The image itself, Intel HEX text. */
  hex: z.string().min(1).max(FIRMWARE_REQUEST_LIMIT).optional(),
  /** The version the new firmware must say in its hello; another is rolled back. */
  version: z.string().min(1).max(64).optional(),
}).refine((body) => (body.path === undefined) !== (body.hex === undefined), {
  error: 'give the image as "path" (an Intel HEX file on the board) or as "hex" (its text), one of the two',
});

/** The body of each bridge request, by command. */
export const REQUEST_SCHEMAS = {
  /** `grace`: seconds a device may take to be up after hearth's start or its own set-up (health.ts). */
  health: withTransaction({ grace: z.number({ error: "expected seconds, a number" }).min(0).max(86_400).optional() }),
  devices: withTransaction({}),
  "device/reload": withTransaction({ id: DeviceIdSchema }),
  "device/restart": withTransaction({ id: DeviceIdSchema }),
  "device/firmware": FirmwareRequestSchema,
  "config/reload": withTransaction({}),
  log_level: withTransaction({ level: z.enum(LOG_LEVELS) }),
  restart: withTransaction({}),
} as const;
export type RequestCommand = keyof typeof REQUEST_SCHEMAS;

/** Whether `command` is one hearth answers. */
export function isRequestCommand(command: string): command is RequestCommand {
  return Object.hasOwn(REQUEST_SCHEMAS, command);
}

export { describeIssues } from "../config/issues.ts";

/** Parses text as JSON; undefined when it is not JSON. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** A transaction found in an otherwise bad payload, so the error reply can still carry it. */
export function salvageTransaction(value: unknown): Transaction | undefined {
  if (typeof value !== "object" || value === null || !("transaction" in value)) return undefined;
  const parsed = TransactionSchema.safeParse((value as { transaction: unknown }).transaction);
  return parsed.success ? parsed.data : undefined;
}
