/**
 * The ids of a device's entity, derived here and nowhere else: the state machine, Home Assistant's
 * discovery and bridge/devices all name an entity by these, so they agree for any device id.
 */

/** `<device>_<key>` as an object id: lower case, each run of characters outside a-z, 0-9 and _ one `_`, none at either end (`kitchen-meter` → `kitchen_meter`). */
export function objectIdOf(deviceId: string, key: string): string {
  return `${deviceId}_${key}`
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_|_$/g, "");
}

/** `<kind>.<object id>`: the id in hub.states, and Home Assistant's `default_entity_id`. */
export function entityIdOf(kind: string, deviceId: string, key: string): string {
  return `${kind}.${objectIdOf(deviceId, key)}`;
}

/** `<node>_<device>_<key>`: Home Assistant's `unique_id`, stable across restarts. */
export function uniqueIdOf(nodeId: string, deviceId: string, key: string): string {
  return `${nodeId}_${deviceId}_${key}`;
}
