/**
 * The two VE.Direct models end to end: each model's simulator on a real pty, hearth with a real broker,
 * Home Assistant's side a real client: the states in Home Assistant's units, and the discovery classes
 * and units the energy dashboard needs.
 */
import { expect, test } from "bun:test";
import { broker, cleanUpAfterEach, configFile, discovered, hearth, peer } from "./helpers.ts";

cleanUpAfterEach();

const config = (url: string, id: string, model: string) =>
  `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${url}\n  base_topic: hearth/test\ndevices:\n  - id: ${id}\n    model: ${model}\n    port: sim\n    options: { interval: 200 }\n`;

test("a SmartSolar MPPT on MQTT: volts, amps, watts, kWh yields and its charger state, discovered for the energy dashboard", async () => {
  const b = await broker();
  const ha = await peer(b.url);
  await hearth(configFile(config(b.url, "solar", "victron-mppt")));
  const s = await ha.json("hearth/test/solar", (v) => v.charger_state === "Bulk" && v.yield_today === 0.37);
  expect(s).toMatchObject({
    battery_current: 2.8,
    panel_voltage: 36.85,
    yield_today: 0.37,
    yield_total: 104.52,
    error: "No error",
    tracker_mode: "MPP tracker active",
    load: "ON",
    serial_number: "HQ2132ABCDE",
  });
  expect(s.battery_voltage as number).toBeGreaterThanOrEqual(13.42);
  expect(s.panel_power as number).toBeGreaterThanOrEqual(41);
  await ha.next("hearth/test/solar/availability", (p) => p === "online");
  expect(await discovered(ha, "solar", "yield_total")).toMatchObject({ device_class: "energy", state_class: "total_increasing", unit_of_measurement: "kWh" });
  expect(await discovered(ha, "solar", "panel_power")).toMatchObject({ device_class: "power", unit_of_measurement: "W", state_class: "measurement" });
  expect(await discovered(ha, "solar", "battery_voltage")).toMatchObject({ device_class: "voltage", unit_of_measurement: "V" });
  expect(await discovered(ha, "solar", "battery_current")).toMatchObject({ device_class: "current", unit_of_measurement: "A" });
  const state = await discovered(ha, "solar", "charger_state");
  expect(state.unit_of_measurement).toBeUndefined();
  // The firmware version is known once the first block's FW field is read: discovery is published again with it.
  const announced = await discovered<{ device?: { sw_version?: string } }>(ha, "solar", "charger_state", (c) => c.device?.sw_version !== undefined);
  expect(announced.device).toMatchObject({ manufacturer: "Victron Energy", sw_version: "1.61" });
});

test("a BMV-712 on MQTT: state of charge as a battery percentage, time to go as a duration, both blocks' fields", async () => {
  const b = await broker();
  const ha = await peer(b.url);
  await hearth(configFile(config(b.url, "battery", "victron-bmv")));
  const s = await ha.json("hearth/test/battery", (v) => v.state_of_charge === 87.6 && v.charged_energy === 14.56);
  expect(s).toMatchObject({ battery_voltage: 12.85, battery_current: -3.45, battery_power: -44, time_to_go: 2260, alarm: "OFF", alarm_reason: "None", discharged_energy: 12.34 });
  expect(await discovered(ha, "battery", "state_of_charge")).toMatchObject({ device_class: "battery", unit_of_measurement: "%", state_class: "measurement" });
  expect(await discovered(ha, "battery", "time_to_go")).toMatchObject({ device_class: "duration", unit_of_measurement: "min" });
  expect(await discovered(ha, "battery", "charged_energy")).toMatchObject({ device_class: "energy", state_class: "total_increasing", unit_of_measurement: "kWh" });
  expect(await discovered(ha, "battery", "alarm")).toMatchObject({ device_class: "problem" });
});
