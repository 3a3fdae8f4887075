import { CLIP_LENGTH, clip } from "../core/clip.ts";
import { Context } from "../core/context.ts";
import type { Hub } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { DeviceViews } from "../engine/device-view.ts";
import { describeIssues, FIRMWARE_REQUEST_LIMIT, isRequestCommand, parseJson, REQUEST_SCHEMAS, type RequestCommand, SetObjectSchema, salvageTransaction, type Transaction } from "./payloads.ts";
import type { Publisher } from "./publisher.ts";
import { REQUEST_HANDLERS, type RequestContext, RequestFailure } from "./requests.ts";
import type { InboundTopic, Topics } from "./topics.ts";

export interface InboundDeps {
  hub: Hub;
  log: Logger;
  topics: Topics;
  devices: DeviceViews;
  maxPayload: number;
  counters: { refused: number; invalid: number; commands: number; requests: number; retained: number };
  /** Where replies go (not retained; through the outbox) and a device's state after a get. */
  publisher: Publisher;
  requests: RequestContext;
}

/** What handling one message came to: the reply's `data`, or its `error`. */
type Outcome = { status: "ok"; data: unknown } | { status: "error"; error: string; data?: unknown };

/** A handled message: its outcome, and the transaction it carried, if any. */
interface Handled {
  transaction?: Transaction;
  outcome: Outcome;
}

/** The longest error in a reply or a log line: room for a few clipped values, bounded as a whole. */
const ERROR_LENGTH = 4 * CLIP_LENGTH;

/** Retained messages told about, by topic; past this many the oldest is forgotten (and told again if seen). */
const RETAINED_TOLD_MAX = 1000;

const ok = (data: unknown): Outcome => ({ status: "ok", data });
const failed = (error: string, data?: unknown): Outcome => ({ status: "error", error: clip(error, ERROR_LENGTH), ...(data === undefined ? {} : { data }) });

/**
 * Everything that arrives on hearth's topics: sizes checked before anything is read, payloads validated
 * with zod, each message handled in its own task so a slow device never stalls the others, retained
 * commands refused (the broker replays them at every subscribe), and every outcome answered by one rule
 * (`replyTopic`), every error logged, never thrown.
 */
export class Inbound {
  private readonly deps: InboundDeps;
  /** Retained messages already told about: topic → hash of the payload. */
  private readonly retainedTold = new Map<string, number | bigint>();

  constructor(deps: InboundDeps) {
    this.deps = deps;
  }

  /** One message from the broker; `retained` is its retain flag as delivered (set only for a replay at subscribe). */
  handle(topic: string, payload: Buffer, retained = false): void {
    const { topics, log, counters } = this.deps;
    const target = topics.parse(topic);
    if (target === undefined) return;
    if (log.isLevelEnabled("trace")) log.trace({ topic: clip(topic), bytes: payload.length, retained, payload: clip(payload.toString("utf8", 0, 4 * CLIP_LENGTH)) }, `Received ${clip(topic)}`);
    // A firmware image is the one payload that may be bigger than mqtt.max_payload: up to its own limit.
    const limit = target.kind === "request" && target.command === "device/firmware" ? Math.max(this.deps.maxPayload, FIRMWARE_REQUEST_LIMIT) : this.deps.maxPayload;
    if (payload.length > limit) {
      counters.refused++;
      const error = `payload of ${payload.length} bytes refused unread: ${limit === this.deps.maxPayload ? `mqtt.max_payload is ${limit}` : `a firmware request takes at most ${limit}`}`;
      log.warn({ topic: clip(topic), bytes: payload.length }, `Refused a message on ${clip(topic)}: ${error}`);
      this.answer(target, undefined, failed(error));
      return;
    }
    const text = payload.toString("utf8");
    if (retained) {
      this.refuseRetained(target, topic, text);
      return;
    }
    this.deps.hub.createTask(
      async () => {
        let handled: Handled;
        try {
          handled =
            target.kind === "request"
              ? await this.request(target.command, text)
              : target.kind === "set"
                ? await this.set(target.device, target.entity, text)
                : await this.get(target.device, target.entity, text);
        } catch (err) {
          handled = { outcome: failed((err as Error).message) };
        }
        if (handled.outcome.status === "error") {
          counters.invalid++;
          log.warn({ topic: clip(topic), error: handled.outcome.error }, `${describe(target)} refused: ${handled.outcome.error}`);
        }
        this.answer(target, handled.transaction, handled.outcome);
      },
      { name: target.kind === "request" ? `mqtt request ${clip(target.command, 64)}` : `mqtt ${target.kind} ${clip(target.device, 64)}` },
    );
  }

