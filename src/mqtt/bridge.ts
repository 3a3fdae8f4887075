import { baseTopicOf, brokerUrlsOf, clientIdOf, type MqttConfig } from "../config/schema.ts";
import type { TimerHandle } from "../core/clock.ts";
import type { Hub } from "../core/hub.ts";
import { callback } from "../core/job.ts";
import type { Logger, LogLevel } from "../core/logger.ts";
import type { LoopStats } from "../core/loop-monitor.ts";
import { RESTART_EXIT_CODE } from "../core/signals.ts";
import type { DeviceViews } from "../engine/device-view.ts";
import "../engine/events.ts";
import { MemoryOutbox, type Outbox } from "../storage/outbox.ts";
import type { StateStore } from "../storage/state-store.ts";
import { bridgeDiscovery } from "./bridge-device.ts";
import { bridgeInfo, type InfoSources } from "./bridge-payloads.ts";
import { type Backoff, type MqttClientFactory, MqttConnection } from "./client.ts";
import { Discovery } from "./discovery.ts";
import { EmbeddedBroker } from "./embedded-broker.ts";
import { DEFAULT_HEALTH_GRACE, judgeHealth } from "./health.ts";
import { Inbound } from "./inbound.ts";
import { Publisher } from "./publisher.ts";
import type { RequestContext } from "./requests.ts";
import { Topics } from "./topics.ts";

export interface BridgeDeps {
  hub: Hub;
  log: Logger;
  nodeId: string;
  mqtt: MqttConfig;
  /** The devices as the engine shows them (DeviceManager.view()): MQTT reads and commands them only through it. */
  devices: DeviceViews;
  password?: string;
  loop?: () => LoopStats;
  reloadConfig?: RequestContext["reloadConfig"];
  reloadDevice?: RequestContext["reloadDevice"];
  setLogLevel?: (level: LogLevel) => void;
  /** Restarts hearth (shutdown, then an exit with RESTART_EXIT_CODE); without it the restart request is refused. */
  restart?: () => void;
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
 * hearth on MQTT (the topic table in the README, "MQTT topics"): publishes device states, availability and the bridge
 * topics, takes set/get and bridge requests, keeps Home Assistant discovery current, and republishes
 * every retained topic on every connect. Non-retained messages wait in the outbox while the broker is away.
 * It owns the connection: it makes it in start(), hands it to the publisher, and stops it.
 */
export class Bridge {
  readonly topics: Topics;
  readonly counters = { refused: 0, invalid: 0, commands: 0, requests: 0, retained: 0 };
  connection: MqttConnection | undefined;
  broker: EmbeddedBroker | undefined;
  outbox: Outbox;
  /** What goes out on the connection (states, bridge topics, the outbox); made in start(), with the connection. */
  publisher: Publisher | undefined;
  private readonly deps: BridgeDeps;
  private readonly log: Logger;
  /** When the bridge was made, on the hub's clock. */
  private readonly startedAt: number;
  private readonly unlisten: Array<() => void> = [];
  private infoTimer: TimerHandle | undefined;
  private discovery: Discovery | undefined;
  private info: InfoSources | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: BridgeDeps) {
    this.deps = deps;
    this.log = deps.log;
    this.startedAt = deps.hub.clock.now();
    this.topics = new Topics(baseTopicOf(deps.mqtt, deps.nodeId));
    this.outbox = deps.outbox ?? new MemoryOutbox();
  }

  /**
   * Starts the embedded broker if no url is configured, then connects (a missing broker is waited for, not
   * fatal). A second call gets the first one's promise: one broker, one connection, one timer.
   */
  start(): Promise<void> {
    this.starting ??= this.runStart();
    return this.starting;
  }

