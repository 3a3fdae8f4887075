import type { Hub } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import type { ConfigEntry } from "../engine/config-entry.ts";
import type { DeviceManager } from "../engine/manager.ts";
import { type EntityDescription, keyToName } from "../config/entity-description.ts";
import { VERSION } from "../version.ts";
import type { Topics } from "./topics.ts";

export interface DiscoveryDeps {
  hub: Hub;
  log: Logger;
  nodeId: string;
  prefix: string;
  topics: Topics;
  devices: DeviceManager;
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
  private birthTimer: ReturnType<typeof setTimeout> | undefined;
  /** Configs of this node that no device owns: cleared as soon as the connection is ready. */
  private readonly stale = new Set<string>();
  private readonly published = new Set<string>();

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
  async publishAll(): Promise<void> {
    const desired = new Set<string>();
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

  stop(): void {
    clearTimeout(this.birthTimer);
  }

  private scheduleBirthRepublish(): void {
    clearTimeout(this.birthTimer);
    const delay = Math.random() * (this.deps.birthDelayMs ?? 5000);
    this.deps.log.info({ delayMs: Math.round(delay) }, "Home Assistant is online; republishing discovery and states");
    this.birthTimer = setTimeout(() => void this.deps.onBirth().catch((err) => this.deps.log.warn({ err }, "Republish after Home Assistant's birth failed")), delay);
  }

  private desired(): Set<string> {
    return new Set([...this.configs()].map(([topic]) => topic));
  }

  private *configs(): Generator<[string, Record<string, unknown>]> {
    for (const entry of this.deps.devices.entries.values()) {
      for (const description of entry.definition.entities) yield [this.topic(entry, description), this.config(entry, description)];
    }
  }

  private topic(entry: ConfigEntry, d: EntityDescription): string {
    return `${this.deps.prefix}/${d.kind}/${this.deps.nodeId}_${entry.id}/${d.key}/config`;
  }

  /** One entity's discovery payload. */
  config(entry: ConfigEntry, d: EntityDescription): Record<string, unknown> {
    const { topics, nodeId } = this.deps;
    const stateTopic = topics.device(entry.id);
    const commandTopic = `${stateTopic}/set/${d.key}`;
    const config: Record<string, unknown> = {
      name: d.name ?? keyToName(d.key),
      unique_id: `${nodeId}_${entry.id}_${d.key}`,
      default_entity_id: `${d.kind}.${entry.id}_${d.key}`.toLowerCase(),
      device: {
        identifiers: [`hearth_${nodeId}_${entry.id}`],
        name: entry.config.name ?? entry.id,
        model: entry.definition.name,
        manufacturer: entry.definition.manufacturer,
        ...(entry.runtime?.device.swVersion ? { sw_version: entry.runtime.device.swVersion } : {}),
        via_device: `hearth_${nodeId}_bridge`,
      },
      origin: { name: "hearth", sw: VERSION },
      availability: [{ topic: topics.bridgeState }, { topic: topics.availability(entry.id) }],
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
        return { ...config, state_topic: stateTopic, value_template: value, payload_on: "ON", payload_off: "OFF" };
      case "switch":
        return { ...config, state_topic: stateTopic, value_template: value, command_topic: commandTopic, payload_on: "ON", payload_off: "OFF", state_on: "ON", state_off: "OFF" };
      case "number":
        return { ...config, state_topic: stateTopic, value_template: value, command_topic: commandTopic, min: d.min, max: d.max, step: d.step, mode: d.mode };
      case "light":
        return {
          ...config,
          state_topic: stateTopic,
          state_value_template: `{{ value_json.${d.key}.state }}`,
          command_topic: commandTopic,
          payload_on: "ON",
          payload_off: "OFF",
          brightness_state_topic: stateTopic,
          brightness_value_template: `{{ value_json.${d.key}.brightness | default(0) }}`,
          brightness_command_topic: commandTopic,
          brightness_command_template: '{"brightness": {{ value }}}',
          brightness_scale: 255,
        };
      case "button":
        return { ...config, command_topic: commandTopic, payload_press: "PRESS" };
    }
  }
}
