import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { loadCheckedConfig } from "../../src/config/load.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { callback } from "../../src/core/job.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { startSimulator } from "../../src/engine/configured-ports.ts";
import { Service } from "../../src/service.ts";
import { deviceHub, stateOf } from "../engine/helpers.ts";
import { Peer, startBroker } from "../mqtt/broker.ts";

// Issue 12: 5,000 unsolicited ERR lines gave 5,000 warnings; 2,000 HELLO lines gave 2,000 info lines
// and 2,000 MQTT events.

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A board on a hub whose timers a ManualClock drives (the rate limits' intervals); its simulator still runs on a real pty. */
async function board() {
  const clock = new ManualClock();
  const h = await deviceHub([{ id: "board" }], { clock });
  cleanups.push(h.stop);
  await stateOf(h.hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
  const sim = h.ports.simulators.get("board")!.simulator as HearthIoSimulator;
  /** Sends a telemetry line and waits for it: every line sent before it has been handled. */
  const settle = async (temperature: number) => {
    sim.temperature = temperature;
    sim.sendGarbage(`${sim.telemetry()}\n`);
    await stateOf(h.hub, "sensor.board_temperature", (s) => s.state === temperature.toFixed(1), 20_000);
  };
  return { ...h, clock, sim, settle, device: h.manager.device("board")! };
}

test("5,000 unsolicited ERR lines log a few warnings, then one line with the count", async () => {
  const { logs, clock, sim, settle } = await board();
  sim.sendGarbage(Array.from({ length: 5000 }, (_, i) => `ERR - bad_value reading ${i}\r\n`).join(""));
  await settle(30);
  const warnings = logs.find("Device reported an error");
  expect(warnings.length).toBeGreaterThan(0);
  expect(warnings.length).toBeLessThanOrEqual(10);
  clock.advance(61_000);
  const summary = logs.find("Device reported an error").filter((l) => String(l.msg).includes("repeated"));
  expect(summary).toHaveLength(1);
  expect(summary[0]!.msg).toContain(`repeated ${5000 - warnings.length} more times in the last 60 s`);
  expect(summary[0]!.level).toBe("warn");
}, 60_000);

test("2,000 HELLO lines log a few info lines and fire one reboot event, then one with the count", async () => {
  const { hub, logs, clock, sim, settle, device } = await board();
  const events: Array<{ count?: number }> = [];
  hub.bus.listen(
    "device_rebooted",
    callback((e) => void events.push(e.data as { count?: number })),
  );
  const rebootsBefore = device.stats.reboots;
  sim.sendGarbage("HELLO hearth-io fw=1.0.0 proto=1\r\n".repeat(2000));
  await settle(31);
  expect(device.stats.reboots - rebootsBefore).toBe(2000); // each is counted
  expect(logs.find("Device (re)booted").length).toBeLessThanOrEqual(10);
  expect(events.length).toBeLessThanOrEqual(1);
  clock.advance(61_000);
  expect(events.length).toBeLessThanOrEqual(2);
  // Together the events account for every reboot.
  expect(events.reduce((sum, e) => sum + (e.count ?? 1), 0)).toBe(2000);
}, 60_000);

test("2,000 HELLO lines reach MQTT as at most one event while the interval lasts", async () => {
  const b = await startBroker();
  cleanups.push(() => b.stop());
  const sim = startSimulator(builtInCatalogue().simulator("hearth-io"), { interval: 60_000 });
  cleanups.push(() => sim.stop());
  const dir = mkdtempSync(join(tmpdir(), "hearth-faults-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "hearth.yaml");
  writeFileSync(
    file,
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\n` +
      `mqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - id: board\n    model: hearth-io\n    port: ${sim.pty.path}\n`,
  );
  const service = new Service(await loadCheckedConfig(file, builtInCatalogue().names()), {
    configFile: file,
    log: createLogger({ level: "debug", destination: new MemoryLogDestination() }),
    mqtt: { backoff: { initialMs: 50, maxMs: 500 }, birthDelayMs: 50 },
  });
  cleanups.push(() => service.stop());
  const user = await Peer.connect(b.url, ["hearth/test/#"]);
  cleanups.push(() => user.close());
  await service.start();
  await user.next("hearth/test/board/availability", (p) => p === "online", 10_000);
  const simulator = sim.simulator as HearthIoSimulator;
  simulator.sendGarbage("HELLO hearth-io fw=1.0.0 proto=1\r\n".repeat(2000));
  simulator.temperature = 33.3;
  simulator.sendGarbage(`${simulator.telemetry()}\n`);
  await user.next("hearth/test/board", (p) => JSON.parse(p).temperature === 33.3, 20_000);
  // Everything queued for MQTT by then has gone out.
  const deadline = Date.now() + 20_000;
  while ((service.bridge!.health().mqtt as { queued: number }).queued > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect((service.bridge!.health().mqtt as { queued: number }).queued).toBe(0);
  // The boot seen at set-up, and at most one for the whole flood.
  const published = user.received.filter((m) => m.topic === "hearth/test/board/event");
  expect(published.length).toBeLessThanOrEqual(2);
}, 60_000);
