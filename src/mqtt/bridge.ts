import type { MqttConfig } from "../config/schema.ts";
import type { Hub } from "../core/hub.ts";
import { callback } from "../core/job.ts";
import type { Logger, LogLevel } from "../core/logger.ts";
import type { LoopStats } from "../core/loop-monitor.ts";
import type { DeviceManager } from "../devices/manager.ts";
import "../devices/events.ts";
import { type Backoff, type MqttClientFactory, MqttConnection } from "./client.ts";
import { bridgeDevices, bridgeInfo } from "./bridge-payloads.ts";
import { deviceState } from "./device-state.ts";
import { Discovery } from "./discovery.ts";
import { EmbeddedBroker } from "./embedded-broker.ts";
import { isMqttError } from "./errors.ts";
import { Inbound } from "./inbound.ts";
import { MemoryOutbox, type Outbox } from "./outbox.ts";
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
  readonly counters = { refused: 0, invalid: 0, commands: 0, requests: 0 };
  connection: MqttConnection | undefined;
  broker: EmbeddedBroker | undefined;
  outbox: Outbox;
  private readonly deps: BridgeDeps;
  private readonly log: Logger;
  private readonly startedAt = Date.now();
  private readonly dirty = new Set<string>();
  /** Devices that have reported in this run (their restored state is no longer shown). */
  private readonly reported = new Set<string>();
  private flushQueued = false;
  private readonly unlisten: Array<() => void> = [];
  private infoTimer: ReturnType<typeof setInterval> | undefined;
  private draining = false;
  private discovery: Discovery | undefined;
  private inbound: Inbound | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: BridgeDeps) {
    this.deps = deps;
    this.log = deps.log;
    this.topics = new Topics(deps.mqtt.base_topic ?? `hearth/${deps.nodeId}`);
    this.outbox = deps.outbox ?? new MemoryOutbox();
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
      backoff: this.deps.backoff,
      factory: this.deps.factory,
      options: {
        url,
        clientId: mqtt.client_id ?? `hearth_${nodeId}`,
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
      ? new Discovery({ hub, log: this.log, nodeId, prefix: mqtt.discovery.prefix, topics: this.topics, devices: this.deps.devices, publish: (t, p) => this.publishRetained(t, p, 1), onBirth: () => this.republishAll(), birthDelayMs: this.deps.birthDelayMs })
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
        health: () => this.health(),
        reloadConfig: this.deps.reloadConfig,
        setLogLevel: (level) => {
          this.deps.setLogLevel?.(level);
          void this.publishInfo();
        },
      },
    });
    connection.subscribe(this.topics.subscriptions());
    if (this.discovery) connection.subscribe([this.discovery.statusTopic, this.discovery.configFilter]);
    connection.onMessage((topic, payload) => {
      if (this.discovery?.handles(topic, payload)) return;
      this.inbound?.handle(topic, payload);
    });
    connection.onConnect(() => this.republishAll());
    const { bus } = hub;
    this.unlisten.push(
      bus.listen(
        "state_changed",
        callback((event) => {
          const entity = this.deps.devices.entities.get(event.data.entityId);
          if (entity !== undefined) this.markDirty(entity.deviceId);
        }),
        { name: "mqtt bridge" },
      ),
      bus.listen(
        "device_availability",
        callback((event) => {
          void this.publishAvailability(event.data.deviceId, event.data.available);
          void this.publishDevices(); // it lists each device's availability too
        }),
        { name: "mqtt bridge" },
      ),
      bus.listen(
        "device_rebooted",
        callback((event) => {
          // An event, not a state: it waits in the outbox if the broker is away, and is never retained.
          this.enqueue(this.topics.deviceEvent(event.data.deviceId), { event: "rebooted", sw_version: event.data.swVersion ?? null, at: new Date().toISOString() });
          void this.publishDevices();
        }),
        { name: "mqtt bridge" },
      ),
      bus.listen("devices_changed", callback((event) => void this.onDevicesChanged(event.data.removed)), { name: "mqtt bridge" }),
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

  /** Health as the `health` request and `hearth health` report it. */
  health(): Record<string, unknown> {
    const devices = this.deps.devices.devices();
    const connected = this.connection?.connected ?? false;
    return {
      ...bridgeInfo(this.infoSources()),
      healthy: connected && devices.every((d) => d.available),
      mqtt: { connected, queued: this.outbox.size, dropped: this.outbox.dropped },
      devices: Object.fromEntries([...this.deps.devices.entries.values()].map((e) => [e.id, { state: e.state, available: e.runtime?.device.available ?? false }])),
    };
  }

  /** Puts a non-retained message in the outbox and delivers what the outbox holds, oldest first. */
  enqueue(topic: string, payload: unknown): void {
    this.outbox.push(topic, typeof payload === "string" ? payload : JSON.stringify(payload), 1);
    void this.drain();
  }

  private async drain(): Promise<void> {
    const connection = this.connection;
    if (this.draining || connection === undefined) return;
    this.draining = true;
    try {
      while (connection.connected && this.outbox.size > 0) {
        for (const message of this.outbox.peek(100)) {
          await connection.publish(message.topic, message.payload, { qos: message.qos });
          this.outbox.remove(message.id);
        }
      }
    } catch (err) {
      if (!isMqttError(err, "MQTT_NOT_CONNECTED")) this.log.debug({ err }, "Outbox delivery stopped; it goes on after the next connect");
    } finally {
      this.draining = false;
    }
  }

  private markDirty(deviceId: string): void {
    this.dirty.add(deviceId);
    if (this.flushQueued) return;
    this.flushQueued = true;
    // One report changes several entities at once: publish the device's JSON once for all of them.
    queueMicrotask(() => {
      this.flushQueued = false;
      const ids = [...this.dirty];
      this.dirty.clear();
      for (const id of ids) void this.publishDevice(id);
    });
  }

  /** Publishes `<base>/<device>` (retained JSON of its entity states). */
  async publishDevice(id: string): Promise<void> {
    if (!this.deps.devices.entries.has(id)) return;
    const device = this.deps.devices.device(id);
    const store = this.deps.states;
    if (device === undefined || !device.available) {
      // Its retained state stays as last reported (availability says it is offline); before any report in
      // this run, what it said before the restart, marked as such, beats a row of nulls.
      if (this.reported.has(id)) return;
      const restored = store?.restored(id);
      if (restored !== undefined) {
        await this.publishRetained(this.topics.device(id), JSON.stringify({ ...restored, restored: true }), 0);
        return;
      }
      if (device === undefined) return;
    } else this.reported.add(id);
    const state = deviceState(device, this.deps.hub.states);
    if (device.available) store?.record(id, state);
    await this.publishRetained(this.topics.device(id), JSON.stringify(state), 0);
  }

  private async publishAvailability(id: string, available: boolean): Promise<void> {
    await this.publishRetained(this.topics.availability(id), available ? "online" : "offline", 1);
  }

  private async publishInfo(): Promise<void> {
    await this.publishRetained(this.topics.bridgeInfo, JSON.stringify(bridgeInfo(this.infoSources())), 1);
  }

  private async publishDevices(): Promise<void> {
    await this.publishRetained(this.topics.bridgeDevices, JSON.stringify(bridgeDevices(this.deps.devices, this.deps.nodeId)), 1);
  }

  private async onDevicesChanged(removed: string[]): Promise<void> {
    for (const id of removed) {
      this.reported.delete(id);
      this.deps.states?.forget(id);
      await this.publishRetained(this.topics.device(id), "", 1); // an empty retained payload clears it
      await this.publishRetained(this.topics.availability(id), "", 1);
    }
    await this.publishDevices();
    await this.discovery?.publishAll();
    for (const id of this.deps.devices.entries.keys()) {
      await this.publishAvailability(id, this.deps.devices.device(id)?.available ?? false);
      await this.publishDevice(id);
    }
    await this.publishInfo();
  }

  /**
   * Every retained topic, as after each connect: bridge info and devices, discovery, then each device's
   * availability and state; then whatever waited in the outbox.
   */
  async republishAll(): Promise<void> {
    await this.publishInfo();
    await this.publishDevices();
    await this.discovery?.publishAll();
    for (const id of this.deps.devices.entries.keys()) {
      await this.publishAvailability(id, this.deps.devices.device(id)?.available ?? false);
      await this.publishDevice(id);
    }
    await this.drain();
  }

  /** Retained topics are never queued: their latest value goes out on the next connect. */
  private async publishRetained(topic: string, payload: string, qos: 0 | 1): Promise<boolean> {
    const connection = this.connection;
    if (connection === undefined || !connection.connected) return false;
    try {
      await connection.publish(topic, payload, { retain: true, qos });
      return true;
    } catch (err) {
      if (!isMqttError(err, "MQTT_NOT_CONNECTED")) this.log.debug({ err, topic }, "Publish failed; it is republished on the next connect");
      return false;
    }
  }

  private infoSources() {
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
    };
  }
}
