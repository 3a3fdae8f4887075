import { readFile } from "node:fs/promises";
import type { IClientOptions, MqttClient } from "mqtt";
import { type BackoffOptions, backoffDelay } from "../core/backoff.ts";
import { type Clock, systemClock, type TimerHandle } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { boundedWait } from "../core/wait.ts";
import { connectByOptions } from "./broker-url.ts";
import { MqttError } from "./errors.ts";
import { publishPacketSize } from "./packet-size.ts";

/** Makes an MQTT.js client; injected so a test can hand in its own. */
export type MqttClientFactory = (url: string, options: IClientOptions) => MqttClient;

/** Where and how to connect. */
export interface ConnectionOptions {
  /** The broker, or the nodes of one cluster: one at a time, the next one after each failed attempt or lost connection. */
  urls: readonly string[];
  clientId: string;
  username?: string;
  password?: string;
  protocolVersion: 4 | 5;
  keepalive: number;
  tls?: { ca?: string; cert?: string; key?: string; verify: boolean };
  /** Published retained (QoS 1) by the broker when hearth vanishes; `online` is published there on every connect. */
  stateTopic: string;
}

/** Reconnect delays: core's backoff (doubling from `initialMs` up to `maxMs`, with ±20% jitter). */
export type Backoff = BackoffOptions;

/** The reconnect delays unless the bridge is given others. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 60_000 };

/** What an MqttConnection is handed. */
export interface MqttConnectionDeps {
  log: Logger;
  options: ConnectionOptions;
  backoff?: Backoff;
  factory?: MqttClientFactory;
  /** The clock the reconnect delays and the bounded waits at stop run on (the hub's); the system clock by default. */
  clock?: Clock;
}

/** Options of one publish. */
export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
  /** The outbox's id of the message: sent as the `message_id` user property under MQTT 5. */
  messageId?: string;
}

/** Which broker node the connection is on (or trying), for the log, bridge/info and the console. */
export interface BrokerNode {
  /** Its URL without a password. */
  url: string;
  /** 1-based place in the configured list. */
  index: number;
  count: number;
}

/** Counters for bridge/info. */
export interface ConnectionStats {
  connects: number;
  published: number;
  received: number;
}

/**
 * hearth's connection to its broker, on MQTT.js: a will of `offline` on the bridge state topic,
 * `online` there on every connect, its subscriptions made again on every connect, and the connect
 * handlers (which republish every retained topic) run on every connect, not only the first.
 * Reconnects back off to a cap; a broker that is down at start is no failure, only a wait. Given the
 * nodes of a cluster, it is on one at a time: every failed attempt and every lost connection moves it to
 * the next, round the list, so a dead node costs one backoff delay.
 */
export class MqttConnection {
  readonly stats: ConnectionStats = { connects: 0, published: 0, received: 0 };
  private readonly deps: MqttConnectionDeps;
  private readonly topics = new Set<string>();
  private readonly connectHandlers: Array<() => Promise<void> | void> = [];
  private readonly messageHandlers: Array<(topic: string, payload: Buffer, retained: boolean) => void> = [];
  private client: MqttClient | undefined;
  /** What every client is made with; the host, port and protocol come from the node's URL. */
  private clientOptions: IClientOptions | undefined;
  /** The configured node the client is for (0-based). */
  private nodeIndex = 0;
  private attempts = 0;
  /** The reasons logged at warn in this outage (cleared by a connect): the same one again goes to debug. */
  private readonly toldReasons = new Set<string>();
  /** What broke a live connection, told in the line that says it was lost. */
  private lossReason: string | undefined;
  private retry: TimerHandle | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private ready = false;
  /** The broker's Maximum Packet Size from the CONNACK of this connection (MQTT 5 only). */
  private brokerMaxPacket: number | undefined;
  /** When (wall clock, ms since the epoch) this connection was made, for bridge/info's `since`. */
  private connectedAt: number | undefined;
  /** How to fail each QoS 1+ publish awaiting its acknowledgement, when the connection drops. */
  private readonly awaitingAck = new Set<() => void>();