  private async runStart(): Promise<void> {
    const { hub, mqtt, nodeId, devices } = this.deps;
    let urls = brokerUrlsOf(mqtt);
    if (urls.length === 0) {
      this.broker = new EmbeddedBroker({ log: this.log, port: this.deps.embeddedPort });
      await this.broker.start();
      urls = [this.broker.url];
    }
    const connection = new MqttConnection({
      log: this.log,
      clock: hub.clock,
      backoff: this.deps.backoff,
      factory: this.deps.factory,
      options: {
        urls,
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
    const info = this.infoSources(connection);
    this.info = info;
    const publisher = new Publisher({ log: this.log, topics: this.topics, devices, outbox: this.outbox, states: this.deps.states, connection, info });
    this.publisher = publisher;
    const discovery = mqtt.discovery.enabled
      ? new Discovery({
          hub,
          log: this.log,
          nodeId,
          prefix: mqtt.discovery.prefix,
          mode: mqtt.discovery.mode,
          topics: this.topics,
          devices,
          // hearth itself, the device every other one is via_device of.
          moreDevices: () => [bridgeDiscovery(nodeId, this.topics)],
          publish: (topic, payload) => publisher.publishRetained(topic, payload, 1),
          onBirth: () => this.republishAll(publisher),
          birthDelayMs: this.deps.birthDelayMs,
        })
      : undefined;
    this.discovery = discovery;
    const inbound = new Inbound({
      hub,
      log: this.log,
      topics: this.topics,
      devices,
      maxPayload: mqtt.max_payload,
      counters: this.counters,
      publisher,
      requests: {
        devices,
        health: (graceS) => this.health(graceS),
        reloadConfig: this.deps.reloadConfig,
        reloadDevice: this.deps.reloadDevice,
        setLogLevel: (level) => {
          this.deps.setLogLevel?.(level);
          void publisher.publishInfo();
        },
        restart: this.deps.restart && this.replyThenRestart(this.deps.restart),
      },
    });
    connection.subscribe(this.topics.subscriptions());
    if (discovery) connection.subscribe([discovery.statusTopic, ...discovery.configFilters]);
    connection.onMessage((topic, payload, retained) => {
      if (discovery?.handles(topic, payload)) return;
      inbound.handle(topic, payload, retained);
    });
    connection.onConnect(() => this.republishAll(publisher));
    const { bus } = hub;
    this.unlisten.push(
      bus.listen(
        "state_changed",
        callback((event) => {
          const deviceId = devices.deviceOfEntity(event.data.entityId);
          if (deviceId !== undefined) publisher.markDirty(deviceId);
        }),
        { name: "mqtt bridge" },
      ),
      bus.listen(
        "device_availability",
        callback((event) => {
          void publisher.publishAvailability(event.data.deviceId, event.data.available);
          void publisher.publishDevices(); // it lists each device's availability too
          void publisher.publishInfo(); // its count of available devices (Home Assistant's "Devices available")
        }),
        { name: "mqtt bridge" },
      ),
      bus.listen(
        "device_rebooted",
        callback((event) => {
          // An event, not a state: it waits in the outbox if the broker is away, and is never retained.
          publisher.enqueue(this.topics.deviceEvent(event.data.deviceId), { event: "rebooted", count: event.data.count, sw_version: event.data.swVersion ?? null, at: new Date().toISOString() });
          void publisher.publishDevices();
          void discovery?.publishDevice(event.data.deviceId);
        }),
        { name: "mqtt bridge" },
      ),
      bus.listen(
        "device_firmware_updated",
        callback(() => void publisher.publishDevices()), // its firmware's last update, in bridge/devices
        { name: "mqtt bridge" },
      ),
      bus.listen(
        "devices_changed",
        callback((event) => void this.onDevicesChanged(publisher, event.data.removed)),
        { name: "mqtt bridge" },
      ),
    );
    this.scheduleInfo(publisher, (this.deps.infoInterval ?? 60) * 1000);
    await connection.start();
  }

  /** Publishes `offline`, disconnects, closes the outbox and the embedded broker. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  private async runStop(): Promise<void> {
    for (const off of this.unlisten.splice(0)) off();
    if (this.infoTimer !== undefined) this.deps.hub.clock.clearTimeout(this.infoTimer);
    this.infoTimer = undefined;
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
    const verdict = judgeHealth({ devices: this.deps.devices.list(), connected, startedAt: this.startedAt, now: this.deps.hub.clock.now(), graceS });
    return {
      ...bridgeInfo(this.info ?? this.infoSources(undefined)),
      healthy: verdict.status === "healthy",
      status: verdict.status,
      problems: verdict.problems,
      grace_s: graceS,
      mqtt: { connected, queued: this.outbox.size, dropped: this.outbox.dropped, set_aside: this.outbox.counts().set_aside },
      devices: verdict.devices,
    };
  }

  /**
   * Every retained topic, as after each connect: bridge info and devices, discovery, then each device's
   * availability and state; then whatever waited in the outbox, and the info again if anything did.
   */
  private async republishAll(publisher: Publisher): Promise<void> {
    await publisher.publishInfo();
    await publisher.publishDevices();
    await this.discovery?.publishAll();
    await publisher.publishDeviceTopics();
    const waited = this.outbox.size;
    await publisher.drain();
    // The info above counted what waited; once that is out, say so, not a backlog until the next info.
    if (waited > 0) await publisher.publishInfo();
  }

  /** After a set-up or reload: the removed devices' topics cleared, then the device list, discovery, each device and the info. */
  private async onDevicesChanged(publisher: Publisher, removed: string[]): Promise<void> {
    await publisher.clearDevices(removed);
    await publisher.publishDevices();
    await this.discovery?.publishAll();
    await publisher.publishDeviceTopics();
    await publisher.publishInfo();
  }

  /** bridge/info every `everyMs`, on the hub's clock. */
  private scheduleInfo(publisher: Publisher, everyMs: number): void {
    this.infoTimer = this.deps.hub.clock.setTimeout(() => {
      this.scheduleInfo(publisher, everyMs);
      void publisher.publishInfo();
      void publisher.publishDevices({ ifChanged: true }); // the devices' counters move between their changes
    }, everyMs);
  }

  /**
   * The restart request's action: the restart begins on a later turn of the loop, once the reply is in the
   * outbox and being sent; the shutdown closes the connection only in its last stage, and lets what is in
   * flight be acknowledged first, so the reply is out before hearth exits.
   */
  private replyThenRestart(restart: () => void): () => { exitCode: number } {
    return () => {
      this.deps.hub.clock.setTimeout(restart, 0);
      return { exitCode: RESTART_EXIT_CODE };
    };
  }

  /** What bridge/info reports, from the connection (none before start). */
  private infoSources(connection: MqttConnection | undefined): InfoSources {
    return {
      hub: this.deps.hub,
      devices: this.deps.devices,
      nodeId: this.deps.nodeId,
      baseTopic: this.topics.base,
      startedAt: this.startedAt,
      loop: this.deps.loop,
      logLevel: () => this.log.level,
      messages: () => ({
        ...(connection?.stats ?? { connects: 0, published: 0, received: 0 }),
        ...this.counters,
        queued: this.outbox.size,
        dropped: this.outbox.dropped,
      }),
      outbox: () => this.outbox.counts(),
      ...(connection === undefined ? {} : { broker: () => ({ ...connection.node, connected: connection.connected, since: connection.connectedSince }) }),
    };
  }
}
