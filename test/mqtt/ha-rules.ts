/**
 * Home Assistant's rules for MQTT discovery payloads, as tables, to check what hearth really publishes.
 * Each table says where in Home Assistant's source (github.com/home-assistant/core, `dev` as read in
 * December 2026) it comes from; the key sets are the full (unabbreviated) names, which hearth sends.
 * Learnt from that source, written here as plain data: none of its code is copied.
 */

/** homeassistant/components/mqtt/discovery.py, TOPIC_MATCHER: the characters of a node id and an object id. */
export const DISCOVERY_ID = /^[a-zA-Z0-9_-]+$/;

/**
 * homeassistant/components/mqtt/schemas.py, SHARED_OPTIONS: the keys of a device config that each of its
 * components takes unless it sets its own (discovery.py, `_merge_common_device_options`).
 */
export const SHARED_OPTIONS = ["availability", "availability_mode", "availability_template", "availability_topic", "command_topic", "payload_available", "payload_not_available", "state_topic"];

/** schemas.py, DEVICE_DISCOVERY_SCHEMA (with MQTT_AVAILABILITY_SCHEMA): a device config's own keys; `cmps` is the abbreviation of `components` (abbreviations.py). */
export const DEVICE_CONFIG_REQUIRED = ["device", "origin", "cmps"];
export const DEVICE_CONFIG_KEYS = new Set([...DEVICE_CONFIG_REQUIRED, ...SHARED_OPTIONS, "qos", "encoding"]);

/** schemas.py, MQTT_ENTITY_DEVICE_INFO_SCHEMA (and validate_device_has_at_least_one_identifier: identifiers or connections). */
export const DEVICE_KEYS = new Set([
  "identifiers",
  "connections",
  "manufacturer",
  "model",
  "model_id",
  "name",
  "hw_version",
  "serial_number",
  "sw_version",
  "via_device",
  "suggested_area",
  "configuration_url",
]);

/** schemas.py, MQTT_ORIGIN_INFO_SCHEMA: `name` required. */
export const ORIGIN_KEYS = new Set(["name", "sw_version", "support_url"]);

/** schemas.py, MQTT_AVAILABILITY_LIST_SCHEMA: one availability entry, and the modes (const.py, AVAILABILITY_MODES). */
export const AVAILABILITY_KEYS = new Set(["topic", "payload_available", "payload_not_available", "value_template"]);
export const AVAILABILITY_MODES = new Set(["all", "any", "latest"]);

/** entity.py, MQTT_ENTITY_COMMON_SCHEMA (with the availability schema), which every platform's schema extends; `platform` and `qos` as every platform takes them. */
const COMMON_KEYS = [
  "platform",
  "name",
  "unique_id",
  "default_entity_id",
  "object_id",
  "device",
  "origin",
  "enabled_by_default",
  "encoding",
  "entity_category",
  "entity_picture",
  "icon",
  "json_attributes_topic",
  "json_attributes_template",
  "qos",
  "availability",
  "availability_mode",
  "availability_template",
  "availability_topic",
  "payload_available",
  "payload_not_available",
];

/**
 * Each platform's own keys (its PLATFORM_SCHEMA_MODERN in sensor.py, binary_sensor.py, switch.py,
 * number.py, light/schema_basic.py, button.py), and those it requires (state_topic for the read-only ones
 * from MQTT_RO_SCHEMA, command_topic for the others from MQTT_RW_SCHEMA / their own schema).
 */
