import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DsmrP1Simulator } from "../../devices/dsmr-p1/simulator.ts";
import { crc16Arc, telegramBytes } from "../../src/engine/telegram/crc.ts";
import { until } from "../helpers/until.ts";
import { deviceHub, stateOf } from "./helpers.ts";

const captures = join(import.meta.dir, "../../devices/dsmr-p1/captures");
const KAIFA = join(captures, "kaifa-dsmr42.txt");
const ISKRA = join(captures, "iskra-dsmr50.txt");
const kaifa = new Uint8Array(readFileSync(KAIFA));
const iskra = new Uint8Array(readFileSync(ISKRA));

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function meter(options: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  const h = await deviceHub([{ id: "meter", model: "dsmr-p1", port: "sim", options, ...overrides }]);
  stops.push(h.stop);
  const sim = h.ports.simulators.get("meter")!.simulator as DsmrP1Simulator;
  return { ...h, sim, device: h.manager.device("meter")! };
}

const state = (hub: { states: { get(id: string): { state: string } | undefined } }, key: string) => hub.states.get(`sensor.meter_${key}`)?.state;

/** Offsets in `bytes` just after each of `marks` (text found in it), plus `shift`. */
function cutsAt(bytes: Uint8Array, marks: Array<[string, number]>): number[] {
  const b = Buffer.from(bytes);
  return marks.map(([text, shift]) => {
    const at = b.indexOf(text);
    if (at < 0) throw new Error(`${text} not in the telegram`);
    return at + shift;
  });
}

test("the Kaifa DSMR 4.2 telegram, cut inside an OBIS line, between ! and its CRC and between CR and LF, reads as its README says", async () => {
  const cuts = cutsAt(kaifa, [
    ["1-0:1.8.1(0015", 14], // inside the tariff-1 reading
    ["1-0:51.7.0(006*A)\r", 18], // between CR and LF
    ["!6796", 1], // between ! and the CRC
    ["!6796\r", 6], // between the CRC's CR and LF
  ]);
  const { hub, device } = await meter({ capture: KAIFA, cuts });
  await stateOf(hub, "sensor.meter_gas", (s) => s.state === "981.443");
  expect(state(hub, "energy_delivered_tariff1")).toBe("1581.123");
  expect(state(hub, "energy_delivered_tariff2")).toBe("1435.706");
  expect(state(hub, "energy_returned_tariff1")).toBe("0.000");
  expect(state(hub, "power_delivered")).toBe("2027"); // 02.027 kW, published in W
  expect(state(hub, "current_l2")).toBe("6");
  expect(state(hub, "power_delivered_l2")).toBe("1247");
  expect(state(hub, "tariff")).toBe("2");
  expect(state(hub, "dsmr_version")).toBe("42");
  expect(state(hub, "meter_time")).toBe("2016-11-13T20:57:57+01:00");
  // The gas meter's own reading time, winter time (W): 2016-11-29 20:00 in the Netherlands.
  expect(hub.states.get("sensor.meter_gas")!.attributes.timestamp).toBe("2016-11-29T20:00:00+01:00");
  // Not in a DSMR 4.2 telegram: left unknown, never zero.
  expect(state(hub, "voltage_l1")).toBe("unknown");
  expect(state(hub, "water")).toBe("unknown");
  expect(device.swVersion).toBe("DSMR 4.2");
  expect(device.stats.garbage).toBe(0);
  expect(device.stats.badValues).toBe(0);
});

