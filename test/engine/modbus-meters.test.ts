/**
 * The Modbus meter models (eastron-sdm630, eastron-sdm72, pzem-004t): each against its simulator on a
 * real pty, against pymodbus (an independent slave serving the maker's register map), the PZEM's energy
 * reset button on the wire, and the SDM630 end to end through a real broker.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { Sdm72Simulator } from "../../devices/eastron-sdm72/simulator.ts";
import { DEFAULT_THREE_PHASE_LOAD, type Sdm630Simulator } from "../../devices/eastron-sdm630/simulator.ts";
import type { ModbusBusSimulator } from "../../devices/modbus-rtu/simulator.ts";
import { PZEM_RESET_ENERGY, type PzemSimulator } from "../../devices/pzem-004t/simulator.ts";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { DeviceError } from "../../src/engine/device-error.ts";
import { crc16, rtuFrame } from "../../src/engine/modbus/crc.ts";
import { readRegisters } from "../../src/engine/modbus/pdu.ts";
import { effectiveDefinition } from "../../src/engine/protocols.ts";
import { broker, cleanUpAfterEach, configFile, discovered, hearth, peer } from "../mqtt/helpers.ts";
import { deviceHub, stateOf } from "./helpers.ts";
import { hasPymodbus, startPymodbusPeer } from "./pymodbus-peer.ts";

const PEER = join(import.meta.dir, "../../devices/modbus-rtu/peers/pymodbus_meters.py");

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
cleanUpAfterEach();

/** One meter of `model` on `port` (default: its simulator on a pty), in a started hub. */
async function meter(model: string, port = "sim", options: Record<string, unknown> = {}) {
  const h = await deviceHub([{ id: "meter", model, port, options: { slave: 1, ...options } }]);
  cleanups.push(h.stop);
  const sim = port === "sim" ? (h.ports.simulators.get("meter")!.simulator as ModbusBusSimulator) : undefined;
  return { ...h, sim, device: h.manager.device("meter")! };
}

/** The register reads (function 3 or 4) a simulator received: function, first register, count. */
function readsOf(sim: ModbusBusSimulator) {
  return sim.received
    .filter((r) => r.functionCode === 3 || r.functionCode === 4)
    .map((r) => ({ fc: r.functionCode, start: (r.frame[2]! << 8) | r.frame[3]!, count: (r.frame[4]! << 8) | r.frame[5]! }));
}

/** Each entity's state, as a number, once every one has one. */
async function numbers(hub: Parameters<typeof stateOf>[0], expected: Record<string, number>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(expected)) out[key] = Number((await stateOf(hub, `sensor.meter_${key}`, (s) => s.state !== "unknown" && s.state !== "unavailable")).state);
  return out;
}

function expectClose(actual: Record<string, number>, expected: Record<string, number>, digits = 2): void {
  for (const [key, value] of Object.entries(expected)) {
    if (Math.abs(actual[key]! - value) >= 10 ** -digits / 2) throw new Error(`${key}: ${actual[key]}, expected ${value}`);
  }
}

/** A pymodbus meter (peers/pymodbus_meters.py) of `model`; the path hearth opens is returned. */
async function pymodbusMeter(model: "eastron" | "pzem", slave = 1): Promise<string> {
  const peer = await startPymodbusPeer(PEER, ["9600", model, String(slave)]);
  cleanups.push(peer.stop);
  return peer.path;
}

// The simulators' default loads (devices/*/simulator.ts), as a user reads them.
const SDM630_SIMULATED = {
  voltage_l1: 230.1,
  voltage_l2: 231.4,
  voltage_l3: 229.8,
  current_l1: 5.2,
  current_l2: 1.75,
  current_l3: 0.5,
  power_l1: 230.1 * 5.2 * 0.98,
  power_l2: 231.4 * 1.75 * 0.9,
  power_l3: 229.8 * 0.5,
  total_power: 230.1 * 5.2 * 0.98 + 231.4 * 1.75 * 0.9 + 229.8 * 0.5,
  frequency: 49.98,
  import_energy: 18_234.5,
  export_energy: 3_021.25,
  total_energy: 21_255.75,
};

