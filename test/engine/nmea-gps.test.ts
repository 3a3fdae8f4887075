import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import type { NmeaGpsSimulator } from "../../devices/nmea-gps/simulator.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { nmeaLine, parseSentence } from "../../src/engine/nmea/sentence.ts";
import { deviceHub, stateOf } from "./helpers.ts";

const captures = join(import.meta.dir, "../../devices/nmea-gps/captures");
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function receiver(options: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const h = await deviceHub([{ id: "gps", model: "nmea-gps", port: "sim", options, ...overrides }]);
  stops.push(h.stop);
  const sim = h.ports.simulators.get("gps")!.simulator as NmeaGpsSimulator;
  return { ...h, sim, device: h.manager.device("gps")! };
}

const state = (hub: { states: { get(id: string): { state: string } | undefined } }, key: string) => hub.states.get(`sensor.gps_${key}`)?.state;

test("a replayed BU-353-S4 capture ends at its last fix: 37°47.0877'S 175°18.8941'E, 60.2 m, 7 satellites used", async () => {
  const { hub, device } = await receiver({ capture: join(captures, "bu353s4.log"), chunk: 29 });
  // The capture's last RMC is at 03:07:43 UTC on 31 Dec 2014; the GGA of the same second precedes it.
  await stateOf(hub, "sensor.gps_utc_time", (s) => s.state === "2014-12-31T03:07:43.000Z");
  expect(state(hub, "latitude")).toBe((-(37 + 47.0877 / 60)).toFixed(6));
  expect(state(hub, "longitude")).toBe((175 + 18.8941 / 60).toFixed(6));
  expect(state(hub, "altitude")).toBe("60.2");
  expect(state(hub, "satellites_used")).toBe("7");
  expect(state(hub, "satellites_in_view")).toBe("12");
  expect(state(hub, "fix_quality")).toBe("gps");
  expect(state(hub, "hdop")).toBe("1.10");
  expect(state(hub, "speed")).toBe("0.0");
  expect(state(hub, "course")).toBe("181.4");
  // The position for Home Assistant's map: gps_accuracy is the fix's HDOP (1.1) × 5 m.
  const location = hub.states.get("device_tracker.gps_location")!;
  expect(location.attributes.latitude).toBeCloseTo(-37.784795, 6);
  expect(location.attributes.longitude).toBeCloseTo(175.314902, 6);
  expect(location.attributes.gps_accuracy).toBe(5.5);
  expect(location.attributes.source_type).toBe("gps");
  // Every sentence of a real receiver passes its checksum, though the reads split them anywhere.
  expect(device.stats.garbage).toBe(0);
  expect(device.available).toBe(true);
});

test("a replayed BU-353 GLONASS capture ends without a fix, reported as no fix and not as zeros", async () => {
  const { hub, device } = await receiver({ capture: join(captures, "bu353-glonass.log"), chunk: 41 });
  await stateOf(hub, "sensor.gps_utc_time", (s) => s.state === "2014-05-26T08:14:29.000Z");
  expect(state(hub, "fix_quality")).toBe("no fix");
  expect(state(hub, "satellites_used")).toBe("0");
  for (const key of ["latitude", "longitude", "altitude", "speed", "course", "hdop"]) expect(state(hub, key)).toBe("unknown");
  expect(hub.states.get("device_tracker.gps_location")?.state).toBe("unknown");
  expect(device.stats.garbage).toBe(0);
});

test("a replayed u-blox NEO-M8N capture gives a western, northern fix from GN sentences, with VTG speed", async () => {
  const { hub, device } = await receiver({ capture: join(captures, "neo-m8n.log"), chunk: 64 });
  await stateOf(hub, "sensor.gps_utc_time", (s) => s.state === "2015-03-18T17:19:48.000Z");
  await stateOf(hub, "sensor.gps_altitude", (s) => s.state === "1139.4");
  expect(state(hub, "latitude")).toBe((44 + 4.13902 / 60).toFixed(6));
  expect(state(hub, "longitude")).toBe((-(121 + 18.85371 / 60)).toFixed(6));
  expect(state(hub, "satellites_used")).toBe("12");
  expect(state(hub, "speed")).toBe("0.1"); // VTG's 0.109 km/h
  // GPS and GLONASS satellites in view together (GPGSV and GLGSV).
  expect(Number(state(hub, "satellites_in_view"))).toBeGreaterThan(10);
  expect(device.stats.garbage).toBe(0);
});

