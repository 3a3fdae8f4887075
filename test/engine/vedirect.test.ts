/**
 * The VE.Direct family through real pseudo-terminals: the blocks in models' captures/ (the
 * data in ../shared/data/vedirect, with the facts its README lists) written to hearth in pieces cut at
 * awkward places, a corrupted copy, HEX messages inside blocks, and the simulators.
 */
import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { VictronBmvSimulator } from "../../devices/victron-bmv/simulator.ts";
import type { VictronMpptSimulator } from "../../devices/victron-mppt/simulator.ts";
import { isHearthError } from "../../src/core/errors.ts";
import { callback } from "../../src/core/job.ts";
import { encodeBlock, parseBlock, withoutHex } from "../../src/engine/vedirect/block.ts";
import { firmwareVersion } from "../../src/engine/vedirect/driver.ts";
import { openPty, type Pty } from "../../src/serial/pty.ts";
import { until } from "../helpers/until.ts";
import { deviceHub, stateOf } from "./helpers.ts";

const devices = join(import.meta.dir, "../../devices");
const capture = (model: string, file: string) => readFileSync(join(devices, model, "captures", file));
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

type Hub = Awaited<ReturnType<typeof deviceHub>>["hub"];
const state = (hub: Hub, id: string) => hub.states.get(id)?.state;

/** A device of `model` on a pty the test writes to. */
async function onPty(model: string, overrides: Record<string, unknown> = {}) {
  const pty = openPty();
  stops.push(() => pty.close());
  const h = await deviceHub([{ id: "vd", model, port: pty.path, ...overrides }]);
  stops.push(h.stop);
  return { ...h, pty, device: h.manager.device("vd")! };
}

/** Writes `bytes` cut at `cuts` (offsets), each piece read by hearth before the next is written, so each is a read of its own. */
async function writeCut(pty: Pty, bytes: Uint8Array, cuts: number[]): Promise<void> {
  let from = 0;
  for (const to of [...cuts, bytes.length]) {
    await pty.write(bytes.subarray(from, to));
    await until(() => pty.unread() === 0, "hearth reading the piece");
    from = to;
  }
}

/** Offsets just after each occurrence of `text` in `bytes`. */
function after(bytes: Uint8Array, text: string): number[] {
  const hay = Buffer.from(bytes).toString("latin1");
  const out: number[] = [];
  for (let i = hay.indexOf(text); i >= 0; i = hay.indexOf(text, i + 1)) out.push(i + text.length);
  return out;
}

/** The values an entity took, in order. */
function history(hub: Hub, entityId: string): string[] {
  const seen: string[] = [];
  hub.bus.listen(
    "state_changed",
    callback((e) => {
      if (e.data.entityId === entityId && e.data.newState !== null) seen.push(e.data.newState.state);
    }),
  );
  return seen;
}

test("the SmartSolar blocks, cut between Checksum\\t and a CR checksum byte and inside the HEX message, read as the data says", async () => {
  const { hub, pty, device } = await onPty("victron-mppt");
  const bytes = capture("victron-mppt", "smartsolar-mppt.bin");
  const checksums = after(bytes, "Checksum\t");
  expect(bytes[checksums[3]!]).toBe(0x0d); // the fourth block's checksum byte is a CR: a line framer would cut there
  const hex = Buffer.from(bytes).indexOf(":A4F1");
  expect(hex).toBeGreaterThan(0);
  const power = history(hub, "sensor.vd_panel_power");
  const hello = hub.bus.waitFor("device_rebooted", (d) => d.deviceId === "vd", AbortSignal.timeout(5000));
  // In a field, after a label's tab, between Checksum\t and its byte (a CR), and twice in the HEX message.
  const cuts = [7, checksums[0]! - 3, checksums[1]!, hex + 4, hex + 12, checksums[3]!, checksums[3]! + 1, checksums[4]!];
  await writeCut(pty, bytes, cuts);
  await stateOf(hub, "sensor.vd_panel_power", (s) => s.state === "81");
  // Battery 13.420 V then +10 mV a block; panel power 41 W then +10 W a block: every block read, none twice.
  expect(power).toEqual(["41", "51", "61", "71", "81"]);
  expect(state(hub, "sensor.vd_battery_voltage")).toBe("13.46");
  expect(state(hub, "sensor.vd_battery_current")).toBe("2.80");
  expect(state(hub, "sensor.vd_panel_voltage")).toBe("36.85");
  expect(state(hub, "sensor.vd_charger_state")).toBe("Bulk");
  expect(state(hub, "sensor.vd_yield_today")).toBe("0.37");
  expect(state(hub, "sensor.vd_yield_total")).toBe("104.52");
  expect(state(hub, "sensor.vd_error")).toBe("No error");
  expect(state(hub, "sensor.vd_tracker_mode")).toBe("MPP tracker active");
  expect(state(hub, "sensor.vd_off_reason")).toBe("None");
  expect(state(hub, "binary_sensor.vd_load")).toBe("on");
  expect(state(hub, "sensor.vd_serial_number")).toBe("HQ2132ABCDE");
  expect((await hello).data).toMatchObject({ model: "SmartSolar MPPT 75|15", swVersion: "1.61" });
  expect(device.swVersion).toBe("1.61");
  expect(device.stats.garbage).toBe(0);
  expect(device.available).toBe(true);
});

