/**
 * A user's line model end to end: a JSON-lines firmware played on a real pty, hearth with a real broker,
 * Home Assistant's side a real client. Its readings, discovery, availability and commands work as the
 * built-in models' do.
 */
import { expect, test } from "bun:test";
import { loadCheckedConfig } from "../../src/config/load.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { Service } from "../../src/service.ts";
import { catalogueWith, FirmwarePeer, modelOf } from "../engine/line-peer.ts";
import { broker, cleanUpAfterEach, configFile, discovered, peer } from "./helpers.ts";

cleanUpAfterEach();

const station = modelOf(`
model: esp-station
name: ESP32 station
manufacturer: example
protocol: line
line:
  format: json
  report: '^\\{"env"'
  command: "{body}"
  ok: '^(?<fields>\\{"ok":true.*\\})$'
poll_interval: 5
entities:
  - { key: temperature, kind: sensor, unit: "°C", device_class: temperature, state_class: measurement, precision: 1, read: env.t }
  - { key: window, kind: binary_sensor, device_class: window, read: env.win, map: { open: "ON", shut: "OFF" } }
  - { key: fan, kind: number, min: 0, max: 100, step: 10, read: fan.pct, write: '{"fan":{value}}', scale: 100 }
`);

test("a user's JSON-lines model on MQTT: states, discovery, and a command from the set topic answered by the firmware", async () => {
  const fw = FirmwarePeer.open();
  const b = await broker();
  const ha = await peer(b.url);
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - id: station\n    model: esp-station\n    port: ${fw.path}\n`,
  );
  const catalogue = catalogueWith(station);
  const config = await loadCheckedConfig(file.path, catalogue.names());
  const service = new Service(config, {
    configFile: file.path,
    catalogue,
    log: createLogger({ level: "debug", destination: new MemoryLogDestination() }),
    mqtt: { backoff: { initialMs: 50, maxMs: 500 }, birthDelayMs: 50 },
  });
  try {
    await service.start();
    await fw.send('{"env":{"t":19.96,"win":"open"},"fan":{"pct":0.3}}');
    expect(await ha.json("hearth/test/station", (s) => s.temperature === 20)).toEqual({ temperature: 20, window: "ON", fan: 30 });
    await ha.next("hearth/test/station/availability", (p) => p === "online");
    const discovery = await discovered(ha, "station", "temperature");
    expect(discovery).toMatchObject({ device_class: "temperature", unit_of_measurement: "°C", state_topic: "hearth/test/station", device: { model: "ESP32 station", manufacturer: "example" } });
    expect(await discovered(ha, "station", "fan")).toMatchObject({ min: 0, max: 100, step: 10, command_topic: "hearth/test/station/set/fan" });

    fw.answer = (line) => (line === '{"fan":0.7}' ? ['{"ok":true,"fan":{"pct":0.7}}'] : []);
    await ha.publish("hearth/test/station/set/fan", "70");
    expect(await ha.json("hearth/test/station", (s) => s.fan === 70)).toMatchObject({ fan: 70 });
    expect(fw.received).toEqual(['{"fan":0.7}']);
    await ha.publish("hearth/test/station/set", '{"fan": 75, "transaction": "t1"}'); // not a multiple of the step: refused, nothing written
    expect(await ha.json("hearth/test/station/response")).toMatchObject({ status: "error", error: "fan: expected a multiple of 10 from 0, got 75", transaction: "t1" });
    expect(fw.received).toHaveLength(1);
  } finally {
    await service.stop();
    await fw.close();
  }
});
