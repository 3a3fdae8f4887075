import type { TimerHandle } from "../core/clock.ts";
import type { Hub } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import { Lock } from "../core/semaphore.ts";
import type { DeviceView, DeviceViews, EntityView } from "../engine/device-view.ts";
import { OFF, ON, PRESS } from "../entities/on-off.ts";
import { VERSION } from "../version.ts";
import { bridgeDeviceBlock, bridgeEntities, bridgeIdentifier } from "./bridge-device.ts";
import { deviceTrackerConfig } from "./device-tracker.ts";
import type { Topics } from "./topics.ts";

export interface DiscoveryDeps {
  hub: Hub;
  log: Logger;
  nodeId: string;
  prefix: string;
  topics: Topics;
  devices: DeviceViews;
  /** Publishes retained; false when it could not (not connected). */
  publish: (topic: string, payload: string) => Promise<boolean>;
  /** Republishes discovery and then every state (called after Home Assistant's birth message). */
  onBirth: () => Promise<void>;
  /** The longest random wait after a birth message, ms (so a fleet of boards does not answer at once). */
  birthDelayMs?: number;
}

/**
 * Home Assistant MQTT discovery: one retained config per entity, cleared (empty retained payload)
 * when its device is gone, and everything republished a short random while after HA says `online`.
 */
export class Discovery {
  private readonly deps: DiscoveryDeps;
  private birthTimer: TimerHandle | undefined;
  /** Configs of this node that no device owns: cleared as soon as the connection is ready. */
  private readonly stale = new Set<string>();
  private readonly published = new Set<string>();
  /** The firmware version each device's configs last carried, so a version learnt later is published. */
  private readonly announced = new Map<string, string | undefined>();
  /** One publishing of configs at a time: a device's republish never interleaves with a reload's (which may be removing it). */
  private readonly turns = new Lock();

  constructor(deps: DiscoveryDeps) {
    this.deps = deps;
  }

  /** HA's birth and last-will topic. */
  get statusTopic(): string {
    return `${this.deps.prefix}/status`;
  }

  /** Where hearth finds configs it published before (to clear the stale ones). */
  get configFilter(): string {
    return `${this.deps.prefix}/+/+/+/config`;
  }

  /** Takes the messages that are discovery's: HA's status, and configs of this node that no device owns now. */
  handles(topic: string, payload: Buffer): boolean {
    if (topic === this.statusTopic) {
      if (payload.toString().trim() === "online") this.scheduleBirthRepublish();
      return true;
    }
    if (!topic.startsWith(`${this.deps.prefix}/`) || !topic.endsWith("/config")) return false;
    const objectId = topic.split("/")[2] ?? "";
    if (payload.length > 0 && objectId.startsWith(`${this.deps.nodeId}_`) && !this.desired().has(topic)) {
      this.stale.add(topic);
      void this.clearStale();
    }
    return true;
  }

  /** Clears (empty retained payload) the configs found stale; what cannot be cleared yet waits for the next publishAll. */
  async clearStale(): Promise<void> {
    for (const topic of [...this.stale]) {
      if (this.desired().has(topic)) {
        this.stale.delete(topic);
        continue;
      }
      if (!(await this.deps.publish(topic, ""))) return;
      this.stale.delete(topic);
      this.deps.log.info({ topic }, "Cleared a stale discovery config");
    }
  }

  /** Publishes the config of every entity of every configured device. */
  publishAll(): Promise<void> {
    return this.turns.run(() => this.publishAllNow());
  }

  private async publishAllNow(): Promise<void> {
    const desired = new Set<string>();
    this.announced.clear();
    for (const device of this.deps.devices.list()) this.announced.set(device.id, device.swVersion);
    for (const [topic, config] of this.configs()) {
      desired.add(topic);
      if (await this.deps.publish(topic, JSON.stringify(config))) this.published.add(topic);
    }
    // Whatever was published before and is no longer wanted (a device removed by a reload) is stale now.
    for (const topic of this.published) {
      if (desired.has(topic)) continue;
      this.published.delete(topic);
      this.stale.add(topic);
    }
    await this.clearStale();
  }

  /**
   * After a device told its firmware version (a hello, a VE.Direct block's FW): its configs again, when the
   * version is not the one they carry, so Home Assistant's device page shows the version it runs.
   */
  publishDevice(deviceId: string): Promise<void> {
    return this.turns.run(() => this.publishDeviceNow(deviceId));
  }