  constructor(deps: MqttConnectionDeps) {
    this.deps = deps;
  }

  /** Connected, subscribed and announced online. */
  get connected(): boolean {
    return this.ready && this.client?.connected === true;
  }

  /** When the current connection was made (ms since the epoch), or undefined while there is none. */
  get connectedSince(): number | undefined {
    return this.connected ? this.connectedAt : undefined;
  }

  /** The broker node the connection is on, or is trying. */
  get node(): BrokerNode {
    const urls = this.deps.options.urls;
    return { url: redactUrl(urls[this.nodeIndex] ?? ""), index: this.nodeIndex + 1, count: urls.length };
  }

  /**
   * The client id on the current node: the configured one on the first, `<id>_<n>` on the n-th. A
   * cluster may keep what a client id's session left on a node that died (RabbitMQ 3.x keeps its
   * subscription queue there, and refuses that client id's SUBSCRIBE on the other nodes until the node is
   * back), so each node has an id of its own.
   */
  get clientId(): string {
    const id = this.deps.options.clientId;
    return this.nodeIndex === 0 ? id : `${id}_${this.nodeIndex + 1}`;
  }

  /** Subscribes now if connected, and again on every connect. */
  subscribe(topics: readonly string[]): void {
    for (const t of topics) this.topics.add(t);
    if (this.client?.connected) void this.client.subscribeAsync([...topics], { qos: 1 }).catch((err) => this.deps.log.warn({ err }, "Subscribe failed"));
  }

  /** Runs `handler` after every connect (subscribed and online by then). */
  onConnect(handler: () => Promise<void> | void): void {
    this.connectHandlers.push(handler);
  }

  /** Runs `handler` for every message; `retained` is the flag as delivered (a broker sets it only when replaying a retained message at subscribe). */
  onMessage(handler: (topic: string, payload: Buffer, retained: boolean) => void): void {
    this.messageHandlers.push(handler);
  }

  private get clock(): Clock {
    return this.deps.clock ?? systemClock;
  }

  /** Starts connecting; resolves at once, whether or not the broker is there. A second call gets the first one's promise: one client. */
  start(): Promise<void> {
    this.starting ??= this.runStart();
    return this.starting;
  }

  private async runStart(): Promise<void> {
    const { options } = this.deps;
    if (options.urls.length === 0) throw new MqttError("MQTT_NO_BROKER", "No broker URL to connect to");
    this.clientOptions = {
      clientId: options.clientId,
      protocolVersion: options.protocolVersion,
      keepalive: options.keepalive,
      clean: true,
      reconnectPeriod: 0, // hearth reconnects itself, with a capped backoff
      connectTimeout: 10_000,
      resubscribe: false, // subscriptions are made again in onConnected, every time
      queueQoSZero: false,
      will: { topic: options.stateTopic, payload: Buffer.from("offline"), qos: 1, retain: true },
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(await tlsOptions(options.tls)),
    };
    if (this.stopping !== undefined) return; // stopped while the TLS files were read
    this.openClient();
  }

