import type { LineEntity } from "../../config/line-definition.ts";
import type { EntityCommand } from "../../entities/commands.ts";
import { DeviceError } from "../device-error.ts";
import { fillTemplate } from "./fields.ts";
import type { EntityValues } from "./values.ts";

/** What a command body is made from beyond the command: the entity's value mapping, its state and its last brightness. */
export interface WriteContext {
  deviceId: string;
  values: EntityValues;
  /** Whether the entity is on now (for a toggle). */
  isOn: boolean;
  /** The light's last raw brightness, for a turn-on that names none. */
  lastBrightness: number | undefined;
}

/**
 * The command body of one validated command from the entity's write template(s): a number's `{value}`
 * mapped back to the firmware's terms, a switch's or light's on/off word, a light's `{brightness}` on
 * its own scale (Home Assistant's is 0–255; a turn-on without one restores the last).
 */
export function commandBody(spec: LineEntity, command: EntityCommand, ctx: WriteContext): string {
  const write = spec.write;
  if (write === undefined) throw new DeviceError("DEVICE_NOT_WRITABLE", ctx.deviceId, `${spec.key} cannot be written`);
  const action = command.action === "toggle" ? (ctx.isOn ? "turn_off" : "turn_on") : command.action;
  if (action === "set_value" || action === "press") {
    if (typeof write !== "string") throw new DeviceError("DEVICE_NOT_WRITABLE", ctx.deviceId, `${spec.key} does not take ${action}`);
    return fillTemplate(write, command.action === "set_value" ? { value: ctx.values.number(command.value) } : {});
  }
  const on = action === "turn_on";
  const brightness = on ? brightnessOf(spec, command, ctx) : 0;
  if (typeof write === "string") return fillTemplate(write, { value: ctx.values.onOff(on), brightness });
  return on ? fillTemplate(write.on, { brightness }) : fillTemplate(write.off, {});
}

function brightnessOf(spec: LineEntity, command: EntityCommand, ctx: WriteContext): number {
  const scale = spec.kind === "light" ? (spec.brightness_scale ?? 255) : 255;
  const requested = command.action === "turn_on" ? command.brightness : undefined;
  const brightness = requested !== undefined ? Math.round((requested / 255) * scale) : (ctx.lastBrightness ?? scale);
  return Math.max(1, brightness);
}
