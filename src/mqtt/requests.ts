import { readFile, stat } from "node:fs/promises";
import type { z } from "zod";
import type { ConfigReloadResult, DeviceReloadResult } from "../config/reload.ts";
import type { LogLevel } from "../core/logger.ts";
import type { DeviceViews } from "../engine/device-view.ts";
import { bridgeDevices } from "./bridge-payloads.ts";
import { MqttError } from "./errors.ts";
import { FIRMWARE_REQUEST_LIMIT, type REQUEST_SCHEMAS, type RequestCommand } from "./payloads.ts";

/** What the bridge requests act on. */
export interface RequestContext {
  devices: DeviceViews;
  /** Health, with a device's start-up grace in seconds (DEFAULT_HEALTH_GRACE when not given). */
  health: (graceS?: number) => Record<string, unknown>;
  /** Reads the configuration again (keeping the last good one on error). */
  reloadConfig?: () => Promise<ConfigReloadResult>;
  /**
   * Sets one device up again from its entry in the configuration file as it is now (the configuration in
   * force when there is no file); without it, from the entry it runs with.
   */
  reloadDevice?: (id: string) => Promise<DeviceReloadResult>;
  setLogLevel: (level: LogLevel) => void;
  /**
   * Restarts hearth once this request's reply is out: staged shutdown, then an exit for the supervisor to
   * start it again (signals.ts). Undefined where hearth is no process of its own (a service run in a test).
   */
  restart?: () => { exitCode: number };
}

type Body<C extends RequestCommand> = z.infer<(typeof REQUEST_SCHEMAS)[C]>;
type Handler<C extends RequestCommand> = (body: Body<C>, ctx: RequestContext) => Promise<unknown> | unknown;

function knownDevice(ctx: RequestContext, id: string): void {
  if (ctx.devices.get(id) === undefined)
    throw new MqttError(
      "MQTT_UNKNOWN_DEVICE",
      `no device "${id}" (devices: ${
        ctx.devices
          .list()
          .map((d) => d.id)
          .join(", ") || "none"
      })`,
    );
}

/** A request that failed with more to say than its error (the steps of a firmware update): the reply's `data`. */
export class RequestFailure extends MqttError {
  readonly data: unknown;

  constructor(message: string, data: unknown) {
    super("MQTT_REQUEST_FAILED", message);
    this.data = data;
  }
}

/** An image named by its path on the board: a regular file, no bigger than a request may carry, read whole. */
async function firmwareFile(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new MqttError("MQTT_REQUEST_FAILED", `cannot read the image ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!info.isFile()) throw new MqttError("MQTT_REQUEST_FAILED", `the image ${path} is not a file`);
  if (info.size > FIRMWARE_REQUEST_LIMIT) throw new MqttError("MQTT_REQUEST_FAILED", `the image ${path} is ${info.size} bytes, more than any Intel HEX image hearth takes (${FIRMWARE_REQUEST_LIMIT})`);
  return readFile(path, "latin1");
}

/** One handler per request; each returns the reply's `data` or throws the reply's `error`. */
export const REQUEST_HANDLERS: { [C in RequestCommand]: Handler<C> } = {
  health: (body, ctx) => ctx.health(body.grace),
  devices: (_body, ctx) => bridgeDevices(ctx.devices),
  "device/reload": async (body, ctx) => {
    knownDevice(ctx, body.id);
    // Reads the device's entry again from the configuration, then sets the device up from that entry.
    let changed = false;
    if (ctx.reloadDevice === undefined)
      await ctx.devices.restart(body.id); // no configuration to read: the entry in force
    else {
      const result = await ctx.reloadDevice(body.id);
      if (!result.ok) throw new MqttError("MQTT_REQUEST_FAILED", `${body.id} not reloaded: ${result.problems.join("; ")}`);
      changed = result.changed;
    }
    return { id: body.id, state: ctx.devices.get(body.id)?.state, changed };
  },
  "device/restart": async (body, ctx) => {
    knownDevice(ctx, body.id);
    // Unloads the device, closing its link, and sets it up on a newly opened one; the state is the one that
    // restart ended in (another may have begun by the time this reply goes), and a failed set-up throws.
    return await ctx.devices.restart(body.id);
  },
  "device/firmware": async (body, ctx) => {
    knownDevice(ctx, body.id);
    const hex = body.hex ?? (await firmwareFile(body.path!));
    // Refusals (a bad image, no update for the model, a shared bus) throw before anything is touched.
    const result = await ctx.devices.updateFirmware(body.id, hex, { expectVersion: body.version });
    if (result.status !== "updated") throw new RequestFailure(`${body.id}: firmware ${result.status === "rolled_back" ? "rolled back" : "update failed"}: ${result.error}`, result);
    return result;
  },
  "config/reload": async (_body, ctx) => {
    if (ctx.reloadConfig === undefined) throw new MqttError("MQTT_UNKNOWN_REQUEST", "this hearth has no configuration file to reload");
    const result = await ctx.reloadConfig();
    if (!result.ok) throw new MqttError("MQTT_REQUEST_FAILED", `configuration refused, the last good one stays in force: ${result.problems.join("; ")}`);
    return { added: result.added, removed: result.removed, reloaded: result.reloaded, ...(result.notes?.length ? { notes: result.notes } : {}) };
  },
  log_level: (body, ctx) => {
    ctx.setLogLevel(body.level);
    return { level: body.level };
  },
  restart: (_body, ctx) => {
    if (ctx.restart === undefined) throw new MqttError("MQTT_REQUEST_FAILED", "this hearth cannot restart: it is not a process of its own (hearth run)");
    return { restarting: true, exit_code: ctx.restart().exitCode };
  },
};
