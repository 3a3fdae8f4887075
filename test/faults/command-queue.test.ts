import { afterEach, expect, test } from "bun:test";
import type { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { MISSED_EXCHANGES_UNAVAILABLE } from "../../src/engine/device.ts";
import { deviceHub, stateOf } from "../engine/helpers.ts";

// Issue 12, defect 7: with the board silent, 30 queued TOGGLEs delayed its going offline from 17.7 s
// to 75.8 s, because the polls waited behind commands that each took the full timeout.

const TIMEOUT = 0.3;
const POLL_INTERVAL = 0.3;
/** Longest a silent board may take to go offline: the polls that must fail, each after its (jittered) interval and timeout, and one more of each for slack. */
const OFFLINE_BOUND = (MISSED_EXCHANGES_UNAVAILABLE + 1) * (POLL_INTERVAL * 1.1 + TIMEOUT);

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function boards(ids: string[]) {
  const h = await deviceHub(ids.map((id) => ({ id, timeout: TIMEOUT, poll_interval: POLL_INTERVAL })));
  stops.push(h.stop);
  for (const id of ids) await stateOf(h.hub, `sensor.${id}_temperature`, (s) => s.state !== "unavailable");
  return h;
}

/** The board stops answering: commands are swallowed and no telemetry comes. */
function silence(sim: HearthIoSimulator): void {
  sim.mute = true;
  sim.stop();
}

test("a silent board with 30 queued commands goes offline about as fast as one with none, and every command is answered", async () => {
  const h = await boards(["idle", "busy"]);
  const idle = h.manager.device("idle")!;
  const busy = h.manager.device("busy")!;
  const started = performance.now();
  silence(h.ports.simulators.get("idle")!.simulator as HearthIoSimulator);
  silence(h.ports.simulators.get("busy")!.simulator as HearthIoSimulator);
  const answers = Array.from({ length: 30 }, () =>
    busy.command("relay1", "TOGGLE").then(
      () => "ok",
      (err: unknown) => (isHearthError(err) ? err.code : String(err)),
    ),
  );
  const answered = Promise.all(answers).then((codes) => ({ codes, seconds: (performance.now() - started) / 1000 }));
  const offline = async (id: string) => {
    await stateOf(h.hub, `sensor.${id}_temperature`, (s) => s.state === "unavailable", 60_000);
    return (performance.now() - started) / 1000;
  };
  const [idleSeconds, busySeconds] = await Promise.all([offline("idle"), offline("busy")]);
  console.log(`time to offline: ${idleSeconds.toFixed(2)} s with no command queued, ${busySeconds.toFixed(2)} s with 30 (bound ${OFFLINE_BOUND.toFixed(2)} s)`);
  expect(idleSeconds).toBeLessThan(OFFLINE_BOUND);
  expect(busySeconds).toBeLessThan(OFFLINE_BOUND);
  // Every command got its answer, and none after the board was known to be offline waited for a timeout of its own.
  const { codes, seconds: answeredIn } = await answered;
  expect(answeredIn).toBeLessThan(busySeconds + TIMEOUT);
  expect(codes.filter((c) => c === "ok")).toEqual([]);
  expect(codes.every((c) => ["DEVICE_BUSY", "DEVICE_COMMAND_TIMEOUT", "DEVICE_UNAVAILABLE"].includes(c))).toBe(true);
  expect(codes.filter((c) => c === "DEVICE_COMMAND_TIMEOUT").length).toBeLessThanOrEqual(MISSED_EXCHANGES_UNAVAILABLE);
  expect(idle.available).toBe(false);
}, 120_000);

test("a command beyond the device's queue is refused at once with DEVICE_BUSY, saying the queue is full", async () => {
  const h = await boards(["board"]);
  const device = h.manager.device("board")!;
  (h.ports.simulators.get("board")!.simulator as HearthIoSimulator).mute = true;
  const queued = Array.from({ length: device.queueLimit }, () => device.command("relay1", "TOGGLE").catch((e: unknown) => e));
  const started = performance.now();
  const refused = await device.command("relay1", "TOGGLE").catch((e: unknown) => e);
  expect((performance.now() - started) / 1000).toBeLessThan(TIMEOUT);
  expect(isHearthError(refused, "DEVICE_BUSY")).toBe(true);
  expect((refused as Error).message).toContain(`queue is full (${device.queueLimit} commands`);
  await Promise.all(queued);
}, 60_000);
