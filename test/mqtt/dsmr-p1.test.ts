/**
 * The dsmr-p1 model end to end: the Kaifa meter's real telegram played on a pty (`port: sim` with its
 * capture), hearth with a real broker, Home Assistant's side a real client: the state topic carries the
 * meter's values, and discovery gives the energy dashboard what it needs.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { broker, cleanUpAfterEach, configFile, discovered, hearth, peer } from "./helpers.ts";

cleanUpAfterEach();

const KAIFA = join(import.meta.dir, "../../devices/dsmr-p1/captures/kaifa-dsmr42.txt");

test("a DSMR meter on MQTT: its telegram's values on the state topic, energy and gas discovered for the energy dashboard", async () => {
  const b = await broker();
  const ha = await peer(b.url);
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - id: meter\n    model: dsmr-p1\n    port: sim\n    options: { capture: ${JSON.stringify(KAIFA)} }\n`,
  );
  await hearth(file);
  const state = await ha.json("hearth/test/meter", (s) => s.gas === 981.443 && s.power_delivered === 2027);
  expect(state).toMatchObject({ energy_delivered_tariff1: 1581.123, energy_delivered_tariff2: 1435.706, power_delivered: 2027, current_l2: 6, tariff: 2, gas: 981.443 });
  await ha.next("hearth/test/meter/availability", (p) => p === "online");
  const energy = await discovered(ha, "meter", "energy_delivered_tariff1");
  expect(energy).toMatchObject({ device_class: "energy", state_class: "total_increasing", unit_of_measurement: "kWh", state_topic: "hearth/test/meter" });
  const gas = await discovered(ha, "meter", "gas");
  expect(gas).toMatchObject({ device_class: "gas", state_class: "total_increasing", unit_of_measurement: "m³" });
  const power = await discovered(ha, "meter", "power_delivered");
  expect(power).toMatchObject({ device_class: "power", state_class: "measurement", unit_of_measurement: "W" });
  expect(power.device).toMatchObject({ model: "DSMR smart meter (P1 port)" });
});
