import { expect, test } from "bun:test";
import { bridgeEntities } from "../../src/mqtt/bridge-device.ts";
import { Topics } from "../../src/mqtt/topics.ts";
import type { Peer } from "./broker.ts";
import { broker, cleanUpAfterEach, configFile, discovered, hearth, json, peer, yaml } from "./helpers.ts";

// Home Assistant's discovery as hearth publishes it to a real Mosquitto, in both modes: one retained config
// per device (the default) or per entity, what a removed device leaves (nothing), and the migration
// between the two modes that keeps Home Assistant's entities.
cleanUpAfterEach();

const ENTITY_MODE = "  discovery: { mode: entity }\n";
const BOARD_ENTITIES = [
  ["sensor", "temperature"],
  ["sensor", "humidity"],
  ["binary_sensor", "button"],
  ["switch", "relay1"],
  ["switch", "relay2"],
  ["light", "led"],
  ["sensor", "uptime"],
  ["button", "restart"],
  ["sensor", "firmware"], // a line device whose hello says its version
] as const;
/** hearth itself, the device the board is via: its configs come and go by the same rules. */
const BRIDGE_ENTITIES = bridgeEntities("test", new Topics("hearth/test")).map((e) => [e.kind, e.objectId] as const);

/** A device's config topics in a mode: the board's (a hearth-io) or the bridge's. */
function configTopics(mode: "device" | "entity", device: string): string[] {
  if (mode === "device") return [`homeassistant/device/test_${device}/config`];
  return (device === "bridge" ? BRIDGE_ENTITIES : BOARD_ENTITIES).map(([kind, key]) => `homeassistant/${kind}/test_${device}/${key}/config`);
}

const AVAILABILITY = [{ topic: "hearth/test/bridge/state" }, { topic: "hearth/test/board/availability" }];

/** The retained messages a client connecting now gets under homeassistant/, by topic (empty ones are none). */
async function retainedDiscovery(url: string, wait: string): Promise<Map<string, string>> {
  const late = await peer(url, ["homeassistant/#"]);
  await late.next(wait);
  return new Map(late.received.filter((m) => m.retain && m.payload !== "").map((m) => [m.topic, m.payload]));
}

test("each device has one retained device config: device, origin, shared availability and state topic, and a component per entity", async () => {
  const b = await broker();
  const ha = await peer(b.url, ["homeassistant/#"]);
  await hearth(configFile(yaml(b.url)));
  const config = JSON.parse((await ha.next("homeassistant/device/test_board/config")).payload);
  expect(config.device).toMatchObject({ identifiers: ["hearth_test_board"], name: "board", model: "hearth-io board", manufacturer: "hearth", via_device: "hearth_test_bridge" });
  expect(config.origin).toEqual({ name: "hearth", sw_version: expect.any(String), support_url: "https://github.com/hearth-iot/hearth" });
  expect(config).toMatchObject({ availability: AVAILABILITY, availability_mode: "all", state_topic: "hearth/test/board" });
  expect(Object.entries(config.cmps).map(([key, c]) => [(c as { platform: string }).platform, key])).toEqual(BOARD_ENTITIES.map(([kind, key]) => [kind, key]));
  expect(config.cmps.relay1).toEqual({
    platform: "switch",
    name: "Relay 1",
    unique_id: "test_board_relay1",
    default_entity_id: "switch.board_relay1",
    value_template: "{{ value_json['relay1'] }}",
    command_topic: "hearth/test/board/set/relay1",
    payload_on: "ON",
    payload_off: "OFF",
    state_on: "ON",
    state_off: "OFF",
  });
  expect(config.cmps.temperature).toMatchObject({ device_class: "temperature", unit_of_measurement: "°C", state_class: "measurement", value_template: "{{ value_json['temperature'] }}" });
  expect(config.cmps.led).toMatchObject({
    brightness_command_topic: "hearth/test/board/set/led",
    brightness_state_topic: "hearth/test/board",
    state_value_template: "{{ value_json['led']['state'] if value_json['led'] is mapping else None }}",
  });
  expect(config.cmps.restart).toMatchObject({ command_topic: "hearth/test/board/set/restart", payload_press: "PRESS", device_class: "restart", entity_category: "config" });
  // Nothing in the per-entity form.
  expect(ha.received.filter((m) => m.topic.split("/").length === 5)).toEqual([]);
});