export const PLATFORMS: Record<string, { required: string[]; keys: Set<string> }> = {
  sensor: {
    required: ["state_topic"],
    keys: new Set([
      ...COMMON_KEYS,
      "state_topic",
      "value_template",
      "device_class",
      "unit_of_measurement",
      "state_class",
      "expire_after",
      "force_update",
      "last_reset_value_template",
      "options",
      "suggested_display_precision",
    ]),
  },
  binary_sensor: {
    required: ["state_topic"],
    keys: new Set([...COMMON_KEYS, "state_topic", "value_template", "device_class", "expire_after", "force_update", "off_delay", "payload_on", "payload_off"]),
  },
  switch: {
    required: ["command_topic"],
    keys: new Set([...COMMON_KEYS, "command_topic", "command_template", "retain", "state_topic", "value_template", "device_class", "optimistic", "payload_on", "payload_off", "state_on", "state_off"]),
  },
  number: {
    required: ["command_topic"],
    keys: new Set([
      ...COMMON_KEYS,
      "command_topic",
      "command_template",
      "retain",
      "state_topic",
      "value_template",
      "device_class",
      "unit_of_measurement",
      "state_class",
      "min",
      "max",
      "step",
      "mode",
      "optimistic",
      "payload_reset",
    ]),
  },
  light: {
    required: ["command_topic"],
    keys: new Set([
      ...COMMON_KEYS,
      "schema",
      "command_topic",
      "retain",
      "state_topic",
      "state_value_template",
      "payload_on",
      "payload_off",
      "optimistic",
      "on_command_type",
      "brightness_command_topic",
      "brightness_command_template",
      "brightness_state_topic",
      "brightness_value_template",
      "brightness_scale",
    ]),
  },
  button: { required: ["command_topic"], keys: new Set([...COMMON_KEYS, "command_topic", "command_template", "retain", "device_class", "payload_press"]) },
  /** select.py: MQTT_RW_SCHEMA with its `options` (required) and templates. */
  select: { required: ["command_topic", "options"], keys: new Set([...COMMON_KEYS, "command_topic", "command_template", "retain", "state_topic", "value_template", "options", "optimistic"]) },
  /**
   * device_tracker.py: a state topic is optional (and deprecated) there; a tracker placed by its
   * `latitude`/`longitude` attributes needs `json_attributes_topic` (from the common keys) instead.
   */
  device_tracker: {
    required: ["json_attributes_topic"],
    keys: new Set([...COMMON_KEYS, "state_topic", "value_template", "payload_home", "payload_not_home", "payload_reset", "source_type"]),
  },
};

/** Keys that hold templates (each is rendered against every state hearth publishes). */
export const TEMPLATE_KEYS = ["value_template", "state_value_template", "brightness_value_template"];

/** switch.py SwitchDeviceClass, button.py ButtonDeviceClass, binary_sensor/__init__.py BinarySensorDeviceClass. */
export const DEVICE_CLASSES: Record<string, Set<string>> = {
  switch: new Set(["outlet", "switch"]),
  button: new Set(["identify", "restart", "update"]),
  binary_sensor: new Set([
    "battery",
    "battery_charging",
    "carbon_monoxide",
    "cold",
    "connectivity",
    "door",
    "garage_door",
    "gas",
    "heat",
    "light",
    "lock",
    "moisture",
    "motion",
    "moving",
    "occupancy",
    "opening",
    "plug",
    "power",
    "presence",
    "problem",
    "running",
    "safety",
    "smoke",
    "sound",
    "tamper",
    "update",
    "vibration",
    "window",
  ]),
};

const PERCENT = "%";
const UG_M3 = "µg/m³";
const VOLUME = ["L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF", "MCF"];
const MEASUREMENT = ["measurement"];
const TOTALS = ["total", "total_increasing"];
const ANY_STATE = ["measurement", "total", "total_increasing"];

/**
 * homeassistant/components/sensor/const.py, DEVICE_CLASS_UNITS and DEVICE_CLASS_STATE_CLASSES: for each
 * sensor device class, the units it takes (null: none) and its state classes (the unit enums spelt out
 * from homeassistant/const.py, UnitOf…). A class not here is not one of Home Assistant's.
 */
