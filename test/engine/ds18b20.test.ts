import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtInCatalogue } from "../../src/catalogue.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { Hub } from "../../src/core/hub.ts";
import { callback } from "../../src/core/job.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { ConfiguredPorts, serialTransports } from "../../src/engine/configured-ports.ts";
import { DeviceManager } from "../../src/engine/manager.ts";
import { discoverProbes } from "../../src/engine/onewire/probes.ts";
import { parseW1Slave } from "../../src/engine/onewire/w1-slave.ts";
import { stateOf } from "./helpers.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const W1 = (milli: number, crc = "YES") => `72 01 4b 46 7f ff 0e 10 57 : crc=57 ${crc}\n72 01 4b 46 7f ff 0e 10 57 t=${milli}\n`;

/** A temporary sysfs root with the given probes' w1_slave files. */
function sysfs(probes: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "hearth-w1-"));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  for (const [id, text] of Object.entries(probes)) {
    mkdirSync(join(root, id));
    writeFileSync(join(root, id, "w1_slave"), text);
  }
  mkdirSync(join(root, "w1_bus_master1")); // the bus master is listed there too, and is no probe
  return root;
}

/** A hub with its executor (the Worker pool) and ds18b20 devices on `root`. */
async function probes(root: string, devices: Array<Partial<DeviceConfig> & { id: string }>) {
  const log = createLogger({ level: "debug", destination: new MemoryLogDestination() });
  const hub = new Hub({ log, stageTimeouts: { shutdownJobs: 2, cancel: 2, tracked: 2, finalWrite: 2, close: 2 } });
  const manager = new DeviceManager({
    hub,
    log,
    nodeId: "test",
    catalogue: builtInCatalogue(),
    transports: serialTransports({ hub, log }),
    ports: new ConfiguredPorts(),
  });
  await manager.setup(devices.map((d) => ({ model: "ds18b20", port: "auto", options: { sysfs_root: root }, ...d }) as DeviceConfig));
  await hub.start();
  cleanups.push(async () => {
    await manager.stop();
    await hub.stop();
  });
  return { hub, manager };
}

test("a probe's w1_slave reading appears as a temperature in °C", async () => {
  const root = sysfs({ "28-0316a2795bff": W1(23125) });
  const { hub } = await probes(root, [{ id: "tank" }]);
  const state = await stateOf(hub, "sensor.tank_temperature", (s) => s.state === "23.13");
  expect(state.attributes.unit_of_measurement).toBe("°C");
  expect(state.attributes.device_class).toBe("temperature");
});

test("probes are discovered under the sysfs root, and each is named by its id", async () => {
  const root = sysfs({ "28-0000000000b1": W1(-1250), "28-0000000000a2": W1(4500), "10-000000000001": W1(1) });
  expect(await discoverProbes(root)).toEqual(["28-0000000000a2", "28-0000000000b1"]);
  const { hub } = await probes(root, [
    { id: "outside", port: "28-0000000000b1" },
    { id: "fridge", port: join(root, "28-0000000000a2") },
  ]);
  await stateOf(hub, "sensor.outside_temperature", (s) => s.state === "-1.25");
  await stateOf(hub, "sensor.fridge_temperature", (s) => s.state === "4.50");
});

test("a CRC NO, the 85 °C power-on value and a malformed file are errors, not readings", () => {
  expect(parseW1Slave(W1(21500))).toBe(21.5);
  for (const [text, code] of [
    [W1(21500, "NO"), "ONEWIRE_CRC"],
    [W1(85000), "ONEWIRE_POWER_ON_VALUE"],
    ["garbage", "ONEWIRE_MALFORMED"],
  ] as const) {
    let err: unknown;
    try {
      parseW1Slave(text);
    } catch (e) {
      err = e;
    }
    expect(isHearthError(err, code)).toBe(true);
  }
});

