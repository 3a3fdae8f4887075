import type { EntityDescription, EntityKind } from "../config/entity-description.ts";
import { keyToName } from "../config/entity-description.ts";
import type { Context } from "../core/context.ts";
import type { Entity, EntityValue } from "../entities/entity.ts";
import { entityIdOf, uniqueIdOf } from "../entities/ids.ts";
import type { ConfigEntry, ConfigEntryState } from "./config-entry.ts";
import type { DeviceStats } from "./device.ts";
import { DeviceError } from "./device-error.ts";
import type { FirmwareUpdateRecord, FirmwareUpdateResult } from "./firmware/update.ts";

export type { DeviceStats, FirmwareUpdateRecord, FirmwareUpdateResult };

/** One entity of a configured device, as a reader of the engine sees it (whether its device is loaded or not). */
export interface EntityView {
  readonly key: string;
  readonly kind: EntityKind;
  /** Its name to show: the model's, or one made from its key. */
  readonly name: string;
  /** `<kind>.<object id>`: its id in hub.states, and Home Assistant's `default_entity_id`. */
  readonly entityId: string;
  /** `<node>_<device>_<key>`: Home Assistant's `unique_id`. */
  readonly uniqueId: string;
  /** What its model says of it: unit, classes, range, icon. */
  readonly description: EntityDescription;
}

/** One configured device as a reader of the engine sees it: a snapshot, taken when asked for. */
export interface DeviceView {
  readonly id: string;
  /** Its configured name, or its id. */
  readonly name: string;
  /** Where it is, as configured (`area:`): Home Assistant's suggested area. */
  readonly area: string | undefined;
  /** Its model's id (`hearth-io`) and the model's name to show (`hearth-io board`). */
  readonly model: string;
  readonly modelName: string;
  readonly manufacturer: string;
  /** Where its config entry is in its life. */
  readonly state: ConfigEntryState;
  /** Why its last set-up failed. */
  readonly reason: string | undefined;
  /** Whether it is set up and running (its entry `loaded` may lag behind while it starts). */
  readonly running: boolean;
  readonly available: boolean;
  /** Why it last became unavailable, as it said when it did (undefined while available, and for a fresh one). */
  readonly unavailableReason: string | undefined;
  readonly swVersion: string | undefined;
  /** Its counters (polls, garbage, bad values, …) while it runs; undefined while it is not set up. */
  readonly stats: DeviceStats | undefined;
  /** Whether its model says how to update its firmware, and how its last update (since hearth started) ended. */
  readonly firmware: { readonly updatable: boolean; readonly lastUpdate: FirmwareUpdateRecord | undefined };
  /** When it was set up anew (hearth's start, a reload, a restart), on the hub's clock. */
  readonly createdAt: number;
  readonly entities: readonly EntityView[];
}

/** What a restart did: the device's state once it was over (`loaded`: its transport is open and it runs). */
export interface RestartResult {
  id: string;
  state: ConfigEntryState;
}

/** The configured devices as readers (the MQTT side) see them, and the commands they may give them. */
export interface DeviceViews {
  /** Every configured device, in the order they were configured. */
  list(): DeviceView[];
  get(id: string): DeviceView | undefined;
  /** The id of the device an entity id belongs to, if a running device has it. */
  deviceOfEntity(entityId: string): string | undefined;
  /** Every entity's value as a user sees it, by key, for a running device (undefined otherwise). */
  values(id: string): Record<string, EntityValue> | undefined;
  /** Sends one command to one entity of a running device (the device's errors: DEVICE_UNAVAILABLE, DEVICE_BUSY, …). */
  command(id: string, key: string, value: unknown, options?: { context?: Context }): Promise<void>;
  /** Reads every entity of a running device now. */
  refresh(id: string): Promise<void>;
  /** Unloads a device and sets it up again. */
  restart(id: string): Promise<RestartResult>;
  /** Writes a firmware image (Intel HEX text) to a device (DEVICE_FIRMWARE_REFUSED before anything is touched). */
  updateFirmware(id: string, hex: string, options?: { expectVersion?: string }): Promise<FirmwareUpdateResult>;
}

/** What the view is made from: the manager's entries, its registry of entities, and its restart. */
export interface DeviceViewSource {
  readonly nodeId: string;
  readonly entries: ReadonlyMap<string, ConfigEntry>;
  readonly entities: ReadonlyMap<string, Entity>;
  restart(id: string): Promise<RestartResult>;
  updateFirmware(id: string, hex: string, options?: { expectVersion?: string }): Promise<FirmwareUpdateResult>;
  readonly firmwareUpdates: ReadonlyMap<string, FirmwareUpdateRecord>;
}

/** The read-only view of a manager's devices. */
export function deviceViews(source: DeviceViewSource): DeviceViews {
  // An entry's definition never changes: its entities' views are made once per entry.
  const entityViews = new WeakMap<ConfigEntry, readonly EntityView[]>();
  const entitiesOf = (entry: ConfigEntry): readonly EntityView[] => {
    let views = entityViews.get(entry);
    if (views === undefined) {
      views = entry.definition.entities.map((description) => ({
        key: description.key,
        kind: description.kind,
        name: description.name ?? keyToName(description.key),
        entityId: entityIdOf(description.kind, entry.id, description.key),
        uniqueId: uniqueIdOf(source.nodeId, entry.id, description.key),
        description,
      }));
      entityViews.set(entry, views);
    }
    return views;
  };
  const viewOf = (entry: ConfigEntry): DeviceView => {
    const device = entry.runtime?.device;
    return {
      id: entry.id,
      name: entry.config.name ?? entry.id,
      area: entry.config.area,
      model: entry.definition.model,
      modelName: entry.definition.name,
      manufacturer: entry.definition.manufacturer,
      state: entry.state,
      reason: entry.reason,
      running: device !== undefined,
      available: device?.available ?? false,
      unavailableReason: device?.unavailableReason,
      swVersion: device?.swVersion,
      stats: device?.stats,
      firmware: { updatable: entry.definition.firmware !== undefined && entry.config.port !== "sim", lastUpdate: source.firmwareUpdates.get(entry.id) },
      createdAt: entry.createdAt,
      entities: entitiesOf(entry),
    };
  };
  const running = (id: string) => {
    const device = source.entries.get(id)?.runtime?.device;
    if (device === undefined) throw new DeviceError(source.entries.has(id) ? "DEVICE_UNAVAILABLE" : "DEVICE_UNKNOWN", id, source.entries.has(id) ? "the device is not loaded" : "no such device");
    return device;
  };
  return {
    list: () => [...source.entries.values()].map(viewOf),
    get: (id) => {
      const entry = source.entries.get(id);
      return entry === undefined ? undefined : viewOf(entry);
    },
    deviceOfEntity: (entityId) => source.entities.get(entityId)?.deviceId,
    values: (id) => source.entries.get(id)?.runtime?.device.values(),
    command: async (id, key, value, options) => running(id).command(key, value, options),
    refresh: async (id) => running(id).refresh(),
    restart: (id) => source.restart(id),
    updateFirmware: (id, hex, options) => source.updateFirmware(id, hex, options),
  };
}
