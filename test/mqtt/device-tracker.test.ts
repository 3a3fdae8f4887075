import { expect, test } from "bun:test";
import { join } from "node:path";
import { positionTemplate } from "../../src/mqtt/device-tracker.ts";
import { broker, cleanUpAfterEach, configFile, discovered, hearth, peer } from "./helpers.ts";
import { renderTemplate } from "./jinja.ts";

// A GPS receiver on Home Assistant's map: the nmea-gps model's location is a device_tracker whose
// attributes (latitude, longitude, gps_accuracy) come from the device's state topic through a template,
// rendered here by Jinja2 as Home Assistant renders it. The receivers are real captures replayed on a
// pseudo-terminal (devices/nmea-gps/captures, recorded by GPSD).
cleanUpAfterEach();

const captures = join(import.meta.dir, "../../devices/nmea-gps/captures");

/** hearth on a real Mosquitto with one receiver replaying `capture`; the peer sees what Home Assistant would. */
async function replaying(capture: string, chunk: number) {
  const b = await broker();
  const user = await peer(b.url);
  // What an earlier hearth published for its location, then a text sensor.
  const old = { name: "Location", unique_id: "test_gps_location", state_topic: "hearth/test/gps", value_template: "{{ value_json.location }}" };
  await user.publish("homeassistant/sensor/test_gps/location/config", JSON.stringify(old), { retain: true });
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - id: gps\n    model: nmea-gps\n    port: sim\n    options: { capture: ${JSON.stringify(join(captures, capture))}, chunk: ${chunk} }\n`,
  );
  await hearth(file);
  return user;
}

test("a receiver's position is a device_tracker: attributes from the state topic through a template, source type gps, no state topic", async () => {
  const user = await replaying("bu353s4.log", 29);
  // The component as Home Assistant takes it from the device's config, with the keys the device shares.
  const config = await discovered<Record<string, unknown>>(user, "gps", "location");
  expect(config).toMatchObject({
    platform: "device_tracker",
    unique_id: "test_gps_location",
    json_attributes_topic: "hearth/test/gps",
    json_attributes_template: positionTemplate("location"),
    source_type: "gps",
    availability: [{ topic: "hearth/test/bridge/state" }, { topic: "hearth/test/gps/availability" }],
  });
  // Home Assistant works out the zone from the coordinates only when nothing sets the state itself: the
  // device shares no state topic (its other components have their own).
  expect(config).not.toHaveProperty("state_topic");
  expect(config).not.toHaveProperty("value_template");
  // The location was a text sensor before: the config an earlier hearth left for it is cleared.
  await user.next("homeassistant/sensor/test_gps/location/config", (p) => p === "");

  // The capture's last fix: 37°47.0877'S 175°18.8941'E with HDOP 1.1, so 5.5 m at 5 m per unit of HDOP.
  const last = await user.next("hearth/test/gps", (p) => JSON.parse(p).utc_time === "2014-12-31T03:07:43.000Z", 20_000);
  const attributes = JSON.parse(await renderTemplate(config.json_attributes_template as string, last.payload));
  expect(Object.keys(attributes).sort()).toEqual(["gps_accuracy", "latitude", "longitude"]);
  expect(attributes.latitude).toBeCloseTo(-(37 + 47.0877 / 60), 6);
  expect(attributes.longitude).toBeCloseTo(175 + 18.8941 / 60, 6);
  expect(attributes.gps_accuracy).toBe(5.5);
});

test("a receiver that has lost its fix publishes a null location, which the template turns into no attributes (the map keeps the last position)", async () => {
  const user = await replaying("bu353-glonass.log", 41);
  const config = await discovered<Record<string, unknown>>(user, "gps", "location");
  const last = await user.next("hearth/test/gps", (p) => JSON.parse(p).utc_time === "2014-05-26T08:14:29.000Z", 20_000);
  const state = JSON.parse(last.payload);
  expect(state.fix_quality).toBe("no fix");
  expect(state.location).toBeNull();
  expect(await renderTemplate(config.json_attributes_template as string, last.payload)).toBe("{}");
});

test("a position without HDOP gives latitude and longitude but no gps_accuracy, which Home Assistant would take as 0 with a warning", async () => {
  const payload = JSON.stringify({ location: { latitude: 51.5, longitude: -0.125, gps_accuracy: null }, fix_quality: "gps" });
  expect(JSON.parse(await renderTemplate(positionTemplate("location"), payload))).toEqual({ latitude: 51.5, longitude: -0.125 });
  // A state without the key at all (a device whose state is not yet known) renders to no attributes either.
  expect(await renderTemplate(positionTemplate("location"), "{}")).toBe("{}");
});