  /**
   * The reply rule, the one place it is decided (README, "Replies"): a bridge request always gets one reply
   * on bridge/response/<cmd>; a set or get gets one only when it carries a transaction, on
   * <base>/<device>/response, or on bridge/response/set|get for a device hearth does not have (no topic
   * of a device that does not exist). Without a transaction a set or get is answered by the state hearth
   * publishes, and its errors by the log.
   */
  private replyTopic(target: InboundTopic, transaction: Transaction | undefined): string | undefined {
    const { topics, devices } = this.deps;
    if (target.kind === "request") return topics.bridgeResponse(target.command);
    if (transaction === undefined) return undefined;
    return devices.get(target.device) !== undefined ? topics.deviceResponse(target.device) : topics.bridgeResponse(target.kind);
  }

  private answer(target: InboundTopic, transaction: Transaction | undefined, outcome: Outcome): void {
    const topic = this.replyTopic(target, transaction);
    if (topic === undefined) return;
    const body = outcome.status === "ok" ? { status: "ok", data: outcome.data ?? {} } : { status: "error", data: outcome.data ?? {}, error: outcome.error };
    this.deps.publisher.enqueue(topic, { ...body, ...(transaction === undefined ? {} : { transaction }) });
  }

  /**
   * A command is acted on when it is sent, not again each time hearth subscribes: a retained one is not
   * run, and is told about once per topic and payload (answered by the reply rule, and logged with how
   * to clear it), however many reconnects replay it.
   */
  private refuseRetained(target: InboundTopic, topic: string, text: string): void {
    const { log, counters } = this.deps;
    counters.retained++;
    const hash = Bun.hash(text);
    if (this.retainedTold.get(topic) === hash) return;
    this.retainedTold.delete(topic);
    if (this.retainedTold.size >= RETAINED_TOLD_MAX) this.retainedTold.delete(this.retainedTold.keys().next().value!);
    this.retainedTold.set(topic, hash);
    const clear = `mosquitto_pub -r -n -t ${clip(topic)}`;
    const error = `a retained message is not run: a command acts when it is sent, not each time hearth subscribes; clear it with ${clear}`;
    log.warn({ topic: clip(topic) }, `Retained message on ${clip(topic)} not run (the broker replays it at every subscribe); clear it with ${clear}`);
    const json = parseJson(text);
    this.answer(target, json.ok ? salvageTransaction(json.value) : undefined, failed(error));
  }

  private async request(command: string, text: string): Promise<Handled> {
    this.deps.counters.requests++;
    const json = text.trim() === "" ? { ok: true as const, value: {} } : parseJson(text);
    if (!json.ok || typeof json.value !== "object" || json.value === null || Array.isArray(json.value)) {
      return { outcome: failed('expected a JSON object, e.g. {"transaction": 1}') };
    }
    const transaction = salvageTransaction(json.value);
    if (!isRequestCommand(command)) return { transaction, outcome: failed(`unknown request "${clip(command, 64)}"; known: ${Object.keys(REQUEST_SCHEMAS).join(", ")}`) };
    const parsed = REQUEST_SCHEMAS[command].safeParse(json.value);
    if (!parsed.success) return { transaction, outcome: failed(describeIssues(parsed.error)) };
    try {
      const handler = REQUEST_HANDLERS[command] as (body: unknown, ctx: RequestContext) => unknown;
      return { transaction, outcome: ok(await handler(parsed.data, this.deps.requests)) };
    } catch (err) {
      return { transaction, outcome: failed((err as Error).message, err instanceof RequestFailure ? err.data : undefined) };
    }
  }

