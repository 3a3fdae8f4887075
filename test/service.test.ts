import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtInCatalogue } from "../src/catalogue.ts";
import { loadCheckedConfig } from "../src/config/load.ts";
import { createLogger, MemoryLogDestination } from "../src/core/logger.ts";
import { Service } from "../src/service.ts";
import { stateOf } from "./engine/helpers.ts";
import { freePort } from "./mqtt/broker.ts";

const services: Service[] = [];
const folders: string[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configFile(): { path: string; write: (text: string) => void } {
  const dir = mkdtempSync(join(tmpdir(), "hearth-service-"));
  folders.push(dir);
  const path = join(dir, "hearth.yaml");
  return { path, write: (text) => writeFileSync(path, text) };
}

const base = (devices: string) => `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\ndevices:\n${devices}`;
const board = (id: string, interval = 60000) => `  - id: ${id}\n    model: hearth-io\n    port: sim\n    options: { interval: ${interval} }\n`;

async function startFrom(file: { path: string }) {
  const logs = new MemoryLogDestination();
  const config = await loadCheckedConfig(file.path, builtInCatalogue().names());
  // No mqtt.url: the embedded broker, on a free port rather than 1883.
  const service = new Service(config, { configFile: file.path, log: createLogger({ level: "debug", destination: logs }), mqtt: { embeddedPort: await freePort() } });
  services.push(service);
  await service.start();
  return { service, logs };
}

test("a reload sets up added devices, unloads removed ones, reloads changed ones and leaves the rest running", async () => {
  const file = configFile();
  file.write(base(board("kitchen") + board("garage") + board("attic")));
  const { service } = await startFrom(file);
  await stateOf(service.hub, "sensor.attic_temperature", (s) => s.state !== "unavailable");
  const kitchen = service.devices.device("kitchen");
  const garage = service.devices.device("garage");

  file.write(base(board("kitchen") + board("garage", 30000) + board("cellar")));
  const result = await service.reload();

  expect(result).toEqual({ ok: true, added: ["cellar"], removed: ["attic"], reloaded: ["garage"] });
  expect(service.devices.device("kitchen")).toBe(kitchen!); // untouched: the same running device
  expect(service.devices.device("garage")).not.toBe(garage!);
  expect(service.devices.device("attic")).toBeUndefined();
  expect(service.hub.states.get("sensor.attic_temperature")).toBeUndefined();
  await stateOf(service.hub, "sensor.cellar_temperature", (s) => s.state !== "unavailable");
});

test("a reload with an invalid configuration is refused and the last good one stays in force", async () => {
  const file = configFile();
  file.write(base(board("kitchen")));
  const { service, logs } = await startFrom(file);
  const kitchen = service.devices.device("kitchen");

  file.write(base(`  - id: kitchen\n    model: hearth-io\n    port: sim\n    baud: fast\n`));
  const result = await service.reload();

  expect(result).toEqual({ ok: false, problems: ['devices[0].baud: expected one of 1200…921600, got "fast"'] });
  expect(service.devices.device("kitchen")).toBe(kitchen!);
  expect(service.config.devices[0]?.baud).toBeUndefined();
  expect(logs.find("keeping the last good configuration")).toHaveLength(1);
});

test("a device that fails to set up is retried without stopping the others", async () => {
  const file = configFile();
  file.write(base(`${board("kitchen")}  - id: ghost\n    model: hearth-io\n    port: /dev/hearth-no-such-port\n`));
  const { service, logs } = await startFrom(file);
  await stateOf(service.hub, "sensor.kitchen_temperature", (s) => s.state !== "unavailable");
  const ghost = service.devices.entries.get("ghost")!;
  expect(ghost.state).toBe("setup_retry");
  expect(ghost.reason).toContain("/dev/hearth-no-such-port");
  expect(logs.find("Setting up ghost failed; retrying in")).toHaveLength(1);
});

test("starting the service twice builds one bridge and installs its signal handlers once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-service-"));
  try {
    const path = join(dir, "hearth.yaml");
    writeFileSync(path, base(board("kitchen")));
    const logs = new MemoryLogDestination();
    const config = await loadCheckedConfig(path, builtInCatalogue().names());
    const listeners = () => ["SIGHUP", "SIGTERM", "SIGINT"].map((s) => process.listenerCount(s));
    const before = listeners();
    // Signals as the CLI has them (exit stubbed: the test process stays), and an embedded broker on a free port.
    const service = new Service(config, { configFile: path, log: createLogger({ level: "debug", destination: logs }), signals: true, exit: () => {}, mqtt: { embeddedPort: 0 } });
    services.push(service);
    await Promise.all([service.start(), service.start()]);
    const bridge = service.bridge;
    await service.start();
    expect(service.bridge).toBe(bridge!);
    expect(listeners()).toEqual(before.map((n) => n + 1));
    expect(logs.find("Embedded MQTT broker listening")).toHaveLength(1);
    expect(logs.find("hearth is running")).toHaveLength(1);
    await service.stop();
    expect(listeners()).toEqual(before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