// What peers/pymodbus_meters.py serves (its EASTRON table).
const EASTRON_SERVED = {
  voltage_l1: 229.5,
  voltage_l2: 230.5,
  voltage_l3: 231.5,
  current_l1: 1.5,
  current_l2: 2.5,
  current_l3: 3.5,
  power_l1: 340,
  power_l2: 570.25,
  power_l3: 800.5,
  total_power: 1710.75,
  frequency: 50.02,
  import_energy: 4321.25,
  export_energy: 12.5,
  total_energy: 4333.75,
};

test("an SDM630 reads its three phases and totals in two requests, each within the meter's 80 registers", async () => {
  const { hub, sim } = await meter("eastron-sdm630");
  const expected = { ...SDM630_SIMULATED, power_factor_l1: 0.98, power_factor_l2: 0.9, power_factor_l3: 1 };
  expectClose(await numbers(hub, expected), expected, 1);
  const energy = hub.states.get("sensor.meter_import_energy")!;
  expect(energy.attributes).toMatchObject({ unit_of_measurement: "kWh", device_class: "energy", state_class: "total_increasing" });
  expect(hub.states.get("sensor.meter_total_power")!.attributes).toMatchObject({ unit_of_measurement: "W", device_class: "power" });
  // One poll: 0x0000–0x004B (76 registers) and 0x0156–0x0157.
  expect(readsOf(sim!).slice(0, 2)).toEqual([
    { fc: 4, start: 0x0000, count: 76 },
    { fc: 4, start: 0x0156, count: 2 },
  ]);
  expect(readsOf(sim!).every((r) => r.count <= 80)).toBe(true);
});

test("a meter whose replies arrive corrupt keeps its last readings, counts each reply as garbage, and goes unavailable", async () => {
  const h = await deviceHub([{ id: "meter", model: "eastron-sdm630", port: "sim", poll_interval: 0.05, timeout: 1, options: { slave: 1, response_timeout: 0.1 } }]);
  cleanups.push(h.stop);
  const sim = h.ports.simulators.get("meter")!.simulator as Sdm630Simulator;
  await stateOf(h.hub, "sensor.meter_import_energy", (s) => s.state === "18234.500");
  const before = h.manager.device("meter")!.stats.garbage;
  const seen: string[] = [];
  cleanups.push(h.hub.bus.listen("state_changed", async (e) => void (e.data.entityId === "sensor.meter_import_energy" && seen.push(e.data.newState?.state ?? "removed"))));
  sim.corrupted.add(1);
  sim.setLoad(1, { ...DEFAULT_THREE_PHASE_LOAD, importEnergy: 18_240.25 }); // what a corrupt reply carries must never show
  await stateOf(h.hub, "sensor.meter_import_energy", (s) => s.state === "unavailable");
  const stats = h.manager.device("meter")!.stats;
  expect(stats.garbage - before).toBeGreaterThanOrEqual(3 * 3); // three failed polls, each its read tried three times
  expect(h.logs.lines.some((l) => String(l.why).includes("failed its CRC"))).toBe(true);
  expect(seen).toEqual(["unavailable"]); // the last good reading held until then; the corrupt ones never showed
  sim.corrupted.delete(1);
  await stateOf(h.hub, "sensor.meter_import_energy", (s) => s.state === "18240.250", 10_000); // back once the line is clean
}, 15_000);

test("an SDM72 refuses a read of more than 60 registers, and its model splits the poll to stay within them", async () => {
  const replies: Uint8Array[] = [];
  const bare = new Sdm72Simulator({ write: (bytes) => void replies.push(bytes) });
  bare.receive(rtuFrame(1, readRegisters(4, 0, 76).pdu));
  expect([...replies[0]!.subarray(0, 3)]).toEqual([1, 0x84, 3]); // exception 3: illegal data value

  const { hub, sim } = await meter("eastron-sdm72");
  expectClose(await numbers(hub, SDM630_SIMULATED), SDM630_SIMULATED, 1);
  expect(hub.states.get("sensor.meter_power_factor_l1")).toBeUndefined(); // not in the SDM72's subset
  expect(readsOf(sim!).slice(0, 3)).toEqual([
    { fc: 4, start: 0x0000, count: 54 },
    { fc: 4, start: 0x0046, count: 6 },
    { fc: 4, start: 0x0156, count: 2 },
  ]);
  expect(readsOf(sim!).every((r) => r.count <= 60)).toBe(true);
});

