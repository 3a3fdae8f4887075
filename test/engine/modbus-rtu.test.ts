import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { ModbusBusSimulator } from "../../devices/modbus-rtu/simulator.ts";
import { builtInCatalogue } from "../../src/catalogue.ts";
import { ManualClock } from "../../src/core/clock.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { Hub } from "../../src/core/hub.ts";
import { createLogger, MemoryLogDestination } from "../../src/core/logger.ts";
import { type SimulatedPort, serialTransports, startSimulator } from "../../src/engine/configured-ports.ts";
import { DeviceError } from "../../src/engine/device-error.ts";
import { ModbusBus } from "../../src/engine/modbus/bus.ts";
import { rtuFrame } from "../../src/engine/modbus/crc.ts";
import { isModbusError, type ModbusError } from "../../src/engine/modbus/errors.ts";
import { readBits, readRegisters, writeCoil, writeCoils, writeRegister, writeRegisters } from "../../src/engine/modbus/pdu.ts";
import { decodeValue } from "../../src/engine/modbus/registers.ts";
import { expectedReplyLength, interFrameSilenceMs } from "../../src/engine/modbus/timing.ts";
import { framingOf } from "../../src/engine/protocols.ts";
import type { Transport } from "../../src/engine/transport.ts";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { deviceHub, stateOf } from "./helpers.ts";
import { hasPymodbus, startPymodbusPeer } from "./pymodbus-peer.ts";

const PEER = join(import.meta.dir, "../../devices/modbus-rtu/peers/pymodbus_slaves.py");

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A started hub and a Modbus RTU link on `path`, as the engine opens one. */
async function masterOn(path: string, baud = 9600, clock?: ManualClock) {
  const log = createLogger({ level: "warn", destination: new MemoryLogDestination() });
  const hub = new Hub({ log, stageTimeouts: { shutdownJobs: 2, cancel: 2, tracked: 2, finalWrite: 2, close: 2 }, ...(clock ? { clock } : {}) });
  await hub.start();
  const serial = { baud, data_bits: 8, parity: "none", stop_bits: 1, rts_cts: false } as const;
  const definition = { protocol: "modbus" } as Parameters<typeof framingOf>[0];
  const link: Transport = serialTransports({ hub, log })({ path, serial, framing: framingOf(definition) });
  await link.open();
  cleanups.push(async () => {
    await link.close();
    await hub.stop();
  });
  return { hub, link, bus: ModbusBus.of(link, interFrameSilenceMs(serial)) };
}

const signal = () => AbortSignal.timeout(10_000);

/** Two pseudo-terminals joined master to master: a null-modem cable between two tty paths. */
function _nullModem(): { a: Pty; b: Pty } {
  const a = openPty();
  const b = openPty();
  const offA = a.listen({ data: (chunk) => void b.write(chunk.slice()).catch(() => {}), error: () => {} });
  const offB = b.listen({ data: (chunk) => void a.write(chunk.slice()).catch(() => {}), error: () => {} });
  cleanups.push(async () => {
    offA();
    offB();
    await a.close();
    await b.close();
  });
  return { a, b };
}

