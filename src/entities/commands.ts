import { z } from "zod";
import type { EntityDescription } from "../config/entity-description.ts";
import { clipJson } from "../core/clip.ts";
import { HearthError } from "../core/errors.ts";
import { PRESS, parseOnOff } from "./on-off.ts";

/** A command for one entity, validated against its kind and range; `value` is in the entity's own terms. */
export type EntityCommand = { action: "turn_on"; brightness?: number } | { action: "turn_off" } | { action: "toggle" } | { action: "set_value"; value: number } | { action: "press" };

/** Codes of the errors a command can get before anything is written. */
export type CommandErrorCode = "COMMAND_INVALID" | "COMMAND_NOT_SUPPORTED";

const LightObject = z.strictObject({
  state: z.string().optional(),
  brightness: z.number().int().min(0).max(255).optional(),
});

function invalid(key: string, message: string): HearthError<CommandErrorCode> {
  return new HearthError("COMMAND_INVALID", `${key}: ${message}`);
}

function onOff(key: string, value: unknown): EntityCommand {
  if (typeof value === "boolean") return { action: value ? "turn_on" : "turn_off" };
  if (typeof value === "number" && (value === 0 || value === 1)) return { action: value === 1 ? "turn_on" : "turn_off" };
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    const on = parseOnOff(v);
    if (on !== undefined) return { action: on ? "turn_on" : "turn_off" };
    if (v === "toggle") return { action: "toggle" };
  }
  throw invalid(key, `expected ON, OFF or TOGGLE, got ${clipJson(value)}`);
}

/**
 * Turns what a user sent for one entity (`"ON"`, `{ "state": "ON", "brightness": 80 }`, `21.5`,
 * `"PRESS"`) into a command, or throws COMMAND_INVALID / COMMAND_NOT_SUPPORTED naming the entity
 * and what was expected. Nothing has been written when it throws.
 */
export function parseCommand(entity: EntityDescription, value: unknown): EntityCommand {
  const key = entity.key;
  switch (entity.kind) {
    case "sensor":
    case "binary_sensor":
    case "device_tracker":
      throw new HearthError("COMMAND_NOT_SUPPORTED", `${key}: a ${entity.kind} is read-only`);
    case "switch":
      return onOff(key, value);
    case "light": {
      if (typeof value === "object" && value !== null) {
        const parsed = LightObject.safeParse(value);
        if (!parsed.success) throw invalid(key, `expected {"state": "ON"|"OFF"|"TOGGLE", "brightness": 0-255}, got ${clipJson(value)}`);
        const { state, brightness } = parsed.data;
        if (brightness !== undefined) {
          if (state !== undefined && parseOnOff(state.toLowerCase()) === false) return { action: "turn_off" };
          return brightness === 0 ? { action: "turn_off" } : { action: "turn_on", brightness };
        }
        return onOff(key, state);
      }
      return onOff(key, value);
    }
    case "number": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isFinite(n)) throw invalid(key, `expected a number, got ${clipJson(value)}`);
      if (n < entity.min || n > entity.max) throw invalid(key, `expected a number from ${entity.min} to ${entity.max}, got ${n}`);
      const steps = (n - entity.min) / entity.step;
      if (Math.abs(steps - Math.round(steps)) > 1e-9) throw invalid(key, `expected a multiple of ${entity.step} from ${entity.min}, got ${n}`);
      return { action: "set_value", value: n };
    }
    case "button":
      if (value === undefined || value === null || value === "" || (typeof value === "string" && value.toLowerCase() === PRESS.toLowerCase())) {
        return { action: "press" };
      }
      throw invalid(key, `expected PRESS, got ${clipJson(value)}`);
  }
}
