import { afterEach, expect, test } from "bun:test";
import type { NmeaGpsSimulator } from "../../devices/nmea-gps/simulator.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { callback } from "../../src/core/job.ts";
import { nmeaLine } from "../../src/engine/nmea/sentence.ts";
import { createFramer } from "../../src/serial/framing/framer.ts";
import { deviceHub, stateOf } from "../engine/helpers.ts";

// Issue 12: the 256-byte line limit only applied when a line arrived in pieces: a 1,000-byte line
// written at once was accepted.

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

test("a 1,000-byte sentence written at once to a GPS receiver is skipped and counted, never read", async () => {
  const h = await deviceHub([{ id: "gps", model: "nmea-gps", port: "sim", options: { interval: 60_000 } }]);
  stops.push(h.stop);
  const sim = h.ports.simulators.get("gps")!.simulator as NmeaGpsSimulator;
  const device = h.manager.device("gps")!;
  await stateOf(h.hub, "sensor.gps_latitude", (s) => s.state === "-37.784795");
  const seen: string[] = [];
  h.hub.bus.listen(
    "state_changed",
    callback((e) => void (e.data.entityId === "sensor.gps_latitude" && seen.push(e.data.newState?.state ?? ""))),
  );
  // A well-formed sentence with a valid checksum, padded to 1,000 bytes by a latitude of many zeros: 48°07.038' N.
  const long = nmeaLine(`GPGGA,120000.000,4807.038${"0".repeat(930)},N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,`);
  expect(long.length).toBeGreaterThanOrEqual(1000);
  sim.sendRaw(long);
  sim.sendRaw(nmeaLine("GPGGA,120001.000,5130.0000,N,00007.5000,W,1,09,0.9,11.0,M,47.0,M,,0000"));
  await stateOf(h.hub, "sensor.gps_latitude", (s) => s.state === "51.500000");
  expect(seen).not.toContain("48.117300");
  expect(device.stats.tooLong).toBe(1);
  expect(device.stats.garbage).toBe(0); // it never reached the driver
});

test("the delimiter framer's limit holds however the bytes arrive, and each over-long line is counted", () => {
  const line = `${"x".repeat(1000)}\n`;
  for (const chunks of [[line], [line.slice(0, 200), line.slice(200)], [line.slice(0, 250), line.slice(250, 300), line.slice(300)]]) {
    const frames: string[] = [];
    const framer = createFramer({ kind: "delimiter", delimiter: "\n", maxLength: 256 }, (f) => frames.push(new TextDecoder().decode(f)), {
      clock: new ManualClock(),
      characterMs: 1,
    });
    for (const c of [...chunks, "ok\n"]) framer.push(new TextEncoder().encode(c));
    expect(frames).toEqual(["ok"]);
    expect(framer.dropped).toBe(1);
  }
});
