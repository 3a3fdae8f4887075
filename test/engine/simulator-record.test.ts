/**
 * A simulator runs as long as hearth does (`port: sim`, `hearth sim`): what it keeps of what it was sent,
 * for tests to look back on, is the newest SIMULATOR_RECORD_MAX entries, however long it runs.
 */
import { expect, test } from "bun:test";
import { HearthIoSimulator } from "../../devices/hearth-io/simulator.ts";
import { MhZ19bSimulator } from "../../devices/mh-z19b/simulator.ts";
import { ModbusBusSimulator } from "../../devices/modbus-rtu/simulator.ts";
import { Pms5003Simulator } from "../../devices/pms5003/simulator.ts";
import { rtuFrame } from "../../src/engine/modbus/crc.ts";
import { keepRecord, keepSimulatorRecords, SERVICE_RECORD_MAX, SIMULATOR_RECORD_MAX } from "../../src/engine/simulator.ts";

/** Where the simulators' replies go: nowhere, as to a host that does not read them. */
const port = { write: () => {} };
const SENT = SIMULATOR_RECORD_MAX + 500;

test("a record keeps the newest entries, in order, up to its limit", () => {
  const record: number[] = [];
  for (let i = 1; i <= 10; i++) keepRecord(record, i, 4);
  expect(record).toEqual([7, 8, 9, 10]);
});

test("a Modbus bus simulator keeps the newest requests it answered, not every one", () => {
  const sim = new ModbusBusSimulator(port);
  // Read input registers 0..1 of slave 1, the count written in as well, so each request is its own.
  for (let i = 1; i <= SENT; i++) sim.receive(rtuFrame(1, Uint8Array.of(0x04, 0x00, 0x00, 0x00, (i % 100) + 1)));
  expect(sim.received.length).toBe(SIMULATOR_RECORD_MAX);
  expect(sim.received.at(-1)!.frame[5]).toBe((SENT % 100) + 1);
});

test("in hearth's own processes a simulator keeps only the latest few; tests keep the long record", () => {
  keepSimulatorRecords(SERVICE_RECORD_MAX);
  try {
    const sim = new ModbusBusSimulator(port);
    for (let i = 1; i <= 200; i++) sim.receive(rtuFrame(1, Uint8Array.of(0x04, 0x00, 0x00, 0x00, (i % 100) + 1)));
    expect(sim.received.length).toBe(SERVICE_RECORD_MAX);
    expect(sim.received.at(-1)!.frame[5]).toBe((200 % 100) + 1);
  } finally {
    keepSimulatorRecords(SIMULATOR_RECORD_MAX);
  }
  const sim = new ModbusBusSimulator(port);
  for (let i = 1; i <= 200; i++) sim.receive(rtuFrame(1, Uint8Array.of(0x04, 0x00, 0x00, 0x00, (i % 100) + 1)));
  expect(sim.received.length).toBe(200);
});

test("a hearth-io simulator keeps the newest command lines", () => {
  const sim = new HearthIoSimulator(port);
  const encoder = new TextEncoder();
  for (let i = 1; i <= SENT; i++) sim.receive(encoder.encode(`${i} PING\r\n`));
  expect(sim.received.length).toBe(SIMULATOR_RECORD_MAX);
  expect(sim.received[0]).toBe(`${SENT - SIMULATOR_RECORD_MAX + 1} PING`);
  expect(sim.received.at(-1)).toBe(`${SENT} PING`);
});

test("the MH-Z19B and PMS5003 simulators keep the newest requests and commands", () => {
  const co2 = new MhZ19bSimulator(port);
  const air = new Pms5003Simulator(port);
  // The datasheets' "read CO2" request and the PMS5003's passive "read" command.
  const read = Uint8Array.of(0xff, 0x01, 0x86, 0x00, 0x00, 0x00, 0x00, 0x00, 0x79);
  const passiveRead = Uint8Array.of(0x42, 0x4d, 0xe2, 0x00, 0x00, 0x01, 0x71);
  for (let i = 0; i < SENT; i++) {
    co2.receive(read);
    air.receive(passiveRead);
  }
  expect(co2.requests.length).toBe(SIMULATOR_RECORD_MAX);
  expect(air.commands.length).toBe(SIMULATOR_RECORD_MAX);
  expect(co2.requests.at(-1)).toBe("FF 01 86 00 00 00 00 00 79");
});