  /**
   * Makes the client for the current node, and ends and drops the previous one: a client is bound to one
   * address, and one that lost its connection is never used again. MQTT.js's own reconnect() would keep
   * in its client, for good, every QoS 1 publish that was awaiting its ack when the connection dropped
   * (it gives the client new stores but never fails their callbacks, and each holds its topic and
   * payload); ending the client (forced) fails them, and the client goes with them.
   */
  private openClient(attempt: { retry: boolean } = { retry: false }): void {
    const { options, log } = this.deps;
    const previous = this.client;
    const url = options.urls[this.nodeIndex]!;
    const client = (this.deps.factory ?? connectByOptions)(url, { ...this.clientOptions, clientId: this.clientId });
    this.client = client;
    // A dropped client's late events (its close, an error while ending) are not this connection's.
    previous?.end(true);
    const current = () => this.client === client;
    client.on("connect", (connack) => {
      if (!current()) return;
      this.brokerMaxPacket = connack.properties?.maximumPacketSize;
      void this.onConnected(client);
    });
    client.on("close", () => {
      if (current()) this.onClosed();
    });
    client.on("error", (err) => {
      if (!current()) return;
      // A live connection breaking is told by onClosed, with this reason.
      if (this.ready) {
        this.lossReason = err.message;
        return;
      }
      // Each reason once per outage at warn, every retry after that at debug (a wrong password fails every attempt).
      if (!this.toldReasons.has(err.message)) log.warn({ err: { message: err.message, code: (err as { code?: unknown }).code } }, `MQTT connection to ${redactUrl(url)} failed: ${err.message}`);
      else log.debug({ err: { message: err.message } }, "MQTT connection attempt failed");
      this.toldReasons.add(err.message);
    });
    client.on("message", (topic, payload, packet) => {
      if (!current()) return;
      this.stats.received++;
      for (const handler of this.messageHandlers) handler(topic, payload, packet.retain);
    });
    const { index, count } = this.node;
    const which = count > 1 ? ` (node ${index} of ${count})` : "";
    // Another attempt on the one broker is no news (its failure is told once per outage); a new node is.
    const level = attempt.retry && count === 1 ? "debug" : "info";
    log[level]({ url: redactUrl(url), clientId: this.clientId, node: index, nodes: count }, `Connecting to MQTT broker ${redactUrl(url)}${which}`);
  }