test("a PZEM-004T reads its integer registers (32-bit ones low word first) at their resolutions", async () => {
  const { hub, sim, device } = await meter("pzem-004t");
  const expected = { voltage: 229.6, current: 2.345, power: 500.7, energy: 8.765, frequency: 50, power_factor: 0.93 };
  expectClose(await numbers(hub, expected), expected, 3);
  expect(hub.states.get("sensor.meter_energy")!.attributes).toMatchObject({ unit_of_measurement: "kWh", state_class: "total_increasing" });
  expect(hub.states.get("binary_sensor.meter_power_alarm")?.state).toBe("off");
  expect(hub.states.get("number.meter_power_alarm_threshold")?.state).toBe("2300");
  // Over 65.535 A the current needs its high word: 70 A is 70000 mA = 0x0001_1170, sent 0x1170, 0x0001.
  (sim as PzemSimulator).set(1, { current: 70, alarm: 0xffff });
  expect([...sim!.slaves.get(1)!.input.entries()].filter(([a]) => a === 1 || a === 2)).toEqual([
    [1, 0x1170],
    [2, 0x0001],
  ]);
  await device.refresh();
  expect(hub.states.get("sensor.meter_current")?.state).toBe("70.000");
  expect(hub.states.get("binary_sensor.meter_power_alarm")?.state).toBe("on"); // 0xFFFF: over the threshold
});

test("the PZEM's reset_energy button sends exactly 01 42 80 11 (function 0x42, CRC-16/Modbus) and the energy reads 0 after", async () => {
  const { hub, sim, device } = await meter("pzem-004t");
  await stateOf(hub, "sensor.meter_energy", (s) => s.state === "8.765");
  const crc = crc16(Uint8Array.of(0x01, 0x42));
  expect([crc & 0xff, crc >>> 8]).toEqual([0x80, 0x11]); // sent low byte first
  await device.command("reset_energy", "PRESS");
  expect([...sim!.received.at(-1)!.frame]).toEqual([0x01, 0x42, 0x80, 0x11]);
  expect(hub.states.get("button.meter_reset_energy")?.state).not.toBe("unknown"); // when it was pressed
  await device.refresh();
  expect(hub.states.get("sensor.meter_energy")?.state).toBe("0.000");
});

test("an exception reply to the PZEM's reset fails the command naming it, and a reply that is not an echo fails it too", async () => {
  const { hub, sim, device } = await meter("pzem-004t");
  await stateOf(hub, "sensor.meter_energy", (s) => s.state === "8.765");
  sim!.functions.set(PZEM_RESET_ENERGY, { dataLength: 0, answer: () => Uint8Array.of(0xc2, 0x04) }); // 01 C2 04: server device failure
  const refused = await device.command("reset_energy", "PRESS").catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(DeviceError);
  expect(isHearthError(refused, "DEVICE_COMMAND_REJECTED")).toBe(true);
  expect((refused as Error).message).toContain("slave 1: reset_energy (fc 0x42): server device failure (exception 4)");
  expect((refused as DeviceError).deviceCode).toBe("exception_4");
  expect(hub.states.get("button.meter_reset_energy")?.state).toBe("unknown"); // not pressed: nothing happened
  sim!.functions.set(PZEM_RESET_ENERGY, { dataLength: 0, answer: () => Uint8Array.of(0x42, 0x00) });
  const garbled = await device.command("reset_energy", "PRESS").catch((e: unknown) => e);
  expect(isHearthError(garbled, "DEVICE_COMMAND_REJECTED")).toBe(true);
  expect((garbled as Error).message).toContain("the reply does not echo the request");
  expect((garbled as DeviceError).deviceCode).toBe("bad_reply");
  await device.refresh();
  expect(hub.states.get("sensor.meter_energy")?.state).toBe("8.765");
});