  private async set(deviceId: string, entityKey: string | undefined, text: string): Promise<Handled> {
    const { devices, log, counters } = this.deps;
    if (text.trim() === "") {
      // What clearing a retained command delivers to subscribers (mosquitto_pub -r -n): nothing to set.
      log.debug({ device: clip(deviceId), entity: entityKey && clip(entityKey) }, "An empty set was ignored");
      return { outcome: ok({}) };
    }
    const json = parseJson(text);
    let transaction: Transaction | undefined;
    let values: Record<string, unknown>;
    if (entityKey === undefined) {
      if (!json.ok) return { outcome: failed(`expected a JSON object of entity → value, e.g. {"relay1": "ON"}; got ${JSON.stringify(clip(text))}`) };
      transaction = salvageTransaction(json.value);
      const parsed = SetObjectSchema.safeParse(json.value);
      if (!parsed.success) return { transaction, outcome: failed(describeIssues(parsed.error)) };
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
    if (!devices.get(deviceId)?.running) return { transaction, outcome: failed(this.missing(deviceId)) };
    const context = new Context({ origin: "mqtt" });
    const errors: string[] = [];
    for (const [key, value] of Object.entries(values)) {
      counters.commands++;
      try {
        await devices.command(deviceId, key, value, { context });
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) return { transaction, outcome: failed(errors.join("; ")) };
    const now = devices.values(deviceId) ?? {};
    return { transaction, outcome: ok(Object.fromEntries(Object.keys(values).map((k) => [k, now[k] ?? null]))) };
  }

  private async get(deviceId: string, entityKey: string | undefined, text: string): Promise<Handled> {
    // A get's payload is read only for its transaction: empty, or {"transaction": …}.
    const json = text.trim() === "" ? undefined : parseJson(text);
    const transaction = json?.ok ? salvageTransaction(json.value) : undefined;
    const { devices } = this.deps;
    const device = devices.get(deviceId);
    if (!device?.running) return { transaction, outcome: failed(this.missing(deviceId)) };
    if (entityKey !== undefined && !device.entities.some((e) => e.key === entityKey)) return { transaction, outcome: failed(`${deviceId} has no entity "${clip(entityKey, 64)}"`) };
    await devices.refresh(deviceId);
    await this.deps.publisher.publishDevice(deviceId); // even when nothing changed: the caller asked to see it
    const now = devices.values(deviceId) ?? {};
    return { transaction, outcome: ok(entityKey === undefined ? now : { [entityKey]: now[entityKey] ?? null }) };
  }

  /** Why a device gets no command: not configured, or configured but not loaded. */
  private missing(deviceId: string): string {
    const device = this.deps.devices.get(deviceId);
    if (device !== undefined) return `${deviceId} is not loaded (${device.state})`;
    return `no device "${clip(deviceId, 64)}" (devices: ${
      clip(
        this.deps.devices
          .list()
          .map((d) => d.id)
          .join(", "),
      ) || "none"
    })`;
  }
}

/** How a log line names a message: `Set on board/relay1`, `Get on board`, `Bridge request health`. */
function describe(target: InboundTopic): string {
  if (target.kind === "request") return `Bridge request ${clip(target.command, 64)}`;
  const verb = target.kind === "set" ? "Set" : "Get";
  return `${verb} on ${clip(target.device, 64)}${target.entity === undefined ? "" : `/${clip(target.entity, 64)}`}`;
}

export type { RequestCommand };
