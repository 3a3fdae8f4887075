import { Context } from "../core/context.ts";
import type { Hub } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { DeviceManager } from "../devices/manager.ts";
import { entityValue } from "./device-state.ts";
import { MqttError } from "./errors.ts";
import { describeIssues, isRequestCommand, parseJson, REQUEST_SCHEMAS, type RequestCommand, salvageTransaction, SetObjectSchema, type Transaction } from "./payloads.ts";
import { REQUEST_HANDLERS, type RequestContext } from "./requests.ts";
import type { Topics } from "./topics.ts";

export interface InboundDeps {
  hub: Hub;
  log: Logger;
  topics: Topics;
  devices: DeviceManager;
  maxPayload: number;
  counters: { refused: number; invalid: number; commands: number; requests: number };
  /** Publishes a reply (not retained; through the outbox). */
  publishResponse: (topic: string, payload: Record<string, unknown>) => void;
  publishDevice: (id: string) => Promise<void>;
  requests: RequestContext;
}

/** A reply on bridge/response/<cmd> or <device>/response. */
function reply(status: "ok" | "error", data: unknown, error: string | undefined, transaction: Transaction | undefined): Record<string, unknown> {
  return { status, data: data ?? {}, ...(error === undefined ? {} : { error }), ...(transaction === undefined ? {} : { transaction }) };
}

/**
 * Everything that arrives on hearth's topics: sizes checked before anything is read, payloads validated
 * with zod, each message handled in its own task so a slow device never stalls the others, and every
 * bad message answered (or logged, where there is nobody to answer), never thrown.
 */
export class Inbound {
  private readonly deps: InboundDeps;

  constructor(deps: InboundDeps) {
    this.deps = deps;
  }

  handle(topic: string, payload: Buffer): void {
    const { topics, log, counters } = this.deps;
    const target = topics.parse(topic);
    if (target === undefined) return;
    if (payload.length > this.deps.maxPayload) {
      counters.refused++;
      const error = `payload of ${payload.length} bytes refused unread: mqtt.max_payload is ${this.deps.maxPayload}`;
      log.warn({ topic, bytes: payload.length }, `Refused a message on ${topic}: ${error}`);
      if (target.kind === "request") this.deps.publishResponse(topics.bridgeResponse(target.command), reply("error", {}, error, undefined));
      else if (this.deps.devices.entries.has(target.device)) this.deps.publishResponse(topics.deviceResponse(target.device), reply("error", {}, error, undefined));
      return;
    }
    const text = payload.toString("utf8");
    const name = target.kind === "request" ? `mqtt request ${target.command}` : `mqtt ${target.kind} ${target.device}`;
    this.deps.hub.createTask(
      async () => {
        try {
          if (target.kind === "request") await this.request(target.command, text);
          else if (target.kind === "set") await this.set(target.device, target.entity, text);
          else await this.get(target.device, target.entity);
        } catch (err) {
          log.warn({ err, topic }, `Handling a message on ${topic} failed: ${(err as Error).message}`);
        }
      },
      { name },
    );
  }

  private async request(command: string, text: string): Promise<void> {
    const { topics, counters, log } = this.deps;
    counters.requests++;
    const respond = (status: "ok" | "error", data: unknown, error: string | undefined, transaction: Transaction | undefined) =>
      this.deps.publishResponse(topics.bridgeResponse(command), reply(status, data, error, transaction));
    const json = text.trim() === "" ? { ok: true as const, value: {} } : parseJson(text);
    if (!json.ok || typeof json.value !== "object" || json.value === null || Array.isArray(json.value)) {
      counters.invalid++;
      log.warn({ command }, `Bridge request ${command}: expected a JSON object`);
      return respond("error", {}, "expected a JSON object, e.g. {\"transaction\": 1}", undefined);
    }
    const transaction = salvageTransaction(json.value);
    if (!isRequestCommand(command)) {
      counters.invalid++;
      return respond("error", {}, `unknown request "${command}"; known: ${Object.keys(REQUEST_SCHEMAS).join(", ")}`, transaction);
    }
    const parsed = REQUEST_SCHEMAS[command].safeParse(json.value);
    if (!parsed.success) {
      counters.invalid++;
      const error = describeIssues(parsed.error);
      log.warn({ command, error }, `Bridge request ${command} refused: ${error}`);
      return respond("error", {}, error, transaction);
    }
    try {
      const handler = REQUEST_HANDLERS[command] as (body: unknown, ctx: RequestContext) => unknown;
      const data = await handler(parsed.data, this.deps.requests);
      respond("ok", data, undefined, transaction);
    } catch (err) {
      log.warn({ err, command }, `Bridge request ${command} failed: ${(err as Error).message}`);
      respond("error", {}, (err as Error).message, transaction);
    }
  }

