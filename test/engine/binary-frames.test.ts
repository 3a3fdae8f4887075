/**
 * The binary-frame family through real pseudo-terminals: frames written by the test (or by a model's
 * simulator) reach hearth's device manager over a real serial link. None of the three datasheets shows a
 * whole data frame with values except Nova's (SDS011 control protocol V1.3, its example reply
 * `AA C0 D4 04 3A 0A A1 60 1D AB`); the MH-Z19B's request frames are the user manual v1.0's own, and the
 * PMS5003 frames are built here from the data manual's layout and check code.
 */
import { afterEach, expect, test } from "bun:test";
import type { MhZ19bSimulator } from "../../devices/mh-z19b/simulator.ts";
import { type Pms5003Reading, type Pms5003Simulator, pmsDataFrame } from "../../devices/pms5003/simulator.ts";
import { Sds011Simulator } from "../../devices/sds011/simulator.ts";
import type { DeviceConfig } from "../../src/config/schema.ts";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { until } from "../helpers/until.ts";
import { deviceHub, stateOf } from "./helpers.ts";
import { catalogueWith, modelOf } from "./line-peer.ts";

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const bytes = (s: string) =>
  Uint8Array.from(
    s
      .split(/\s+/)
      .filter(Boolean)
      .map((h) => Number.parseInt(h, 16)),
  );

async function hubWith(device: Partial<DeviceConfig> & { id: string }) {
  const h = await deviceHub([device]);
  stops.push(h.stop);
  return { ...h, device: h.manager.device(device.id)! };
}

/** A sensor played by the test on a pty: hearth has its other end. */
async function onPty(model: string, overrides: Partial<DeviceConfig> = {}) {
  const pty = openPty();
  stops.push(() => pty.close());
  const h = await hubWith({ id: "air", model, port: pty.path, ...overrides });
  return { ...h, pty };
}

/** Writes the pieces one after another, each whole before the next. */
async function writeAll(pty: Pty, pieces: Uint8Array[]): Promise<void> {
  for (const piece of pieces) await pty.write(piece);
}

const state = (hub: { states: { get(id: string): { state: string } | undefined } }, id: string) => hub.states.get(id)?.state;

const reading = (pm25: number, extra: Partial<Pms5003Reading> = {}): Pms5003Reading => ({
  pm1Cf1: pm25 - 2,
  pm25Cf1: pm25,
  pm10Cf1: pm25 + 3,
  pm1: pm25 - 1,
  pm25,
  pm10: pm25 + 4,
  counts: [1500, 420, 80, 9, 3, 1],
  ...extra,
});

test("the MH-Z19B is polled with the manual's read command, FF 01 86 00 00 00 00 00 79, and its reply's bytes 2–3 are the CO2", async () => {
  const { hub, ports, device } = await hubWith({ id: "co2", model: "mh-z19b", port: "sim", options: { co2: 1234 }, poll_interval: 0.05 });
  const sim = ports.simulators.get("co2")!.simulator as MhZ19bSimulator;
  await stateOf(hub, "sensor.co2_co2", (s) => s.state === "1234");
  expect(sim.requests[0]).toBe("FF 01 86 00 00 00 00 00 79");
  sim.co2 = 415;
  await stateOf(hub, "sensor.co2_co2", (s) => s.state === "415");
  expect(device.stats.garbage).toBe(0);
});

test("the MH-Z19B's buttons send the manual's frames: zero point FF 01 87 … 78, automatic baseline correction off FF 01 79 … 86 and on FF 01 79 A0 … E6", async () => {
  const { hub, ports, device } = await hubWith({ id: "co2", model: "mh-z19b", port: "sim", options: {}, poll_interval: 60 });
  const sim = ports.simulators.get("co2")!.simulator as MhZ19bSimulator;
  await stateOf(hub, "sensor.co2_co2", (s) => s.state === "612");
  await device.command("zero_point_calibration", "PRESS");
  await device.command("abc_off", "PRESS");
  await until(() => sim.requests.length >= 3, "the sensor got three requests");
  expect(sim.calibrations).toBe(1);
  expect(sim.abc).toBe(false);
  await device.command("abc_on", "PRESS");
  await until(() => sim.abc, "automatic baseline correction is on again");
  expect(sim.requests.slice(1)).toEqual(["FF 01 87 00 00 00 00 00 78", "FF 01 79 00 00 00 00 00 86", "FF 01 79 A0 00 00 00 00 E6"]);
});

test("an MH-Z19B that stops answering is unavailable after three polls, and available again when it answers", async () => {
  const { hub, ports, device } = await hubWith({ id: "co2", model: "mh-z19b", port: "sim", options: {}, poll_interval: 0.05, timeout: 0.1 });
  const sim = ports.simulators.get("co2")!.simulator as MhZ19bSimulator;
  await stateOf(hub, "sensor.co2_co2", (s) => s.state === "612");
  sim.silent = true;
  await stateOf(hub, "sensor.co2_co2", (s) => s.state === "unavailable");
  expect(device.unavailableReason).toContain("3 exchanges in a row got no answer");
  sim.silent = false;
  await stateOf(hub, "sensor.co2_co2", (s) => s.state === "612");
});

