import type mqtt from "mqtt";
import { baseTopicOf, type Config } from "../config/schema.ts";
import { TimeoutError } from "../core/errors.ts";
import { boundedWait } from "../core/wait.ts";
import { Topics } from "../mqtt/topics.ts";
import { BrokerUnreachableError, connectToBroker } from "./broker-client.ts";

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
  const transaction = `${command.replaceAll("/", "-")}-${process.pid}-${Date.now()}`;
  const connectTimeoutMs = options.connectTimeoutMs ?? Math.min(options.timeoutMs, 5000);
  let client: mqtt.MqttClient | undefined;
  try {
    try {
      ({ client } = await connectToBroker(config.mqtt, { clientId: `hearth_${command.replaceAll("/", "_")}_${process.pid}`, connectTimeoutMs }));
    } catch (err) {
      if (!(err instanceof BrokerUnreachableError)) throw err;
      throw new NoAnswerError(err.message, { cause: err });
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
