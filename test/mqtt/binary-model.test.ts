/**
 * A binary-frame model end to end: an MH-Z19B played on a real pty by its simulator, hearth with a real
 * broker, Home Assistant's side a real client: the CO2 reading and its discovery, and a button pressed
 * from MQTT reaching the sensor as the manual's frame.
 */
import { expect, test } from "bun:test";
import { MhZ19bSimulator } from "../../devices/mh-z19b/simulator.ts";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { loadCheckedConfig } from "../../src/config/load.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { openPty } from "../../src/serial/pty.ts";
import { Service } from "../../src/service.ts";
import { until } from "../helpers/until.ts";
import { broker, cleanUpAfterEach, configFile, discovered, peer } from "./helpers.ts";

cleanUpAfterEach();

test("an MH-Z19B on MQTT: its CO2 as a carbon_dioxide sensor in ppm, and zero-point calibration pressed from the set topic", async () => {
  const pty = openPty();
  const sensor = new MhZ19bSimulator({ write: (b) => pty.write(b) }, { co2: 847 });
  const unlisten = pty.listen({ data: (chunk) => sensor.receive(chunk), error: () => {} });
  const b = await broker();
  const ha = await peer(b.url);
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - id: bedroom_co2\n    model: mh-z19b\n    port: ${pty.path}\n    poll_interval: 0.2\n`,
  );
  const catalogue = builtInCatalogue();
  const config = await loadCheckedConfig(file.path, catalogue.names());
  const service = new Service(config, {
    configFile: file.path,
    catalogue,
    log: createLogger({ level: "debug", destination: new MemoryLogDestination() }),
    mqtt: { backoff: { initialMs: 50, maxMs: 500 }, birthDelayMs: 50 },
  });
  try {
    await service.start();
    expect(await ha.json("hearth/test/bedroom_co2", (s) => s.co2 === 847)).toMatchObject({ co2: 847 });
    await ha.next("hearth/test/bedroom_co2/availability", (p) => p === "online");
    const discovery = await discovered(ha, "bedroom_co2", "co2");
    expect(discovery).toMatchObject({
      device_class: "carbon_dioxide",
      unit_of_measurement: "ppm",
      state_class: "measurement",
      state_topic: "hearth/test/bedroom_co2",
      device: { model: "MH-Z19B CO2 sensor", manufacturer: "Winsen" },
    });
    const button = await discovered(ha, "bedroom_co2", "zero_point_calibration");
    expect(button).toMatchObject({ command_topic: "hearth/test/bedroom_co2/set/zero_point_calibration", entity_category: "config" });

    await ha.publish("hearth/test/bedroom_co2/set/zero_point_calibration", "PRESS");
    await until(() => sensor.calibrations === 1, "the sensor was asked to calibrate");
    expect(sensor.requests).toContain("FF 01 87 00 00 00 00 00 78");
    sensor.co2 = 400;
    expect(await ha.json("hearth/test/bedroom_co2", (s) => s.co2 === 400)).toMatchObject({ co2: 400 });
  } finally {
    await service.stop();
    unlisten();
    await pty.close();
  }
});
