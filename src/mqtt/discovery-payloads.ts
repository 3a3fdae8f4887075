/**
 * What Home Assistant's MQTT discovery is told of a device: its device block, the keys its components share
 * (availability, state topic) and one component per entity, with null-safe templates. Made here from a
 * configured device; another module can make the same shape for a device of its own (the bridge), and
 * discovery.ts publishes either the same way, in device or in entity mode.
 */
import type { DeviceView, EntityView } from "../engine/device-view.ts";
import { OFF, ON, PRESS } from "../entities/on-off.ts";
import { SUPPORT_URL, VERSION } from "../version.ts";
import { bridgeIdentifier } from "./bridge-device.ts";
import { deviceTrackerConfig } from "./device-tracker.ts";
import type { Topics } from "./topics.ts";

/** One entity as a component: Home Assistant's platform, and its entity's own keys (the shared ones are the device's). */
export interface DiscoveryComponent {
  /** Its id among the device's components: the entity key (also the object id of its entity-mode topic). */
  readonly key: string;
  readonly platform: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** One device as discovery announces it, in either mode. */
export interface DiscoveryDevice {
  /** `<node>_<device>`: the object id of its device topic, the node id of its entities' topics. */
  readonly objectId: string;
  /** Home Assistant's device block (identifiers, name, model, …). */
  readonly device: Readonly<Record<string, unknown>>;
  /**
   * Keys every component shares: at the top of a device config (Home Assistant gives them to each
   * component that does not set its own), in each config in entity mode.
   */
  readonly shared: Readonly<Record<string, unknown>>;
  readonly components: readonly DiscoveryComponent[];
}

/** Who publishes the configs (Home Assistant's `origin`, shown with the device and in its logs). */
export const ORIGIN = { name: "hearth", sw_version: VERSION, support_url: SUPPORT_URL } as const;

/**
 * Platforms that must get no state topic: a button reads none (Home Assistant drops it), and a device
 * tracker takes its position from its attributes (a state topic would set its zone to the device's JSON).
 */
const STATELESS = new Set(["button", "device_tracker"]);

/** The shared keys a component of this platform takes (entity mode writes them into each config). */
export function sharedFor(platform: string, shared: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (!STATELESS.has(platform)) return { ...shared };
  const { state_topic: _, ...rest } = shared;
  return rest;
}

/** A configured device as discovery announces it. */
export function deviceDiscovery(device: DeviceView, context: { nodeId: string; topics: Topics }): DiscoveryDevice {
  const { nodeId, topics } = context;
  const stateTopic = topics.device(device.id);
  // Device discovery gives a shared key to every component without its own, and a tracker must have none:
  // with one, the state topic goes into each component that reads state instead.
  const shareState = !device.entities.some((e) => e.kind === "device_tracker");
  return {
    objectId: `${nodeId}_${device.id}`,
    device: {
      identifiers: [`hearth_${nodeId}_${device.id}`],
      name: device.name,
      model: device.modelName,
      manufacturer: device.manufacturer,
      ...(device.swVersion ? { sw_version: device.swVersion } : {}),
      ...(device.area ? { suggested_area: device.area } : {}),
      via_device: bridgeIdentifier(nodeId),
    },
    shared: {
      availability: [{ topic: topics.bridgeState }, { topic: topics.availability(device.id) }],
      availability_mode: "all",
      ...(shareState ? { state_topic: stateTopic } : {}),
    },
    components: device.entities.map((entity) => ({
      key: entity.key,
      platform: entity.kind,
      config: { ...(shareState || STATELESS.has(entity.kind) ? {} : { state_topic: stateTopic }), ...componentConfig(stateTopic, entity) },
    })),
  };
}

/**
 * A reading as Home Assistant's template sees it in the state message: `value_json['key']`, by subscript
 * (Jinja tries an item before an attribute that way, so a key such as `items` or `values` is not taken
 * for the dict's method of that name). A reading not there is null, rendered `None`: Home Assistant's
 * sensors, binary sensors, switches and numbers take `None` as unknown.
 */
function reading(key: string): string {
  return `value_json['${key}']`;
}

/** One entity's component keys (templates, command topic, classes), without what its device's components share. */
function componentConfig(stateTopic: string, entity: EntityView): Record<string, unknown> {
  const d = entity.description;
  const commandTopic = `${stateTopic}/set/${d.key}`;
  const config: Record<string, unknown> = {
    // The main reading takes the device's name alone (Home Assistant's `name: null`).
    name: d.main === true ? null : entity.name,
    unique_id: entity.uniqueId,
    default_entity_id: entity.entityId,
    ...(d.icon ? { icon: d.icon } : {}),
    ...(d.entity_category ? { entity_category: d.entity_category } : {}),
    ...("device_class" in d && d.device_class ? { device_class: d.device_class } : {}),
    ...("unit" in d && d.unit ? { unit_of_measurement: d.unit } : {}),
    ...("state_class" in d && d.state_class ? { state_class: d.state_class } : {}),
  };
  const value = `{{ ${reading(d.key)} }}`;
  switch (d.kind) {
    case "sensor":
      return { ...config, value_template: value };
    case "binary_sensor":
      return { ...config, value_template: value, payload_on: ON, payload_off: OFF };
    case "switch":
      return { ...config, value_template: value, command_topic: commandTopic, payload_on: ON, payload_off: OFF, state_on: ON, state_off: OFF };
    case "number":
      return { ...config, value_template: value, command_topic: commandTopic, min: d.min, max: d.max, step: d.step, mode: d.mode };
    case "light": {
      const light = reading(d.key);
      return {
        ...config,
        command_topic: commandTopic,
        payload_on: ON,
        payload_off: OFF,
        // A light that is not there (null) is unknown (`None`); its brightness then, or when it reports none,
        // is an empty output, which Home Assistant skips (it would fail to read `None` as a number).
        state_value_template: `{{ ${light}['state'] if ${light} is mapping else None }}`,
        brightness_state_topic: stateTopic,
        brightness_value_template: `{{ ${light}['brightness'] if ${light} is mapping and ${light}['brightness'] is number else '' }}`,
        brightness_command_topic: commandTopic,
        brightness_command_template: '{"brightness": {{ value }}}',
        brightness_scale: 255,
      };
    }
    case "button":
      return { ...config, command_topic: commandTopic, payload_press: PRESS };
    case "device_tracker":
      return { ...config, ...deviceTrackerConfig(stateTopic, d.key) };
  }
}
