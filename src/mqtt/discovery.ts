import type { TimerHandle } from "../core/clock.ts";
import type { Hub } from "../core/hub.ts";
import type { Logger } from "../core/logger.ts";
import { Lock } from "../core/semaphore.ts";
import type { DeviceViews } from "../engine/device-view.ts";
import { type DiscoveryDevice, deviceDiscovery, ORIGIN, sharedFor } from "./discovery-payloads.ts";
import type { Topics } from "./topics.ts";

export interface DiscoveryDeps {
  hub: Hub;
  log: Logger;
  nodeId: string;
  prefix: string;
  /** `device`: one config per device (`<prefix>/device/<node>_<device>/config`); `entity`: one per entity. */
  mode: "device" | "entity";
  topics: Topics;
  devices: DeviceViews;
  /** Devices of hearth's own to announce beside the configured ones (the bridge), in the same shape. */
  moreDevices?: () => DiscoveryDevice[];
  /** Publishes retained; false when it could not (not connected). */
  publish: (topic: string, payload: string) => Promise<boolean>;
  /** Republishes discovery and then every state (called after Home Assistant's birth message). */
  onBirth: () => Promise<void>;
  /** The longest random wait after a birth message, ms (so a fleet of boards does not answer at once). */
  birthDelayMs?: number;
}

/** What Home Assistant reads on an old config topic before its new config comes: keep the entities (ids, history), they move. */
const MIGRATE = JSON.stringify({ migrate_discovery: true });

/** A discovery config topic, read: a device's (`device/<object>/config`) or an entity's (`<platform>/<node>/<object>/config`). */
type ConfigTopic = { form: "device"; objectId: string } | { form: "entity"; objectId: string; platform: string; key: string };

/** One config to publish: its topic, payload, and the device it belongs to. */
interface Config {
  topic: string;
  payload: Record<string, unknown>;
  objectId: string;
}

/**
 * Home Assistant MQTT discovery: one retained config per device (or, in entity mode, per entity),
 * cleared (empty retained payload) when its device is gone, and everything republished a short random
 * while after HA says `online`. Configs of the other mode found on the broker for a device hearth still
 * has are migrated (Home Assistant's `migrate_discovery`), so its entities keep their ids and history.
 */
export class Discovery {
  private readonly deps: DiscoveryDeps;
  private birthTimer: TimerHandle | undefined;
  /** Configs of this node that no device owns: cleared as soon as the connection is ready. */
  private readonly stale = new Set<string>();
  private readonly published = new Set<string>();
  /** Other-mode configs of devices hearth has (topic → the device's object id), to migrate. */
  private readonly toMigrate = new Map<string, string>();
  /** Old topics hearth has put a migration request on: its own request coming back is not a config to handle. */
  private readonly migrating = new Set<string>();
  /** Device mode: each device topic's components as Home Assistant last had them (key → platform), to remove the ones gone. */
  private readonly announcedComponents = new Map<string, Map<string, string>>();
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

  /** Where hearth finds configs it published before, in either mode (to clear the stale ones and migrate the others). */
  get configFilters(): string[] {
    return [`${this.deps.prefix}/+/+/+/config`, `${this.deps.prefix}/device/+/config`];
  }

  /**
   * Takes the messages that are discovery's: HA's status, and the configs of this node: those of the other
   * mode for a device hearth announces (migrated), and those no device owns now (cleared).
   */
  handles(topic: string, payload: Buffer): boolean {
    if (topic === this.statusTopic) {
      if (payload.toString().trim() === "online") this.scheduleBirthRepublish();
      return true;
    }
    if (!topic.startsWith(`${this.deps.prefix}/`) || !topic.endsWith("/config")) return false;
    const parsed = this.parseTopic(topic);
    if (parsed === undefined || payload.length === 0 || !parsed.objectId.startsWith(`${this.deps.nodeId}_`)) return true;
    const text = payload.toString();
    const isMigration = text.includes("migrate_discovery") && parseObject(text)?.migrate_discovery === true;
    const desired = this.configs();
    if (desired.some((c) => c.topic === topic)) {
      if (!isMigration && parsed.form === "device") this.noteAnnounced(topic, text, desired);
      return true;
    }
    if (isMigration && this.migrating.has(topic)) return true;
    if (!isMigration && this.hasOtherForm(parsed, desired)) {
      this.toMigrate.set(topic, parsed.objectId);
      void this.turns.run(() => this.migrateNow());
      return true;
    }
    this.stale.add(topic);
    void this.clearStale();
    return true;
  }