test("a probe that keeps failing its CRC or reading 85 °C becomes unavailable, never showing those values", async () => {
  const root = sysfs({ "28-00000000c0de": W1(19000) });
  const { hub } = await probes(root, [{ id: "pipe", poll_interval: 0.05 }]);
  await stateOf(hub, "sensor.pipe_temperature", (s) => s.state === "19.00");
  const seen: string[] = [];
  cleanups.push(
    hub.bus.listen(
      "state_changed",
      callback((e) => {
        if (e.data.entityId === "sensor.pipe_temperature") seen.push(e.data.newState?.state ?? "");
      }),
    ),
  );
  const file = join(root, "28-00000000c0de", "w1_slave");
  writeFileSync(file, W1(20000, "NO"));
  await stateOf(hub, "sensor.pipe_temperature", (s) => s.state === "unavailable");
  writeFileSync(file, W1(20500));
  await stateOf(hub, "sensor.pipe_temperature", (s) => s.state === "20.50");
  writeFileSync(file, W1(85000));
  await stateOf(hub, "sensor.pipe_temperature", (s) => s.state === "unavailable");
  writeFileSync(file, W1(21000));
  await stateOf(hub, "sensor.pipe_temperature", (s) => s.state === "21.00");
  expect(seen.filter((s) => s !== "unknown")).toEqual(["unavailable", "20.50", "unavailable", "21.00"]);
});

test("an unplugged probe makes the device unavailable, with the reason in its error", async () => {
  const root = sysfs({ "28-00000000dead": W1(19000) });
  const { hub, manager } = await probes(root, [{ id: "gone", port: "28-00000000dead", poll_interval: 0.05 }]);
  await stateOf(hub, "sensor.gone_temperature", (s) => s.state === "19.00");
  rmSync(join(root, "28-00000000dead"), { recursive: true });
  const event = hub.bus.waitFor("device_availability", (d) => d.deviceId === "gone" && !d.available, AbortSignal.timeout(5000));
  expect((await event).data.reason).toContain("no probe at");
  expect(manager.device("gone")!.available).toBe(false);
});

test("a probe read that blocks runs off the loop: the loop keeps working until the probe answers", async () => {
  // A FIFO blocks its reader until someone writes it, as the kernel blocks for a conversion.
  const root = sysfs({});
  mkdirSync(join(root, "28-000000f1f0f0"));
  const fifo = join(root, "28-000000f1f0f0", "w1_slave");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const { hub } = await probes(root, [{ id: "slow", timeout: 30 }]);
  // While the read is blocked, the loop still runs timers and tasks.
  const ticks = await hub
    .createTask(async () => {
      let n = 0;
      for (; n < 5; n++) await new Promise((r) => setTimeout(r, 5));
      return n;
    })
    .settled();
  expect(ticks).toBe(5);
  expect(hub.states.get("sensor.slow_temperature")?.state).toBe("unavailable");
  // The writer's open blocks until the reader has the FIFO open; a child process does it off the loop.
  const writer = Bun.spawn(["sh", "-c", `printf '%s' "$0" > "$1"`, W1(22250), fifo]);
  await stateOf(hub, "sensor.slow_temperature", (s) => s.state === "22.25");
  expect(await writer.exited).toBe(0);
});

test("port: sim runs a simulated probe whose drifting temperature is read through the executor", async () => {
  const log = createLogger({ level: "debug", destination: new MemoryLogDestination() });
  const hub = new Hub({ log, stageTimeouts: { shutdownJobs: 2, cancel: 2, tracked: 2, finalWrite: 2, close: 2 } });
  const ports = new ConfiguredPorts();
  const manager = new DeviceManager({ hub, log, nodeId: "test", catalogue: builtInCatalogue(), transports: serialTransports({ hub, log }), ports });
  await manager.setup([{ id: "simprobe", model: "ds18b20", port: "sim", poll_interval: 0.05, options: { interval: 20, temperature: 18 } } as DeviceConfig]);
  await hub.start();
  cleanups.push(async () => {
    await manager.stop();
    await hub.stop();
  });
  const probe = ports.probes.get("simprobe")!;
  expect(probe.folder).toMatch(/28-[0-9a-f]{12}$/);
  const first = await stateOf(hub, "sensor.simprobe_temperature", (s) => Number.isFinite(Number(s.state)));
  expect(Math.abs(Number(first.state) - 18)).toBeLessThan(2);
  expect(first.attributes.unit_of_measurement).toBe("°C");
  // It drifts: a later poll reports another value.
  await stateOf(hub, "sensor.simprobe_temperature", (s) => Number.isFinite(Number(s.state)) && s.state !== first.state);
  // Unloading the device removes the simulated sysfs root.
  await manager.stop();
  expect(ports.probes.size).toBe(0);
  expect(await Bun.file(join(probe.folder, "w1_slave")).exists()).toBe(false);
});