test("the Iskra DSMR 5.0 telegram, cut inside a voltage, between CR and LF, inside the gas line and inside its CRC, reads as its README says", async () => {
  const cuts = cutsAt(iskra, [
    ["1-0:32.7.0(02", 13],
    ["1-0:72.7.0(0229.0*V)\r", 21],
    ["0-1:24.2.1(", 11],
    ["!", 1],
    ["!6EEE", 3],
  ]);
  const { hub, device } = await meter({ capture: ISKRA, cuts });
  await stateOf(hub, "sensor.meter_gas", (s) => s.state === "0.107");
  expect(state(hub, "energy_delivered_tariff1")).toBe("4.426");
  expect(state(hub, "energy_returned_tariff1")).toBe("2.444");
  expect([state(hub, "voltage_l1"), state(hub, "voltage_l2"), state(hub, "voltage_l3")]).toEqual(["230.0", "230.0", "229.0"]);
  expect(state(hub, "power_delivered")).toBe("244");
  expect(state(hub, "current_l3")).toBe("0.86");
  expect(device.swVersion).toBe("DSMR 5.0");
  expect(device.stats.garbage).toBe(0);
});

test("a telegram with one digit changed fails its CRC: dropped whole and counted with the reason, the previous values kept", async () => {
  const { hub, sim, device, logs } = await meter({ capture: KAIFA });
  await stateOf(hub, "sensor.meter_energy_delivered_tariff1", (s) => s.state === "1581.123");
  const bad = Buffer.from(kaifa).toString("latin1").replace("1-0:1.8.1(001581.123*kWh)", "1-0:1.8.1(001591.123*kWh)").replace("1-0:1.7.0(02.027*kW)", "1-0:1.7.0(09.027*kW)");
  await sim.play(new Uint8Array(Buffer.from(bad, "latin1")), []);
  await until(() => device.stats.garbage === 1, "the corrupt telegram counted");
  const why = logs.find("Skipped a frame")[0]?.why as string;
  expect(why).toMatch(/^bad CRC: expected 6796, computed [0-9A-F]{4}$/);
  expect(why).not.toBe("bad CRC: expected 6796, computed 6796");
  expect(state(hub, "energy_delivered_tariff1")).toBe("1581.123");
  expect(state(hub, "power_delivered")).toBe("2027");
  // The next good telegram is read as usual.
  await sim.play(iskra, [100]);
  await stateOf(hub, "sensor.meter_energy_delivered_tariff1", (s) => s.state === "4.426");
  expect(device.stats.garbage).toBe(1);
});

test("noise between telegrams and a telegram cut short by the next one's / are skipped and counted; the whole telegrams are read", async () => {
  const { hub, sim, device } = await meter({ capture: KAIFA });
  await stateOf(hub, "sensor.meter_gas", (s) => s.state === "981.443");
  const head = Buffer.from(iskra).subarray(0, 200); // a telegram cut short: the meter was unplugged mid-send
  const noisy = Buffer.concat([Buffer.from([0x00, 0xff, 0x7f, 0x0d, 0x0a]), Buffer.from("line noise!"), head, Buffer.from(iskra)]);
  await sim.play(new Uint8Array(noisy), [3, 220]);
  await stateOf(hub, "sensor.meter_gas", (s) => s.state === "0.107");
  expect(state(hub, "voltage_l3")).toBe("229.0");
  expect(device.stats.garbage).toBe(2); // the noise before the /, and the abandoned telegram
});

test("a value sent in another unit than the model's is a bad value, not rescaled; the rest of the telegram is read", async () => {
  const { hub, sim, device } = await meter({ capture: KAIFA });
  await stateOf(hub, "sensor.meter_energy_delivered_tariff1", (s) => s.state === "1581.123");
  const text = Buffer.from(kaifa).toString("latin1");
  const body = text.slice(0, text.indexOf("!")).replace("1-0:1.8.1(001581.123*kWh)", "1-0:1.8.1(001582.000*Wh)").replace("1-0:1.8.2(001435.706*kWh)", "1-0:1.8.2(001436.000*kWh)");
  await sim.play(telegramBytes(body), []);
  await stateOf(hub, "sensor.meter_energy_delivered_tariff2", (s) => s.state === "1436.000");
  expect(state(hub, "energy_delivered_tariff1")).toBe("1581.123");
  expect(device.stats.badValues).toBe(1);
  expect(device.stats.garbage).toBe(0);
});