  /**
   * Publishes one message. Rejects with MQTT_NOT_CONNECTED when the broker is away (nothing was sent and
   * nothing is queued here), MQTT_PACKET_TOO_LARGE when the broker announced a smaller Maximum Packet Size
   * (nothing was sent: sending it would only get the connection dropped), MQTT_ACK_LOST when the
   * connection dropped before a QoS 1 message was acknowledged, MQTT_PUBLISH_REFUSED when the broker
   * answered it with an error (MQTT 5 reason codes).
   */
  async publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.connected) throw new MqttError("MQTT_NOT_CONNECTED", `Not connected; ${topic} was not published`);
    const qos = options.qos ?? 0;
    const v5 = this.deps.options.protocolVersion === 5;
    const userProperties = v5 && options.messageId !== undefined ? { message_id: options.messageId } : undefined;
    const limit = this.brokerMaxPacket;
    if (limit !== undefined) {
      const size = publishPacketSize({ topic, payload, qos, protocolVersion: this.deps.options.protocolVersion, userProperties });
      if (size > limit) throw new MqttError("MQTT_PACKET_TOO_LARGE", `${topic} makes a packet of ${size} bytes; the broker takes at most ${limit}`);
    }
    const publishOptions = { qos, retain: options.retain ?? false, ...(userProperties === undefined ? {} : { properties: { userProperties } }) };
    if (qos === 0) {
      // Fire and forget (state, whose latest value is republished on every connect): no ack to wait for.
      client.publish(topic, payload, publishOptions);
      this.stats.published++;
      return;
    }
    // A QoS 1 publish in flight when the connection drops must fail, not hang: the outbox keeps it for
    // the next connect. One close listener fails them all (a listener each would pile up past
    // EventEmitter's limit of ten while the outbox drains).
    const lost = Promise.withResolvers<never>();
    lost.promise.catch(() => {});
    const fail = () => lost.reject(new MqttError("MQTT_ACK_LOST", `Connection lost before ${topic} was acknowledged`));
    this.awaitingAck.add(fail);
    try {
      await Promise.race([
        client.publishAsync(topic, payload, publishOptions).catch((err: unknown) => {
          // Only an error with a reason code comes from the broker; the rest (the client is disconnecting,
          // the connection closed) mean the message was not taken, as when not connected.
          if (typeof (err as { code?: unknown }).code === "number") throw new MqttError("MQTT_PUBLISH_REFUSED", `The broker refused ${topic}: ${(err as Error).message}`, { cause: err });
          throw new MqttError("MQTT_NOT_CONNECTED", `${topic} was not published: ${(err as Error).message}`, { cause: err });
        }),
        lost.promise,
      ]);
    } finally {
      this.awaitingAck.delete(fail);
    }
    this.stats.published++;
  }

  /** Publishes `offline` on the state topic, then disconnects. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  private async runStop(): Promise<void> {
    await this.starting?.catch(() => {});
    if (this.retry !== undefined) this.clock.clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client;
    if (client === undefined) return;
    this.ready = false;
    if (client.connected) {
      try {
        await boundedWait(client.publishAsync(this.deps.options.stateTopic, "offline", { qos: 1, retain: true }), { timeoutMs: 2000, clock: this.clock });
      } catch (err) {
        this.deps.log.debug({ err }, "Could not publish offline before disconnecting");
      }
    }
    await boundedWait(client.endAsync(!client.connected), { timeoutMs: 2000, clock: this.clock }).catch(() => client.end(true));
  }

  private async onConnected(client: MqttClient): Promise<void> {
    const { log, options } = this.deps;
    this.attempts = 0;
    this.toldReasons.clear();
    this.lossReason = undefined;
    this.stats.connects++;
    this.connectedAt = Date.now();
    const { url, index, count } = this.node;
    log.info({ connects: this.stats.connects, url, node: index, nodes: count }, `Connected to MQTT broker ${url}${count > 1 ? ` (node ${index} of ${count})` : ""}`);
    try {
      if (this.topics.size > 0) await client.subscribeAsync([...this.topics], { qos: 1 });
      await client.publishAsync(options.stateTopic, "online", { qos: 1, retain: true });
      this.ready = true;
      for (const handler of this.connectHandlers) await handler();
    } catch (err) {
      // The connection dropped half-way: the next connect does all of it again.
      log.warn({ err }, "Setting up the MQTT session failed; it is done again on the next connect");
    }
  }

  private onClosed(): void {
    const wasReady = this.ready;
    this.ready = false;
    this.brokerMaxPacket = undefined;
    for (const fail of this.awaitingAck) fail();
    this.awaitingAck.clear();
    if (this.stopping !== undefined || this.retry !== undefined) return;
    if (wasReady) {
      const { url, count } = this.node;
      const next = count > 1 ? `; going to the next node, ${redactUrl(this.deps.options.urls[(this.nodeIndex + 1) % count]!)}` : "; reconnecting";
      this.deps.log.warn({ reason: this.lossReason, url }, `Lost the MQTT broker ${url}${this.lossReason === undefined ? "" : ` (${this.lossReason})`}${next}`);
    }
    const delay = backoffDelay(this.attempts, this.deps.backoff ?? DEFAULT_BACKOFF);
    this.attempts++;
    this.retry = this.clock.setTimeout(() => {
      this.retry = undefined;
      if (this.stopping !== undefined) return;
      const count = this.deps.options.urls.length;
      if (count > 1) this.nodeIndex = (this.nodeIndex + 1) % count;
      this.openClient({ retry: true });
    }, delay);
  }
}

async function tlsOptions(tls: ConnectionOptions["tls"]): Promise<Partial<IClientOptions>> {
  if (tls === undefined) return {};
  const read = async (what: "ca" | "cert" | "key", path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (err) {
      throw new MqttError("MQTT_TLS_FILE", `mqtt.tls.${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };
  const [ca, cert, key] = await Promise.all([read("ca", tls.ca), read("cert", tls.cert), read("key", tls.key)]);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), rejectUnauthorized: tls.verify };
}

/** A broker URL without any password in it, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
