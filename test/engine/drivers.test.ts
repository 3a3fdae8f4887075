import { afterEach, expect, test } from "bun:test";
import type { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import type { NmeaGpsSimulator } from "../../devices/nmea-gps/simulator.ts";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { serialSettingsOf } from "../../src/config/device-definition.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { Hub } from "../../src/core/hub.ts";
import { startSimulator } from "../../src/engine/configured-ports.ts";
import type { Driver, DriverContext } from "../../src/engine/driver.ts";
import { LineDriver } from "../../src/engine/line/driver.ts";
import { fillTemplate } from "../../src/engine/line/fields.ts";
import { NmeaDriver } from "../../src/engine/nmea/driver.ts";
import { SysfsTransport } from "../../src/engine/onewire/sysfs-transport.ts";
import { framingOf } from "../../src/engine/protocols.ts";
import { SerialLink } from "../../src/serial/link.ts";
import { until } from "../helpers/until.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A driver of `model` on a real serial link to the model's simulator on a pty; counts the frames it calls garbage. */
async function driverOn(model: string, make: (ctx: DriverContext) => Driver) {
  const catalogue = builtInCatalogue();
  const sim = startSimulator(catalogue.simulator(model), { interval: 60_000 });
  cleanups.push(() => sim.stop());
  const hub = new Hub();
  const definition = catalogue.definition(model)!;
  const config = { id: "dev", model, port: sim.pty.path, options: {} } as DeviceConfig;
  const link = new SerialLink({ hub }, { path: sim.pty.path, serial: serialSettingsOf(definition, config), framing: framingOf(definition) });
  cleanups.push(() => link.close());
  await link.open();
  const garbage: string[] = [];
  const driver = make({
    config,
    definition,
    entities: new Map(),
    transport: link,
    log: hub.log,
    report: () => {},
    rebooted: () => {},
    garbage: (_frame, why) => void garbage.push(why),
    logLimited: () => {},
    runBlocking: () => Promise.reject(new Error("no executor here")),
    currentState: () => undefined,
  });
  cleanups.push(() => driver.stop());
  return { sim: sim.simulator, driver, garbage };
}

test("a line driver started twice listens to its transport once: a stray line is counted once", async () => {
  const { sim, driver, garbage } = await driverOn("hearth-io", (ctx) => new LineDriver(ctx));
  await driver.start();
  await driver.start();
  (sim as HearthIoSimulator).sendGarbage("\x00\xffnoise\n");
  await until(() => garbage.length > 0, "the stray line counted as garbage", 5000);
  expect(garbage).toHaveLength(1); // every listener of a frame runs in one go: a second one would have counted it too
});

test("an NMEA driver started twice listens to its transport once: a corrupted sentence is counted once", async () => {
  const { sim, driver, garbage } = await driverOn("nmea-gps", (ctx) => new NmeaDriver(ctx));
  await driver.start();
  await driver.start();
  (sim as NmeaGpsSimulator).sendRaw("$GPGGA,corrupted*00\r\n");
  await until(() => garbage.length > 0, "the stray line counted as garbage", 5000);
  expect(garbage).toHaveLength(1);
});

/** What `fn` throws. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected it to throw");
}

test("the engine's own failures carry its codes: a broken template, a write to a sysfs probe, a model without a simulator", async () => {
  const template = thrown(() => fillTemplate("{id} SET r1={valu}", { id: 7, value: 1 }));
  expect(isHearthError(template, "DEVICE_DEFINITION_INVALID")).toBe(true);
  expect((template as Error).message).toContain("{valu}");
  const write = await new SysfsTransport("/sys/bus/w1/devices/28-000000000001").write().catch((e: unknown) => e);
  expect(isHearthError(write, "DEVICE_NOT_WRITABLE")).toBe(true);
  const sim = thrown(() => builtInCatalogue().simulator("ds18b20"));
  expect(isHearthError(sim, "DEVICE_NO_SIMULATOR")).toBe(true);
  expect((sim as Error).message).toStartWith("no simulator for model ds18b20 (simulated models: hearth-io");
});