  private async set(deviceId: string, entityKey: string | undefined, text: string): Promise<void> {
    const { topics, log, counters, devices } = this.deps;
    let transaction: Transaction | undefined;
    const fail = (error: string) => {
      counters.invalid++;
      log.warn({ device: deviceId, entity: entityKey, error }, `Set on ${deviceId}${entityKey ? `/${entityKey}` : ""} refused: ${error}`);
      if (transaction !== undefined && devices.entries.has(deviceId)) this.deps.publishResponse(topics.deviceResponse(deviceId), reply("error", {}, error, transaction));
    };
    const json = parseJson(text);
    let values: Record<string, unknown>;
    if (entityKey === undefined) {
      if (!json.ok) return fail(`expected a JSON object of entity → value, e.g. {"relay1": "ON"}; got ${JSON.stringify(text.slice(0, 80))}`);
      transaction = salvageTransaction(json.value);
      const parsed = SetObjectSchema.safeParse(json.value);
      if (!parsed.success) return fail(describeIssues(parsed.error));
      const { transaction: _t, ...rest } = parsed.data;
      values = rest;
    } else {
      // One value: JSON when it parses (21.5, true, {"state": "ON", "brightness": 80}), else the text itself (ON, TOGGLE).
      let value: unknown = json.ok ? json.value : text.trim();
      if (typeof value === "object" && value !== null && !Array.isArray(value) && "transaction" in value) {
        transaction = salvageTransaction(value);
        const { transaction: _t, ...rest } = value as Record<string, unknown>;
        value = "value" in rest && Object.keys(rest).length === 1 ? rest.value : rest;
      }
      values = { [entityKey]: value };
    }
    const device = devices.device(deviceId);
    if (device === undefined) {
      return fail(devices.entries.has(deviceId) ? `${deviceId} is not loaded (${devices.entries.get(deviceId)?.state})` : `no device "${deviceId}"`);
    }
    const context = new Context({ origin: "mqtt" });
    const errors: string[] = [];
    for (const [key, value] of Object.entries(values)) {
      counters.commands++;
      try {
        await device.command(key, value, { context });
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) {
      fail(errors.join("; "));
      return;
    }
    if (transaction !== undefined) {
      const data = Object.fromEntries(Object.keys(values).map((k) => [k, entityValue(device.entities.get(k)!, this.deps.hub.states)]));
      this.deps.publishResponse(topics.deviceResponse(deviceId), reply("ok", data, undefined, transaction));
    }
  }

  private async get(deviceId: string, entityKey: string | undefined): Promise<void> {
    const device = this.deps.devices.device(deviceId);
    if (device === undefined) throw new MqttError("MQTT_UNKNOWN_DEVICE", `get: no device "${deviceId}"`);
    if (entityKey !== undefined && !device.entities.has(entityKey)) throw new MqttError("MQTT_BAD_PAYLOAD", `get: ${deviceId} has no entity "${entityKey}"`);
    await device.refresh();
    await this.deps.publishDevice(deviceId); // even when nothing changed: the caller asked to see it
  }
}

export type { RequestCommand };