test("an MH-Z19B whose every answer fails its checksum is unavailable, each answer counted as garbage with its reason", async () => {
  const { hub, ports, device, logs } = await hubWith({ id: "co2", model: "mh-z19b", port: "sim", options: {}, poll_interval: 0.05, timeout: 0.1 });
  const sim = ports.simulators.get("co2")!.simulator as MhZ19bSimulator;
  await stateOf(hub, "sensor.co2_co2", (s) => s.state === "612");
  sim.corrupt = true;
  sim.co2 = 2000; // never seen: no corrupt answer is read
  await stateOf(hub, "sensor.co2_co2", (s) => s.state === "unavailable");
  expect(device.stats.garbage).toBeGreaterThanOrEqual(3);
  // FF 86 07 D0 40 00 00 00: the check value is 0xFF - (0x86+0x07+0xD0+0x40) + 1 = 0x63; the sensor sent 0x64.
  expect(logs.find("Skipped a frame")[0]?.why).toBe("bad checksum: expected 0x64, computed 0x63");
  sim.corrupt = false;
  await stateOf(hub, "sensor.co2_co2", (s) => s.state === "2000");
});

test("PMS5003 frames split inside the header, one byte at a time, with garbage between and the header's bytes inside a payload, are all read", async () => {
  const { hub, pty, device } = await onPty("pms5003");
  const first = pmsDataFrame(reading(12));
  // A count of 0x424D (16973) puts the header's two bytes inside the payload.
  const second = pmsDataFrame(reading(35, { counts: [0x424d, 0x4d42, 80, 9, 3, 1] }));
  const third = pmsDataFrame(reading(57));
  await writeAll(pty, [first.subarray(0, 1), first.subarray(1)]); // cut between 0x42 and 0x4D
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "12");
  expect(state(hub, "sensor.air_pm1")).toBe("11");
  expect(state(hub, "sensor.air_pm10")).toBe("16");
  expect(state(hub, "sensor.air_particles_0_3um")).toBe("1500");
  await writeAll(pty, [bytes("00 13 42 99 FE"), ...[...second].map((b) => Uint8Array.of(b))]);
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "35");
  expect(state(hub, "sensor.air_particles_0_3um")).toBe(String(0x424d));
  expect(state(hub, "sensor.air_particles_0_5um")).toBe(String(0x4d42));
  await writeAll(pty, [bytes("42"), third]); // a lone 0x42 just before a header
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "57");
  // The noise before the second frame (5 bytes) and the lone 0x42 were each counted once; no frame was lost.
  expect(device.stats.garbage).toBe(2);
});

test("a PMS5003 frame failing its check is dropped whole and counted, the previous values kept, and the good frame inside it is not lost", async () => {
  const { hub, pty, device, logs } = await onPty("pms5003");
  await pty.write(pmsDataFrame(reading(20)));
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "20");
  const bad = pmsDataFrame(reading(90));
  bad[13] = 91; // PM2.5 90 (0x5A) → 91 in transit; the check no longer matches
  const good = pmsDataFrame(reading(44));
  // The corrupt frame is cut short by a good one starting inside it: 20 bytes of it, then the good frame.
  await pty.write(Uint8Array.from([...bad.subarray(0, 20), ...good]));
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "44");
  await pty.write(bad); // whole this time
  // The cut-short frame and the whole corrupt one; the good frame's bytes inside the first were not counted again.
  await until(() => device.stats.garbage === 2, "the corrupt frames counted");
  expect(state(hub, "sensor.air_pm25")).toBe("44"); // the last good reading stays
  expect(state(hub, "sensor.air_pm10")).toBe("48");
  await pty.write(pmsDataFrame(reading(45)));
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "45");
  expect(device.stats.garbage).toBe(2);
  const whys = logs.find("Skipped a frame").map((l) => l.why);
  expect(whys).toContain(
    `bad checksum: expected 0x${((bad[30]! << 8) | bad[31]!).toString(16).toUpperCase().padStart(4, "0")}, computed 0x${(((bad[30]! << 8) | bad[31]!) + 1).toString(16).toUpperCase().padStart(4, "0")}`,
  );
  // No reading ever came from a corrupt frame.
  expect(logs.lines.some((l) => JSON.stringify(l).includes('"91"'))).toBe(false);
});

test("a PMS5003 length field beyond its 32 bytes is a corrupt frame, and the next frame is read", async () => {
  const { hub, pty, device } = await onPty("pms5003");
  await pty.write(Uint8Array.from([0x42, 0x4d, 0xff, 0x1c, ...pmsDataFrame(reading(8))]));
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "8");
  expect(device.stats.garbage).toBe(1);
});

test("the PMS5003 simulator streams in active mode; a sensor that falls silent is unavailable after three poll intervals", async () => {
  const { hub, ports, device } = await hubWith({ id: "air", model: "pms5003", port: "sim", options: { interval: 20, pm25: 30 }, poll_interval: 0.1, timeout: 0.1 });
  const sim = ports.simulators.get("air")!.simulator as Pms5003Simulator;
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "30");
  expect(state(hub, "sensor.air_pm10")).toBe("39");
  sim.stop();
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "unavailable");
  expect(device.unavailableReason).toContain("3 exchanges in a row");
  sim.start();
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "30");
});