test("in entity mode each entity has its own retained config, with the device, origin, availability and state topic in it", async () => {
  const b = await broker();
  const ha = await peer(b.url, ["homeassistant/#"]);
  await hearth(configFile(yaml(b.url, ["board"], ENTITY_MODE)));
  const relay = JSON.parse((await ha.next("homeassistant/switch/test_board/relay1/config")).payload);
  expect(relay).toEqual({
    name: "Relay 1",
    unique_id: "test_board_relay1",
    default_entity_id: "switch.board_relay1",
    device: {
      identifiers: ["hearth_test_board"],
      name: "board",
      model: "hearth-io board",
      manufacturer: "hearth",
      via_device: "hearth_test_bridge",
      ...(relay.device.sw_version ? { sw_version: relay.device.sw_version } : {}),
    },
    origin: { name: "hearth", sw_version: expect.any(String), support_url: "https://github.com/hearth-iot/hearth" },
    availability: AVAILABILITY,
    availability_mode: "all",
    state_topic: "hearth/test/board",
    value_template: "{{ value_json['relay1'] }}",
    command_topic: "hearth/test/board/set/relay1",
    payload_on: "ON",
    payload_off: "OFF",
    state_on: "ON",
    state_off: "OFF",
  });
  for (const [kind, key] of BOARD_ENTITIES) await ha.next(`homeassistant/${kind}/test_board/${key}/config`);
  const restart = JSON.parse((await ha.next("homeassistant/button/test_board/restart/config")).payload);
  expect(restart).toMatchObject({ command_topic: "hearth/test/board/set/restart", payload_press: "PRESS" });
  expect(restart).not.toHaveProperty("state_topic");
  expect(ha.received.filter((m) => m.topic.startsWith("homeassistant/device/"))).toEqual([]);
});

test("a device's area is its suggested area in Home Assistant", async () => {
  const b = await broker();
  const ha = await peer(b.url, ["homeassistant/#"]);
  await hearth(configFile(yaml(b.url).replace("    port: sim\n", "    port: sim\n    area: Greenhouse\n")));
  const relay = await discovered<{ device: Record<string, unknown> }>(ha, "board", "relay1");
  expect(relay.device.suggested_area).toBe("Greenhouse");
});

test("what Home Assistant sends on a discovered light's brightness topic sets the LED", async () => {
  const b = await broker();
  const ha = await peer(b.url);
  await hearth(configFile(yaml(b.url)));
  await ha.next("hearth/test/board/availability", (p) => p === "online");
  await ha.publish("hearth/test/board/set/led", '{"brightness": 200}');
  await ha.next(
    "hearth/test/board",
    json((s: { led: { brightness?: number } }) => s.led.brightness === 200),
  );
});

for (const mode of ["device", "entity"] as const) {
  const topicsOf = (device: string) => configTopics(mode, device);
  test(`${mode} mode: the configs of a device removed by a reload are cleared, and stale ones from an earlier run too`, async () => {
    const b = await broker();
    const ha = await peer(b.url);
    await ha.publish("homeassistant/switch/test_old/relay1/config", '{"name": "left over"}', { retain: true });
    await ha.publish("homeassistant/device/test_older/config", '{"device": {"identifiers": ["x"]}, "origin": {"name": "hearth"}, "cmps": {}}', { retain: true });
    const file = configFile(yaml(b.url, ["board", "attic"], mode === "entity" ? ENTITY_MODE : ""));
    const { service } = await hearth(file);
    await ha.next("homeassistant/switch/test_old/relay1/config", (p) => p === "");
    await ha.next("homeassistant/device/test_older/config", (p) => p === "");
    await Promise.all(topicsOf("attic").map((t) => ha.next(t, (p) => p !== "")));
    file.write(yaml(b.url, ["board"], mode === "entity" ? ENTITY_MODE : ""));
    await service.reload();
    await Promise.all(topicsOf("attic").map((t) => ha.next(t, (p) => p === "")));
    await ha.next("hearth/test/attic", (p) => p === "");
    const left = await retainedDiscovery(b.url, topicsOf("board")[0] ?? "");
    expect([...left.keys()].sort()).toEqual([...topicsOf("board"), ...topicsOf("bridge")].sort());
  });
}

test("when Home Assistant comes online, discovery and then states are published again", async () => {
  const b = await broker();
  const ha = await peer(b.url);
  await hearth(configFile(yaml(b.url)));
  await ha.next("hearth/test/board/availability", (p) => p === "online");
  const config = ha.fresh("homeassistant/device/test_board/config");
  await ha.publish("homeassistant/status", "online");
  await config;
  const after = ha.received.findLastIndex((m) => m.topic === "homeassistant/device/test_board/config");
  // The states follow the configs, so Home Assistant has entities to put them in.
  await ha.next("hearth/test/board", () => true, 5000, after + 1);
  await ha.next("hearth/test/board/availability", () => true, 5000, after + 1);
});

test("for a device id such as kitchen-meter, Home Assistant's default_entity_id is the entity id in hearth's state machine", async () => {
  const b = await broker();
  const ha = await peer(b.url, ["homeassistant/#"]);
  const { service } = await hearth(configFile(yaml(b.url, ["kitchen-meter"])));
  for (const [kind, key] of [
    ["switch", "relay1"],
    ["sensor", "temperature"],
    ["light", "led"],
    ["button", "restart"],
  ] as const) {
    const config = await discovered<{ default_entity_id: string }>(ha, "kitchen-meter", key);
    expect(config.default_entity_id).toBe(`${kind}.kitchen_meter_${key}`);
    expect(service.hub.states.get(config.default_entity_id)?.entityId).toBe(config.default_entity_id);
  }
});

