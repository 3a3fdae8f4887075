import { afterEach, expect, test } from "bun:test";
import type { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import { logStateChanges } from "../../src/engine/state-log.ts";
import { deviceHub, stateOf } from "../engine/helpers.ts";

// Issue 12: a 64 KiB bad value made log lines of 160 KB (4.9 MB of log for the whole probe).

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** The longest a log line may be when it quotes what a device sent: the clipped value and the line's own fields. */
const MAX_LOG_LINE = 2000;

test("huge values from a device are cut in every log line that quotes them", async () => {
  const h = await deviceHub([{ id: "board" }]);
  stops.push(h.stop);
  stops.push(async () => unlisten());
  const unlisten = logStateChanges({ hub: h.hub, log: h.hub.log, entities: h.manager.entities });
  await stateOf(h.hub, "sensor.board_temperature", (s) => s.state !== "unavailable");
  const sim = h.ports.simulators.get("board")!.simulator as HearthIoSimulator;
  const huge = "9".repeat(60_000); // under the line limit of the link, so each reaches the driver
  sim.sendGarbage(`T temp=${huge}\n`);
  sim.sendGarbage(`T temp=x${huge}\n`);
  sim.sendGarbage(`ERR - bad_value ${huge}\n`);
  sim.sendGarbage(`ERR ${huge} bad_value x\n`);
  sim.sendGarbage(`HELLO hearth-io fw=${huge} proto=1\n`);
  sim.sendGarbage(`${huge}\n`);
  sim.sendGarbage("T hum=50.0\n");
  await stateOf(h.hub, "sensor.board_humidity", (s) => s.state === "50.0");
  const longest = Math.max(...h.logs.lines.map((l) => JSON.stringify(l).length));
  expect(longest).toBeLessThan(MAX_LOG_LINE);
  // A command's error quotes what it was sent, and a bridge reply or a log line quotes the error.
  const err = await h.manager
    .device("board")!
    .command("relay1", huge)
    .catch((e: Error) => e);
  expect(String((err as Error).message).length).toBeLessThan(MAX_LOG_LINE);
});
