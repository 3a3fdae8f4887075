import { readFile } from "node:fs/promises";
import mqtt from "mqtt";
import { baseTopicOf, type Config } from "../config/schema.ts";
import { mqttPassword } from "../config/secrets.ts";
import { HearthError, TimeoutError } from "../core/errors.ts";
import { boundedWait } from "../core/wait.ts";
import { brokerOptions } from "../mqtt/broker-url.ts";
import { embeddedBrokerPort } from "../mqtt/embedded-broker.ts";
import { Topics } from "../mqtt/topics.ts";
import type { Output } from "./output.ts";

/**
 * Exit codes of `hearth health`: 0 healthy, 1 running but unhealthy, 3 no answer (not running, or no
 * broker), 4 starting (a device is not up yet, within its start-up grace: not healthy either).
 */
export const HEALTH_EXIT = { healthy: 0, unhealthy: 1, noAnswer: 3, starting: 4 } as const;

/** What `hearth health` reads of the reply's data (older hearths send no `status`: `healthy` decides). */
interface HealthData {
  healthy?: boolean;
  status?: string;
  uptime_s?: number;
  version?: string;
  mqtt?: { queued?: number };
  devices?: Record<string, { state: string; available: boolean; problem?: string }>;
}

/**
 * `hearth health`: asks the running hearth over MQTT (`bridge/request/health`) and prints its answer,
 * for a systemd watchdog, a Docker HEALTHCHECK or a person at the console.
 */
export async function healthCommand(config: Config, output: Output, options: { json?: boolean; timeoutMs?: number; graceS?: number } = {}): Promise<number> {
  const topics = new Topics(baseTopicOf(config.mqtt, config.node_id));
  const url = config.mqtt.url ?? `mqtt://127.0.0.1:${embeddedBrokerPort()}`;
  const tls = config.mqtt.tls;
  const transaction = `health-${process.pid}-${Date.now()}`;
  const timeoutMs = options.timeoutMs ?? 5000;
  let client: mqtt.MqttClient | undefined;
  try {
    const password = await mqttPassword(config.mqtt);
    client = await mqtt.connectAsync({
      ...brokerOptions(url),
      clientId: `hearth_health_${process.pid}`,
      protocolVersion: config.mqtt.protocol_version,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      ...(config.mqtt.username === undefined ? {} : { username: config.mqtt.username }),
      ...(password === undefined ? {} : { password }),
      ...(tls?.ca ? { ca: await readFile(tls.ca) } : {}),
      ...(tls?.cert ? { cert: await readFile(tls.cert) } : {}),
      ...(tls?.key ? { key: await readFile(tls.key) } : {}),
      ...(tls ? { rejectUnauthorized: tls.verify } : {}),
    });
    const c = client;
    const responseTopic = topics.bridgeResponse("health");
    const answer = boundedWait<Record<string, unknown>>(
      (resolve) => {
        const onMessage = (topic: string, payload: Buffer) => {
          if (topic !== responseTopic) return;
          try {
            const reply = JSON.parse(payload.toString()) as Record<string, unknown>;
            if (reply.transaction === transaction) resolve(reply);
          } catch {}
        };
        c.on("message", onMessage);
        return () => c.off("message", onMessage);
      },
      {
        timeoutMs,
        onTimeout: () => {
          throw new TimeoutError(`no answer on ${responseTopic} within ${timeoutMs / 1000} s: is hearth running?`);
        },
      },
    );
    await c.subscribeAsync(responseTopic, { qos: 1 });
    const body = { transaction, ...(options.graceS === undefined ? {} : { grace: options.graceS }) };
    await c.publishAsync(`${topics.base}/bridge/request/health`, JSON.stringify(body), { qos: 1 });
    const reply = await answer;
    if (reply.status === "error") throw new HearthError("HEALTH_REFUSED", `hearth refused the health request: ${String(reply.error)}`);
    const data = (reply.data ?? {}) as HealthData;
    const status = data.healthy ? "healthy" : data.status === "starting" ? "starting" : "unhealthy";
    if (options.json) output.out(`${JSON.stringify(reply.data, null, 2)}\n`);
    else {
      const verdict = { healthy: "healthy", starting: "starting (not healthy yet)", unhealthy: "UNHEALTHY" }[status];
      const lines = [`hearth ${data.version ?? "?"} on ${config.node_id}: ${verdict}, up ${data.uptime_s ?? "?"} s, ${data.mqtt?.queued ?? 0} message(s) queued`];
      for (const [id, d] of Object.entries(data.devices ?? {})) lines.push(`  ${id.padEnd(20)} ${d.available && d.problem === undefined ? "available" : (d.problem ?? `unavailable (${d.state})`)}`);
      output.out(`${lines.join("\n")}\n`);
    }
    return HEALTH_EXIT[status];
  } catch (err) {
    output.err(`hearth health: ${(err as Error).message}\n`);
    return HEALTH_EXIT.noAnswer;
  } finally {
    await client?.endAsync(true).catch(() => {});
  }
}