test("a component the device config on the broker has and the device no longer has is removed (its platform alone), then left out", async () => {
  const b = await broker();
  const ha = await peer(b.url, ["homeassistant/#"]);
  // As an earlier run of another model would have left it: a component this board does not have.
  const before = {
    device: { identifiers: ["hearth_test_board"] },
    origin: { name: "hearth" },
    state_topic: "hearth/test/board",
    cmps: { co2: { platform: "sensor", unique_id: "test_board_co2", value_template: "{{ value_json['co2'] }}" } },
  };
  await ha.publish("homeassistant/device/test_board/config", JSON.stringify(before), { retain: true });
  await hearth(configFile(yaml(b.url)));
  const removal = await ha.json<{ cmps: Record<string, unknown> }>("homeassistant/device/test_board/config", (c) => "co2" in (c.cmps as object) && "relay1" in (c.cmps as object));
  expect(removal.cmps.co2).toEqual({ platform: "sensor" });
  // Right after it, the config without it.
  const at = ha.received.findIndex((m) => m.topic === "homeassistant/device/test_board/config" && m.payload.includes('"co2":{"platform":"sensor"}'));
  const next = await ha.next("homeassistant/device/test_board/config", () => true, 5000, at + 1);
  expect(Object.keys(JSON.parse(next.payload).cmps)).toEqual(BOARD_ENTITIES.map(([, key]) => key));
  const after = await retainedDiscovery(b.url, "homeassistant/device/test_board/config");
  const retained = JSON.parse(after.get("homeassistant/device/test_board/config") ?? "{}");
  expect(Object.keys(retained.cmps)).toEqual(BOARD_ENTITIES.map(([, key]) => key));
});

/**
 * Runs hearth in one mode until its configs are out, stops it, starts it in the other, and returns what a
 * Home Assistant client saw during the second run, and what is retained after it.
 */
async function migrate(from: "device" | "entity", to: "device" | "entity") {
  const b = await broker();
  const ha = await peer(b.url, ["homeassistant/#"]);
  const extra = (mode: string) => (mode === "entity" ? ENTITY_MODE : "");
  const first = await hearth(configFile(yaml(b.url, ["board"], extra(from))));
  const fromTopic = from === "device" ? "homeassistant/device/test_board/config" : "homeassistant/button/test_board/restart/config";
  await ha.next(fromTopic);
  await first.service.stop();
  const mark = ha.received.length;
  const second = await hearth(configFile(yaml(b.url, ["board"], extra(to))));
  // The board's and the bridge's: both migrate.
  const oldTopics = [...configTopics(from, "board"), ...configTopics(from, "bridge")];
  const newTopics = [...configTopics(to, "board"), ...configTopics(to, "bridge")];
  await Promise.all(oldTopics.map((t) => ha.next(t, (p) => p === "", 10_000, mark)));
  const seen = ha.received.slice(mark);
  const retained = await retainedDiscovery(b.url, newTopics[0] ?? "");
  return { seen, retained, oldTopics, newTopics, logs: second.logs, ha };
}

/**
 * Asserts Home Assistant's order for each old topic: the migration request, then a new config, then the old
 * one cleared; and no new config before the requests (Home Assistant would ignore it, with a warning).
 */
function expectMigrationOrder(seen: Peer["received"], oldTopics: string[], newTopics: string[]): void {
  const firstRequest = seen.findIndex((m) => m.payload === '{"migrate_discovery":true}');
  expect(seen.slice(0, firstRequest).filter((m) => newTopics.includes(m.topic))).toEqual([]);
  for (const old of oldTopics) {
    const request = seen.findIndex((m) => m.topic === old && m.payload === '{"migrate_discovery":true}');
    const cleared = seen.findIndex((m, i) => i > request && m.topic === old && m.payload === "");
    expect(request).toBeGreaterThanOrEqual(0);
    expect(cleared).toBeGreaterThan(request);
    for (const topic of newTopics) {
      const config = seen.findIndex((m, i) => i > request && i < cleared && m.topic === topic && m.payload !== "");
      expect(config).toBeGreaterThan(request);
    }
  }
}

test("started in device mode with entity configs of its devices on the broker, hearth migrates them: request, device config, old ones cleared", async () => {
  const { seen, retained, oldTopics, newTopics } = await migrate("entity", "device");
  expectMigrationOrder(seen, oldTopics, newTopics);
  expect([...retained.keys()].sort()).toEqual([...newTopics].sort());
  // The entities keep their unique ids, so Home Assistant keeps their entity ids and history.
  const config = JSON.parse(retained.get(newTopics[0] ?? "") ?? "{}");
  expect(config.cmps.relay1.unique_id).toBe("test_board_relay1");
});

test("started in entity mode with a device config of its device on the broker, hearth migrates it back the same way", async () => {
  const { seen, retained, oldTopics, newTopics } = await migrate("device", "entity");
  expectMigrationOrder(seen, oldTopics, newTopics);
  expect([...retained.keys()].sort()).toEqual([...newTopics].sort());
});
