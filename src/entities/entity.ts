import { type EntityDescription, type EntityKind, keyToName } from "../config/entity-description.ts";
import { type Attributes, MAX_STATE_LENGTH } from "../core/state.ts";
import { entityIdOf, uniqueIdOf } from "./ids.ts";
import { type OnOff, onOff, parseOnOff, stateOnOff } from "./on-off.ts";

/** State values of entities that have no reading (yet). */
export const STATE_UNKNOWN = "unknown";
export const STATE_UNAVAILABLE = "unavailable";

/** A position on Earth: degrees, and the radius of its likely error in metres (null when the receiver gives no measure of it). */
export interface Position {
  latitude: number;
  longitude: number;
  gps_accuracy: number | null;
}

/** A raw reading from a driver: a number, text, a boolean, for a light its on/off and brightness, or a position. */
export type RawValue = number | string | boolean | null | { on: boolean; brightness?: number } | Position;

/** A reading that fits no state of its entity (not a number, out of its range): skipped, and `rejected` says why. */
export interface RejectedReading {
  rejected: string;
}

/** What a user sees of an entity on MQTT: a number, text, ON/OFF, a light's `{state, brightness}`, a position, or null for no reading. */
export type EntityValue = number | string | OnOff | { state: OnOff; brightness?: number } | Position | null;

/** One reading turned into what the state machine stores, and beside it the value a user sees. */
export interface EntityState {
  state: string;
  attributes: Attributes;
  /** The reading as a value for JSON payloads (a number stays a number), made here once and published as it is. */
  value: EntityValue;
}

/** One entity of one device: its ids and how its readings become states. */
export class Entity {
  readonly description: EntityDescription;
  readonly deviceId: string;
  /** `<kind>.<device>_<key>` in hub.states. */
  readonly entityId: string;
  /** `<node>_<device>_<key>`, stable across restarts (Home Assistant's unique_id). */
  readonly uniqueId: string;
  readonly name: string;

  constructor(options: { description: EntityDescription; nodeId: string; deviceId: string; deviceName?: string }) {
    const { description, nodeId, deviceId } = options;
    this.description = description;
    this.deviceId = deviceId;
    this.entityId = entityIdOf(description.kind, deviceId, description.key);
    this.uniqueId = uniqueIdOf(nodeId, deviceId, description.key);
    this.name = description.name ?? keyToName(description.key);
  }

  get key(): string {
    return this.description.key;
  }

  get kind(): EntityKind {
    return this.description.kind;
  }

  /** Attributes every state of this entity carries. */
  baseAttributes(): Record<string, unknown> {
    const d = this.description;
    const attrs: Record<string, unknown> = { friendly_name: this.name };
    if ("unit" in d && d.unit !== undefined) attrs.unit_of_measurement = d.unit;
    if ("device_class" in d && d.device_class !== undefined) attrs.device_class = d.device_class;
    if ("state_class" in d && d.state_class !== undefined) attrs.state_class = d.state_class;
    if (d.icon !== undefined) attrs.icon = d.icon;
    if (d.kind === "number") Object.assign(attrs, { min: d.min, max: d.max, step: d.step, mode: d.mode });
    return attrs;
  }