  private async publishDeviceNow(deviceId: string): Promise<void> {
    const device = this.deps.devices.list().find((d) => d.id === deviceId);
    if (device === undefined || !this.announced.has(deviceId) || this.announced.get(deviceId) === device.swVersion) return;
    this.announced.set(deviceId, device.swVersion);
    for (const entity of device.entities) {
      const topic = this.topic(device, entity);
      // Only what is published now: a device being removed meanwhile has its configs cleared, not brought back.
      if (this.published.has(topic)) await this.deps.publish(topic, JSON.stringify(this.config(device, entity)));
    }
  }

  stop(): void {
    this.cancelBirthRepublish();
  }

  private cancelBirthRepublish(): void {
    if (this.birthTimer !== undefined) this.deps.hub.clock.clearTimeout(this.birthTimer);
    this.birthTimer = undefined;
  }

  private scheduleBirthRepublish(): void {
    this.cancelBirthRepublish();
    const delay = Math.random() * (this.deps.birthDelayMs ?? 5000);
    this.deps.log.info({ delayMs: Math.round(delay) }, "Home Assistant is online; republishing discovery and states");
    this.birthTimer = this.deps.hub.clock.setTimeout(() => void this.deps.onBirth().catch((err) => this.deps.log.warn({ err }, "Republish after Home Assistant's birth failed")), delay);
  }

  private desired(): Set<string> {
    return new Set([...this.configs()].map(([topic]) => topic));
  }

  private *configs(): Generator<[string, Record<string, unknown>]> {
    for (const device of this.deps.devices.list()) {
      for (const entity of device.entities) yield [this.topic(device, entity), this.config(device, entity)];
    }
    // hearth itself, the device every other one is `via_device` of (bridge-device.ts).
    const { prefix, nodeId, topics } = this.deps;
    const device = bridgeDeviceBlock(nodeId);
    for (const e of bridgeEntities(nodeId, topics)) yield [`${prefix}/${e.kind}/${nodeId}_bridge/${e.objectId}/config`, { ...e.config, device }];
  }

  private topic(device: DeviceView, entity: EntityView): string {
    return `${this.deps.prefix}/${entity.kind}/${this.deps.nodeId}_${device.id}/${entity.key}/config`;
  }

  /** One entity's discovery payload. */
  config(device: DeviceView, entity: EntityView): Record<string, unknown> {
    const { topics, nodeId } = this.deps;
    const d = entity.description;
    const stateTopic = topics.device(device.id);
    const commandTopic = `${stateTopic}/set/${d.key}`;
    const config: Record<string, unknown> = {
      name: entity.name,
      unique_id: entity.uniqueId,
      default_entity_id: entity.entityId,
      device: {
        identifiers: [`hearth_${nodeId}_${device.id}`],
        name: device.name,
        model: device.modelName,
        manufacturer: device.manufacturer,
        ...(device.swVersion ? { sw_version: device.swVersion } : {}),
        via_device: bridgeIdentifier(nodeId),
      },
      origin: { name: "hearth", sw: VERSION },
      availability: [{ topic: topics.bridgeState }, { topic: topics.availability(device.id) }],
      availability_mode: "all",
      ...(d.icon ? { icon: d.icon } : {}),
      ...(d.entity_category ? { entity_category: d.entity_category } : {}),
      ...("device_class" in d && d.device_class ? { device_class: d.device_class } : {}),
      ...("unit" in d && d.unit ? { unit_of_measurement: d.unit } : {}),
      ...("state_class" in d && d.state_class ? { state_class: d.state_class } : {}),
    };
    const value = `{{ value_json.${d.key} }}`;
    switch (d.kind) {
      case "sensor":
        return { ...config, state_topic: stateTopic, value_template: value };
      case "binary_sensor":
        return { ...config, state_topic: stateTopic, value_template: value, payload_on: ON, payload_off: OFF };
      case "switch":
        return { ...config, state_topic: stateTopic, value_template: value, command_topic: commandTopic, payload_on: ON, payload_off: OFF, state_on: ON, state_off: OFF };
      case "number":
        return { ...config, state_topic: stateTopic, value_template: value, command_topic: commandTopic, min: d.min, max: d.max, step: d.step, mode: d.mode };
      case "light":
        return {
          ...config,
          state_topic: stateTopic,
          state_value_template: `{{ value_json.${d.key}.state }}`,
          command_topic: commandTopic,
          payload_on: ON,
          payload_off: OFF,
          brightness_state_topic: stateTopic,
          brightness_value_template: `{{ value_json.${d.key}.brightness | default(0) }}`,
          brightness_command_topic: commandTopic,
          brightness_command_template: '{"brightness": {{ value }}}',
          brightness_scale: 255,
        };
      case "button":
        return { ...config, command_topic: commandTopic, payload_press: PRESS };
      case "device_tracker":
        return { ...config, ...deviceTrackerConfig(stateTopic, d.key) };
    }
  }
}
