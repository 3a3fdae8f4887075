import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { broker, cleanUpAfterEach, configFile, discovered, hearth, json, peer } from "../mqtt/helpers.ts";

// The README's walk-through, "Your own device", as a user follows it: the example model file
// (examples/esp32-weather/esp32-weather.yaml) in a models folder of hearth.yaml, the device on a real
// pseudo-terminal whose other end the test plays, printing what esp32-weather.ino prints, and what
// arrives on a real Mosquitto: the state, Home Assistant's discovery, a command and its reply.
cleanUpAfterEach();

const EXAMPLE = join(import.meta.dir, "..", "..", "examples", "esp32-weather");
const ptys: Pty[] = [];
afterEach(async () => {
  for (const pty of ptys.splice(0)) await pty.close();
});

/** One report as the sketch prints it (Serial.printf with %.2f, %.1f, %.0f, true/false, %lu). */
function report(temp: number, hum: number, pascals: number, relay: boolean, uptimeMs: number): string {
  return `{"sensors":{"bme280":{"temp":${temp.toFixed(2)},"hum":${hum.toFixed(1)},"pressure":${pascals.toFixed(0)}}},"relay":${relay},"uptime_ms":${uptimeMs}}\n`;
}

test("the README's example: a JSON-lines ESP32 becomes a device in MQTT and Home Assistant, and its relay takes commands without ids", async () => {
  const b = await broker();
  const user = await peer(b.url);
  const pty = openPty();
  ptys.push(pty);
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\nmodels: [${EXAMPLE}]\ndevices:\n  - { id: weather, model: esp32-weather, port: ${pty.path} }\n`,
  );
  // The firmware: a report a second (faster here), and the two commands answered as the sketch answers them.
  let relay = false;
  const written: string[] = [];
  pty.listen({
    data: (chunk) => {
      for (const command of new TextDecoder().decode(chunk).split("\n").filter(Boolean)) {
        written.push(command);
        if (command === "RELAY 1" || command === "RELAY 0") {
          relay = command.endsWith("1");
          void pty.write(`{"ok":true,"relay":${relay}}\n`);
        } else void pty.write(`{"ok":false,"error":"unknown_command"}\n`);
      }
    },
    error: () => {},
  });
  const { service } = await hearth(file);
  expect(service.catalogue.get("esp32-weather")?.source).toBe(join(EXAMPLE, "esp32-weather.yaml"));
  let uptime = 61_000;
  const firmware = setInterval(() => void pty.write(report(21.43, 48.2, 101325, relay, (uptime += 1000))), 100);
  try {
    const state = await user.json<Record<string, unknown>>("hearth/test/weather", (s) => typeof s.temperature === "number");
    expect(state).toMatchObject({ temperature: 21.4, humidity: 48, pressure: 1013.3, relay: "OFF" });
    expect(state.uptime).toBeGreaterThanOrEqual(62);
    await user.next("hearth/test/weather/availability", (p) => p === "online");

    const temperature = await discovered(user, "weather", "temperature");
    expect(temperature).toMatchObject({ unit_of_measurement: "°C", device_class: "temperature", state_class: "measurement", state_topic: "hearth/test/weather" });
    expect(temperature.device).toMatchObject({ model: "ESP32 weather station", manufacturer: "DIY" });
    const relayConfig = await discovered(user, "weather", "relay");
    expect(relayConfig).toMatchObject({ command_topic: "hearth/test/weather/set/relay" });

    await user.publish("hearth/test/weather/set/relay", "ON");
    await user.next(
      "hearth/test/weather",
      json((s) => s.relay === "ON"),
    );
    expect(written).toEqual(["RELAY 1"]);
  } finally {
    clearInterval(firmware);
  }
});