describe.skipIf(!hasPymodbus)("the master against pymodbus slaves (Debian python3-pymodbus)", () => {
  let cable: { a: { path: string } };
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const peer = await startPymodbusPeer(PEER, ["9600", "1", "2"]);
    cable = { a: { path: peer.path } };
    stop = peer.stop;
  });
  afterAll(async () => {
    await stop?.();
  });

  test("reads holding and input registers, coils and discrete inputs of two slaves on one line", async () => {
    const { bus } = await masterOn(cable.a.path);
    const opts = { signal: signal(), timeoutMs: 1000 };
    expect([...(await bus.request(1, readRegisters(3, 0, 5), opts))]).toEqual([100, 101, 102, 103, 104]);
    expect([...(await bus.request(2, readRegisters(3, 3, 2), opts))]).toEqual([203, 204]);
    expect(decodeValue(await bus.request(2, readRegisters(4, 0, 2), opts), 0, "float32", "big")).toBe(232.5);
    expect(await bus.request(1, readBits(1, 0, 4), opts)).toEqual([true, false, true, false]);
    expect(await bus.request(1, readBits(2, 0, 3), opts)).toEqual([false, true, false]);
  });

  test("writes one coil, one register, several coils and several registers (functions 5, 6, 15, 16)", async () => {
    const { bus } = await masterOn(cable.a.path);
    const opts = { signal: signal(), timeoutMs: 1000 };
    await bus.request(2, writeCoil(1, true), opts);
    await bus.request(2, writeRegister(10, 4242), opts);
    await bus.request(2, writeCoils(4, [true, true, false, true, true, true, false, false, true]), opts);
    await bus.request(2, writeRegisters(15, [7, 0xffff, 9]), opts);
    expect(await bus.request(2, readBits(1, 0, 13), opts)).toEqual([true, true, true, false, true, true, false, true, true, true, false, false, true]);
    expect([...(await bus.request(2, readRegisters(3, 10, 1), opts))]).toEqual([4242]);
    expect([...(await bus.request(2, readRegisters(3, 15, 3), opts))]).toEqual([7, 0xffff, 9]);
    // The other slave on the line is untouched.
    expect([...(await bus.request(1, readRegisters(3, 10, 1), opts))]).toEqual([110]);
  });

  test("an exception response becomes a typed error naming the function and the exception", async () => {
    const { bus } = await masterOn(cable.a.path);
    const err = await bus.request(1, readRegisters(3, 50, 2), { signal: signal(), timeoutMs: 1000, retries: 2 }).catch((e: unknown) => e);
    expect(isModbusError(err, "MODBUS_EXCEPTION")).toBe(true);
    const e = err as ModbusError;
    expect([e.slave, e.functionCode, e.exceptionCode]).toEqual([1, 3, 2]);
    expect(e.message).toBe("slave 1: read holding registers (fc 3): illegal data address (exception 2)");
    expect(bus.stats.retries).toBe(0); // an answer is an answer: not retried
  });

  test("a slave that never answers times out after its retries, a write to it is not repeated, and the others still answer", async () => {
    const { bus } = await masterOn(cable.a.path);
    const read = await bus.request(7, readRegisters(3, 0, 1), { signal: signal(), timeoutMs: 150, retries: 2 }).catch((e: unknown) => e);
    expect(isModbusError(read, "MODBUS_TIMEOUT")).toBe(true);
    expect(bus.stats).toMatchObject({ requests: 3, retries: 2, timeouts: 3 });
    const write = await bus.request(7, writeRegister(0, 1), { signal: signal(), timeoutMs: 150, retries: 2 }).catch((e: unknown) => e);
    expect(isModbusError(write, "MODBUS_TIMEOUT")).toBe(true);
    expect(bus.stats.requests).toBe(4);
    expect([...(await bus.request(1, readRegisters(3, 0, 1), { signal: signal(), timeoutMs: 1000 }))]).toEqual([100]);
  });

  test("modbus-rtu devices on one port read their registers, and a switch and a number write them", async () => {
    const registers = [
      { key: "setpoint", kind: "number", min: 0, max: 1000, step: 0.1, register: { address: 2, kind: "holding", scale: 0.1 } },
      { key: "relay", kind: "switch", register: { address: 1, kind: "coil" } },
      { key: "door", kind: "binary_sensor", register: { address: 1, kind: "discrete_input" } },
      { key: "mains", kind: "sensor", unit: "V", register: { address: 0, kind: "input", type: "float32" } },
    ];
    const h = await deviceHub([
      { id: "plc1", model: "modbus-rtu", port: cable.a.path, options: { slave: 1, response_timeout: 1, registers } },
      { id: "plc2", model: "modbus-rtu", port: cable.a.path, options: { slave: 2, response_timeout: 1, registers } },
    ]);
    cleanups.push(h.stop);
    await stateOf(h.hub, "sensor.plc1_mains", (s) => s.state === "231.5");
    await stateOf(h.hub, "sensor.plc2_mains", (s) => s.state === "232.5");
    expect(h.hub.states.get("number.plc1_setpoint")?.state).toBe("10.2"); // 102 × 0.1
    expect(h.hub.states.get("binary_sensor.plc2_door")?.state).toBe("on");
    await h.manager.device("plc2")!.command("setpoint", 55.5);
    await h.manager.device("plc2")!.command("relay", "ON");
    await h.manager.device("plc2")!.refresh();
    expect(h.hub.states.get("number.plc2_setpoint")?.state).toBe("55.5");
    expect(h.hub.states.get("switch.plc2_relay")?.state).toBe("on");
    expect(h.hub.states.get("number.plc1_setpoint")?.state).toBe("10.2");
  });
});

