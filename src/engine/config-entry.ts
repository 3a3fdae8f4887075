import type { DeviceDefinition } from "../config/device-definition.ts";
import type { DeviceConfig } from "../config/schema.ts";
import type { CatalogueModel } from "./catalogue.ts";
import type { Device } from "./device.ts";

/** Where a config entry is in its life (Home Assistant's ConfigEntryState). */
export type ConfigEntryState = "not_loaded" | "setup_in_progress" | "loaded" | "setup_retry" | "setup_error" | "unload_in_progress";

/**
 * One configured device as a config entry: its settings, and once set up its runtime objects
 * (HA keeps them in `entry.runtime_data`). The manager sets it up, retries it, and unloads it.
 */
export class ConfigEntry {
  readonly id: string;
  readonly config: DeviceConfig;
  /** Its model's definition with the device's settings applied (protocols.ts `effectiveDefinition`). */
  readonly definition: DeviceDefinition;
  /** Its model as the catalogue had it when this entry was made: where it came from, its simulator. */
  readonly model: CatalogueModel;
  state: ConfigEntryState = "not_loaded";
  /** Why the last set-up failed. */
  reason: string | undefined;
  /** Set-up attempts so far (for the retry back-off). */
  attempts = 0;
  runtime: { device: Device; port: string } | undefined;
  /** When this entry was made (hearth's start, a reload, a restart), on the hub's clock: health's start-up grace counts from here. */
  readonly createdAt: number;

  constructor(config: DeviceConfig, definition: DeviceDefinition, model: CatalogueModel, createdAt: number) {
    this.id = config.id;
    this.config = config;
    this.definition = definition;
    this.model = model;
    this.createdAt = createdAt;
  }

  /** Platforms (entity kinds) this entry's device has. */
  get platforms(): string[] {
    return [...new Set(this.definition.entities.map((e) => e.kind))];
  }

  /** Whether another configuration of the same id would need a reload. */
  differsFrom(config: DeviceConfig): boolean {
    return JSON.stringify(this.config) !== JSON.stringify(config);
  }
}
