import { expect, test } from "bun:test";
import { broker, cleanUpAfterEach, configFile, hearth, json, peer, yaml } from "./helpers.ts";

cleanUpAfterEach();

test("each entity has a retained discovery config with its ids, device block, availability and templates", async () => {
  const b = await broker();
  const ha = await peer(b.url, ["homeassistant/#"]);
  await hearth(configFile(yaml(b.url)));
  const relay = await ha.next("homeassistant/switch/test_board/relay1/config");
  expect(JSON.parse(relay.payload)).toEqual({
    name: "Relay 1",
    unique_id: "test_board_relay1",
    default_entity_id: "switch.board_relay1",
    device: {
      identifiers: ["hearth_test_board"],
      name: "board",
      model: "hearth-io board",
      manufacturer: "hearth",
      via_device: "hearth_test_bridge",
      ...(JSON.parse(relay.payload).device.sw_version ? { sw_version: JSON.parse(relay.payload).device.sw_version } : {}),
    },
    origin: { name: "hearth", sw: expect.any(String) },
    availability: [{ topic: "hearth/test/bridge/state" }, { topic: "hearth/test/board/availability" }],
    availability_mode: "all",
    state_topic: "hearth/test/board",
    value_template: "{{ value_json.relay1 }}",
    command_topic: "hearth/test/board/set/relay1",
    payload_on: "ON",
    payload_off: "OFF",
    state_on: "ON",
    state_off: "OFF",
  });
  const temperature = JSON.parse((await ha.next("homeassistant/sensor/test_board/temperature/config")).payload);
  expect(temperature).toMatchObject({ device_class: "temperature", unit_of_measurement: "°C", state_class: "measurement", value_template: "{{ value_json.temperature }}" });
  const led = JSON.parse((await ha.next("homeassistant/light/test_board/led/config")).payload);
  expect(led).toMatchObject({ brightness_command_topic: "hearth/test/board/set/led", brightness_command_template: '{"brightness": {{ value }}}', state_value_template: "{{ value_json.led.state }}" });
  const restart = JSON.parse((await ha.next("homeassistant/button/test_board/restart/config")).payload);
  expect(restart).toMatchObject({ command_topic: "hearth/test/board/set/restart", payload_press: "PRESS", device_class: "restart", entity_category: "config" });
  expect(restart).not.toHaveProperty("state_topic");
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

test("configs of a device removed by a reload are cleared, and stale ones from an earlier run too", async () => {
  const b = await broker();
  const ha = await peer(b.url);
  await ha.publish("homeassistant/switch/test_old/relay1/config", '{"name": "left over"}', { retain: true });
  const file = configFile(yaml(b.url, ["board", "attic"]));
  const { service } = await hearth(file);
  await ha.next("homeassistant/switch/test_old/relay1/config", (p) => p === "");
  await ha.next("homeassistant/switch/test_attic/relay1/config", (p) => p !== "");
  file.write(yaml(b.url, ["board"]));
  await service.reload();
  const attic = [
    "sensor/test_attic/temperature",
    "sensor/test_attic/humidity",
    "binary_sensor/test_attic/button",
    "switch/test_attic/relay1",
    "switch/test_attic/relay2",
    "light/test_attic/led",
    "sensor/test_attic/uptime",
    "button/test_attic/restart",
  ];
  await Promise.all(attic.map((t) => ha.next(`homeassistant/${t}/config`, (p) => p === "")));
  await ha.next("hearth/test/attic", (p) => p === "");
  const late = await peer(b.url, ["homeassistant/#"]);
  await late.next("homeassistant/switch/test_board/relay1/config");
  expect(late.received.filter((m) => m.topic.includes("test_attic") || m.topic.includes("test_old"))).toEqual([]);
});

test("when Home Assistant comes online, discovery and then states are published again", async () => {
  const b = await broker();
  const ha = await peer(b.url);
  await hearth(configFile(yaml(b.url)));
  await ha.next("hearth/test/board/availability", (p) => p === "online");
  const config = ha.fresh("homeassistant/switch/test_board/relay1/config");
  await ha.publish("homeassistant/status", "online");
  await config;
  const after = ha.received.findLastIndex((m) => m.topic === "homeassistant/switch/test_board/relay1/config");
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
    const config = JSON.parse((await ha.next(`homeassistant/${kind}/test_kitchen-meter/${key}/config`)).payload);
    expect(config.default_entity_id).toBe(`${kind}.kitchen_meter_${key}`);
    expect(service.hub.states.get(config.default_entity_id)?.entityId).toBe(config.default_entity_id);
  }
});
