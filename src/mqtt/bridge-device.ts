import { LOG_LEVELS } from "../core/logger.ts";
import { VERSION } from "../version.ts";
import type { DiscoveryDevice } from "./discovery-payloads.ts";
import type { Topics } from "./topics.ts";

/**
 * hearth itself as a Home Assistant device, as Zigbee2MQTT announces its bridge (a device of its own,
 * `zigbee2mqtt_bridge_<coordinator>`, with `connection_state`, `version`, a `log_level` select and a
 * `restart` button): every device's discovery names it in `via_device`, so Home Assistant shows the
 * devices under the board that runs them, and the board's health is on its page.
 *
 * The entities read the retained `<base>/bridge/state` (connection state) and `<base>/bridge/info`
 * (everything else, bridge-payloads.ts); the select and the button send bridge requests. It is announced
 * as a device of discovery's like the others (`bridgeDiscovery`), so discovery publishes, migrates and
 * clears its configs in either mode (`<prefix>/device/<node>_bridge/config`, or per entity).
 */

/** One entity of the bridge's device: its platform, its key, and its discovery config without the device block. */
export interface BridgeEntityConfig {
  kind: "binary_sensor" | "sensor" | "select" | "button";
  objectId: string;
  config: Record<string, unknown>;
}

/** The identifier every device's `via_device` names. */
export function bridgeIdentifier(nodeId: string): string {
  return `hearth_${nodeId}_bridge`;
}

/** The device block of the bridge's configs. */
export function bridgeDeviceBlock(nodeId: string): Record<string, unknown> {
  return { identifiers: [bridgeIdentifier(nodeId)], name: `hearth ${nodeId}`, model: "hearth bridge", manufacturer: "hearth", sw_version: VERSION };
}

/**
 * The template of bridge/info's `<part>.<field>`, rendering `None` when the part is null: bridge/info says
 * `loop: null` without a loop monitor and `executor: null` before the executor's first job, and the MQTT
 * sensor takes the payload `None` as unknown (PAYLOAD_NONE in its const.py).
 */
function infoValue(part: string, field: string): string {
  return `{{ value_json.${part}.${field} if value_json.${part} is mapping else None }}`;
}

/** The bridge's entities, reading and asking on the topics of `topics`. */
export function bridgeEntities(nodeId: string, topics: Topics): BridgeEntityConfig[] {
  const info = topics.bridgeInfo;
  const entity = (kind: BridgeEntityConfig["kind"], objectId: string, name: string, config: Record<string, unknown>): BridgeEntityConfig => ({
    kind,
    objectId,
    config: {
      name,
      unique_id: `${nodeId}_bridge_${objectId}`,
      default_entity_id: `${kind}.hearth_${nodeId}_${objectId}`,
      // The bridge's own entities are there while hearth is; the connection state alone says when it is not.
      ...(objectId === "connection_state" ? {} : { availability: [{ topic: topics.bridgeState }] }),
      ...config,
    },
  });
  const diagnostic = { entity_category: "diagnostic" };
  return [
    entity("binary_sensor", "connection_state", "Connection state", {
      ...diagnostic,
      device_class: "connectivity",
      state_topic: topics.bridgeState,
      payload_on: "online",
      payload_off: "offline",
    }),
    entity("sensor", "version", "Version", { ...diagnostic, icon: "mdi:information-outline", state_topic: info, value_template: "{{ value_json.version }}" }),
    entity("sensor", "uptime", "Uptime", { ...diagnostic, device_class: "duration", unit_of_measurement: "s", state_topic: info, value_template: "{{ value_json.uptime_s }}" }),
    entity("sensor", "loop_lag", "Loop lag", {
      ...diagnostic,
      icon: "mdi:timer-sand",
      unit_of_measurement: "ms",
      state_class: "measurement",
      state_topic: info,
      value_template: infoValue("loop", "meanLagMs"),
    }),
    entity("sensor", "executor_queue", "Executor queue", { ...diagnostic, icon: "mdi:tray-full", state_class: "measurement", state_topic: info, value_template: infoValue("executor", "queued") }),
    entity("sensor", "outbox_depth", "Outbox depth", { ...diagnostic, icon: "mdi:email-outline", state_class: "measurement", state_topic: info, value_template: infoValue("outbox", "queued") }),
    entity("sensor", "devices_available", "Devices available", {
      icon: "mdi:devices",
      state_class: "measurement",
      state_topic: info,
      value_template: "{{ value_json.devices.available }}",
      json_attributes_topic: info,
      json_attributes_template: "{{ {'configured': value_json.devices.configured, 'loaded': value_json.devices.loaded} | tojson }}",
    }),
    entity("select", "log_level", "Log level", {
      entity_category: "config",
      icon: "mdi:format-list-bulleted",
      options: [...LOG_LEVELS],
      state_topic: info,
      value_template: "{{ value_json.log_level }}",
      command_topic: topics.bridgeRequest("log_level"),
      command_template: '{"level": "{{ value }}"}',
    }),
    entity("button", "restart", "Restart", { entity_category: "config", device_class: "restart", command_topic: topics.bridgeRequest("restart"), payload_press: "{}" }),
  ];
}

/** The bridge as discovery announces a device: its block, and its entities as components (each with its own availability). */
export function bridgeDiscovery(nodeId: string, topics: Topics): DiscoveryDevice {
  return {
    objectId: `${nodeId}_bridge`,
    device: bridgeDeviceBlock(nodeId),
    shared: {},
    components: bridgeEntities(nodeId, topics).map((e) => ({ key: e.objectId, platform: e.kind, config: e.config })),
  };
}
