import { baseTopicOf, clientIdOf, type MqttConfig } from "../config/schema.ts";
import type { Hub } from "../core/hub.ts";
import { callback } from "../core/job.ts";
import type { Logger, LogLevel } from "../core/logger.ts";
import type { LoopStats } from "../core/loop-monitor.ts";
import type { Device } from "../engine/device.ts";
import type { DeviceManager } from "../engine/manager.ts";
import "../engine/events.ts";
import { type Backoff, type MqttClientFactory, MqttConnection } from "./client.ts";
import { bridgeInfo, type InfoSources } from "./bridge-payloads.ts";
import { Discovery } from "./discovery.ts";
import { EmbeddedBroker } from "./embedded-broker.ts";
import { DEFAULT_HEALTH_GRACE, judgeHealth } from "./health.ts";
import { Inbound } from "./inbound.ts";
import { MemoryOutbox, type Outbox } from "../storage/outbox.ts";
import { Publisher } from "./publisher.ts";
import { Topics } from "./topics.ts";
import type { StateStore } from "../storage/state-store.ts";
import type { RequestContext } from "./requests.ts";

export interface BridgeDeps {
  hub: Hub;
  log: Logger;
  nodeId: string;
  mqtt: MqttConfig;
  devices: DeviceManager;
  password?: string;
  loop?: () => LoopStats;
  reloadConfig?: RequestContext["reloadConfig"];
  reloadDevice?: RequestContext["reloadDevice"];
  setLogLevel?: (level: LogLevel) => void;
  /** Where non-retained messages wait for the broker (the durable one from storage in the service). */
  outbox?: Outbox;
  /** The last states, kept across restarts (republished marked `restored` until a device reports afresh). */
  states?: StateStore;
  backoff?: Backoff;
  factory?: MqttClientFactory;
  /** Port of the embedded broker when no url is configured (1883 unless a test says otherwise). */
  embeddedPort?: number;
  /** The longest random wait before answering Home Assistant's birth message, ms. */
  birthDelayMs?: number;
  /** Seconds between bridge/info updates. */
  infoInterval?: number;
}

/**
 * hearth on MQTT (DESIGN.md's topic API): publishes device states, availability and the bridge
 * topics, takes set/get and bridge requests, keeps Home Assistant discovery current, and republishes
 * every retained topic on every connect. Non-retained messages wait in the outbox while the broker is away.
 */
export class Bridge {
  readonly topics: Topics;
  readonly counters = { refused: 0, invalid: 0, commands: 0, requests: 0, retained: 0 };
  connection: MqttConnection | undefined;
  broker: EmbeddedBroker | undefined;
  outbox: Outbox;
  private readonly deps: BridgeDeps;
  private readonly log: Logger;
  private readonly startedAt = Date.now();
  private readonly unlisten: Array<() => void> = [];
  private infoTimer: ReturnType<typeof setInterval> | undefined;
  private discovery: Discovery | undefined;
  private inbound: Inbound | undefined;
  private stopping: Promise<void> | undefined;
  private readonly publisher: Publisher;
  /** Why each device last became unavailable, for health (kept by device, so a restarted one starts afresh). */
  private readonly unavailableBecause = new WeakMap<Device, string>();

  constructor(deps: BridgeDeps) {
    this.deps = deps;
    this.log = deps.log;
    this.topics = new Topics(baseTopicOf(deps.mqtt, deps.nodeId));
    this.outbox = deps.outbox ?? new MemoryOutbox();
    this.publisher = new Publisher({
      hub: deps.hub,
      log: deps.log,
      nodeId: deps.nodeId,
      topics: this.topics,
      devices: deps.devices,
      outbox: this.outbox,
      states: deps.states,
      connection: () => this.connection,
      discovery: () => this.discovery,
      infoSources: () => this.infoSources(),
    });
  }