test("a button's function is checked with the model: a code of 128 or more, or a button with a register, is refused at its path", () => {
  const generic = builtInCatalogue().definition("modbus-rtu")!;
  const problems = (registers: unknown[]) => {
    try {
      effectiveDefinition(generic, { id: "plc", model: "modbus-rtu", port: "/dev/ttyUSB0", options: { registers } } as never);
      return "";
    } catch (e) {
      return (e as Error).message;
    }
  };
  expect(problems([{ key: "reset", kind: "button", function: { code: 0xc2 } }])).toContain("options.registers[0].function.code");
  expect(problems([{ key: "reset", kind: "button", function: { code: 0x42, data: [256] } }])).toContain("options.registers[0].function.data[0]");
  expect(problems([{ key: "reset", kind: "button", register: { address: 0, kind: "coil" } }])).toContain("options.registers[0]");
  expect(problems([{ key: "reset", kind: "button", function: { code: 0x42 } }])).toBe("");
});

test.skipIf(!hasPymodbus)("an SDM630 and an SDM72 read pymodbus serving Eastron's register map", async () => {
  const path = await pymodbusMeter("eastron");
  const sdm630 = await meter("eastron-sdm630", path, { response_timeout: 1 });
  expectClose(await numbers(sdm630.hub, EASTRON_SERVED), EASTRON_SERVED, 1);
  expectClose(await numbers(sdm630.hub, { power_factor_l1: 0.99, power_factor_l2: 0.95, power_factor_l3: 0.9 }), { power_factor_l1: 0.99, power_factor_l2: 0.95, power_factor_l3: 0.9 });
  await sdm630.stop();
  const sdm72 = await meter("eastron-sdm72", path, { response_timeout: 1 });
  expectClose(await numbers(sdm72.hub, EASTRON_SERVED), EASTRON_SERVED, 1);
});

test.skipIf(!hasPymodbus)("a PZEM-004T reads pymodbus serving its registers, and its reset (function 0x42) zeroes pymodbus's counter", async () => {
  const path = await pymodbusMeter("pzem");
  const { hub, device } = await meter("pzem-004t", path, { response_timeout: 1 });
  const served = { voltage: 230.1, current: 70, power: 12_345.6, energy: 654.321, frequency: 49.9, power_factor: 0.97 };
  expectClose(await numbers(hub, served), served, 3);
  expect(hub.states.get("binary_sensor.meter_power_alarm")?.state).toBe("on");
  expect(hub.states.get("number.meter_power_alarm_threshold")?.state).toBe("2300");
  await device.command("reset_energy", "PRESS");
  await device.refresh();
  expect(hub.states.get("sensor.meter_energy")?.state).toBe("0.000");
});

test("an SDM630 end to end: its readings on MQTT, and discovery tells Home Assistant kWh totals and W", async () => {
  const b = await broker();
  const ha = await peer(b.url, ["hearth/test/#", "homeassistant/#"]);
  const file = configFile(
    `node_id: test\nshutdown: { shutdown_jobs: 2, cancel: 2, tracked: 2, final_write: 2, close: 2 }\nmqtt:\n  url: ${b.url}\n  base_topic: hearth/test\ndevices:\n  - id: meter\n    model: eastron-sdm630\n    port: sim\n`,
  );
  await hearth(file);
  const state = await ha.json<Record<string, number>>("hearth/test/meter", (s) => typeof s.import_energy === "number" && typeof s.total_energy === "number" && typeof s.total_power === "number");
  expect(state).toMatchObject({ voltage_l1: 230.1, voltage_l3: 229.8, current_l2: 1.75, import_energy: 18_234.5, export_energy: 3_021.25, total_energy: 21_255.75, frequency: 49.98 });
  expect(state.total_power).toBeCloseTo(SDM630_SIMULATED.total_power, 1);
  const energy = await discovered(ha, "meter", "import_energy");
  expect(energy).toMatchObject({ unit_of_measurement: "kWh", device_class: "energy", state_class: "total_increasing", value_template: "{{ value_json['import_energy'] }}" });
  const total = await discovered(ha, "meter", "total_energy");
  expect(total).toMatchObject({ unit_of_measurement: "kWh", device_class: "energy", state_class: "total_increasing" });
  const power = await discovered(ha, "meter", "total_power");
  expect(power).toMatchObject({ unit_of_measurement: "W", device_class: "power", state_class: "measurement" });
  expect(await discovered(ha, "meter", "power_l2")).toMatchObject({ unit_of_measurement: "W", device_class: "power" });
  await ha.next("hearth/test/meter/availability", (p) => p === "online");
});
