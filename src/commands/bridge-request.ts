import { readFile } from "node:fs/promises";
import mqtt from "mqtt";
import { baseTopicOf, type Config } from "../config/schema.ts";
import { mqttPassword } from "../config/secrets.ts";
import { TimeoutError } from "../core/errors.ts";
import { boundedWait } from "../core/wait.ts";
import { brokerOptions } from "../mqtt/broker-url.ts";
import { embeddedBrokerPort } from "../mqtt/embedded-broker.ts";
import { Topics } from "../mqtt/topics.ts";

/** A bridge request's reply: `status` ok or error, its `data`, and the `error` when it failed. */
export interface BridgeReply {
  status?: string;
  data?: unknown;
  error?: unknown;
  transaction?: unknown;
}

/** Why a request got no reply at all: the broker could not be reached, or hearth did not answer in time. */
export class NoAnswerError extends Error {
  override readonly name = "NoAnswerError";
}

/**
 * Sends one bridge request to the running hearth of `config` (its broker, credentials and base topic) and
 * resolves with its reply: what `hearth health` and `hearth firmware` do on a board. Rejects with
 * NoAnswerError when the broker cannot be reached or no reply comes within `timeoutMs`.
 */
export async function bridgeRequest(config: Config, command: string, body: Record<string, unknown>, options: { timeoutMs: number; connectTimeoutMs?: number }): Promise<BridgeReply> {
  const topics = new Topics(baseTopicOf(config.mqtt, config.node_id));
  const url = config.mqtt.url ?? `mqtt://127.0.0.1:${embeddedBrokerPort()}`;
  const tls = config.mqtt.tls;
  const transaction = `${command.replaceAll("/", "-")}-${process.pid}-${Date.now()}`;
  const connectTimeout = options.connectTimeoutMs ?? Math.min(options.timeoutMs, 5000);
  let client: mqtt.MqttClient | undefined;
  try {
    const password = await mqttPassword(config.mqtt);
    try {
      client = await mqtt.connectAsync({
        ...brokerOptions(url),
        clientId: `hearth_${command.replaceAll("/", "_")}_${process.pid}`,
        protocolVersion: config.mqtt.protocol_version,
        reconnectPeriod: 0,
        connectTimeout,
        ...(config.mqtt.username === undefined ? {} : { username: config.mqtt.username }),
        ...(password === undefined ? {} : { password }),
        ...(tls?.ca ? { ca: await readFile(tls.ca) } : {}),
        ...(tls?.cert ? { cert: await readFile(tls.cert) } : {}),
        ...(tls?.key ? { key: await readFile(tls.key) } : {}),
        ...(tls ? { rejectUnauthorized: tls.verify } : {}),
      });
    } catch (err) {
      throw new NoAnswerError(`cannot reach the broker at ${brokerOptions(url).host ?? "its address"}: ${(err as Error).message}`, { cause: err });
    }
    const c = client;
    const responseTopic = topics.bridgeResponse(command);
    const answer = boundedWait<BridgeReply>(
      (resolve) => {
        const onMessage = (topic: string, payload: Buffer) => {
          if (topic !== responseTopic) return;
          try {
            const reply = JSON.parse(payload.toString()) as BridgeReply;
            if (reply.transaction === transaction) resolve(reply);
          } catch {}
        };
        c.on("message", onMessage);
        return () => c.off("message", onMessage);
      },
      {
        timeoutMs: options.timeoutMs,
        onTimeout: () => {
          throw new TimeoutError(`no answer on ${responseTopic} within ${options.timeoutMs / 1000} s: is hearth running?`);
        },
      },
    );
    await c.subscribeAsync(responseTopic, { qos: 1 });
    await c.publishAsync(`${topics.base}/bridge/request/${command}`, JSON.stringify({ ...body, transaction }), { qos: 1 });
    try {
      return await answer;
    } catch (err) {
      throw new NoAnswerError((err as Error).message, { cause: err });
    }
  } finally {
    await client?.endAsync(true).catch(() => {});
  }
}