  /**
   * Turns a raw reading into a state. No reading (`null`, a NaN) is STATE_UNKNOWN; a reading that does not
   * fit the entity (not a number, outside its model's range, not on/off) is rejected, so the caller keeps
   * the last good state instead of a wrong one or none.
   */
  toState(raw: RawValue): EntityState | RejectedReading {
    const d = this.description;
    const attributes = this.baseAttributes();
    if (raw === null) return unknown(attributes);
    switch (d.kind) {
      case "sensor":
      case "number": {
        if (d.kind === "sensor" && !d.numeric) {
          // A position read by a text sensor (a model file of its own) is shown as "lat,lon".
          if (isPosition(raw)) return { state: positionText(raw), attributes, value: positionText(raw) };
          if (typeof raw === "object") return rejected("expected text");
          const text = String(raw);
          return text.length > MAX_STATE_LENGTH ? rejected(`longer than ${MAX_STATE_LENGTH} characters`) : { state: text, attributes, value: text };
        }
        if ((typeof raw === "number" && Number.isNaN(raw)) || (typeof raw === "string" && /^nan$/i.test(raw.trim()))) return unknown(attributes);
        const n = toNumber(raw);
        if (n === undefined) return rejected("not a number");
        const { min, max } = d;
        if (min !== undefined && n < min) return rejected(`below the model's minimum of ${min}`);
        if (max !== undefined && n > max) return rejected(`above the model's maximum of ${max}`);
        const value = d.precision === undefined ? n : Number(n.toFixed(d.precision));
        return { state: d.precision === undefined ? String(value) : value.toFixed(d.precision), attributes, value };
      }
      case "binary_sensor":
      case "switch": {
        const on = toBoolean(raw);
        if (on === undefined) return rejected("expected 1/0, on/off or true/false");
        return { state: stateOnOff(on), attributes, value: onOff(on) };
      }
      case "light": {
        const scale = d.brightness_scale ?? 255;
        let on: boolean | undefined;
        let brightness: number | undefined;
        if (isPosition(raw)) return rejected("expected on/off or a brightness");
        if (typeof raw === "object") {
          on = raw.on;
          brightness = raw.brightness;
        } else if (typeof raw === "number" || (typeof raw === "string" && /^-?\d+(\.\d+)?$/.test(raw.trim()))) {
          brightness = Number(raw);
          on = brightness > 0;
        } else on = toBoolean(raw);
        if (on === undefined) return rejected("expected on/off or a brightness");
        if (brightness !== undefined) {
          // The model's brightness_scale is the light's range: a brightness beyond it is wrong, not full.
          if (!Number.isInteger(brightness) || brightness < 0 || brightness > scale) return rejected(`brightness outside 0–${scale}`);
          attributes.brightness = Math.round((brightness / scale) * 255);
        }
        const shown = typeof attributes.brightness === "number" ? { state: onOff(on), brightness: attributes.brightness } : { state: onOff(on) };
        return { state: stateOnOff(on), attributes, value: shown };
      }
      case "button":
        // A button's state is when it was last pressed.
        return typeof raw === "string" && raw.length <= MAX_STATE_LENGTH ? { state: raw, attributes, value: raw } : rejected("expected a time");
      case "device_tracker": {
        if (!isPosition(raw)) return rejected("expected a position");
        const { latitude, longitude, gps_accuracy } = raw;
        if (!(Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180)) return rejected("a position off the globe");
        if (gps_accuracy !== null && !(gps_accuracy >= 0 && Number.isFinite(gps_accuracy))) return rejected("a negative or infinite accuracy");
        // Home Assistant's attributes of a GPS tracker; gps_accuracy only when known (it takes no null).
        Object.assign(attributes, { latitude, longitude, ...(gps_accuracy === null ? {} : { gps_accuracy }), source_type: "gps" });
        return { state: positionText(raw), attributes, value: { latitude, longitude, gps_accuracy } };
      }
    }
  }
}

/** Whether a reading is a position (a receiver's fix). */
function isPosition(raw: RawValue): raw is Position {
  return typeof raw === "object" && raw !== null && "latitude" in raw;
}

function positionText(p: Position): string {
  return `${p.latitude},${p.longitude}`;
}

/** Whether toState() rejected a reading. */
export function isRejected(result: EntityState | RejectedReading): result is RejectedReading {
  return "rejected" in result;
}

function rejected(why: string): RejectedReading {
  return { rejected: why };
}

function unknown(attributes: Record<string, unknown>): EntityState {
  return { state: STATE_UNKNOWN, attributes, value: null };
}

function toNumber(raw: RawValue): number | undefined {
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw === "string" && raw.trim() !== "") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }
  if (typeof raw === "boolean") return raw ? 1 : 0;
  return undefined;
}

function toBoolean(raw: RawValue): boolean | undefined {
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "number") return raw === 0 ? false : raw === 1 ? true : undefined;
  if (typeof raw === "string") return parseOnOff(raw.trim().toLowerCase());
  return undefined;
}