test("the BMV-712's pairs of blocks, each with its own checksum, read as the data says, the history block too", async () => {
  const { hub, pty, device } = await onPty("victron-bmv");
  const bytes = capture("victron-bmv", "bmv712.bin");
  const checksums = after(bytes, "Checksum\t");
  expect(checksums).toHaveLength(6);
  await writeCut(pty, bytes, [checksums[0]!, checksums[1]!, checksums[1]! + 1, checksums[2]! - 5, checksums[3]!]);
  // A last block of the test's own: once it is read, so are the six before it.
  await pty.write(
    encodeBlock([
      ["PID", "0xA381"],
      ["FW", "0413"],
      ["VS", "12000"],
    ]),
  );
  await stateOf(hub, "sensor.vd_starter_voltage", (s) => s.state === "12.00");
  expect(state(hub, "sensor.vd_battery_voltage")).toBe("12.85");
  expect(state(hub, "sensor.vd_battery_current")).toBe("-3.45");
  expect(state(hub, "sensor.vd_battery_power")).toBe("-44");
  expect(state(hub, "sensor.vd_state_of_charge")).toBe("87.6");
  expect(state(hub, "sensor.vd_time_to_go")).toBe("2260");
  expect(state(hub, "sensor.vd_consumed")).toBe("-12.50");
  expect(state(hub, "binary_sensor.vd_alarm")).toBe("off");
  expect(state(hub, "sensor.vd_alarm_reason")).toBe("None");
  expect(state(hub, "sensor.vd_monitor_mode")).toBe("Battery monitor");
  expect(state(hub, "sensor.vd_charge_cycles")).toBe("12");
  expect(state(hub, "sensor.vd_minimum_voltage")).toBe("10.85");
  expect(state(hub, "sensor.vd_discharged_energy")).toBe("12.34");
  expect(device.swVersion).toBe("4.13");
  expect(device.stats.garbage).toBe(0);
});

test("a corrupt block is dropped whole and counted with its reason; the intact one after it is read", async () => {
  const { hub, pty, device, logs } = await onPty("victron-mppt");
  const bytes = capture("victron-mppt", "mppt-corrupt.bin");
  const first = after(bytes, "Checksum\t")[0]! + 1;
  await writeCut(pty, bytes.subarray(0, first), [40]);
  await until(() => device.stats.garbage === 1, "the corrupt block counted");
  // Not one of its fields became a reading, though only one bit of one of them is wrong.
  for (const key of ["panel_power", "panel_voltage", "charger_state", "yield_today"]) expect(state(hub, `sensor.vd_${key}`)).not.toMatch(/^\d|Bulk/);
  expect(logs.find("Skipped a frame").at(-1)?.why).toMatch(/^checksum fails/);
  await writeCut(pty, bytes.subarray(first), [100]);
  await stateOf(hub, "sensor.vd_battery_voltage", (s) => s.state === "13.42");
  expect(state(hub, "sensor.vd_panel_power")).toBe("41");
  expect(device.stats.garbage).toBe(1);
});

test("the tail of a block begun before the port was opened is skipped uncounted; a later incomplete block is garbage", async () => {
  const { hub, pty, device } = await onPty("victron-mppt");
  const bytes = capture("victron-mppt", "smartsolar-mppt.bin");
  const second = after(bytes, "Checksum\t")[0]! + 1;
  await writeCut(pty, bytes.subarray(60, second + 194), [second - 60]); // joined 60 bytes into the first block
  await stateOf(hub, "sensor.vd_panel_power", (s) => s.state === "51");
  expect(device.stats.garbage).toBe(0);
  await writeCut(pty, Buffer.concat([Buffer.from("V\t1"), encodeBlock([["PPV", "7"]])]), []);
  await until(() => device.stats.garbage === 1, "the incomplete block counted");
  expect(state(hub, "sensor.vd_panel_power")).toBe("51");
});

test("HEX messages inside a block, between its fields, leave its checksum whole; a ':' checksum byte starts none", async () => {
  const { hub, pty, device } = await onPty("victron-mppt");
  const text = Buffer.from(
    encodeBlock([
      ["V", "12000"],
      ["PPV", "5"],
      ["CS", "5"],
    ]),
  ).toString("latin1");
  const withHex = text.replace("\r\nPPV", ":A0102000543\n\r\nPPV").replace("\r\nCS", ":AD5ED00A3\n\r\nCS");
  await writeCut(pty, Buffer.from(withHex, "latin1"), [withHex.indexOf(":A01") + 5]);
  await stateOf(hub, "sensor.vd_charger_state", (s) => s.state === "Float");
  expect(state(hub, "sensor.vd_battery_voltage")).toBe("12.00");
  // A block whose checksum byte is ':' (0x3a), found by varying a value.
  // Three printable characters sum to any residue mod 256 (99 … 378 covers them all).
  const serials = Array.from({ length: 94 * 94 }, (_, i) => `${String.fromCharCode(33 + Math.floor(i / 94))}${String.fromCharCode(33 + (i % 94))}~`);
  const colon = serials
    .map((serial) =>
      encodeBlock([
        ["SER#", serial],
        ["V", "12500"],
      ]),
    )
    .find((b) => b[b.length - 1] === 0x3a)!;
  expect(colon).toBeDefined();
  await pty.write(colon);
  await stateOf(hub, "sensor.vd_battery_voltage", (s) => s.state === "12.50");
  expect(device.stats.garbage).toBe(0);
});