test("a reply from another slave is ignored and one with a bad CRC is rejected, then the read is retried", async () => {
  const pty = openPty();
  cleanups.push(() => pty.close());
  const { bus } = await masterOn(pty.path);
  const replies = [
    rtuFrame(9, Uint8Array.of(3, 2, 0, 99)), // another slave's reply: not ours
    (() => {
      const f = rtuFrame(4, Uint8Array.of(3, 2, 0, 42));
      f[f.length - 1]! ^= 0xff; // corrupted on the line
      return f;
    })(),
    rtuFrame(4, Uint8Array.of(3, 2, 0, 42)),
  ];
  let n = 0;
  cleanups.push(
    pty.listen({
      data: () => {
        // First request: a stray reply from slave 9, then a corrupt one; the retry gets the good one.
        if (n++ === 0) void pty.write(replies[0]!).then(() => setTimeout(() => void pty.write(replies[1]!), 20));
        else void pty.write(replies[2]!);
      },
      error: () => {},
    }),
  );
  const words = await bus.request(4, readRegisters(3, 0, 1), { signal: signal(), timeoutMs: 1000, retries: 1 });
  expect([...words]).toEqual([42]);
  expect(bus.stats).toMatchObject({ strays: 1, badCrc: 1, retries: 1 });
});

test("a whole reply is taken at once by its length and CRC; a corrupt one only once the line has been silent", async () => {
  const pty = openPty();
  cleanups.push(() => pty.close());
  const clock = new ManualClock(); // the silence timers stand still unless the test moves them
  const { bus } = await masterOn(pty.path, 9600, clock);
  const good = rtuFrame(4, Uint8Array.of(3, 4, 0, 42, 0, 43));
  const corrupt = good.slice();
  corrupt[3]! ^= 0x10;
  let reply = good;
  cleanups.push(pty.listen({ data: () => void pty.write(reply.subarray(0, 4)).then(() => pty.write(reply.subarray(4))), error: () => {} }));
  expect([...(await bus.request(4, readRegisters(3, 0, 2), { signal: signal(), timeoutMs: 5000 }))]).toEqual([42, 43]);
  reply = corrupt;
  const failing = bus.request(4, readRegisters(3, 0, 2), { signal: signal(), timeoutMs: 5000 });
  await Bun.sleep(100);
  expect(bus.stats.badCrc).toBe(0); // the bytes are in, but they do not make a reply: wait for the silence
  clock.advance(4); // 3.5 characters at 9600 baud
  await expect(failing).rejects.toMatchObject({ code: "MODBUS_BAD_CRC" });
});

test("the expected reply length comes from the function code and byte count", () => {
  expect(expectedReplyLength(Uint8Array.of(1, 3, 4))).toBe(9);
  expect(expectedReplyLength(Uint8Array.of(1, 1, 1))).toBe(6);
  expect(expectedReplyLength(Uint8Array.of(1, 0x83))).toBe(5);
  expect(expectedReplyLength(Uint8Array.of(1, 16))).toBe(8);
  expect(expectedReplyLength(Uint8Array.of(1, 3))).toBeUndefined(); // byte count not in yet
  expect(expectedReplyLength(Uint8Array.of(1, 43))).toBeUndefined(); // a function hearth does not speak: the silence decides
  expect(interFrameSilenceMs({ baud: 9600, data_bits: 8, parity: "even", stop_bits: 1 })).toBeCloseTo((3.5 * 11 * 1000) / 9600);
  expect(interFrameSilenceMs({ baud: 38400, data_bits: 8, parity: "none", stop_bits: 1 })).toBe(1.75);
});

test("the master keeps the line quiet for the inter-frame silence after each reply before its next request", async () => {
  const pty = openPty();
  cleanups.push(() => pty.close());
  const { bus } = await masterOn(pty.path, 1200); // 3.5 characters are 29 ms here
  const requestAt: number[] = [];
  const repliedAt: number[] = [];
  cleanups.push(
    pty.listen({
      data: () => {
        requestAt.push(performance.now());
        repliedAt.push(performance.now());
        void pty.write(rtuFrame(4, Uint8Array.of(3, 2, 0, requestAt.length)));
      },
      error: () => {},
    }),
  );
  for (let i = 1; i <= 10; i++) expect([...(await bus.request(4, readRegisters(3, 0, 1), { signal: signal(), timeoutMs: 2000 }))]).toEqual([i]);
  // The master gets each reply after the slave wrote it, and waits the silence from then.
  const silenceMs = (3.5 * 10 * 1000) / 1200;
  for (let i = 1; i < requestAt.length; i++) expect(requestAt[i]! - repliedAt[i - 1]!).toBeGreaterThanOrEqual(silenceMs - 0.1);
});

