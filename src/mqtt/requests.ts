import type { z } from "zod";
import type { LogLevel } from "../core/logger.ts";
import type { DeviceManager } from "../devices/manager.ts";
import { bridgeDevices } from "./bridge-payloads.ts";
import { MqttError } from "./errors.ts";
import { REQUEST_SCHEMAS, type RequestCommand } from "./payloads.ts";

/** What the bridge requests act on. */
export interface RequestContext {
  devices: DeviceManager;
  nodeId: string;
  health: () => Record<string, unknown>;
  /** Reads the configuration again (keeping the last good one on error). */
  reloadConfig?: () => Promise<{ ok: true; added: string[]; removed: string[]; reloaded: string[] } | { ok: false; problems: string[] }>;
  setLogLevel: (level: LogLevel) => void;
}

type Body<C extends RequestCommand> = z.infer<(typeof REQUEST_SCHEMAS)[C]>;
type Handler<C extends RequestCommand> = (body: Body<C>, ctx: RequestContext) => Promise<unknown> | unknown;

function knownDevice(ctx: RequestContext, id: string): void {
  if (!ctx.devices.entries.has(id)) throw new MqttError("MQTT_UNKNOWN_DEVICE", `no device "${id}" (devices: ${[...ctx.devices.entries.keys()].join(", ") || "none"})`);
}

/** One handler per request; each returns the reply's `data` or throws the reply's `error`. */
export const REQUEST_HANDLERS: { [C in RequestCommand]: Handler<C> } = {
  health: (_body, ctx) => ctx.health(),
  devices: (_body, ctx) => bridgeDevices(ctx.devices, ctx.nodeId),
  "device/reload": async (body, ctx) => {
    knownDevice(ctx, body.id);
    await ctx.devices.restart(body.id);
    return { id: body.id, state: ctx.devices.entries.get(body.id)?.state };
  },
  "device/restart": async (body, ctx) => {
    knownDevice(ctx, body.id);
    await ctx.devices.restart(body.id); // unloads the device, closing its link, and sets it up on a newly opened one
    return { id: body.id, state: ctx.devices.entries.get(body.id)?.state };
  },
  "config/reload": async (_body, ctx) => {
    if (ctx.reloadConfig === undefined) throw new MqttError("MQTT_UNKNOWN_REQUEST", "this hearth has no configuration file to reload");
    const result = await ctx.reloadConfig();
    if (!result.ok) throw new MqttError("MQTT_REQUEST_FAILED", `configuration refused, the last good one stays in force: ${result.problems.join("; ")}`);
    return { added: result.added, removed: result.removed, reloaded: result.reloaded };
  },
  log_level: (body, ctx) => {
    ctx.setLogLevel(body.level);
    return { level: body.level };
  },
};
