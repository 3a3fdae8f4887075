import { readFile } from "node:fs/promises";
import mqtt from "mqtt";
import { brokerUrlsOf, type MqttConfig } from "../config/schema.ts";
import { mqttPassword } from "../config/secrets.ts";
import { brokerOptions } from "../mqtt/broker-url.ts";
import { redactUrl } from "../mqtt/client.ts";
import { embeddedBrokerPort } from "../mqtt/embedded-broker.ts";

/** None of the brokers tried took the connection; the message names each with its reason. */
export class BrokerUnreachableError extends Error {
  override readonly name = "BrokerUnreachableError";
}

/** A command's connection: the client and the broker it reached (its URL without a password). */
export interface BrokerClient {
  client: mqtt.MqttClient;
  url: string;
}

/**
 * Connects a command (health, firmware, fleet) to the broker of a configuration as hearth itself would:
 * its credentials and TLS settings, and with a list of nodes the first that answers, in the listed order.
 * `urls` overrides the configured ones (`hearth fleet --broker`); none configured means the embedded broker
 * on this machine. Rejects with BrokerUnreachableError naming every node tried and why.
 */
export async function connectToBroker(config: MqttConfig, options: { clientId: string; connectTimeoutMs: number; urls?: readonly string[] }): Promise<BrokerClient> {
  const configured = options.urls ?? brokerUrlsOf(config);
  const urls = configured.length > 0 ? configured : [`mqtt://127.0.0.1:${embeddedBrokerPort()}`];
  const password = await mqttPassword(config);
  const tls = config.tls;
  const tlsOptions = {
    ...(tls?.ca ? { ca: await readFile(tls.ca) } : {}),
    ...(tls?.cert ? { cert: await readFile(tls.cert) } : {}),
    ...(tls?.key ? { key: await readFile(tls.key) } : {}),
    ...(tls ? { rejectUnauthorized: tls.verify } : {}),
  };
  const failures: string[] = [];
  for (const url of urls) {
    try {
      const client = await mqtt.connectAsync({
        ...brokerOptions(url),
        clientId: options.clientId,
        protocolVersion: config.protocol_version,
        reconnectPeriod: 0,
        connectTimeout: options.connectTimeoutMs,
        ...(config.username === undefined ? {} : { username: config.username }),
        ...(password === undefined ? {} : { password }),
        ...tlsOptions,
      });
      return { client, url: redactUrl(url) };
    } catch (err) {
      failures.push(`${brokerAddress(url)}: ${(err as Error).message}`);
    }
  }
  throw new BrokerUnreachableError(`cannot reach the broker at ${failures.join("; ")}`);
}

/** A broker's host and port as a message names it (never its credentials). */
export function brokerAddress(url: string): string {
  try {
    const parsed = brokerOptions(url);
    return parsed.port === undefined ? (parsed.host ?? url) : `${parsed.host}:${parsed.port}`;
  } catch {
    return redactUrl(url);
  }
}
