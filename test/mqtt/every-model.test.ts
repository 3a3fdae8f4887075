import { expect, test } from "bun:test";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { DEFAULT_CONFIG } from "../../src/config/defaults.ts";
import { broker, cleanUpAfterEach, configFile, discovered, hearth, peer } from "./helpers.ts";

// Every built-in model end to end, as `npm start` runs them: the embedded defaults' devices (one of each
// model with a simulator, each on a real pseudo-terminal or probe folder) against a real Mosquitto, and
// what Home Assistant's side sees of each: online, a state with readings, and a discovery component per entity.
cleanUpAfterEach();

test("the embedded defaults run one simulated device of every built-in model that has a simulator", () => {
  const models = DEFAULT_CONFIG.devices.map((d) => d.model as string);
  expect([...models].sort()).toEqual([...builtInCatalogue().simulated()].sort());
});

test("every built-in model's simulated device is online on MQTT with readings, and discovered entity by entity in its device config", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const devices = DEFAULT_CONFIG.devices.map((d) => JSON.stringify(d)).join("\n  - ");
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - ${devices}\n`,
  );
  const { service } = await hearth(file);
  for (const d of DEFAULT_CONFIG.devices) {
    await user.next(`hearth/test/${d.id}/availability`, (p) => p === "online", 20_000);
    const state = await user.json<Record<string, unknown>>(`hearth/test/${d.id}`, (s) => Object.values(s).some((v) => typeof v === "number"), 20_000);
    expect(Object.keys(state).length).toBeGreaterThan(0);
    for (const [key, entity] of service.devices.device(d.id)!.entities) {
      const config = await discovered<{ unique_id?: string; platform?: string }>(user, d.id, key);
      expect(config).toMatchObject({ unique_id: entity.uniqueId, platform: entity.kind });
    }
  }
});