test("a request given up while it waits out the silence is not sent", async () => {
  const pty = openPty();
  cleanups.push(() => pty.close());
  const { bus } = await masterOn(pty.path);
  bus.silenceMs = 60_000; // a silence far longer than the request may wait
  let requests = 0;
  cleanups.push(
    pty.listen({
      data: () => {
        requests++;
        void pty.write(rtuFrame(4, Uint8Array.of(3, 2, 0, 7)));
      },
      error: () => {},
    }),
  );
  expect([...(await bus.request(4, readRegisters(3, 0, 1), { signal: signal(), timeoutMs: 2000 }))]).toEqual([7]);
  const waiting = bus.request(4, readRegisters(3, 0, 1), { signal: AbortSignal.timeout(50), timeoutMs: 2000 });
  await expect(waiting).rejects.toMatchObject({ name: "TimeoutError" });
  await Bun.sleep(50);
  expect(requests).toBe(1);
});

describe("SDM120 meters on one bus (the simulator)", () => {
  async function meters(slaves: number[], configured: number[], overrides: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
    const sim: SimulatedPort = startSimulator(builtInCatalogue().simulator("eastron-sdm120"), { slaves });
    cleanups.push(() => sim.stop());
    const h = await deviceHub(configured.map((slave) => ({ id: `meter${slave}`, model: "eastron-sdm120", port: sim.pty.path, options: { slave, ...options }, ...overrides })));
    cleanups.push(h.stop);
    return { ...h, sim: sim.simulator as ModbusBusSimulator };
  }

  test("every meter's readings appear with their units, each from its own slave address", async () => {
    const { hub, sim } = await meters([1, 2, 3], [1, 2, 3]);
    (sim as unknown as { setLoad: (a: number, l: object) => void }).setLoad(2, { voltage: 241.3, current: 10, powerFactor: 1, importEnergy: 5 });
    await stateOf(hub, "sensor.meter1_voltage", (s) => s.state === "230.2");
    await stateOf(hub, "sensor.meter3_voltage", (s) => s.state === "230.2");
    await stateOf(hub, "sensor.meter2_voltage", (s) => s.state === "241.3");
    const power = hub.states.get("sensor.meter1_active_power")!;
    expect(Number(power.state)).toBeCloseTo(230.2 * 4.35 * 0.95, 1);
    expect(power.attributes.unit_of_measurement).toBe("W");
    expect(hub.states.get("sensor.meter1_frequency")?.state).toBe("50.01");
    expect(hub.states.get("sensor.meter1_import_energy")?.attributes.state_class).toBe("total_increasing");
    expect(hub.states.get("sensor.meter1_total_energy")?.state).toBe("1234.567");
    // Three reads a poll: 0x0000–0x0025, 0x0046–0x004B and 0x0156–0x0157.
    expect(new Set(sim.received.map((r) => r.slave))).toEqual(new Set([1, 2, 3]));
    expect(sim.received.every((r) => r.functionCode === 4)).toBe(true);
  });

  test("a dead meter holds the bus only for its own timeout, and the other meters keep being read", async () => {
    const { hub, sim, manager } = await meters([1, 2, 3], [1, 2, 3], { poll_interval: 0.05, timeout: 1 }, { response_timeout: 0.1 });
    for (const id of ["meter1", "meter2", "meter3"]) await stateOf(hub, `sensor.${id}_voltage`, (s) => s.state === "230.2");
    sim.silent.add(2); // meter 2 dies
    await stateOf(hub, "sensor.meter2_voltage", (s) => s.state === "unavailable");
    const from = sim.received.length;
    const alive = () => sim.received.slice(from).filter((r) => r.slave !== 2);
    await sim.whenReceived(() => alive().filter((r) => r.slave === 1).length >= 6 && alive().filter((r) => r.slave === 3).length >= 6);
    expect(manager.device("meter1")!.available).toBe(true);
    expect(manager.device("meter3")!.available).toBe(true);
    expect(manager.device("meter2")!.available).toBe(false);
    // One request on the wire at a time: after a request to the dead meter, the next one waits for
    // its response timeout (0.1 s); it never overlaps it (which would put it a few ms behind). The times
    // are when the simulator read each request, which a loaded machine delays unevenly by some ms: the
    // bound is half the timeout, well above an overlap and well below the wait.
    const log = sim.received.slice(from);
    for (let i = 1; i < log.length; i++) if (log[i - 1]!.slave === 2) expect(log[i]!.at - log[i - 1]!.at).toBeGreaterThanOrEqual(50);
  }, 15_000);
});

