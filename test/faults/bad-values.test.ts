import { afterEach, expect, test } from "bun:test";
import type { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { deviceHub, stateOf } from "../engine/helpers.ts";

// Issue 12: a bad value wiped the last good reading (`T temp=abc` → null), `up=-5` was accepted, and
// `led=999999` silently became 255.

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function board() {
  const h = await deviceHub([{ id: "board" }]);
  stops.push(h.stop);
  await stateOf(h.hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
  const sim = h.ports.simulators.get("board")!.simulator as HearthIoSimulator;
  return { ...h, sim, device: h.manager.device("board")! };
}

test("unparsable and out-of-range readings are counted and skipped; each entity keeps its last good state", async () => {
  const { hub, sim, device } = await board();
  const state = (id: string) => hub.states.get(id)?.state;
  const before = { temperature: state("sensor.board_temperature"), uptime: state("sensor.board_uptime"), led: hub.states.get("light.board_led") };
  expect(before.temperature).toBe("21.5");
  sim.sendGarbage("T temp=abc\n"); // not a number
  sim.sendGarbage("T temp=150.0\n"); // beyond what the sensor can read (−40 to 80 °C)
  sim.sendGarbage("T up=-5\n"); // an uptime is never negative
  sim.sendGarbage("T led=999999\n"); // the LED's brightness is 0–255
  sim.sendGarbage("T r1=2\n"); // a relay is 0 or 1
  sim.sendGarbage("T hum=50.0\n"); // a good one, to know the others were handled
  await stateOf(hub, "sensor.board_humidity", (s) => s.state === "50.0");
  expect(state("sensor.board_temperature")).toBe(before.temperature!);
  expect(state("sensor.board_uptime")).toBe(before.uptime!);
  expect(hub.states.get("light.board_led")?.state).toBe(before.led!.state);
  expect(hub.states.get("light.board_led")?.attributes.brightness).toBe(before.led!.attributes.brightness);
  expect(state("switch.board_relay1")).toBe("off");
  expect(device.stats.badValues).toBe(5);
});

test("a device's `nan` is still no reading: the state becomes unknown, and it is not counted as bad", async () => {
  const { hub, sim, device } = await board();
  sim.sendGarbage("T temp=nan\n");
  await stateOf(hub, "sensor.board_temperature", (s) => s.state === "unknown");
  expect(device.stats.badValues).toBe(0);
});

test("a command out of range is refused with a clear error, not clamped, and nothing is written", async () => {
  const { sim, device } = await board();
  const before = sim.received.length;
  const err = await device.command("led", { state: "ON", brightness: 999999 }).catch((e: unknown) => e);
  expect(isHearthError(err, "COMMAND_INVALID")).toBe(true);
  expect((err as Error).message).toContain("0-255");
  expect(sim.received.length).toBe(before);
  expect(sim.led).toBe(0);
});