test("a charger sending only corrupt blocks becomes unavailable, and available again when its blocks are whole", async () => {
  const h = await deviceHub([{ id: "vd", model: "victron-mppt", port: "sim", options: { interval: 20, hexEvery: 2 }, poll_interval: 0.05, timeout: 0.05 }]);
  stops.push(h.stop);
  const sim = h.ports.simulators.get("vd")!.simulator as VictronMpptSimulator;
  const device = h.manager.device("vd")!;
  await stateOf(h.hub, "sensor.vd_battery_voltage", (s) => s.state !== "unavailable" && s.state !== "unknown");
  sim.corrupt = true;
  await stateOf(h.hub, "sensor.vd_battery_voltage", (s) => s.state === "unavailable");
  expect(device.available).toBe(false);
  expect(device.stats.garbage).toBeGreaterThan(3);
  sim.corrupt = false;
  await stateOf(h.hub, "sensor.vd_battery_voltage", (s) => s.state !== "unavailable");
  expect(device.available).toBe(true);
});

test("a battery monitor that falls silent becomes unavailable", async () => {
  const h = await deviceHub([{ id: "vd", model: "victron-bmv", port: "sim", options: { interval: 20 }, poll_interval: 0.05, timeout: 0.05 }]);
  stops.push(h.stop);
  const sim = h.ports.simulators.get("vd")!.simulator as VictronBmvSimulator;
  await stateOf(h.hub, "sensor.vd_state_of_charge", (s) => s.state === "87.6");
  sim.stop();
  await stateOf(h.hub, "sensor.vd_state_of_charge", (s) => s.state === "unavailable");
  expect(h.manager.device("vd")!.stats.garbage).toBe(0); // the simulator's blocks and HEX messages were all fine
});

test("a VE.Direct device takes no commands", async () => {
  const { device } = await onPty("victron-mppt", { poll_interval: 0.05, timeout: 0.05 });
  const err = await device.command("battery_voltage", 1).catch((e: unknown) => e);
  expect(isHearthError(err)).toBe(true);
});

test("a block sums to 0 from its first field's CR LF through its checksum byte; what does not is refused with a reason", () => {
  const good = encodeBlock([
    ["V", "13420"],
    ["I", "2800"],
  ]);
  const parsed = parseBlock(good);
  expect(parsed.ok && [...parsed.fields]).toEqual([
    ["V", "13420"],
    ["I", "2800"],
  ]);
  const flipped = good.slice();
  flipped[3] = flipped[3]! ^ 0x04;
  expect(parseBlock(flipped)).toMatchObject({ ok: false, why: expect.stringMatching(/^checksum fails/) });
  expect(parseBlock(Buffer.concat([Buffer.from("ld\t5"), good]))).toMatchObject({ ok: false, why: expect.stringMatching(/incomplete block/) });
  expect(parseBlock(encodeBlock([["", "1"]]))).toMatchObject({ ok: false, why: expect.stringMatching(/without a label/) });
  // Every real block in the captures passes, the BMV's history blocks too.
  for (const [model, file, blocks] of [
    ["victron-mppt", "smartsolar-mppt.bin", 5],
    ["victron-bmv", "bmv712.bin", 6],
  ] as const) {
    const bytes = capture(model, file);
    let from = 0;
    let n = 0;
    for (const end of after(bytes, "Checksum\t")) {
      expect(parseBlock(bytes.subarray(from, end + 1)).ok).toBe(true);
      from = end + 1;
      n++;
    }
    expect(n).toBe(blocks);
  }
});

test("HEX messages are taken out wherever they are; an unended one eats into the block, which then fails", () => {
  const block = Buffer.from(
    encodeBlock([
      ["V", "1"],
      ["I", "2"],
    ]),
  );
  const text = block.toString("latin1");
  const hexed = Buffer.from(`:154\n${text.replace("\r\nI", ":7F0ED0071\n\r\nI")}`, "latin1");
  const { text: out, hexMessages } = withoutHex(hexed);
  expect(Buffer.from(out).equals(block)).toBe(true);
  expect(hexMessages).toBe(2);
  expect(parseBlock(Buffer.from(text.replace("\r\nI", ":7F0ED0071\r\nI"), "latin1")).ok).toBe(false);
});

test("firmware versions read as Victron writes them", () => {
  expect(firmwareVersion("161")).toBe("1.61");
  expect(firmwareVersion("0413")).toBe("4.13");
  expect(firmwareVersion("C208")).toBe("C208");
});