test("a streaming PMS5003 that sends only corrupt frames is unavailable too", async () => {
  const { hub, pty, device } = await onPty("pms5003", { poll_interval: 0.1, timeout: 0.1 });
  await pty.write(pmsDataFrame(reading(5)));
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "5");
  const bad = pmsDataFrame(reading(6));
  bad[31] = bad[31]! ^ 0xff;
  const noise = setInterval(() => void pty.write(bad), 20);
  stops.push(async () => clearInterval(noise));
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "unavailable");
  expect(device.stats.garbage).toBeGreaterThan(3);
});

test("the passive PMS5003 model sets passive mode and reads at each poll, 42 4D E1 00 00 01 70 and 42 4D E2 00 00 01 71; the sensor's answer to the mode command is no garbage", async () => {
  const { hub, ports, device } = await hubWith({ id: "air", model: "pms5003-passive", port: "sim", options: { interval: 20, pm25: 17 }, poll_interval: 0.05 });
  const sim = ports.simulators.get("air")!.simulator as Pms5003Simulator;
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "17");
  expect(sim.mode).toBe("passive");
  expect(sim.commands.slice(0, 2)).toEqual(["42 4D E1 00 00 01 70", "42 4D E2 00 00 01 71"]);
  sim.setPm25(23);
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "23");
  expect(device.stats.garbage).toBe(0);
});

test("the SDS011 control protocol's example reply AA C0 D4 04 3A 0A A1 60 1D AB reads PM2.5 123.6 and PM10 261.8 µg/m³", async () => {
  const { hub, pty, device, logs } = await onPty("sds011");
  const example = bytes("AA C0 D4 04 3A 0A A1 60 1D AB");
  await writeAll(pty, [example.subarray(0, 4), example.subarray(4)]);
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "123.6");
  expect(state(hub, "sensor.air_pm10")).toBe("261.8");
  expect(state(hub, "sensor.air_device_id")).toBe(String(0xa160));
  // The same frame with a wrong tail, then with a wrong check: both dropped, the values kept.
  await pty.write(bytes("AA C0 00 01 00 01 A1 60 03 00 AA C0 00 01 00 01 A1 60 04 AB"));
  await until(() => device.stats.garbage === 2, "two bad frames counted");
  expect(logs.find("Skipped a frame").map((l) => l.why)).toEqual(["bad tail: expected 0xAB, got 0x00", "bad checksum: expected 0x04, computed 0x03"]);
  await pty.write(bytes("AA C0 64 00 C8 00 A1 60 2D AB")); // 10.0 and 20.0 µg/m³
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "10.0");
  expect(state(hub, "sensor.air_pm10")).toBe("20.0");
});

test("the SDS011 simulator streams its readings", async () => {
  const { hub, device } = await hubWith({ id: "air", model: "sds011", port: "sim", options: { interval: 20, pm25: 7.3, pm10: 11.9 } });
  await stateOf(hub, "sensor.air_pm25", (s) => s.state === "7.3");
  expect(state(hub, "sensor.air_pm10")).toBe("11.9");
  expect(device.stats.garbage).toBe(0);
});

test("a user's model of the SDS011 in query mode sends the protocol's query, AA B4 04 … FF FF 02 AB, at each poll and reads the answer", async () => {
  const model = modelOf(`
model: sds011-query
name: SDS011 (query mode)
manufacturer: Nova Fitness
protocol: binary
binary:
  header: "AA"
  length: 10
  tail: "AB"
  checksum: { algorithm: sum8, from: 2 }
  report: { at: 1, bytes: "C0" }
  poll: "AA B4 04 00 00 00 00 00 00 00 00 00 00 00 00 FF FF"
entities:
  - { key: pm25, kind: sensor, unit: "µg/m³", device_class: pm25, precision: 1, field: { at: 2, type: uint16, order: little, scale: 0.1 } }
`);
  const pty = openPty();
  stops.push(() => pty.close());
  const received: number[] = [];
  // The simulator on the test's pty, never started (so it streams nothing): it only answers queries.
  const sensor = new Sds011Simulator({ write: (b) => pty.write(b) }, { pm25: 42.1 });
  const unlisten = pty.listen({
    data: (chunk) => {
      received.push(...chunk);
      sensor.receive(chunk);
    },
    error: () => {},
  });
  stops.push(async () => unlisten());
  const h = await deviceHub([{ id: "air", model: "sds011-query", port: pty.path, poll_interval: 0.05 }], { catalogue: catalogueWith(model) });
  stops.push(h.stop);
  await stateOf(h.hub, "sensor.air_pm25", (s) => s.state === "42.1");
  expect(sensor.queries).toBeGreaterThanOrEqual(1);
  expect(received.slice(0, 19)).toEqual([...bytes("AA B4 04 00 00 00 00 00 00 00 00 00 00 00 00 FF FF 02 AB")]);
});