test("a total that falls (a replaced meter) is logged and accepted, as Home Assistant takes a new cycle", async () => {
  const { hub, sim, logs } = await meter({ capture: KAIFA });
  await stateOf(hub, "sensor.meter_energy_delivered_tariff1", (s) => s.state === "1581.123");
  await sim.play(iskra, []);
  await stateOf(hub, "sensor.meter_energy_delivered_tariff1", (s) => s.state === "4.426");
  expect(logs.find("fell from 1581.123 to 4.426")).toHaveLength(1);
});

test("the simulated meter's counters rise telegram by telegram", async () => {
  const { hub, sim } = await meter({ interval: 30 });
  await stateOf(hub, "sensor.meter_power_delivered", (s) => s.state === "2027");
  sim.phasePower = [600_000, 600_000, 600_000]; // 1.8 MW: 0.015 kWh a telegram, seen at 3 decimals
  await stateOf(hub, "sensor.meter_power_delivered", (s) => s.state === "1800000");
  const first = Number(state(hub, "energy_delivered_tariff2"));
  const gas = Number(state(hub, "gas"));
  await stateOf(hub, "sensor.meter_energy_delivered_tariff2", (s) => Number(s.state) > first + 0.04);
  await stateOf(hub, "sensor.meter_gas", (s) => Number(s.state) > gas);
});

test("a meter sending only corrupt telegrams goes unavailable like a silent one, and comes back with good ones", async () => {
  const { hub, sim, device } = await meter({ interval: 20 }, { poll_interval: 0.05, timeout: 0.05 });
  await stateOf(hub, "sensor.meter_power_delivered", (s) => s.state === "2027");
  sim.corrupt = true;
  await stateOf(hub, "sensor.meter_power_delivered", (s) => s.state === "unavailable");
  expect(device.available).toBe(false);
  expect(device.stats.garbage).toBeGreaterThan(2);
  sim.corrupt = false;
  await stateOf(hub, "sensor.meter_power_delivered", (s) => s.state === "2027");
  expect(device.available).toBe(true);
});

test("a DSMR 3 meter's telegram without a CRC is read by the legacy model (9600 7E1), its gas on a continuation line", async () => {
  const h = await deviceHub([{ id: "old", model: "dsmr-p1-legacy", port: "sim", options: { interval: 60_000 } }]);
  stops.push(h.stop);
  const sim = h.ports.simulators.get("old")!.simulator as DsmrP1Simulator;
  await stateOf(h.hub, "sensor.old_gas", (s) => s.state === sim.gas.toFixed(3));
  expect(h.hub.states.get("sensor.old_energy_delivered_tariff1")!.state).toBe("1581.123");
  expect(h.hub.states.get("sensor.old_power_delivered")!.state).toBe("2030");
  expect(h.hub.states.get("sensor.old_tariff")!.state).toBe("2");
  const device = h.manager.device("old")!;
  expect(device.definition.serial).toMatchObject({ baud: 9600, data_bits: 7, parity: "even", stop_bits: 1 });
  expect(device.stats.garbage).toBe(0);
});

test("the CRC-checked model refuses a telegram without a CRC, and one whose CRC is not hex", async () => {
  const { sim, device, hub } = await meter({ capture: KAIFA });
  await stateOf(hub, "sensor.meter_gas", (s) => s.state === "981.443");
  const text = Buffer.from(kaifa).toString("latin1");
  await sim.play(telegramBytes(text.slice(0, text.indexOf("!")), false), []);
  await sim.play(new Uint8Array(Buffer.from(text.replace("!6796", "!67X6"), "latin1")), []);
  await until(() => device.stats.garbage === 2, "both counted");
  expect(state(hub, "energy_delivered_tariff1")).toBe("1581.123");
});

test("the telegram CRC is CRC-16/ARC: its check value, and the real telegrams' own CRCs", () => {
  expect(crc16Arc(new TextEncoder().encode("123456789"))).toBe(0xbb3d);
  for (const [bytes, crc] of [
    [kaifa, 0x6796],
    [iskra, 0x6eee],
  ] as const) {
    expect(crc16Arc(bytes, bytes.lastIndexOf(0x21) + 1)).toBe(crc);
  }
});