  /** Clears (empty retained payload) the configs found stale; what cannot be cleared yet waits for the next publishAll. */
  async clearStale(): Promise<void> {
    for (const topic of [...this.stale]) {
      if (this.configs().some((c) => c.topic === topic)) {
        this.stale.delete(topic);
        continue;
      }
      if (!(await this.deps.publish(topic, ""))) return;
      this.stale.delete(topic);
      this.deps.log.info({ topic }, "Cleared a stale discovery config");
    }
  }

  /** Publishes the config of every configured device (or of each of their entities). */
  publishAll(): Promise<void> {
    return this.turns.run(() => this.publishAllNow());
  }

  private async publishAllNow(): Promise<void> {
    // Other-mode configs first: Home Assistant takes a config on the new topic only after the migration
    // request on the old one (before it, the entity is another topic's, and the config is ignored with a
    // warning). After a connect, the retained ones have all been seen by now: the broker sent them before
    // it acknowledged hearth's `online`, which the connection awaits before this runs.
    await this.migrateNow();
    const desired = new Set<string>();
    this.announced.clear();
    for (const device of this.deps.devices.list()) this.announced.set(device.id, device.swVersion);
    for (const config of this.configs()) {
      desired.add(config.topic);
      if (await this.send(config)) this.published.add(config.topic);
    }
    // Whatever was published before and is no longer wanted (a device removed by a reload) is stale now.
    for (const topic of this.published) {
      if (desired.has(topic)) continue;
      this.published.delete(topic);
      this.announcedComponents.delete(topic);
      this.stale.add(topic);
    }
    await this.clearStale();
  }

  /**
   * After a device told its firmware version (a hello, a VE.Direct block's FW): its configs again, when the
   * version is not the one they carry, so Home Assistant's device page shows the version it runs.
   */
  publishDevice(deviceId: string): Promise<void> {
    return this.turns.run(async () => {
      const device = this.deps.devices.get(deviceId);
      if (device === undefined || !this.announced.has(deviceId) || this.announced.get(deviceId) === device.swVersion) return;
      this.announced.set(deviceId, device.swVersion);
      await this.republish(`${this.deps.nodeId}_${deviceId}`);
    });
  }

  stop(): void {
    this.cancelBirthRepublish();
  }

  /** A device's configs again, those published now only: a device being removed meanwhile has its configs cleared, not brought back. */
  private async republish(objectId: string): Promise<void> {
    for (const config of this.configs()) {
      if (config.objectId === objectId && this.published.has(config.topic)) await this.send(config);
    }
  }

