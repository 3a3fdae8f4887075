import { afterEach, expect, test } from "bun:test";
import type { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import { type Clock, ManualClock } from "../../src/core/clock.ts";
import { Context } from "../../src/core/context.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { callback } from "../../src/core/job.ts";
import { LOG_INTERVAL_MS } from "../../src/core/log-limiter.ts";
import { deviceHub, stateOf } from "./helpers.ts";

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function board(overrides: Record<string, unknown> = {}, options: { clock?: Clock } = {}) {
  const h = await deviceHub([{ id: "board", ...overrides }], options);
  stops.push(h.stop);
  const sim = h.ports.simulators.get("board")!.simulator as HearthIoSimulator;
  const device = h.manager.device("board")!;
  await stateOf(h.hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
  return { ...h, sim, device };
}

/** Resolves once `condition` holds; fails after `ms`. */
async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves when the simulator has received `n` command lines. */
async function linesReceived(sim: HearthIoSimulator, n: number): Promise<void> {
  while (sim.received.length < n) await new Promise((r) => setTimeout(r, 5));
}

test("the board's readings appear in hub.states with their values and units", async () => {
  const { hub, sim } = await board();
  const temperature = hub.states.get("sensor.board_temperature")!;
  expect(Number(temperature.state)).toBe(sim.temperature);
  expect(temperature.attributes.unit_of_measurement).toBe("°C");
  expect(temperature.attributes.device_class).toBe("temperature");
  expect(temperature.attributes.state_class).toBe("measurement");
  expect(hub.states.get("sensor.board_humidity")?.attributes.unit_of_measurement).toBe("%");
  expect(hub.states.get("switch.board_relay1")?.state).toBe("off");
  expect(hub.states.get("light.board_led")?.state).toBe("off");
  expect(hub.states.get("binary_sensor.board_button")?.state).toBe("off");
  expect(hub.states.get("button.board_restart")?.state).toBe("unknown");
});

test("a telemetry line from the board updates the states", async () => {
  const { hub, sim } = await board();
  sim.temperature = 25.3;
  sim.setButton(true);
  await stateOf(hub, "binary_sensor.board_button", (s) => s.state === "on");
  sim.sendGarbage(`${sim.telemetry()}\n`);
  await stateOf(hub, "sensor.board_temperature", (s) => s.state === "25.3");
});

test("a command reaches the board and the state it causes comes back, carrying the caller's context", async () => {
  const { hub, sim, device } = await board();
  const context = new Context({ origin: "test" });
  await device.command("relay1", "ON", { context });
  expect(sim.relay1).toBe(true);
  expect(sim.received.at(-1)).toMatch(/^\d+ SET r1=1$/);
  const relay = hub.states.get("switch.board_relay1")!;
  expect(relay.state).toBe("on");
  expect(relay.context).toBe(context);
  await device.command("led", { state: "ON", brightness: 128 });
  expect(sim.led).toBe(128);
  expect(hub.states.get("light.board_led")?.attributes.brightness).toBe(128);
  await device.command("relay1", "TOGGLE");
  expect(sim.relay1).toBe(false);
});

test("an invalid command is refused before anything is written", async () => {
  const { sim, device } = await board();
  const before = sim.received.length;
  for (const [key, value] of [
    ["relay1", "MAYBE"],
    ["led", { brightness: 300 }],
    ["temperature", 5],
    ["nope", "ON"],
  ] as const) {
    const err = await device.command(key, value).catch((e: unknown) => e);
    expect(isHearthError(err)).toBe(true);
  }
  expect(sim.received.length).toBe(before);
});

test("a command whose reply never comes times out, releases the semaphore, and the next command works", async () => {
  const { sim, device } = await board({ timeout: 0.2 });
  sim.mute = true;
  const err = await device.command("relay2", "ON").catch((e: unknown) => e);
  expect(isHearthError(err, "DEVICE_COMMAND_TIMEOUT")).toBe(true);
  expect(device.semaphore.available).toBe(1);
  sim.mute = false;
  await device.command("relay2", "ON");
  expect(sim.relay2).toBe(true);
  expect(device.stats.timeouts).toBe(1);
});

test("two commands issued together are serialised on the wire", async () => {
  const { sim, device } = await board({ timeout: 0.3 });
  const before = sim.received.length;
  sim.mute = true; // the first command hangs until its timeout
  const first = device.command("relay1", "ON").catch((e: unknown) => e);
  const second = device.command("relay2", "ON");
  await linesReceived(sim, before + 1);
  sim.mute = false; // too late for the first: it has already been swallowed
  expect(isHearthError(await first, "DEVICE_COMMAND_TIMEOUT")).toBe(true);
  await second;
  // The second line reached the board only after the first had timed out.
  expect(sim.received.slice(before).map((l) => l.replace(/^\d+ /, ""))).toEqual(["SET r1=1", "SET r2=1"]);
  expect(sim.relay2).toBe(true);
});

test("the board rebooting mid-run is noticed and its reset outputs are read again", async () => {
  const { hub, sim, device } = await board();
  await device.command("relay1", "ON");
  const rebooted = hub.bus.waitFor("device_rebooted", (d) => d.deviceId === "board");
  sim.reboot();
  const event = await rebooted;
  expect(event.data).toMatchObject({ swVersion: "1.0.0", count: 1 });
  await stateOf(hub, "switch.board_relay1", (s) => s.state === "off");
  expect(device.stats.reboots).toBeGreaterThanOrEqual(2); // boot at set-up, and this one
});

test("a board rebooting again within the minute is told once the minute is over, with the count", async () => {
  const clock = new ManualClock(); // drives the events' interval; command timeouts never fire here
  const { hub, sim, device } = await board({}, { clock });
  const events: number[] = [];
  hub.bus.listen(
    "device_rebooted",
    callback((e) => void events.push(e.data.count)),
  );
  const before = device.stats.reboots;
  for (let i = 1; i <= 3; i++) {
    sim.reboot();
    await until(() => device.stats.reboots === before + i);
  }
  expect(device.stats.reboots).toBe(before + 3);
  expect(events).toEqual([1]);
  clock.advance(LOG_INTERVAL_MS);
  expect(events).toEqual([1, 2]);
});

test("starting a running device again starts no second driver or poll task: each line from the board is handled once", async () => {
  const { hub, sim, device } = await board();
  await device.start();
  expect([...hub.backgroundTasks].filter((t) => t.name === "poll board")).toHaveLength(1);
  const before = device.stats.reboots;
  sim.reboot();
  await until(() => device.stats.reboots > before);
  await device.command("relay1", "ON"); // its reply, too, reaches one driver: a second would count it as a stray
  expect(device.stats.reboots).toBe(before + 1);
  expect(device.stats.garbage).toBe(0);
});

test("restarting a device that is not configured is refused with DEVICE_UNKNOWN (an unknown entity is another error)", async () => {
  const { manager, device } = await board();
  const err = await manager.restart("cellar").catch((e: unknown) => e);
  expect(isHearthError(err, "DEVICE_UNKNOWN")).toBe(true);
  expect((err as Error).message).toBe("cellar: no such device");
  const entity = await device.command("relay9", "ON").catch((e: unknown) => e);
  expect(isHearthError(entity, "DEVICE_UNKNOWN_ENTITY")).toBe(true);
});

test("garbage lines are counted and skipped without disturbing the states", async () => {
  const { hub, sim, device } = await board();
  const before = hub.states.get("sensor.board_temperature")!.state;
  sim.sendGarbage("\x00\xff\x13noise\n");
  sim.sendGarbage("T temp\n"); // a report without values is skipped field by field
  sim.sendGarbage("OK 99999 stray=1\n"); // a reply to no command
  await device.command("relay1", "ON"); // the link still works
  expect(device.stats.garbage).toBe(2);
  expect(hub.states.get("sensor.board_temperature")!.state).toBe(before);
});

test("a board that stops answering polls becomes unavailable, and a command then fails fast", async () => {
  const { hub, sim, device } = await board({ timeout: 0.1, poll_interval: 0.05 });
  sim.mute = true;
  sim.stop(); // no telemetry either
  await stateOf(hub, "sensor.board_temperature", (s) => s.state === "unavailable");
  expect(device.available).toBe(false);
  const err = await device.command("relay1", "ON").catch((e: unknown) => e);
  expect(isHearthError(err, "DEVICE_UNAVAILABLE")).toBe(true);
  sim.mute = false;
  sim.start();
  await stateOf(hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
});

test("a hello after what a reset leaves on the line is still a reboot: a bootloader's bytes before it, or the start of a line the reset cut", async () => {
  const { hub, sim, device } = await board();
  const garbage = device.stats.garbage;
  // What an Uno's Optiboot answers to the bytes hearth sent as the port opened (STK500's INSYNC, OK), then the hello.
  // (Reboots within a minute are one event a minute: the version and the count show each at once.)
  const reboots = device.stats.reboots;
  sim.sendGarbage("\x14\x10HELLO hearth-io fw=1.2.3 proto=1\r\n");
  await until(() => device.swVersion === "1.2.3");
  // A report cut by the reset, the hello following on the same line.
  sim.sendGarbage("T temp=21.5 hum=4HELLO hearth-io fw=1.2.4 proto=1\r\n");
  await until(() => device.swVersion === "1.2.4");
  expect(device.stats.reboots).toBe(reboots + 2);
  expect(hub.states.get("sensor.board_firmware")?.state).toBe("1.2.4");
  expect(device.stats.garbage).toBe(garbage);
});