test("a generic device's register list is checked, and an error names its path in the options", async () => {
  const { effectiveDefinition } = await import("../../src/engine/protocols.ts");
  const config = {
    id: "plc",
    model: "modbus-rtu",
    port: "/dev/ttyUSB0",
    options: {
      registers: [
        { key: "ok", kind: "sensor", register: { address: 0, kind: "input" } },
        { key: "bad", kind: "sensor", register: { address: 1, kind: "input", type: "int64" } },
      ],
    },
  };
  const err = (() => {
    try {
      effectiveDefinition(builtInCatalogue().definition("modbus-rtu")!, config as never);
    } catch (e) {
      return e;
    }
  })();
  expect(isHearthError(err, "DEVICE_SETUP_FAILED")).toBe(true);
  expect((err as Error).message).toStartWith("plc: options.registers[1].register.type: ");
});

const hasMbpoll = Bun.spawnSync(["sh", "-c", "command -v mbpoll"]).exitCode === 0;
if (!hasMbpoll) console.warn("mbpoll not found (Debian mbpoll): the test against it is skipped");

test.skipIf(!hasMbpoll)("the simulator answers mbpoll (Debian's libmodbus master) as a slave would, exceptions included", async () => {
  const sim = startSimulator(builtInCatalogue().simulator("modbus-rtu"), { slaves: [1, 2] });
  cleanups.push(() => sim.stop());
  const slaves = (sim.simulator as ModbusBusSimulator).slaves;
  slaves.get(2)!.holding.set(5, 1234);
  // mbpoll's arguments: options, the port, then any values to write.
  const mbpoll = async (options: string[], values: string[] = []) => {
    const p = Bun.spawn(["mbpoll", "-m", "rtu", "-b", "9600", "-P", "none", "-0", "-1", "-q", ...options, sim.pty.path, ...values], { stdout: "pipe", stderr: "pipe" });
    const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    return { code, text: out + err };
  };
  expect((await mbpoll(["-a", "2", "-t", "4", "-r", "5", "-c", "1"])).text).toContain("[5]: \t1234");
  expect((await mbpoll(["-a", "1", "-t", "0", "-r", "3"], ["1"])).code).toBe(0); // write coil 3 of slave 1
  expect(slaves.get(1)!.coils.get(3)).toBe(true);
  expect(slaves.get(2)!.coils.get(3)).toBe(false);
  const bad = await mbpoll(["-a", "1", "-t", "4", "-r", "500", "-c", "1"]);
  expect(bad.text).toContain("Illegal data address");
});

test("an exception reply to a write reaches device.command as DEVICE_COMMAND_REJECTED naming the exception", async () => {
  const registers = [{ key: "setpoint", kind: "number", min: 0, max: 1000, step: 1, register: { address: 7, kind: "holding" } }];
  const h = await deviceHub([{ id: "plc", model: "modbus-rtu", port: "sim", options: { registers } }]);
  cleanups.push(h.stop);
  await stateOf(h.hub, "number.plc_setpoint", (s) => s.state === "0");
  // The slave stops mapping the register, so it answers the write with exception 2 (illegal data address).
  const sim = h.ports.simulators.get("plc")!.simulator as ModbusBusSimulator;
  sim.slaves.get(1)!.holding.delete(7);
  let err: unknown;
  try {
    await h.manager.device("plc")!.command("setpoint", 42);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DeviceError);
  expect(isHearthError(err, "DEVICE_COMMAND_REJECTED")).toBe(true);
  expect((err as Error).message).toContain("write single register (fc 6): illegal data address (exception 2)");
  expect((err as DeviceError).deviceCode).toBe("exception_2");
  expect(sim.received.at(-1)).toMatchObject({ slave: 1, functionCode: 6 });
});