test("the simulated receiver loses its fix and regains it", async () => {
  const { hub, sim } = await receiver({ interval: 50 });
  await stateOf(hub, "sensor.gps_fix_quality", (s) => s.state === "gps");
  expect(Number(state(hub, "latitude"))).toBeCloseTo(sim.latitude, 5);
  sim.loseFix();
  await stateOf(hub, "sensor.gps_fix_quality", (s) => s.state === "no fix");
  await stateOf(hub, "sensor.gps_latitude", (s) => s.state === "unknown");
  await stateOf(hub, "device_tracker.gps_location", (s) => s.state === "unknown");
  sim.latitude = 51.5;
  sim.longitude = -0.125;
  sim.regainFix();
  await stateOf(hub, "sensor.gps_latitude", (s) => s.state === "51.500000");
  await stateOf(hub, "sensor.gps_longitude", (s) => s.state === "-0.125000");
  expect(state(hub, "fix_quality")).toBe("gps");
});

test("a sentence with a bad checksum or a malformed field is counted and dropped, never a wrong position", async () => {
  const { hub, sim, device } = await receiver({ interval: 60_000 });
  await stateOf(hub, "sensor.gps_latitude", (s) => s.state === "-37.784795");
  const good = nmeaLine("GPGGA,120000.000,5130.0000,N,00007.5000,W,1,09,0.9,11.0,M,47.0,M,,0000");
  sim.sendRaw(good.replace("5130.0000", "5230.0000")); // one digit changed in transit: checksum fails
  sim.sendRaw(nmeaLine("GPGGA,120000.000,51X0.0000,N,00007.5000,W,1,09,0.9,11.0,M,47.0,M,,0000")); // checksum fine, field not
  sim.sendRaw(nmeaLine("GPRMC,120000.000,A,9930.0000,N,00007.5000,W,0.0,0.0,251126,,,A")); // latitude beyond 90°
  sim.sendRaw("$GPGGA,no checksum at all\r\n");
  sim.sendRaw(good);
  await stateOf(hub, "sensor.gps_latitude", (s) => s.state === "51.500000");
  expect(device.stats.garbage).toBe(4);
});

test("a receiver that falls silent becomes unavailable, and available again when it speaks", async () => {
  const { hub, sim, device } = await receiver({ interval: 20 }, { poll_interval: 0.05, timeout: 0.05 });
  await stateOf(hub, "sensor.gps_latitude", (s) => s.state !== "unavailable" && s.state !== "unknown");
  sim.stop();
  await stateOf(hub, "sensor.gps_latitude", (s) => s.state === "unavailable");
  expect(device.available).toBe(false);
  sim.start();
  await stateOf(hub, "sensor.gps_latitude", (s) => s.state === "-37.784795");
  expect(device.available).toBe(true);
});

test("a receiver takes no commands", async () => {
  const { hub, device } = await receiver({ interval: 60_000 });
  await stateOf(hub, "sensor.gps_latitude", (s) => s.state === "-37.784795");
  const err = await device.command("latitude", 1).catch((e: unknown) => e);
  expect(isHearthError(err)).toBe(true);
});

test("checksums are the XOR of the characters between $ and *", () => {
  const parsed = parseSentence("$GPGGA,030743.000,3747.0877,S,17518.8941,E,1,07,1.1,60.2,M,23.7,M,,0000*76");
  expect(parsed.ok && parsed.sentence.talker).toBe("GP");
  expect(parseSentence("$GPGGA,030743.000,3747.0877,S,17518.8941,E,1,07,1.1,60.2,M,23.7,M,,0000*77").ok).toBe(false);
  expect(nmeaLine("GPGGA,030743.000,3747.0877,S,17518.8941,E,1,07,1.1,60.2,M,23.7,M,,0000")).toEndWith("*76\r\n");
});