  /**
   * Home Assistant's migration, for the other-mode configs found: a migration request on each old topic
   * (its entities wait for their new config instead of going), the device's configs in this mode, then
   * the old topics cleared. What cannot be published yet (not connected) waits for the next publishAll.
   */
  private async migrateNow(): Promise<void> {
    const topics = [...this.toMigrate];
    if (topics.length === 0) return;
    for (const [topic] of topics) {
      this.migrating.add(topic);
      if (!(await this.deps.publish(topic, MIGRATE))) return;
    }
    const devices = new Set(topics.map(([, objectId]) => objectId));
    for (const config of this.configs()) {
      if (!devices.has(config.objectId)) continue;
      if (!(await this.send(config))) return;
      this.published.add(config.topic);
    }
    for (const [topic, objectId] of topics) {
      if (!(await this.deps.publish(topic, ""))) return;
      this.toMigrate.delete(topic);
      this.deps.log.info({ topic, device: objectId, mode: this.deps.mode }, "Moved a Home Assistant discovery config to this mode's topic");
    }
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

  private parseTopic(topic: string): ConfigTopic | undefined {
    const parts = topic.slice(this.deps.prefix.length + 1).split("/");
    if (parts.length === 3 && parts[0] === "device") return { form: "device", objectId: parts[1] ?? "" };
    if (parts.length === 4) return { form: "entity", platform: parts[0] ?? "", objectId: parts[1] ?? "", key: parts[2] ?? "" };
    return undefined;
  }

  /** Whether a config found in the other mode's form belongs to a device (and, for an entity's, a component) hearth announces now. */
  private hasOtherForm(parsed: ConfigTopic, desired: Config[]): boolean {
    const form = this.deps.mode;
    if (parsed.form === form) return false;
    const device = this.discoveryDevices().find((d) => d.objectId === parsed.objectId);
    if (device === undefined || !desired.some((c) => c.objectId === parsed.objectId)) return false;
    return parsed.form === "device" || device.components.some((c) => c.key === parsed.key && c.platform === parsed.platform);
  }

  /**
   * A device config on the broker (retained from before, or the echo of hearth's own): the components
   * Home Assistant has from it. One that this device no longer has (its model changed) is removed at its
   * next publish, and that publish is made now.
   */
  private noteAnnounced(topic: string, text: string, desired: Config[]): void {
    const cmps = parseObject(text)?.cmps;
    if (typeof cmps !== "object" || cmps === null) return;
    const known = this.announcedComponents.get(topic) ?? new Map<string, string>();
    const wanted = (desired.find((c) => c.topic === topic)?.payload.cmps ?? {}) as Record<string, unknown>;
    let gone = false;
    for (const [key, component] of Object.entries(cmps as Record<string, Record<string, unknown>>)) {
      // A component with nothing but its platform is a removal already: not one Home Assistant has.
      if (typeof component?.platform !== "string" || Object.keys(component).length < 2) continue;
      known.set(key, component.platform);
      if (!(key in wanted)) gone = true;
    }
    this.announcedComponents.set(topic, known);
    const objectId = desired.find((c) => c.topic === topic)?.objectId;
    if (gone && objectId !== undefined) void this.turns.run(() => this.republish(objectId));
  }

  /**
   * Publishes one config. In device mode, a component Home Assistant has and the device has no more is
   * first sent as its platform alone (Home Assistant's removal of it), and then the config without it, so
   * the retained config has none of it left.
   */
  private async send(config: Config): Promise<boolean> {
    const cmps = config.payload.cmps as Record<string, { platform: string }> | undefined;
    if (cmps !== undefined) {
      const removed = [...(this.announcedComponents.get(config.topic) ?? [])].filter(([key]) => !(key in cmps));
      if (removed.length > 0) {
        const removal = { ...config.payload, cmps: { ...cmps, ...Object.fromEntries(removed.map(([key, platform]) => [key, { platform }])) } };
        if (!(await this.deps.publish(config.topic, JSON.stringify(removal)))) return false;
      }
      this.announcedComponents.set(config.topic, new Map(Object.entries(cmps).map(([key, c]) => [key, c.platform])));
    }
    return this.deps.publish(config.topic, JSON.stringify(config.payload));
  }

  private discoveryDevices(): DiscoveryDevice[] {
    const { nodeId, topics } = this.deps;
    return [...this.deps.devices.list().map((device) => deviceDiscovery(device, { nodeId, topics })), ...(this.deps.moreDevices?.() ?? [])];
  }

  /** Every config to publish now, in this mode. */
  private configs(): Config[] {
    return this.discoveryDevices().flatMap((d) => (this.deps.mode === "device" ? [this.deviceConfig(d)] : this.entityConfigs(d)));
  }

  /** Device mode: one config with the device, origin, shared keys and every component. */
  private deviceConfig(d: DiscoveryDevice): Config {
    const cmps = Object.fromEntries(d.components.map((c) => [c.key, { platform: c.platform, ...c.config }]));
    return { topic: `${this.deps.prefix}/device/${d.objectId}/config`, objectId: d.objectId, payload: { device: d.device, origin: ORIGIN, ...d.shared, cmps } };
  }

  /** Entity mode: one config per component, each with the device, origin and the shared keys its platform takes. */
  private entityConfigs(d: DiscoveryDevice): Config[] {
    return d.components.map((c) => ({
      topic: `${this.deps.prefix}/${c.platform}/${d.objectId}/${c.key}/config`,
      objectId: d.objectId,
      payload: { ...c.config, device: d.device, origin: ORIGIN, ...sharedFor(c.platform, d.shared) },
    }));
  }
}

/** A JSON object's keys, or undefined for anything else. */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