export const SENSOR_DEVICE_CLASSES: Record<string, { units: Array<string | null>; stateClasses: string[] }> = {
  apparent_power: { units: ["mVA", "VA", "kVA"], stateClasses: MEASUREMENT },
  aqi: { units: [null], stateClasses: MEASUREMENT },
  atmospheric_pressure: { units: ["Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "inH₂O", "psi"], stateClasses: MEASUREMENT },
  battery: { units: [PERCENT], stateClasses: MEASUREMENT },
  carbon_dioxide: { units: ["ppm"], stateClasses: MEASUREMENT },
  carbon_monoxide: { units: ["ppm"], stateClasses: MEASUREMENT },
  current: { units: ["mA", "A"], stateClasses: MEASUREMENT },
  data_rate: { units: ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s", "KiB/s", "MiB/s", "GiB/s"], stateClasses: MEASUREMENT },
  date: { units: [null], stateClasses: [] },
  distance: { units: ["mm", "cm", "m", "km", "in", "ft", "yd", "mi", "nmi"], stateClasses: ANY_STATE },
  duration: { units: ["d", "h", "min", "s", "ms", "μs"], stateClasses: ANY_STATE },
  energy: { units: ["J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"], stateClasses: TOTALS },
  energy_storage: { units: ["J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"], stateClasses: MEASUREMENT },
  enum: { units: [null], stateClasses: [] },
  frequency: { units: ["Hz", "kHz", "MHz", "GHz"], stateClasses: MEASUREMENT },
  gas: { units: ["CCF", "ft³", "m³", "L"], stateClasses: TOTALS },
  humidity: { units: [PERCENT], stateClasses: MEASUREMENT },
  illuminance: { units: ["lx"], stateClasses: MEASUREMENT },
  irradiance: { units: ["W/m²", "BTU/(h⋅ft²)"], stateClasses: MEASUREMENT },
  moisture: { units: [PERCENT], stateClasses: MEASUREMENT },
  monetary: { units: [], stateClasses: ["total"] },
  nitrogen_dioxide: { units: [UG_M3], stateClasses: MEASUREMENT },
  nitrogen_monoxide: { units: [UG_M3], stateClasses: MEASUREMENT },
  nitrous_oxide: { units: [UG_M3], stateClasses: MEASUREMENT },
  ozone: { units: [UG_M3], stateClasses: MEASUREMENT },
  ph: { units: [null], stateClasses: MEASUREMENT },
  pm1: { units: [UG_M3], stateClasses: MEASUREMENT },
  pm10: { units: [UG_M3], stateClasses: MEASUREMENT },
  pm25: { units: [UG_M3], stateClasses: MEASUREMENT },
  power_factor: { units: [PERCENT, null], stateClasses: MEASUREMENT },
  power: { units: ["mW", "W", "kW", "MW", "GW", "TW"], stateClasses: MEASUREMENT },
  pressure: { units: ["Pa", "hPa", "kPa", "bar", "cbar", "mbar", "mmHg", "inHg", "inH₂O", "psi"], stateClasses: MEASUREMENT },
  reactive_power: { units: ["mvar", "var", "kvar"], stateClasses: MEASUREMENT },
  signal_strength: { units: ["dB", "dBm"], stateClasses: MEASUREMENT },
  sound_pressure: { units: ["dB", "dBA"], stateClasses: MEASUREMENT },
  speed: { units: ["Beaufort", "ft/s", "in/s", "km/h", "kn", "m/s", "mph", "mm/s", "in/d", "in/h", "mm/d", "mm/h"], stateClasses: MEASUREMENT },
  sulphur_dioxide: { units: [UG_M3], stateClasses: MEASUREMENT },
  temperature: { units: ["°C", "°F", "K"], stateClasses: MEASUREMENT },
  timestamp: { units: [null], stateClasses: [] },
  volatile_organic_compounds: { units: [UG_M3], stateClasses: MEASUREMENT },
  volatile_organic_compounds_parts: { units: ["ppb", "ppm"], stateClasses: MEASUREMENT },
  voltage: { units: ["µV", "mV", "V", "kV", "MV"], stateClasses: MEASUREMENT },
  volume: { units: VOLUME, stateClasses: TOTALS },
  volume_flow_rate: { units: ["m³/h", "m³/s", "ft³/min", "L/h", "L/min", "L/s", "gal/min", "mL/s"], stateClasses: MEASUREMENT },
  volume_storage: { units: VOLUME, stateClasses: MEASUREMENT },
  water: { units: ["CCF", "ft³", "m³", "gal", "L"], stateClasses: TOTALS },
  weight: { units: ["kg", "g", "mg", "µg", "oz", "lb", "st"], stateClasses: ANY_STATE },
  wind_direction: { units: ["°"], stateClasses: ["measurement_angle"] },
  wind_speed: { units: ["Beaufort", "ft/s", "km/h", "kn", "m/s", "mph"], stateClasses: MEASUREMENT },
};

/** sensor/const.py, SensorStateClass. */
export const STATE_CLASSES = new Set(["measurement", "measurement_angle", "total", "total_increasing"]);

/** One component of a device config as Home Assistant takes it: its keys, with the device's shared keys it does not set, its device and origin. */
export function componentAsHa(config: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const component = (config.cmps as Record<string, Record<string, unknown>> | undefined)?.[key];
  if (component === undefined) return undefined;
  const merged: Record<string, unknown> = { ...component, device: config.device, origin: config.origin };
  for (const option of SHARED_OPTIONS) if (option in config && !(option in component)) merged[option] = config[option];
  return merged;
}

/** What is wrong, by Home Assistant's rules, with one device config (its topic and payload); empty when nothing. */
export function checkDeviceConfig(topic: string, config: Record<string, unknown>, prefix = "homeassistant"): string[] {
  const problems: string[] = [];
  const match = topic.match(new RegExp(`^${prefix}/device/([^/]+)/config$`));
  if (match === null || !DISCOVERY_ID.test(match[1] ?? "")) problems.push(`${topic}: not a device discovery topic Home Assistant matches`);
  for (const key of DEVICE_CONFIG_REQUIRED) if (!(key in config)) problems.push(`${topic}: no ${key}`);
  for (const key of Object.keys(config)) if (!DEVICE_CONFIG_KEYS.has(key)) problems.push(`${topic}: ${key} is not a device config key`);
  for (const [key] of Object.entries((config.cmps ?? {}) as Record<string, unknown>)) {
    const component = componentAsHa(config, key) ?? {};
    problems.push(...checkComponent(`${topic} cmps.${key}`, String(component.platform), component));
  }
  return problems;
}

/** What is wrong with one entity config (`<prefix>/<platform>/<node>/<object>/config`). */
export function checkEntityConfig(topic: string, config: Record<string, unknown>, prefix = "homeassistant"): string[] {
  const match = topic.match(new RegExp(`^${prefix}/([a-z_]+)/([^/]+)/([^/]+)/config$`));
  if (match === null || !DISCOVERY_ID.test(match[2] ?? "") || !DISCOVERY_ID.test(match[3] ?? "")) return [`${topic}: not an entity discovery topic Home Assistant matches`];
  return checkComponent(topic, match[1] ?? "", config);
}

/** One component (or entity config) with its device and origin, against its platform's schema and the device class tables. */
export function checkComponent(where: string, platform: string, c: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const rules = PLATFORMS[platform];
  if (rules === undefined) return [`${where}: ${platform} is not a platform hearth announces`];
  // A device config's shared state topic reaches a button too; Home Assistant drops it (its discovery schemas remove extra keys).
  const keys = Object.keys(c).filter((k) => !(platform === "button" && k === "state_topic"));
  for (const key of keys) if (!rules.keys.has(key)) problems.push(`${where}: ${key} is not a ${platform} key`);
  for (const key of rules.required) {
    const present = key === "options" ? Array.isArray(c[key]) && (c[key] as unknown[]).length > 0 : typeof c[key] === "string" && c[key] !== "";
    if (!present) problems.push(`${where}: no ${key}`);
  }
  if (typeof c.unique_id !== "string" || c.unique_id === "") problems.push(`${where}: no unique_id (device discovery requires one)`);
  if ("name" in c && c.name !== null && typeof c.name !== "string") problems.push(`${where}: name is neither text nor null`);
  problems.push(...checkDevice(where, c.device), ...checkOrigin(where, c.origin), ...checkAvailability(where, c));
  problems.push(...checkClasses(where, platform, c));
  return problems;
}

function checkDevice(where: string, device: unknown): string[] {
  if (typeof device !== "object" || device === null) return [`${where}: no device block`];
  const d = device as Record<string, unknown>;
  const problems = Object.keys(d)
    .filter((k) => !DEVICE_KEYS.has(k))
    .map((k) => `${where}: device.${k} is not a device key`);
  if (!(Array.isArray(d.identifiers) && d.identifiers.length > 0) && !(Array.isArray(d.connections) && d.connections.length > 0))
    problems.push(`${where}: the device has neither identifiers nor connections`);
  for (const [k, v] of Object.entries(d)) if (k !== "identifiers" && k !== "connections" && typeof v !== "string") problems.push(`${where}: device.${k} is not text`);
  return problems;
}

function checkOrigin(where: string, origin: unknown): string[] {
  if (typeof origin !== "object" || origin === null) return [`${where}: no origin block`];
  const o = origin as Record<string, unknown>;
  const problems = Object.keys(o)
    .filter((k) => !ORIGIN_KEYS.has(k))
    .map((k) => `${where}: origin.${k} is not an origin key`);
  if (typeof o.name !== "string" || o.name === "") problems.push(`${where}: origin has no name`);
  if (o.support_url !== undefined && !/^https?:\/\/\S+$/.test(String(o.support_url))) problems.push(`${where}: origin.support_url is not a URL`);
  return problems;
}

function checkAvailability(where: string, c: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if ("availability" in c && "availability_topic" in c) problems.push(`${where}: availability and availability_topic are exclusive`);
  // hearth's connection state reads the bridge's state itself: unavailable with it, it could not show "off".
  if (!("availability" in c) && typeof c.state_topic === "string" && c.state_topic.endsWith("/bridge/state")) return problems;
  if (!Array.isArray(c.availability) || c.availability.length === 0) return [...problems, `${where}: no availability`];
  for (const entry of c.availability as Array<Record<string, unknown>>) {
    if (typeof entry.topic !== "string" || entry.topic === "" || /[+#]/.test(entry.topic)) problems.push(`${where}: an availability entry without a topic`);
    for (const k of Object.keys(entry)) if (!AVAILABILITY_KEYS.has(k)) problems.push(`${where}: availability.${k} is not an availability key`);
  }
  if (c.availability_mode !== undefined && !AVAILABILITY_MODES.has(String(c.availability_mode))) problems.push(`${where}: availability_mode ${c.availability_mode}`);
  return problems;
}

function checkClasses(where: string, platform: string, c: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const deviceClass = c.device_class as string | undefined;
  const unit = (c.unit_of_measurement as string | undefined) ?? null;
  const stateClass = c.state_class as string | undefined;
  if (stateClass !== undefined && !STATE_CLASSES.has(stateClass)) problems.push(`${where}: state_class ${stateClass} is not one of Home Assistant's`);
  if (deviceClass === undefined) return problems;
  if (platform === "sensor" || platform === "number") {
    const rules = SENSOR_DEVICE_CLASSES[deviceClass];
    if (rules === undefined) return [...problems, `${where}: ${deviceClass} is not a sensor device class`];
    if (!rules.units.includes(unit)) problems.push(`${where}: ${deviceClass} takes ${rules.units.map((u) => u ?? "no unit").join(", ")}, not ${unit ?? "no unit"}`);
    if (platform === "sensor" && stateClass !== undefined && !rules.stateClasses.includes(stateClass))
      problems.push(`${where}: ${deviceClass} takes state classes ${rules.stateClasses.join(", ") || "none"}, not ${stateClass}`);
  } else if (!DEVICE_CLASSES[platform]?.has(deviceClass)) problems.push(`${where}: ${deviceClass} is not a ${platform} device class`);
  return problems;
}