  /** Starts the embedded broker if no url is configured, then connects (a missing broker is waited for, not fatal). */
  async start(): Promise<void> {
    const { hub, mqtt, nodeId } = this.deps;
    let url = mqtt.url;
    if (url === undefined) {
      this.broker = new EmbeddedBroker({ log: this.log, port: this.deps.embeddedPort });
      await this.broker.start();
      url = this.broker.url;
    }
    const connection = new MqttConnection({
      log: this.log,
      clock: hub.clock,
      backoff: this.deps.backoff,
      factory: this.deps.factory,
      options: {
        url,
        clientId: clientIdOf(mqtt, nodeId),
        username: mqtt.username,
        password: this.deps.password,
        protocolVersion: mqtt.protocol_version,
        keepalive: mqtt.keepalive,
        tls: mqtt.tls,
        stateTopic: this.topics.bridgeState,
      },
    });
    this.connection = connection;
    this.discovery = mqtt.discovery.enabled
      ? new Discovery({ hub, log: this.log, nodeId, prefix: mqtt.discovery.prefix, topics: this.topics, devices: this.deps.devices, publish: (t, p) => this.publisher.publishRetained(t, p, 1), onBirth: () => this.republishAll(), birthDelayMs: this.deps.birthDelayMs })
      : undefined;
    this.inbound = new Inbound({
      hub,
      log: this.log,
      topics: this.topics,
      devices: this.deps.devices,
      maxPayload: mqtt.max_payload,
      counters: this.counters,
      publishResponse: (topic, payload) => this.enqueue(topic, payload),
      publishDevice: (id) => this.publishDevice(id),
      requests: {
        devices: this.deps.devices,
        nodeId,
        health: (graceS) => this.health(graceS),
        reloadConfig: this.deps.reloadConfig,
        reloadDevice: this.deps.reloadDevice,
        setLogLevel: (level) => {
          this.deps.setLogLevel?.(level);
          void this.publishInfo();
        },
      },
    });
    connection.subscribe(this.topics.subscriptions());
    if (this.discovery) connection.subscribe([this.discovery.statusTopic, this.discovery.configFilter]);
    connection.onMessage((topic, payload, retained) => {
      if (this.discovery?.handles(topic, payload)) return;
      this.inbound?.handle(topic, payload, retained);
    });
    connection.onConnect(() => this.republishAll());
    const { bus } = hub;
    this.unlisten.push(
      bus.listen(
        "state_changed",
        callback((event) => {
          const entity = this.deps.devices.entities.get(event.data.entityId);
          if (entity !== undefined) this.publisher.markDirty(entity.deviceId);
        }),
        { name: "mqtt bridge" },
      ),
      bus.listen(
        "device_availability",
        callback((event) => {
          const device = this.deps.devices.device(event.data.deviceId);
          if (device !== undefined) {
            if (!event.data.available && event.data.reason !== undefined) this.unavailableBecause.set(device, event.data.reason);
            else this.unavailableBecause.delete(device);
          }
          void this.publisher.publishAvailability(event.data.deviceId, event.data.available);
          void this.publisher.publishDevices(); // it lists each device's availability too
        }),
        { name: "mqtt bridge" },
      ),
      bus.listen(
        "device_rebooted",
        callback((event) => {
          // An event, not a state: it waits in the outbox if the broker is away, and is never retained.
          this.enqueue(this.topics.deviceEvent(event.data.deviceId), { event: "rebooted", count: event.data.count, sw_version: event.data.swVersion ?? null, at: new Date().toISOString() });
          void this.publisher.publishDevices();
        }),
        { name: "mqtt bridge" },
      ),
      bus.listen("devices_changed", callback((event) => void this.publisher.onDevicesChanged(event.data.removed)), { name: "mqtt bridge" }),
    );
    const every = (this.deps.infoInterval ?? 60) * 1000;
    this.infoTimer = setInterval(() => void this.publishInfo(), every);
    this.infoTimer.unref();
    await connection.start();
  }

  /** Publishes `offline`, disconnects, closes the outbox and the embedded broker. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  private async runStop(): Promise<void> {
    for (const off of this.unlisten.splice(0)) off();
    clearInterval(this.infoTimer);
    this.discovery?.stop();
    for (const [what, step] of [
      ["MQTT connection", () => this.connection?.stop()],
      ["outbox", () => this.outbox.close()],
      ["state store", () => this.deps.states?.close()],
      ["embedded broker", () => this.broker?.stop()],
    ] as const) {
      try {
        await step();
      } catch (err) {
        this.log.warn({ err }, `Stopping the ${what} failed`);
      }
    }
  }

  /**
   * Health as the `health` request and `hearth health` report it: healthy when connected and every
   * configured device is loaded and available; a device not up yet within `graceS` seconds of its
   * start makes it `starting`, past that `unhealthy`.
   */
  health(graceS = DEFAULT_HEALTH_GRACE): Record<string, unknown> {
    const connected = this.connection?.connected ?? false;
    const verdict = judgeHealth({
      entries: this.deps.devices.entries.values(),
      connected,
      startedAt: this.startedAt,
      now: Date.now(),
      graceS,
      unavailableBecause: (device) => this.unavailableBecause.get(device),
    });
    return {
      ...bridgeInfo(this.infoSources()),
      healthy: verdict.status === "healthy",
      status: verdict.status,
      problems: verdict.problems,
      grace_s: graceS,
      mqtt: { connected, queued: this.outbox.size, dropped: this.outbox.dropped, set_aside: this.outbox.counts().set_aside },
      devices: verdict.devices,
    };
  }

  /** Puts a non-retained message in the outbox and delivers what the outbox holds, oldest first. */
  enqueue(topic: string, payload: unknown): void {
    this.publisher.enqueue(topic, payload);
  }

  /** Publishes `<base>/<device>` (retained JSON of its entity states). */
  publishDevice(id: string): Promise<void> {
    return this.publisher.publishDevice(id);
  }

  /** Every retained topic, as after each connect; then whatever waited in the outbox. */
  republishAll(): Promise<void> {
    return this.publisher.republishAll();
  }

  private publishInfo(): Promise<void> {
    return this.publisher.publishInfo();
  }

  private infoSources(): InfoSources {
    return {
      hub: this.deps.hub,
      devices: this.deps.devices,
      nodeId: this.deps.nodeId,
      baseTopic: this.topics.base,
      startedAt: this.startedAt,
      loop: this.deps.loop,
      logLevel: () => this.log.level,
      messages: () => ({
        ...(this.connection?.stats ?? { connects: 0, published: 0, received: 0 }),
        ...this.counters,
        queued: this.outbox.size,
        dropped: this.outbox.dropped,
      }),
      outbox: () => this.outbox.counts(),
    };
  }
}
