import { afterEach, expect, test } from "bun:test";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { SOIL_MODEL, soilSentence, writeModel } from "../helpers/model-files.ts";
import { broker, cleanUpAfterEach, configFile, hearth, json, peer } from "./helpers.ts";

// What a device sent that was not a reading is visible on MQTT: bridge/devices carries each device's
// counters, refreshed with bridge/info. A sensor on a real pty, whose other end the test plays, sends one
// good line, garbage and a line failing its checksum.
cleanUpAfterEach();

const ptys: Pty[] = [];
afterEach(async () => {
  for (const pty of ptys.splice(0)) await pty.close();
});

type DeviceEntry = { id: string; stats: Record<string, number> | null };

test("garbage, bad checksums and out-of-range readings are counted per device in bridge/devices, and never published as readings", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const pty = openPty();
  ptys.push(pty);
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - { id: soil, model: soil, port: ${pty.path} }\n`,
  );
  writeModel(file.dir, "soil.yaml", SOIL_MODEL);
  await hearth(file, { mqtt: { infoInterval: 0.2 } });
  // Spoken until heard: the port may not be read yet when the first line goes out.
  const speaking = setInterval(() => void pty.write(soilSentence("SOIL,41.5")), 200);
  try {
    await user.next(
      "hearth/test/soil",
      json((s) => s.moisture === 41.5),
    );
  } finally {
    clearInterval(speaking);
  }
  await pty.write("garbage from a loose wire\n");
  await pty.write("$SOIL,99.9*00\n"); // a checksum that fails
  await pty.write(soilSentence("SOIL,140.0")); // sound, but beyond the model's range
  const devices = await user.json<DeviceEntry[]>("hearth/test/bridge/devices", (list) => {
    const stats = list.find((d) => d.id === "soil")?.stats;
    return stats != null && (stats.garbage ?? 0) >= 2 && (stats.bad_values ?? 0) >= 1;
  });
  expect(devices.find((d) => d.id === "soil")?.stats).toMatchObject({ garbage: 2, bad_values: 1, too_long: 0 });
  // Only the good reading was ever published.
  const readings = user.received.filter((m) => m.topic === "hearth/test/soil").map((m) => JSON.parse(m.payload).moisture);
  expect(readings.filter((v) => v !== null && v !== 41.5)).toEqual([]);
});
